import pytest

from tests.support.factories import UserFactory, staff_user


@pytest.fixture
def support_agent(db):
    return staff_user("support", email="agent@example.com", name="Agent")


@pytest.fixture
def finance_user(db):
    return staff_user("finance", email="finance@example.com", name="Finance")


@pytest.fixture
def customer(db):
    return UserFactory(email="carla@example.com", phone="+37761234567", name="Carla Rossi")


@pytest.fixture
def agent_client(client, support_agent):
    client.force_login(support_agent)
    return client


@pytest.fixture
def finance_client(client, finance_user):
    client.force_login(finance_user)
    return client
