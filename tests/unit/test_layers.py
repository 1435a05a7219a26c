"""The layers of the central system (ARCHITECTURE.md §2), checked over the real import graph.

Every module of python/voltyard is parsed with `ast`; every import counts, at module level, under
`if TYPE_CHECKING:` and inside functions alike (a lazy import is still a dependency). Imports run one way,
down:

    command    cli.py (it runs the appliance and the demo)
    entry      runtime.py (the only composition root), demo.py
    edges      gateway/ (transport), api/ (the control API), sim/ (the simulator: a client, not the server),
               uplink/ (the appliance as a charge point of the operator's central system)
    protocol   ocpp/
    site       power/ (site power: it may use domain services)
    decisions  domain/
    devices    can/ (the CAN bus, its frames and drivers: the domain's cabinet bridge drives them)
    cluster    cluster/ (the cluster bus on Redis: presence, routing, fan-out, leases; above events/ so that
               it may hand the fleet's events to the bus, below everything that will use it)
    events     events/ (the bus, events/bus.py, persists events through the store writer, so it sits above
               store/)
    store      store/ (all SQL)
    event kinds  events/kinds.py (the typed events: the store builds those it writes with a change)
    shared     _native, errors.py, config.py (with can/config.py, power/config.py and power/profiles.py, the
               config sections it loads), config_view.py, metrics.py, loops.py, loop_monitor.py, gc_tuning.py,
               ws_client.py (the charge point's websocket client of sim/ and uplink/), the package's __init__
               (its version)

A module may import its own unit and the units of the layers below its own, never a unit of its own layer
or of one above (the shared modules, leaves each, import one another; the cycle check covers them). sim/
is narrower still: it shares the codec and nothing of the server (the shared modules, the CAN plumbing of
can/, and ocpp/codec.py and ocpp/timefmt.py). The graph between units has no cycle.

api/ is an edge like gateway/: it never imports runtime (the composition root hands it its services, one
AppKey each) nor gateway (a peer); what it reads of the live sessions and the dispatcher comes from ocpp/.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "python" / "voltyard"

# Top to bottom. A unit is a module or package path under voltyard; the most specific one holding a module
# places it.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("command line", frozenset({"cli"})),
    ("entry", frozenset({"runtime", "demo"})),
    ("edges", frozenset({"gateway", "api", "sim", "uplink"})),
    ("protocol", frozenset({"ocpp"})),
    ("site", frozenset({"power"})),
    ("decisions", frozenset({"domain"})),
    ("devices", frozenset({"can"})),
    ("cluster", frozenset({"cluster"})),
    ("events", frozenset({"events"})),
    ("store", frozenset({"store"})),
    ("event kinds", frozenset({"events.kinds"})),
    ("shared", frozenset({
        "", "_native", "errors", "config", "can.config", "power.config", "power.profiles", "config_view",
        "metrics", "loops", "loop_monitor", "gc_tuning", "ws_client",
    })),
)  # fmt: skip
# Sources left out of the check (none now; a package parked here is not checked).
UNCHECKED: frozenset[str] = frozenset()
# What sim/ may import besides the shared layer.
SIM_ALLOWED = frozenset({"can", "ocpp.actions", "ocpp.codec", "ocpp.timefmt"})

_RANK = {unit: rank for rank, (_, units) in enumerate(LAYERS) for unit in units}
_LAYER_NAME = {unit: name for name, units in LAYERS for unit in units}


@dataclass(frozen=True, slots=True)
class Import:
    file: Path  # the importing file
    line: int
    source: str  # its module, dotted, under voltyard ("" for the package's __init__)
    target: str  # the imported module, dotted, under voltyard


def _module_name(file: Path) -> str:
    parts = list(file.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(name: str) -> str:
    """`name` (dotted, under voltyard) cut to the module or package that exists (an imported name of a
    module is not a module)."""
    parts = name.split(".") if name else []
    while parts:
        path = ROOT.joinpath(*parts)
        if path.with_suffix(".py").is_file() or path.is_dir() or (parts == ["_native"]):
            return ".".join(parts)
        parts.pop()
    return ""


def _imports(file: Path) -> list[Import]:
    source = _module_name(file)
    package = source if file.name == "__init__.py" else source.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"), str(file))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's package up
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join([*base, *([node.module] if node.module else [])])
                absolute = f"voltyard.{module}" if module else "voltyard"
            else:
                absolute = node.module or ""
            names = [f"{absolute}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name == "voltyard" or name.startswith("voltyard."):
                target = _resolve(name.removeprefix("voltyard").removeprefix("."))
                found.append(Import(file, node.lineno, source, target))
    return found


def unit_of(module: str) -> str:
    """The most specific unit of LAYERS holding `module`."""
    parts = module.split(".") if module else []
    while parts:
        if ".".join(parts) in _RANK:
            return ".".join(parts)
        parts.pop()
    return ""


def all_imports() -> list[Import]:
    return [found for file in sorted(ROOT.rglob("*.py")) for found in _imports(file)]


def broken_rule(found: Import) -> str | None:
    """Why this import breaks the layers, or None."""
    source, target = unit_of(found.source), unit_of(found.target)
    if source == target or source in UNCHECKED:
        return None
    where = f"{found.file.relative_to(ROOT.parents[1])}:{found.line} imports voltyard.{found.target}"
    if source == "sim" and _RANK[target] != _RANK[""] and unit_of_sim(found.target) is None:
        return (
            f"{where}: sim/ shares the codec and nothing of the server (it may import {sorted(SIM_ALLOWED)})"
        )
    if _RANK[target] < _RANK[source]:
        return (
            f"{where}: {source or 'voltyard'} (layer {_LAYER_NAME[source]}) must not import {target} "
            f"(layer {_LAYER_NAME[target]}, above it): imports run one way, down"
        )
    if _RANK[target] == _RANK[source] and _LAYER_NAME[source] != "shared" and source != "sim":
        return (
            f"{where}: {source} and {target} are both in layer {_LAYER_NAME[source]}; a layer does not "
            f"import its own peers"
        )
    return None


def unit_of_sim(target: str) -> str | None:
    """The entry of SIM_ALLOWED that holds `target`, if any."""
    return next(
        (allowed for allowed in SIM_ALLOWED if target == allowed or target.startswith(f"{allowed}.")), None
    )


def unit_cycles(imports: list[Import]) -> list[list[str]]:
    """Cycles of the graph between units (not within one), each as the units along it."""
    graph: dict[str, set[str]] = {}
    for found in imports:
        source, target = unit_of(found.source), unit_of(found.target)
        if source != target and source not in UNCHECKED:
            graph.setdefault(source, set()).add(target)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(unit: str) -> None:
        state[unit] = 1
        path.append(unit)
        for nxt in sorted(graph.get(unit, ())):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[unit] = 2

    for unit in sorted(graph):
        if unit not in state:
            visit(unit)
    return cycles


def test_every_module_has_a_layer() -> None:
    """A new package gets its place in LAYERS (and ARCHITECTURE.md §2) before it is checked."""
    unplaced = sorted(
        {
            _module_name(file)
            for file in ROOT.rglob("*.py")
            if unit_of(_module_name(file)) == "" and _module_name(file)
        }
    )
    assert unplaced == [], f"modules without a layer in tests/unit/test_layers.py LAYERS: {unplaced}"


def test_imports_run_one_way_down() -> None:
    broken = sorted({rule for found in all_imports() if (rule := broken_rule(found)) is not None})
    assert broken == [], "layer rules broken:\n" + "\n".join(broken)


def test_no_cycles_between_packages() -> None:
    cycles = unit_cycles(all_imports())
    assert cycles == [], "import cycles between packages: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_graph_is_read_whole() -> None:
    """The parser sees what the rules are about: TYPE_CHECKING imports, function-level imports and the
    gateway's import of the OCPP dispatcher, so that a passing check is not an empty one."""
    imports = all_imports()
    pairs = {(found.source, found.target) for found in imports}
    assert ("gateway.connection", "ocpp.dispatch") in pairs  # under TYPE_CHECKING
    assert ("runtime", "sim.plc") in pairs  # inside a method
    assert ("domain.health", "events.bus") in pairs


