"""Demo data for a fresh portal: people to log in as, in clear steps that are safe to run again.

Every step looks its rows up before creating them, so `seed_demo` can run at every start and never
duplicates anything; it restores the printed demo passwords (and the staff's authenticator secrets)
so the printed logins always work. It refuses to run with DEBUG off: the logins are published.
"""

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from plans.services import plans_seed_catalogue
from usage.demo import demo_cards_seed

DEMO_PASSWORD = "monaco-demo-2026"  # noqa: S105 - printed on purpose: demo logins only

TRAVELLER_EMAIL = "demo@example.com"
# Typed by a traveller as "+377 6 12 34 56 78"; stored in E.164.
TRAVELLER_PHONE = "+377612345678"
SUPPORT_EMAIL = "support@example.com"
FINANCE_EMAIL = "finance@example.com"
ADMIN_EMAIL = "admin@example.com"
# Where the printed logins are kept for dev.py to show again (under VAR_DIR).
LOGINS_FILE = "demo-logins.txt"
# Staff must use a second factor (allauth.mfa TOTP). Published like the password: demo only.
DEMO_TOTP_SECRETS = {
    SUPPORT_EMAIL: "MONACODEMOSUPPORTAGENTTOTPSECRET",
    FINANCE_EMAIL: "MONACODEMOFINANCECLERKTOTPSECRET",
    ADMIN_EMAIL: "MONACODEMOSITEADMINTOTPSECRETKEY",
}


@dataclass(frozen=True)
class Login:
    role: str
    identifiers: tuple[str, ...]
    password: str
    where: str


def _user(*, email: str, phone: str | None = None, **fields):
    User = get_user_model()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User(email=email, phone=phone, **fields)
    else:
        for name, value in fields.items():
            setattr(user, name, value)
        if phone:
            user.phone = phone
    if not user.has_usable_password() or not user.check_password(DEMO_PASSWORD):
        user.set_password(DEMO_PASSWORD)
    user.save()
    address, _ = EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    if not (address.verified and address.primary):
        address.verified = address.primary = True
        address.save(update_fields=["verified", "primary"])
    return user


def seed_traveller() -> list[Login]:
    _user(
        email=TRAVELLER_EMAIL,
        phone=TRAVELLER_PHONE,
        phone_verified=True,
        name="Demo Traveller",
        notify_email=True,
        notify_sms=True,
    )
    return [Login("Traveller", (TRAVELLER_EMAIL, "+377 6 12 34 56 78"), DEMO_PASSWORD, "/")]


def _totp(user) -> None:
    """Give a demo staff member the published authenticator secret (replacing any other)."""
    from allauth.mfa.adapter import get_adapter
    from allauth.mfa.models import Authenticator

    secret = DEMO_TOTP_SECRETS[user.email]
    current = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if current is not None and get_adapter().decrypt(current.data["secret"]) == secret:
        return
    Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).delete()
    Authenticator.objects.create(
        user=user, type=Authenticator.Type.TOTP, data={"secret": get_adapter().encrypt(secret)}
    )


def seed_staff() -> list[Login]:
    # The support engineer's migration gives these groups their permissions; here they only exist.
    support_group, _ = Group.objects.get_or_create(name="support")
    finance_group, _ = Group.objects.get_or_create(name="finance")
    support = _user(email=SUPPORT_EMAIL, name="Demo Support", is_staff=True)
    support.groups.add(support_group)
    finance = _user(email=FINANCE_EMAIL, name="Demo Finance", is_staff=True)
    finance.groups.add(finance_group)
    admin = _user(email=ADMIN_EMAIL, name="Demo Admin", is_staff=True, is_superuser=True)
    for user in (support, finance, admin):
        _totp(user)
    return [
        Login("Support agent", (SUPPORT_EMAIL,), DEMO_PASSWORD, "/admin/"),
        Login("Finance", (FINANCE_EMAIL,), DEMO_PASSWORD, "/support/finance/export/"),
        Login("Administrator", (ADMIN_EMAIL,), DEMO_PASSWORD, "/admin/"),
    ]


def seed_plans() -> list[Login]:
    plans_seed_catalogue()
    return []


def seed_cards() -> list[Login]:
    User = get_user_model()
    demo = demo_cards_seed(
        traveller=User.objects.get(email__iexact=TRAVELLER_EMAIL),
        staff_user=User.objects.get(email__iexact=ADMIN_EMAIL),
        now=timezone.now(),
    )
    # Printed like a login: the ICCID and claim code a traveller would find printed with the card.
    printed = f"ICCID {demo.spare_iccid}, claim code {demo.spare_claim_code}"
    return [Login("Card to add", (printed,), demo.spare_claim_code, "/cards/add/")]


class Command(BaseCommand):
    help = "Create the demo traveller, support, finance and admin users (idempotent) and print the logins."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo creates staff and superuser logins with a published password; it runs only "
                "with DEBUG on (development). Create real staff with `manage.py createsuperuser`."
            )
        steps = [
            seed_traveller,
            seed_staff,
            seed_plans,
            seed_cards,
        ]
        logins: list[Login] = []
        with transaction.atomic():
            for step in steps:
                logins.extend(step())
        self.print_logins(logins)

    def print_logins(self, logins: list[Login]) -> None:
        lines = [f"Demo logins (password for all: {DEMO_PASSWORD})"]
        for login in logins:
            who = " or ".join(login.identifiers)
            lines.append(f"  {login.role:<14} {who:<44} {settings.SITE_URL}{login.where}")
        lines.append("  Logging in by phone code? The SMS is printed here and saved under var/sms/.")
        lines.append("  Staff also type a code from an authenticator app set up with their secret:")
        for email, secret in DEMO_TOTP_SECRETS.items():
            lines.append(f"    {email:<22} TOTP secret {secret}")
        lines.append("  No app at hand? `python manage.py demo_totp` prints the current codes.")
        self.stdout.write(self.style.SUCCESS(lines[0]))
        self.stdout.write("\n".join(lines[1:]))
        # `dev.py run` prints them again once the server answers, below the start-up noise.
        (settings.VAR_DIR / LOGINS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
