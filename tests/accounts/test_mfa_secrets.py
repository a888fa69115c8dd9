"""Staff second factors are sealed in the database: a copy of the database alone does not give them."""

import json
import time

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from portal.lib import secret_box
from tests.accounts.factories import UserFactory
from tests.fixtures.mfa import TEST_TOTP_SECRET, current_totp, totp_enrol

pytestmark = pytest.mark.django_db
PASSWORD = "a long travel password 42"
OLD_KEY = "the key the site started with, long enough for a real one 0123456789"
NEW_KEY = "the key after the rotation, also long enough for a real one 9876543210"


@pytest.fixture
def staff():
    user = UserFactory(email="agent@example.com", is_staff=True, is_superuser=True, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def _stored(user) -> str:
    """What a database dump shows of the staff member's authenticators."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM mfa_authenticator WHERE user_id = %s", [user.pk])
        return " ".join(str(row[0]) for row in cursor.fetchall())


def _admin_reachable_with_totp(client, secret: str = TEST_TOTP_SECRET) -> bool:
    client.post(reverse("account_login"), {"login": "agent@example.com", "password": PASSWORD})
    client.post(reverse("mfa_authenticate"), {"code": current_totp(secret)})
    return client.get("/admin/").status_code == 200


def test_a_database_dump_shows_neither_the_totp_key_nor_the_recovery_seed(client, staff):
    client.post(reverse("account_login"), {"login": "agent@example.com", "password": PASSWORD})
    secret = client.get(reverse("mfa_activate_totp")).context["form"].secret
    client.post(reverse("mfa_activate_totp"), {"code": current_totp(secret)})
    seed = RecoveryCodes(Authenticator.objects.get(user=staff, type="recovery_codes")).get_unused_codes()

    dump = _stored(staff)
    assert Authenticator.objects.filter(user=staff).count() == 2
    assert secret not in dump
    assert not any(code in dump for code in seed)
    assert dump.count(secret_box.PREFIX) == 2
    assert client.get("/admin/").status_code == 200


def test_the_staff_still_log_in_after_secret_key_rotation_and_reseal(client, staff):
    with override_settings(SECRET_KEY=OLD_KEY):
        totp_enrol(staff)
    sealed_before = _stored(staff)

    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[OLD_KEY]):
        assert _admin_reachable_with_totp(client)
        call_command("reseal_secrets")
    assert _stored(staff) != sealed_before

    client.logout()
    # The next period's code (each code works once), with the old key gone.
    with (
        override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[]),
        time_machine.travel(time.time() + 31),
    ):
        assert _admin_reachable_with_totp(client)


def test_reseal_without_the_old_key_changes_nothing_and_says_why(staff):
    with override_settings(SECRET_KEY=OLD_KEY):
        totp_enrol(staff)
    before = _stored(staff)

    with override_settings(SECRET_KEY=NEW_KEY), pytest.raises(CommandError, match="SECRET_KEY_FALLBACKS"):
        call_command("reseal_secrets")

    assert _stored(staff) == before


def test_secrets_stored_in_the_clear_before_are_sealed_by_the_migration(staff):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("accounts.migrations.0007_seal_mfa_secrets")
    authenticator = Authenticator.objects.create(
        user=staff, type=Authenticator.Type.TOTP, data={"secret": TEST_TOTP_SECRET}
    )
    Authenticator.objects.filter(pk=authenticator.pk).update(data={"secret": TEST_TOTP_SECRET})

    migration.seal(apps, None)
    migration.seal(apps, None)  # twice: a sealed secret is not sealed again

    stored = json.loads(json.dumps(Authenticator.objects.get(pk=authenticator.pk).data))
    assert secret_box.unseal(stored["secret"]) == TEST_TOTP_SECRET
    migration.unseal(apps, None)
    assert Authenticator.objects.get(pk=authenticator.pk).data == {"secret": TEST_TOTP_SECRET}
