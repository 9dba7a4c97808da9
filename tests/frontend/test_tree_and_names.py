"""keras.tree as Keras 3 walks structures (the expected values are Keras
3.15's answers to the same calls), and the top-level names Keras code
imports: keras.Loss / Metric / Optimizer / Initializer / Regularizer /
DTypePolicy, keras.device, the initializers' and policies' other names."""

from __future__ import annotations

import collections

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import graphkeras as keras
from graphkeras import tree

P = collections.namedtuple("P", "y x")
NEST = {"b": 1, "a": [2, (3, None)]}


def test_flatten_and_paths_follow_sorted_keys():
    assert tree.flatten(NEST) == [2, 3, None, 1]
    assert tree.flatten(None) == [None]
    assert tree.flatten(P(1, 2)) == [1, 2]
    assert tree.flatten(collections.OrderedDict([("b", 1), ("a", 2)])) == [1, 2]
    assert tree.flatten([[], {}]) == []
    assert tree.flatten_with_path({"b": 1, "a": [2, (3,)]}) == [
        (("a", 0), 2), (("a", 1, 0), 3), (("b",), 1)]
    assert tree.is_nested((1,)) and not tree.is_nested("ab")


def test_map_and_pack_keep_each_dicts_key_order():
    got = tree.map_structure(lambda x: x * 2, {"b": 1, "a": [2, (3,)]})
    assert got == {"b": 2, "a": [4, (6,)]} and list(got) == ["b", "a"]
    got = tree.pack_sequence_as({"b": 0, "a": [0, (0, 0)]}, [1, 2, 3, 4])
    assert got == {"b": 4, "a": [1, (2, 3)]} and list(got) == ["b", "a"]
    assert tree.map_structure(lambda a, b: a + b, P(1, 2), P(10, 20)) == P(11, 22)
    assert tree.map_structure(lambda x: 0, None, none_is_leaf=False) is None
    assert tree.map_structure(lambda x: 0, [None, 1],
                              none_is_leaf=False) == [None, 0]
    assert tree.lists_to_tuples([1, [2, 3]]) == (1, (2, 3))
    assert tree.map_structure_up_to({"a": 0, "b": 0},
                                    lambda x: type(x).__name__,
                                    {"a": [1, 2], "b": 3}) == {"a": "list",
                                                               "b": "int"}
    assert tree.map_shape_structure(lambda s: s, [(1, 2), (None, 3)]) == [
        (1, 2), (None, 3)]


def test_traverse_orders_and_replacements():
    seen = []
    s = [(1, 2), [3], {"a": 4}]
    assert tree.traverse(seen.append, s) == s
    assert seen == [s, (1, 2), 1, 2, [3], 3, {"a": 4}, 4]
    seen = []
    assert tree.traverse(seen.append, s, top_down=False) == s
    assert seen == [1, 2, (1, 2), 3, [3], 4, {"a": 4}, s]
    assert tree.traverse(lambda x: tree.MAP_TO_NONE if x == [3] else None,
                         s) == [(1, 2), None, {"a": 4}]


def test_structure_errors():
    with pytest.raises(ValueError, match="same nested structure"):
        tree.assert_same_structure([1, 2], [1, (2,)])
    with pytest.raises(ValueError, match="same nested structure"):
        tree.assert_same_structure([1, 2], (1, 2))
    with pytest.raises(ValueError, match="Too many leaves"):
        tree.pack_sequence_as([0, 0], [1, 2, 3])
    with pytest.raises(ValueError, match="arity mismatch"):
        tree.map_structure(lambda a, b: a, [1], [1, 2])
    with pytest.raises(ValueError, match="don't have the same paths"):
        tree.assert_same_paths({"a": 1}, {"b": 1})


_leaves = st.one_of(st.integers(), st.none(), st.text(max_size=2))
_nests = st.recursive(_leaves, lambda kids: st.one_of(
    st.lists(kids, max_size=3), st.tuples(kids, kids),
    st.dictionaries(st.text("abc", min_size=1, max_size=2), kids,
                    max_size=3)), max_leaves=12)


@given(_nests)
def test_pack_inverts_flatten(s):
    assert tree.pack_sequence_as(s, tree.flatten(s)) == s
    with_path = tree.flatten_with_path(s)
    assert [v for _, v in with_path] == tree.flatten(s)
    for path, v in with_path:  # each path leads to its leaf
        node = s
        for k in path:
            node = node[k]
        assert node == v
    tree.assert_same_structure(s, tree.map_structure(lambda x: 0, s))


def test_top_level_names_keras_code_uses():
    # (keras.Loss and the other base classes: test_keras_programs)
    assert keras.mixed_precision.dtype_policy is \
        keras.mixed_precision.global_policy
    assert keras.mixed_precision.set_dtype_policy is \
        keras.mixed_precision.set_global_policy
    init = keras.initializers.deserialize(
        keras.initializers.serialize(keras.initializers.HeNormal(seed=3)))
    np.testing.assert_array_equal(init((3, 2)),
                                  keras.initializers.HeNormal(seed=3)((3, 2)))
    for name in ("cpu", "cpu:0", "/job:localhost/replica:0/task:0/device:CPU:0"):
        with keras.device(name):
            pass
    with pytest.raises(ValueError, match="graphkeras runs on the CPU"):
        with keras.device("gpu:0"):
            pass
