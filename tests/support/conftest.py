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


@pytest.fixture(scope="session")
def _fake_stripe_server():
    from tests.billing.fake_stripe import FakeStripe

    server = FakeStripe().start()
    yield server
    server.stop()


@pytest.fixture
def fake_stripe(_fake_stripe_server, settings):
    """Stripe's HTTP API faked on 127.0.0.1; the official client talks to it over HTTP."""
    from tests.billing.fake_stripe import API_KEY, WEBHOOK_SECRET

    _fake_stripe_server.state.reset()
    settings.STRIPE_SECRET_KEY = API_KEY
    settings.STRIPE_API_BASE = _fake_stripe_server.url
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.PAYMENTS_DEMO_MODE = False
    return _fake_stripe_server.state