@pytest.mark.parametrize(
    ("source", "target", "broken"),
    [
        ("domain.health", "gateway.server", True),
        ("ocpp.router", "gateway.connection", True),
        ("domain.health", "ocpp.registry", True),
        ("gateway.server", "api.app", True),
        ("sim.charger", "ocpp.dispatch", True),
        ("sim.charger", "store.db", True),
        ("store.db", "events", True),
        ("power.manager", "gateway.server", True),
        ("can.driver", "domain.chargers", True),
        ("gateway.server", "ocpp.dispatch", False),
        ("ocpp.dispatch", "domain.chargers", False),
        ("sim.charger", "ocpp.codec", False),
        ("config", "can.config", False),
        ("cluster.fanout", "events.kinds", False),
        ("cluster.routing", "ocpp.commands", True),
        ("events.bus", "cluster.fanout", True),
        ("runtime", "gateway.server", False),
    ],
)
def test_the_rules(source: str, target: str, broken: bool) -> None:
    found = Import(ROOT / f"{source.replace('.', '/')}.py", 1, source, target)
    assert (broken_rule(found) is not None) is broken


_SQL_CALLS = frozenset({"execute", "executemany", "executescript"})
# A statement in a string constant (queued with StoreWriter.append, say): its start, not a word in prose.
_SQL_TEXT = re.compile(r"^\s*(INSERT (OR \w+ )?INTO|UPDATE \w+ SET|DELETE FROM|SELECT .+ FROM)\b")


def _is_sql(node: ast.AST) -> bool:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in _SQL_CALLS
    text = node.value if isinstance(node, ast.Constant) else None
    return isinstance(text, str) and _SQL_TEXT.match(text) is not None


def sql_calls_outside_store() -> list[str]:
    """`file:line` of every call of a method named execute/executemany/executescript, and of every string
    constant that starts an SQL statement, outside store/."""
    found = []
    for file in sorted(ROOT.rglob("*.py")):
        if file.relative_to(ROOT).parts[0] == "store":
            continue
        for node in ast.walk(ast.parse(file.read_text(), str(file))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _SQL_CALLS
            ) or (
                isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL_TEXT.match(node.value)
            ):
                found.append(f"{file.relative_to(ROOT.parent.parent)}:{node.lineno}")
    return found


def test_sql_lives_in_store_only() -> None:
    """ARCHITECTURE.md §2: store/ holds all SQL; domain/, ocpp/ and api/ call its functions."""
    assert sql_calls_outside_store() == [], "SQL outside python/voltyard/store/"
