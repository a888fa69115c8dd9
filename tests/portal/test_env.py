"""Every setting may come from a file named by <NAME>_FILE (mounted secrets), whatever its type."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.lib.env import envbool, envint, envlist, envstr


@pytest.fixture
def secret_file(tmp_path):
    def write(text: str) -> str:
        path = tmp_path / "value"
        path.write_text(text)
        return str(path)

    return write


def test_a_string_comes_from_its_file(monkeypatch, secret_file):
    monkeypatch.setenv("PORTAL_TEST_VALUE", "from the environment")
    monkeypatch.setenv("PORTAL_TEST_VALUE_FILE", secret_file("from the file\n"))

    assert envstr("PORTAL_TEST_VALUE") == "from the file"


def test_a_boolean_comes_from_its_file(monkeypatch, secret_file):
    monkeypatch.setenv("PORTAL_TEST_VALUE_FILE", secret_file("yes\n"))

    assert envbool("PORTAL_TEST_VALUE", False) is True


def test_a_whole_number_comes_from_its_file(monkeypatch, secret_file):
    monkeypatch.setenv("PORTAL_TEST_VALUE_FILE", secret_file("587\n"))

    assert envint("PORTAL_TEST_VALUE", 25) == 587


def test_a_list_comes_from_its_file(monkeypatch, secret_file):
    monkeypatch.setenv("PORTAL_TEST_VALUE_FILE", secret_file("new-secret,old-secret\n"))

    assert envlist("PORTAL_TEST_VALUE") == ["new-secret", "old-secret"]


def test_a_bad_value_in_a_file_names_the_file_variable(monkeypatch, secret_file):
    monkeypatch.setenv("PORTAL_TEST_VALUE_FILE", secret_file("maybe"))

    with pytest.raises(ImproperlyConfigured, match="PORTAL_TEST_VALUE_FILE must be one of"):
        envbool("PORTAL_TEST_VALUE", False)
    with pytest.raises(ImproperlyConfigured, match="PORTAL_TEST_VALUE_FILE must be a whole number"):
        envint("PORTAL_TEST_VALUE", 1)


def test_a_missing_file_stops_the_start(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_TEST_VALUE_FILE", str(tmp_path / "absent"))

    for read in (lambda: envstr("PORTAL_TEST_VALUE"), lambda: envint("PORTAL_TEST_VALUE", 1)):
        with pytest.raises(ImproperlyConfigured, match="PORTAL_TEST_VALUE_FILE: cannot read"):
            read()


def test_without_either_the_default_holds(monkeypatch):
    monkeypatch.delenv("PORTAL_TEST_VALUE", raising=False)
    monkeypatch.delenv("PORTAL_TEST_VALUE_FILE", raising=False)

    assert envbool("PORTAL_TEST_VALUE", True) is True
    assert envint("PORTAL_TEST_VALUE", 7) == 7
    assert envlist("PORTAL_TEST_VALUE", ["a"]) == ["a"]
    assert envstr("PORTAL_TEST_VALUE", "d") == "d"
