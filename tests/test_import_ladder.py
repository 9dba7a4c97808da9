"""The import ladder (docs/architecture.md), checked on the source.

Every import of graphkeras/, those made inside functions included, must
point down or sideways on LADDER: a module may import modules of its own
rung or of a lower one, never of a higher one. Lazy imports count: an
import deferred to call time to dodge a cycle is still a dependency, and
the cycle it hides is what this test keeps out.

The largest import cycle left (a strongly connected component of the
module graph, lazy edges included) must be the small tensor/ops core of
the frontend (CORE_CYCLE): tensors, tracing and variables call the ops,
which make tensors and read variables.
"""

import networkx as nx
import pytest

from import_graph import import_graph, largest_cycle

# The rungs, lowest first: (name, module prefixes). A module belongs to
# the rung of its longest matching prefix.
LADDER = (
    ("floor", ("graphkeras.flags", "graphkeras.version",
               "graphkeras.fileio")),
    ("ir", ("graphkeras.ir",)),
    ("passes", ("graphkeras.passes",)),
    # export stands beside codegen: both read IR only, neither knows layers
    ("codegen", ("graphkeras.codegen", "graphkeras.export")),
    ("runtime", ("graphkeras.runtime",)),
    ("frontend", ("graphkeras.frontend", "graphkeras.config")),
    # public facades, the CLI, datasets, applications (written against the
    # public API, as Keras's are)
    ("public", ("graphkeras", "graphkeras.frontend.applications")),
)

# Imports that the ladder allows but the design forbids.
FORBIDDEN = (
    ("graphkeras.codegen", "graphkeras.passes"),  # codegen only lowers
    ("graphkeras.codegen", "graphkeras.export"),
    ("graphkeras.export", "graphkeras.codegen"),
    ("graphkeras.export", "graphkeras.passes"),
)

# The modules the largest cycle may hold (13 today). Shrink the set when a
# change breaks a loop; never grow it.
CORE_CYCLE = {f"graphkeras.frontend.{m}" for m in (
    "tensors", "tracing", "variables", "initializers", "random", "operation",
    "ops", "ops.core", "ops.numpy", "ops.nn", "ops.math", "ops.linalg",
    "ops.image")}
# the next loop: models and saving (Model.save / from_config call saving,
# which builds models); it must stay smaller than the core
MODELS_SAVING = ("graphkeras.frontend.models", "graphkeras.frontend.saving",
                 "graphkeras.frontend.utils.summary")


def rung(module: str) -> int:
    best, best_len = None, -1
    for i, (_, prefixes) in enumerate(LADDER):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best_len:
                best, best_len = i, len(p)
    assert best is not None, f"{module} is on no rung of LADDER"
    return best


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    return import_graph()


def test_no_import_climbs_the_ladder(graph):
    bad = []
    for a, b, d in graph.edges(data=True):
        if rung(b) > rung(a):
            bad.append(f"{a} -> {b} (line {d['line']}{', lazy' if d['lazy'] else ''}"
                       f"): {LADDER[rung(a)][0]} imports {LADDER[rung(b)][0]}")
    assert not bad, "imports climbing the ladder:\n" + "\n".join(sorted(bad))


def test_no_forbidden_import(graph):
    bad = [f"{a} -> {b} (line {d['line']})" for a, b, d in graph.edges(data=True)
           for lo, hi in FORBIDDEN if _under(a, lo) and _under(b, hi)]
    assert not bad, "forbidden imports:\n" + "\n".join(sorted(bad))


def test_largest_cycle_is_the_tensor_ops_core(graph):
    cycle = largest_cycle(graph)
    outside = sorted(cycle - CORE_CYCLE)
    assert not outside, (
        f"the largest import cycle ({len(cycle)} modules) reaches beyond the "
        f"tensor/ops core: {outside}")


def test_other_cycles_are_small_and_known(graph):
    core = largest_cycle(graph)
    for c in nx.strongly_connected_components(graph):
        if c == core or len(c) <= 3:
            continue
        assert all(any(_under(m, p) for p in MODELS_SAVING) for m in c), (
            f"an import cycle of {len(c)} modules: {sorted(c)}")
        assert len(c) < len(core), f"the models/saving loop grew: {sorted(c)}"


def test_compiler_packages_have_no_cycle(graph):
    """ir, passes, codegen, runtime and export form no import loop among
    their modules, but for the small known ones of ALLOWED_LOW_CYCLES."""
    low = graph.subgraph([m for m in graph if rung(m) <= rung(
        "graphkeras.runtime")])
    loops = [sorted(c) for c in nx.strongly_connected_components(low)
             if len(c) > 1 and not any(c <= ok for ok in ALLOWED_LOW_CYCLES)]
    assert not loops, f"import cycles below the frontend: {loops}"


ALLOWED_LOW_CYCLES = (
    # Function.__str__ prints with text.py, which builds Functions
    {"graphkeras.ir.function", "graphkeras.ir.text"},
    # the GEMM's variants (narrow products, bf16 packing) share its helpers
    {"graphkeras.codegen.matmul", "graphkeras.codegen.narrow",
     "graphkeras.codegen.bf16"},
)


def test_the_graph_tool_sees_lazy_imports(graph):
    """The checks above would pass vacuously if lazy imports were missed."""
    assert graph.has_edge("graphkeras.frontend.ops.nn", "graphkeras.config")
    assert graph.edges["graphkeras.frontend.ops.nn", "graphkeras.config"]["lazy"]
