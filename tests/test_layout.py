"""The package's house rules (issue #13), read from its source with `ast`: nothing here imports the package, except
rule (d)'s checks, which import one module in a fresh interpreter to see what it drags in.

Every `import` and `from ... import` statement of src/avgenbench is an edge from its module to the package modules it
names (`from .x import y` names `x.y` when that is a module, else `x`). An edge is *module-level* when the statement
runs on import (at the top, or in a module-level `if`/`try`), *lazy* when it sits in a function body, and *typing* under
`if TYPE_CHECKING:` (never run).

(a) No import cycle, lazy imports included. A module-level cycle is the worse kind (which module of it loads first
    depends on who is imported first, and a half-initialised module is read) and has its own test, so none comes
    back while the lazy ones are removed. A lazy import that exists to dodge a cycle still couples the two modules
    both ways, so it counts too. Laziness for a fast start (a command importing the runner only when it runs) never
    needs a cycle: it points down the stack, from the command line to the library, from a module to its models.
(b) Production code never imports the tools that sit above it. Tools: `cli/` (the command line), `synthetic/` (clips
    with known truth), `generation/` (filling a videos folder with a provider), `calibrate` and `calibrate_real` (checking
    backends against synthetic and degraded clips), `demo` (comparing a demo run with its clips' truth; it only reads
    what eval stored) and `__main__`; and the repository's `bench/` scripts. Production is every other module of
    src/avgenbench. Lazy and typing imports count: a lazy import still runs in production.
(c) Nothing imports `avgenbench.cli` but `avgenbench.__main__` (and the console script in pyproject.toml); inside
    `cli/`, command modules import only the shared helpers (`common`, `printing`, `running`), never each other, and
    the helpers import no command module; no module outside `cli/` imports typer (library code returns or raises,
    the commands print and exit).
(d) `import avgenbench.score` loads no module of `avgenbench.dimensions`, `avgenbench.judge` or `avgenbench.perception`:
    scoring reads weights, not the code that measures. And `import avgenbench.cli` loads no model library.

A rule that waits on another branch's part is marked xfail(strict=True) naming that branch: once the branch is merged
the test passes, strict turns that into a failure, and the mark must go.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
PACKAGE = "avgenbench"

TOOLS = ("avgenbench.cli", "avgenbench.synthetic", "avgenbench.generation", "avgenbench.calibrate",
         "avgenbench.calibrate_real", "avgenbench.demo", "avgenbench.__main__")
SCRIPTS = ("bench",)  # the repository's bench/ scripts
CLI_HELPERS = ("avgenbench.cli.common", "avgenbench.cli.printing", "avgenbench.cli.running")
SCORING_MUST_NOT_LOAD = ("avgenbench.dimensions", "avgenbench.judge", "avgenbench.perception")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str  # "module" (runs on import), "lazy" (in a function body) or "typing" (under TYPE_CHECKING)
    line: int

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} ({self.kind}, {_path_of(self.source)}:{self.line})"


def _module_paths() -> dict[str, Path]:
    """Module name -> file, for every .py under src/avgenbench (a package is its __init__.py)."""
    modules = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = _module_paths()


def _path_of(module: str) -> str:
    return str(MODULES[module].relative_to(REPO)) if module in MODULES else module


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def within(module: str, prefixes) -> bool:
    """Whether `module` is one of `prefixes` or inside one of them."""
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module if _is_package(module) else module.rpartition(".")[0]
    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules a statement names: for `from X import y`, X.y when it is a module of the package, else X."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = _absolute(module, node)
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(module: str, node: ast.AST, kind: str, edges: list[Edge]) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            edges.extend(Edge(module, t, kind, child.lineno) for t in dict.fromkeys(_targets(module, child)))
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            _walk(module, child, "lazy" if kind == "module" else kind, edges)
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.body:
                _walk(module, ast.Module(body=[stmt], type_ignores=[]), "typing", edges)
            for stmt in child.orelse:
                _walk(module, ast.Module(body=[stmt], type_ignores=[]), kind, edges)
        else:
            _walk(module, child, kind, edges)


def import_edges() -> list[Edge]:
    """Every import statement of the package as edges (targets outside the package included)."""
    edges: list[Edge] = []
    for module, path in MODULES.items():
        _walk(module, ast.parse(path.read_text(encoding="utf-8"), str(path)), "module", edges)
    return edges


EDGES = import_edges()


def _internal(edges, kinds) -> list[Edge]:
    return [e for e in edges if e.kind in kinds and e.target in MODULES and e.target != e.source]


def cycles(edges: list[Edge]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted; the list sorted."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for e in edges:
        graph[e.source].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(MODULES)))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def describe(component: list[str], edges: list[Edge]) -> str:
    """A cycle's modules and the import statements that join them."""
    inside = [str(e) for e in edges if e.source in component and e.target in component]
    return " <-> ".join(component) + "\n      " + "\n      ".join(sorted(inside))


# The parsing itself ----------------------------------------------------------

