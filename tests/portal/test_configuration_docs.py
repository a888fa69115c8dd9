import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READER = re.compile(r"\benv(?:str|bool|int|list)\(\s*\"([A-Z][A-Z0-9_]*)\"")


def settings_variables() -> set[str]:
    return set(READER.findall((ROOT / "portal" / "settings.py").read_text()))


def test_settings_reads_its_variables_through_the_strict_helpers():
    assert {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"} <= settings_variables()


def test_every_environment_variable_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()

    assert sorted(name for name in settings_variables() if f"`{name}`" not in readme) == []


def test_every_environment_variable_is_in_env_example():
    documented = set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))

    assert sorted(settings_variables() - documented) == []
