import pytest


@pytest.fixture(autouse=True)
def _english_unless_a_test_says_otherwise(english):
    yield
