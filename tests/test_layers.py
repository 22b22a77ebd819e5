"""The import layering the design promises, read from the source (no import side effects):

app.py -> pages/ -> components/ -> rerank_playground/ (the core). Tooling beside the product — the launcher
(weaviate_local), the test support (testkit), the scripts, the benchmarks and the tests — is never imported by
the product, and the core never imports streamlit or the UI.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLING = ("weaviate_local", "testkit", "tests", "scripts", "benchmarks")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def sources(*parts: str) -> list[Path]:
    files: list[Path] = []
    for part in parts:
        path = ROOT / part
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


def top_level(module: str) -> str:
    return module.split(".")[0]


def offenders(parts: tuple[str, ...], forbidden: set[str]) -> dict[str, list[str]]:
    """Each source file under ``parts`` that imports a top-level package in ``forbidden``, with what it imports."""
    found: dict[str, list[str]] = {}
    for path in sources(*parts):
        bad = sorted(m for m in imported_modules(path) if top_level(m) in forbidden)
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


def test_the_product_never_imports_tooling() -> None:
    assert offenders(("app.py", "pages", "components", "rerank_playground"), set(TOOLING)) == {}


def test_the_core_never_imports_streamlit_or_the_ui() -> None:
    assert offenders(("rerank_playground",), {"streamlit", "components", "pages", "app"}) == {}


def test_the_launcher_and_testkit_never_import_the_ui_or_the_tests() -> None:
    assert offenders(("weaviate_local", "testkit"), {"streamlit", "components", "pages", "app", "tests"}) == {}


def test_the_check_sees_imports_in_functions_too() -> None:
    # scripts/demo.py uses the launcher at module level; scripts/load_demo.py imports tqdm inside a function
    assert offenders(("scripts/demo.py",), {"weaviate_local"}) == {"scripts/demo.py": ["weaviate_local.server"]}
    assert offenders(("scripts/load_demo.py",), {"tqdm"}) == {"scripts/load_demo.py": ["tqdm"]}
