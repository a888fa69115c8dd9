"""A staff member sets up an authenticator app (allauth.mfa TOTP) and only then reaches the admin."""

import pytest
from allauth.account.models import EmailAddress

from tests.accounts.factories import UserFactory
from tests.fixtures.mfa import current_totp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery"


def test_a_new_staff_member_enrols_totp_and_then_reaches_the_admin(phone_page, screenshot):
    staff = UserFactory(email="new.agent@example.com", is_staff=True, is_superuser=True, password=PASSWORD)
    EmailAddress.objects.create(user=staff, email=staff.email, verified=True, primary=True)
    page = phone_page

    page.goto("/admin/")
    page.locator("input[name=login]").fill(staff.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").first.click()
    page.wait_for_url("**/accounts/2fa/totp/activate/**")
    assert page.locator("img[alt]").first.is_visible()  # the QR code
    screenshot(page, "enrol")

    secret = page.locator("#authenticator_secret").input_value()
    page.locator("input[name=code]").fill(current_totp(secret))
    page.locator("form:has(input[name=code]) button[type=submit]").first.click()
    page.wait_for_url("**/accounts/2fa/recovery-codes/**")
    assert "Recovery Codes" in page.inner_text("main")  # shown once, to write down
    screenshot(page, "recovery-codes")

    page.goto("/admin/")
    assert page.url.endswith("/admin/")
    assert page.locator("#site-name").is_visible()
    screenshot(page, "admin")


def test_the_next_login_asks_for_the_authenticator_code(phone_page, screenshot):
    from tests.fixtures.mfa import totp_enrol

    staff = UserFactory(email="agent@example.com", is_staff=True, password=PASSWORD)
    EmailAddress.objects.create(user=staff, email=staff.email, verified=True, primary=True)
    totp_enrol(staff)
    page = phone_page

    page.goto("/admin/")
    page.locator("input[name=login]").fill(staff.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").first.click()
    page.wait_for_url("**/accounts/2fa/authenticate/**")
    screenshot(page, "code")
    page.locator("input[name=code]").fill(current_totp())
    page.locator("form:has(input[name=code]) button[type=submit]").first.click()
    page.wait_for_url("**/admin/")

    assert page.locator("#site-name").is_visible()
