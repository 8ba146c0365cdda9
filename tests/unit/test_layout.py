"""The house's layout holds: imports point one way (api → runs → surfaces | networks → optim),
storage and compute never reach the HTTP models, and the README's module table names real files."""

import ast
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BACKEND = ROOT / "backend"
# a package may import from the packages listed for it (and from itself and the shared modules)
ALLOWED = {
    "optim": set(),
    "surfaces": {"optim"},
    "networks": {"optim", "surfaces"},
    "runs": {"optim", "surfaces", "networks"},
    "rooms": set(),
    "api": {"optim", "surfaces", "networks", "runs", "rooms"},
}
SHARED = {"settings", "bounds", "jsontypes", "clients"}
MODULES = sorted(p for p in BACKEND.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """The backend modules `path` imports, as dotted names below `backend`."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("backend"):
            found.add(node.module)
            if node.module == "backend":
                found.update(f"backend.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("backend"))
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_one_way(path: Path) -> None:
    package = path.relative_to(BACKEND).parts[0]
    if package not in ALLOWED:
        return  # main.py, settings.py, bounds.py, worker.py: the top wires everything
    allowed = ALLOWED[package] | SHARED | {package}
    for module in _imports(path):
        target = module.split(".")[1] if "." in module else module
        assert target in allowed, f"{path.relative_to(ROOT)} imports {module}: {package}/ may not"


def test_only_api_holds_http_models() -> None:
    for path in MODULES:
        if path.relative_to(BACKEND).parts[0] not in set(ALLOWED) - {"api"}:
            continue
        for module in _imports(path):
            assert not module.startswith("backend.api"), f"{path.relative_to(ROOT)} imports {module}"


def test_readme_module_table_names_real_files() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## How it is built"):]
    table = table[: table.index("\n\n", table.index("| module |"))]
    paths = re.findall(r"`((?:backend|frontend)/[^`]*)`", table)
    assert len(paths) >= 10
    for entry in paths:
        for name in entry.split(", "):
            assert (ROOT / name.rstrip("/")).exists(), f"README names {name}, which does not exist"
    listed_packages = {p.split("/")[1] for p in paths if p.startswith("backend/")}
    actual = {p.name for p in BACKEND.iterdir() if p.is_dir() and not p.name.startswith("__")}
    assert actual <= listed_packages, f"packages missing from the README table: {actual - listed_packages}"


def code_lines(path: Path) -> int:
    """Lines holding code: not blank, not only comments, and not only text (string literals and
    the punctuation between them, as in a table of descriptions or examples)."""
    code: set[int] = set()
    with path.open("rb") as source:
        for token in tokenize.tokenize(source.readline):
            if token.type in TEXT_TOKENS or (token.type == tokenize.OP and token.string in TABLE_PUNCTUATION):
                continue
            code.update(range(token.start[0], token.end[0] + 1))
    return len(code)


TEXT_TOKENS = {tokenize.STRING, tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
               tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER}
TABLE_PUNCTUATION = {",", ":", "(", ")", "[", "]", "{", "}"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_backend_files_stay_readable(path: Path) -> None:
    lines = code_lines(path)
    assert lines <= 400, f"{path.relative_to(ROOT)} has {lines} lines of code: split it by idea"


def test_every_setting_is_documented() -> None:
    """Each `DESCENT_*` variable the settings class reads is in docs/api.md (limits) or
    docs/deploy.md (deployment), so an operator can find what a setting does."""
    from backend.settings import Settings

    docs = (ROOT / "docs" / "api.md").read_text() + (ROOT / "docs" / "deploy.md").read_text()
    missing = [f"DESCENT_{name.upper()}" for name in Settings.model_fields
               if f"`DESCENT_{name.upper()}`" not in docs]
    assert not missing, missing