def test_the_import_reader_sees_relative_lazy_and_typing_imports():
    by = {(e.source, e.target): e.kind for e in EDGES}
    assert by[("avgenbench.__main__", "avgenbench.cli")] == "module"  # from .cli import main
    assert by[("avgenbench.cli.printing", "avgenbench.cli.common")] == "module"  # from .common import out
    assert by[("avgenbench.cli.printing", "avgenbench.score")] == "typing"  # under if TYPE_CHECKING
    assert by[("avgenbench.cli.eval", "avgenbench.doctor")] == "lazy"  # imported inside the command
    assert by[("avgenbench.cli", "avgenbench.cli.cache")] == "module"  # from . import cache, ...
    assert by[("avgenbench.cli", "avgenbench")] == "module"  # from .. import __version__
    assert len(MODULES) > 50 and all(e.source in MODULES for e in EDGES)


def test_the_cycle_finder_finds_a_planted_cycle():
    a, b, c = sorted(MODULES)[:3]
    planted = [Edge(a, b, "module", 1), Edge(b, c, "module", 1), Edge(c, a, "module", 1)]
    assert cycles(planted) == [sorted([a, b, c])]
    assert cycles(planted[:2]) == []


# (a) no import cycle ---------------------------------------------------------

def test_no_module_level_import_cycle():
    module_level = _internal(EDGES, {"module"})
    found = cycles(module_level)
    assert not found, "module-level import cycles:\n  " + "\n  ".join(describe(c, module_level) for c in found)


def test_no_import_cycle_even_through_a_lazy_import():
    every = _internal(EDGES, {"module", "lazy"})
    found = cycles(every)
    assert not found, "import cycles through a lazy import:\n  " + "\n  ".join(describe(c, every) for c in found)


# (b) production never imports the tools above it -------------------------------

def _production_imports_of(targets) -> list[Edge]:
    return [e for e in EDGES if not within(e.source, TOOLS) and within(e.target, targets)]


def test_production_imports_no_command_line_generator_or_calibration():
    bad = _production_imports_of(tuple(t for t in TOOLS if t != "avgenbench.synthetic") + SCRIPTS)
    assert not bad, "production modules importing tools:\n  " + "\n  ".join(map(str, bad))


def test_production_imports_nothing_from_synthetic():
    bad = _production_imports_of(("avgenbench.synthetic",))
    assert not bad, "production modules importing synthetic/:\n  " + "\n  ".join(map(str, bad))


# (c) the command line sits on top ----------------------------------------------

def test_nothing_imports_the_command_line_but_main():
    bad = [e for e in EDGES if within(e.target, ("avgenbench.cli",)) and not within(e.source, ("avgenbench.cli",))
           and e.source != "avgenbench.__main__"]
    assert not bad, "imports of avgenbench.cli:\n  " + "\n  ".join(map(str, bad))
    scripts = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert 'avgenbench = "avgenbench.cli:main"' in scripts


def test_command_modules_import_only_the_shared_helpers():
    commands = [m for m in MODULES if m.startswith("avgenbench.cli.") and m not in CLI_HELPERS]
    assert {"avgenbench.cli.eval", "avgenbench.cli.results", "avgenbench.cli.report"} <= set(commands)
    bad = [e for e in EDGES if within(e.source, ("avgenbench.cli",)) and e.source != "avgenbench.cli"
           and e.target in commands]
    assert not bad, "cli modules importing a command module:\n  " + "\n  ".join(map(str, bad))
    assert not [e for e in EDGES if within(e.source, ("avgenbench.cli",)) and e.target == "avgenbench.cli"
                and e.source != "avgenbench.cli"], "a cli module imports the app module"


def test_library_modules_hold_no_command_line():
    """Typer belongs to cli/: a library module that imports it defines commands or exits like one."""
    bad = [e for e in EDGES if within(e.target, ("typer",)) and not within(e.source, ("avgenbench.cli",))]
    assert not bad, "typer imported outside cli/:\n  " + "\n  ".join(map(str, bad))


# (d) scoring loads no measuring code --------------------------------------------

def _loaded_by(statement: str, top: str = PACKAGE) -> list[str]:
    """The modules under `top` that `statement` leaves loaded in a fresh interpreter."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(SRC)})
    assert done.returncode == 0, done.stderr
    return [m for m in json.loads(done.stdout) if top == "" or within(m, (top,))]


def test_the_loaded_module_probe_sees_what_an_import_drags_in():
    assert {"avgenbench.dimensions", "avgenbench.dimensions.base"} <= set(_loaded_by("import avgenbench.doctor"))
    assert not [m for m in _loaded_by("import avgenbench.cachedir") if within(m, ("avgenbench.dimensions",))]


def test_importing_score_loads_no_dimension_judge_or_perception_module():
    loaded = _loaded_by("import avgenbench.score")
    assert "avgenbench.score" in loaded
    bad = [m for m in loaded if within(m, SCORING_MUST_NOT_LOAD)]
    assert not bad, f"import avgenbench.score loads {len(bad)} measuring modules: {', '.join(bad)}"


def test_the_command_line_starts_without_a_model_library():
    """Commands import their heavy code when they run: `avgenbench --help` must not pay for decoders or models."""
    loaded = {m.split(".")[0] for m in _loaded_by("import avgenbench.cli", top="")}
    assert "avgenbench" in loaded and "typer" in loaded
    heavy = {"onnxruntime", "numba", "cv2", "av", "scipy", "librosa", "faster_whisper", "torch", "dlib", "jinja2"}
    assert not loaded & heavy, f"importing avgenbench.cli loads {sorted(loaded & heavy)}"
