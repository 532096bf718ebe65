"""Imports point one way, index <- prompts <- service.answering <- service (http, cli, settings) <- eval <- harness
<- bench and tests (docs/architecture.md): checked over every module's AST, lazy imports included, so a back-edge
fails the test run instead of slowly turning the packages into one."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("index", "prompts", "service", "eval", "bench", "tests", "harness")
WEB_FRAMEWORKS = ("fastapi", "starlette", "uvicorn")


def module_name(path: Path) -> str:
    """`service/answering/pipeline.py` -> `service.answering.pipeline`; a package's `__init__` is the package."""
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> Iterator[str]:
    """Every module `path` imports, at any depth of the file (lazy imports inside functions count too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                yield ".".join([*base, node.module] if node.module else base)
            elif node.module:
                yield node.module


@lru_cache(maxsize=1)
def import_graph() -> dict[str, frozenset[str]]:
    """Our modules, each with the modules it imports."""
    graph = {}
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            graph[module_name(path)] = frozenset(imported_modules(path))
    return graph


def within(module: str, *packages: str) -> bool:
    """`module` is one of `packages` or inside one of them."""
    return any(module == package or module.startswith(package + ".") for package in packages)


def ours(module: str) -> bool:
    return within(module, *PACKAGES)


def offending(
    importer: str,
    allowed: tuple[str, ...],
    *,
    forbidden: tuple[str, ...] = (),
    graph: dict[str, frozenset[str]] | None = None,
) -> list[str]:
    """The imports of every module in `importer` that are ours but not `allowed`, or that are `forbidden`."""
    return sorted(
        f"{module} imports {imported}"
        for module, imports in (import_graph() if graph is None else graph).items()
        if within(module, importer)
        for imported in imports
        if (ours(imported) and not within(imported, *allowed)) or within(imported, *forbidden)
    )


def test_the_graph_covers_the_project() -> None:
    graph = import_graph()
    assert "index.embedding" in graph and "service.answering.pipeline" in graph and "eval.cli" in graph
    assert "index.documents" in graph["index.chunking"]


def test_index_imports_nothing_of_ours() -> None:
    assert offending("index", ("index",)) == []


def test_prompts_import_only_the_index() -> None:
    assert offending("prompts", ("prompts", "index")) == []


def test_the_answering_pipeline_knows_nothing_of_the_web_or_the_cli() -> None:
    assert offending("service.answering", ("service.answering", "index", "prompts"), forbidden=WEB_FRAMEWORKS) == []


def test_the_web_layer_does_not_import_the_cli() -> None:
    assert offending("service.http", ("service.http", "service.answering", "service.settings", "index")) == []


def test_the_settings_compose_the_answering_config_and_nothing_above_it() -> None:
    assert offending("service.settings", ("service.answering", "index")) == []


def test_the_web_layer_and_the_cli_use_the_answering_package_by_its_public_names() -> None:
    # Its __init__ names what they may use; reaching into its modules would make every rename a web change.
    reaching_in = sorted(
        f"{module} imports {imported}"
        for module, imports in import_graph().items()
        if within(module, "service.http", "service.cli", "service.settings")
        for imported in imports
        if within(imported, "service.answering") and imported != "service.answering"
    )
    assert reaching_in == []


@pytest.mark.parametrize("layer", ["index", "prompts", "service"])
def test_nothing_below_eval_imports_eval_tests_or_bench(layer: str) -> None:
    assert offending(layer, ("index", "prompts", "service")) == []


def test_only_eval_bench_tests_and_their_harness_import_eval() -> None:
    importers = sorted(
        f"{module} imports {imported}"
        for module, imports in import_graph().items()
        if not within(module, "eval", "bench", "tests", "harness")
        for imported in imports
        if within(imported, "eval")
    )
    assert importers == []


def test_tests_and_bench_never_import_each_other() -> None:
    # What they share lives in harness/, which imports neither of them.
    assert offending("bench", ("index", "prompts", "service", "eval", "bench", "harness")) == []
    assert offending("tests", ("index", "prompts", "service", "eval", "tests", "harness")) == []
    assert offending("harness", ("index", "prompts", "service", "eval", "harness")) == []


def test_eval_reaches_the_service_only_through_the_answering_package() -> None:
    assert offending("eval", ("eval", "index", "prompts", "service.answering")) == []


def test_importing_the_answering_package_loads_no_model_runtime_or_web_framework() -> None:
    # In a fresh interpreter: this process has long imported torch. litellm and torch load on first use only.
    heavy = ["litellm", "torch", "sentence_transformers", "llama_cpp", *WEB_FRAMEWORKS]
    probe = f"import sys, service.answering; print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == []


def test_index_modules_form_no_cycle() -> None:
    graph = {
        m: {i for i in imports if within(i, "index")} for m, imports in import_graph().items() if within(m, "index")
    }
    cycles = [" -> ".join(cycle) for cycle in find_cycles(graph)]
    assert cycles == []


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each module that lies on one (depth-first search; enough to name the culprits)."""
    cycles: list[list[str]] = []
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycles.append([*path[path.index(module) :], module])
            return
        if module in done:
            return
        for imported in sorted(graph.get(module, ())):
            visit(imported, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    return cycles


def test_the_checks_catch_a_back_edge() -> None:
    # The checks above only mean something if they can fail: the back-edges they forbid, added to the real graph.
    pipeline = "service.answering.pipeline"
    broken = {pipeline: import_graph()[pipeline] | {"service.http.app", "fastapi"}}
    assert offending(
        "service.answering", ("service.answering", "index", "prompts"), forbidden=WEB_FRAMEWORKS, graph=broken
    ) == [
        f"{pipeline} imports fastapi",
        f"{pipeline} imports service.http.app",
    ]
    assert find_cycles({"index.a": {"index.b"}, "index.b": {"index.a"}}) == [["index.a", "index.b", "index.a"]]
