"""The import ladder (docs/architecture.md), checked on the source.

Every import of graphkeras/, those made inside functions included, must
point down or sideways on LADDER: a module may import modules of its own
rung or of a lower one, never of a higher one. Lazy imports count: an
import deferred to call time to dodge a cycle is still a dependency, and
the cycle it hides is what this test keeps out.

The largest import cycle left (a strongly connected component of the
module graph, lazy edges included) must stay inside the frontend's Keras
core (CORE_CYCLE) and no larger than CORE_CYCLE_MAX modules.
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

# Where the largest cycle may lie, and its size today: the frontend's
# tensors, ops, layers, models, losses, metrics, optimizers, trainer and
# saving still call each other (Keras's own modules do too). Lower the
# number when a change breaks a loop; never raise it.
CORE_CYCLE = "graphkeras.frontend."
CORE_CYCLE_MAX = 76


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


def test_largest_cycle_is_the_frontend_core(graph):
    cycle = largest_cycle(graph)
    outside = sorted(m for m in cycle if not m.startswith(CORE_CYCLE))
    assert not outside, f"the largest import cycle reaches {outside}"
    assert len(cycle) <= CORE_CYCLE_MAX, (
        f"the largest import cycle grew to {len(cycle)} modules (at most "
        f"{CORE_CYCLE_MAX}): {sorted(cycle)}")


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
