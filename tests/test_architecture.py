"""The floors of docs/architecture.md, checked over every import in the project's code.

Every import counts, at module level, under `if TYPE_CHECKING:` or inside a function: an import
hidden in a function body is still a dependency, only a later one.
"""

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)

# Lowest first. An app may import only apps on a lower floor; apps on one floor ignore each other.
FLOORS: list[set[str]] = [
    {"portal"},
    {"audit"},
    {"notices"},
    {"accounts", "usage"},
    {"plans"},
    {"billing"},
    {"support"},
    {"front"},
]

# The only project imports allowed inside a function body: each breaks a cycle inside one app
# (the module imported at call time imports the caller at module level), or is Django's idiom for
# connecting signals and checks once the app registry is ready.
CYCLE_BREAKERS: set[tuple[str, str]] = {
    ("accounts/apps.py", "accounts.receivers"),
    ("billing/apps.py", "billing.checks"),
    ("notices/apps.py", "notices.checks"),
    # tasks.py imports these modules to call them; they enqueue its tasks.
    ("billing/reconcile.py", "billing.tasks"),
    ("billing/services.py", "billing.tasks"),
    ("billing/webhooks.py", "billing.tasks"),
    ("notices/services.py", "notices.tasks"),
    ("support/finance.py", "support.tasks"),
    ("usage/provisioning.py", "usage.tasks"),
    # refunds.py and autorenew.py build on services.py; services calls back into them once.
    ("billing/services.py", "billing.refunds"),
    ("billing/services.py", "billing.autorenew"),
    # services.py sends through sms.py; the SMS budget alert is a notice sent by services.py.
    ("notices/sms.py", "notices.services"),
}

SKIPPED = {"tests", "bench", ".venv", "var", "node_modules", "static", "templates", "locale", "docs"}


def floor_of(app: str) -> int:
    for number, apps in enumerate(FLOORS):
        if app in apps:
            return number
    raise AssertionError(f"{app}/ is on no floor: add it to FLOORS and to docs/architecture.md")


def project_apps() -> set[str]:
    return {
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in SKIPPED and not path.parent.name.startswith(".")
    }


def imports(path: Path, package: str) -> list[tuple[str, bool]]:
    """(module imported, whether inside a function body) for every import in one file."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((alias.name, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.rsplit(".", child.level - 1)[0] if child.level > 1 else package
                    module = f"{base}.{child.module}" if child.module else base
                else:
                    module = child.module or ""
                # `from billing import tasks` imports the module billing.tasks.
                found.extend((f"{module}.{alias.name}", in_function) for alias in child.names)
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), False)
    return found


def project_imports() -> list[tuple[str, str, bool]]:
    """(file, module, inside a function) for every import of a project module."""
    apps = project_apps()
    result = []
    for app in sorted(apps):
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            package = ".".join(path.relative_to(ROOT).parent.parts)
            for module, in_function in imports(path, package):
                if module.split(".")[0] in apps:
                    result.append((relative, module, in_function))
    return result


def test_every_app_is_on_a_floor():
    for app in project_apps():
        floor_of(app)


def test_no_app_imports_an_app_on_its_floor_or_above():
    broken = set()
    for path, module, _ in project_imports():
        app, target = path.split("/")[0], module.split(".")[0]
        if app != target and floor_of(target) >= floor_of(app):
            broken.add(f"{path} imports {module.rsplit('.', 1)[0]}")

    assert not broken, "imports breaking the floors (docs/architecture.md):\n" + "\n".join(sorted(broken))


def _breaker(path: str, module: str) -> tuple[str, str] | None:
    for known_path, known_module in CYCLE_BREAKERS:
        if path == known_path and (module == known_module or module.startswith(known_module + ".")):
            return known_path, known_module
    return None


def test_project_imports_inside_functions_are_only_the_documented_cycle_breakers():
    undocumented, used = set(), set()
    for path, module, in_function in project_imports():
        if not in_function:
            continue
        breaker = _breaker(path, module)
        if breaker is None or path.split("/")[0] != module.split(".")[0]:
            undocumented.add(f"{path} imports {module.rsplit('.', 1)[0]} inside a function")
        else:
            used.add(breaker)

    assert not undocumented, "move these to the top of the module:\n" + "\n".join(sorted(undocumented))
    assert used == CYCLE_BREAKERS, f"no longer needed, remove from CYCLE_BREAKERS: {CYCLE_BREAKERS - used}"


def test_the_floors_are_the_ones_the_documentation_draws():
    text = (ROOT / "docs" / "architecture.md").read_text()
    for number, apps in enumerate(FLOORS):
        line = f"{number}. " + ", ".join(f"`{app}`" for app in sorted(apps))
        assert line in text, f"docs/architecture.md should list floor {line!r}"


def test_the_checker_sees_an_import_hidden_in_a_function(tmp_path):
    source = tmp_path / "module.py"
    source.write_text(
        "import usage\n\ndef f():\n    from billing.models import Order\n    from . import tasks\n"
    )

    assert imports(source, "usage") == [
        ("usage", False),
        ("billing.models.Order", True),
        ("usage.tasks", True),
    ]
