"""Settings for the Monaco data-card portal, read from the environment.

Every variable is documented in README.md and .env.example. With nothing set, the portal runs on
embedded defaults (SQLite, a filesystem Celery broker, mail and SMS written under var/, demo payments);
DATABASE_URL, REDIS_URL and STRIPE_* switch it to PostgreSQL, Redis and Stripe.
"""

from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from portal.lib.env import envbool, envint, envlist, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("VAR_DIR") or BASE_DIR / "var")

# --- Core -------------------------------------------------------------------------------------

DEBUG = envbool("DEBUG", False)
SECRET_KEY = envstr("SECRET_KEY")
# Previous keys while SECRET_KEY is rotated: they still check signatures and open sealed secrets.
SECRET_KEY_FALLBACKS = envlist("SECRET_KEY_FALLBACKS")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
SITE_URL = (envstr("SITE_URL") or "http://127.0.0.1:8000").rstrip("/")
SITE_NAME = envstr("SITE_NAME") or "Monaco Data"

if not DEBUG:
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (production mode).")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off (production mode).")
if not SECRET_KEY:
    # Development only: production refuses to start without a key (above).
    SECRET_KEY = "django-insecure-development-key-never-used-in-production"  # noqa: S105

INSTALLED_APPS = [
    "modeltranslation",  # must precede django.contrib.admin
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_celery_beat",
    "django_countries",
    "portal",
    "audit",
    "notices",
    "accounts",
    "plans",
    "usage",
    "billing",
    "front",
    "support",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "portal.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.StaffSecurityMiddleware",
    "accounts.middleware.WriteLimitMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.site",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------

DATABASE_URL = envstr("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "db.sqlite3"),
            "OPTIONS": {
                # Web, worker and beat write to the same file: wait for the lock instead of failing,
                # and take it at BEGIN so two writers never deadlock on an upgrade.
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

# --- Internationalisation and time ------------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("zh-hans", "简体中文"),
    ("fr", "Français"),
    ("it", "Italiano"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Flash messages shown in the language of the page that shows them (portal/lib/messages.py).
MESSAGE_STORAGE = "portal.lib.messages.TranslatedMessageStorage"
USE_I18N = True
USE_TZ = True
# Stored in UTC (USE_TZ); shown in Monaco time with the zone named.
TIME_ZONE = "Europe/Monaco"
DISPLAY_TIME_ZONE = "Europe/Monaco"
# Datetimes Django renders itself (the admin) in the words of portal.lib.display: "(Monaco time, CET)".
FORMAT_MODULE_PATH = ["portal.formats"]
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en",)

# --- Static files -----------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
EXPORTS_DIR = VAR_DIR / "exports"

# --- Authentication (django-allauth) ----------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "usage:dashboard"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email", "phone"}
# Email, phone or both: accounts.forms.SignupForm requires at least one, so allauth's check that a
# login method is a required field (account.W001) does not apply. "phone*" would lock email-only
# people out at login (allauth's phone stage stops a login without a phone).
ACCOUNT_SIGNUP_FIELDS = ["email", "phone", "password1*", "password2*"]
SILENCED_SYSTEM_CHECKS = ["account.W001"]
ACCOUNT_FORMS = {
    "signup": "accounts.forms.SignupForm",
    "login": "accounts.forms.LoginForm",
    "request_login_code": "accounts.forms.RequestLoginCodeForm",
    "confirm_login_code": "accounts.forms.ConfirmLoginCodeForm",
    "reset_password": "accounts.forms.ResetPasswordForm",
    "confirm_password_reset_code": "accounts.forms.ConfirmPasswordResetCodeForm",
    "change_phone": "accounts.forms.ChangePhoneForm",
    "verify_phone": "accounts.forms.VerifyPhoneForm",
    "add_email": "accounts.forms.AddEmailForm",
}
# Globally "optional" (phone-only people have no email); accounts.stages makes it mandatory for
# anyone whose only proof of identity is an email address.
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = False
ACCOUNT_PHONE_VERIFICATION_ENABLED = True
# SMS gets lost and numbers get mistyped: a new code or a corrected number, twice each (rate-limited).
ACCOUNT_PHONE_VERIFICATION_SUPPORTS_RESEND = True
ACCOUNT_PHONE_VERIFICATION_SUPPORTS_CHANGE = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_REAUTHENTICATION_REQUIRED = True
# "Your password was changed", "your email was changed": a hijacked account does not go unnoticed.
ACCOUNT_EMAIL_NOTIFICATIONS = True
# Every limit of the portal, in allauth's notation ("10/h/user,30/d/user,60/h/ip"): per account
# ("user", or a "key" naming it), per client address ("ip"), per hour and per day. allauth reads its
# own actions here; portal.lib.ratelimit reads the rest. README "Security" explains each one.
ACCOUNT_RATE_LIMITS = {
    # allauth's actions. "login_failed" now only guards the staff's authenticator codes (allauth.mfa,
    # per staff member); wrong passwords are counted by accounts.security (password_failed_*).
    "login": "30/m/ip,300/h/ip,1000/d/ip",
    "login_failed": "10/m/ip,5/5m/key,10/h/key,20/d/key",
    "signup": "20/m/ip,60/h/ip,200/d/ip",
    "request_login_code": "20/m/ip,60/h/ip,200/d/ip,3/m/key,6/h/key,12/d/key",
    "reset_password": "20/m/ip,60/h/ip,200/d/ip,3/m/key,6/h/key,12/d/key",
    "reset_password_from_key": "20/m/ip,60/h/ip,200/d/ip",
    "verify_phone": "1/30s/key,5/h/key,10/d/key,3/m/ip,20/h/ip,60/d/ip",
    "change_phone": "1/m/user,5/h/user,10/d/user",
    "change_password": "5/m/user,20/h/user,50/d/user",
    "manage_email": "10/m/user,30/h/user,100/d/user",
    "reauthenticate": "10/m/user,30/h/user,100/d/user",
    # Wrong passwords (accounts.security): per account and client (a trusted device, else the
    # address); per account for all clients without a trusted-device cookie; per address.
    "password_failed_client": "5/5m/key,20/h/key,50/d/key",
    "password_failed_account": "50/h/key,200/d/key",
    "password_failed_ip": "10/m/ip,100/h/ip,500/d/ip",
    # Wrong codes, across login, reset, phone verification and account deletion (accounts.security).
    # OWASP ASVS 2.2.1 allows 100 failures an hour; 10 an hour and 20 a day per account keep the
    # odds of guessing a 6-digit code in 30 days at 600 in a million (0.06 %).
    "code_failed_account": "10/h/user,20/d/user",
    "code_failed_device": "5/h/key,10/d/key",
    "code_failed_ip": "30/h/ip,100/d/ip",
    "code_failed_phone": "10/h/key,20/d/key",
    # Authentication texts (codes, notices to a number), whichever page asks.
    "sms_number": "5/h/key,10/d/key",
    "sms_ip": "20/h/ip,60/d/ip",
    "delete_account_code": "3/10m/user,6/h/user,10/d/user",
    # Customer writes (portal.lib.ratelimit.limit_writes and accounts.middleware).
    "customer_write": "300/h/user,1000/d/user,600/h/ip,3000/d/ip",
    "anonymous_write": "200/h/ip,1000/d/ip",
    "staff_write": "600/h/user,3000/d/user",
    "profile_update": "30/h/user,100/d/user",
    # support.services also refuses a sixth ticket within an hour, with its own message.
    "ticket_open": "10/h/user,20/d/user,30/h/ip,100/d/ip",
    "ticket_reply": "10/h/user,30/d/user,60/h/ip,200/d/ip",
    "card_claim_failed": "10/h/user,20/d/user,30/h/ip,100/d/ip",
    "promo_failed": "10/h/user,20/d/user,30/h/ip,100/d/ip",
    # Invoices: each PDF is rendered on request (about 0.2 s of CPU): enough for any traveller, not for a flood.
    "document_pdf": "30/h/user,100/d/user,120/h/ip",
    "invoice_request": "10/h/user,20/d/user,60/h/ip",
    "invoice_email": "5/h/user,10/d/user,30/h/ip",
}
# Renew links (billing.renew_links): a wrong or dead link opened (failures only), payments started.
ACCOUNT_RATE_LIMITS.update({"renew_link_open": "20/h/ip,60/d/ip", "renew_link_pay": "10/h/ip,10/h/key"})
# SMS codes are typed on a phone keypad: six digits, not allauth's default dashed letters.
ALLAUTH_USER_CODE_FORMAT = {"numeric": True, "dashed": False, "length": 6}
ACCOUNT_PHONE_VERIFICATION_CODE_FORMAT = ALLAUTH_USER_CODE_FORMAT
ACCOUNT_LOGIN_BY_CODE_FORMAT = ALLAUTH_USER_CODE_FORMAT
ACCOUNT_PASSWORD_RESET_BY_CODE_FORMAT = ALLAUTH_USER_CODE_FORMAT
# Texts arrive late on roaming networks: every code lives 15 minutes; the SMS and the page where it
# is typed both say so from this one value. The odds of guessing depend on the wrong-code budget
# above, not on this.
AUTH_CODE_TIMEOUT = 15 * 60
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = AUTH_CODE_TIMEOUT
ACCOUNT_PASSWORD_RESET_BY_CODE_TIMEOUT = AUTH_CODE_TIMEOUT
ACCOUNT_PHONE_VERIFICATION_TIMEOUT = AUTH_CODE_TIMEOUT
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_TIMEOUT = AUTH_CODE_TIMEOUT
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if not DEBUG else "http"
ALLAUTH_TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)
PHONE_DEFAULT_REGION = envstr("PHONE_DEFAULT_REGION") or "MC"

# Staff: a second factor (allauth.mfa: an authenticator app, with recovery codes), enforced before
# any page by accounts.middleware.StaffSecurityMiddleware; no login or reset by a code alone; a
# session that ends with the browser and after STAFF_SESSION_MAX_AGE at the latest.
MFA_ADAPTER = "accounts.adapter.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME
STAFF_SESSION_MAX_AGE = envint("STAFF_SESSION_MAX_AGE", 8 * 3600)
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "accounts.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Cache (rate limits, heartbeats) ----------------------------------------------------------

REDIS_URL = envstr("REDIS_URL")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # Shared by web, worker and beat processes, so rate limits hold across them.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# Sessions are read from the cache (Redis with REDIS_URL, else the file cache) and written through
# to the database, so a page view costs no session query while a cache flush logs nobody out.
# Ending sessions never depends on the cache: logout deletes the session from both, and a password
# change, "log out everywhere" or a deleted account changes the hash every session is checked against.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Template fragments that are the same for everyone in a language (the navigation, the footer's
# text, the language list), never anything about a customer: kept in each process's memory, which a
# restart (a deploy, new translations) empties.
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "fragments",
    "TIMEOUT": 3600,
}

# --- Celery -----------------------------------------------------------------------------------

if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # "priority": a worker consuming several queues always takes from the first non-empty one in
    # its -Q order (renewals first), instead of Redis's default round robin between them.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "queue_order_strategy": "priority"}
else:
    # No server needed: kombu's filesystem transport, one folder for in and out.
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "broker" / "queue"),
        "data_folder_out": str(VAR_DIR / "broker" / "queue"),
        "processed_folder": str(VAR_DIR / "broker" / "processed"),
        # Exchange tables; kombu's default is ./control in the working directory.
        "control_folder": str(VAR_DIR / "broker" / "control"),
        "store_processed": False,
        "polling_interval": 0.2,
    }
    # kombu does not create them, and a worker or web process may start before any setup step.
    for _folder in ("queue", "processed", "control"):
        (VAR_DIR / "broker" / _folder).mkdir(parents=True, exist_ok=True)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = envint("CELERY_TASK_SOFT_TIME_LIMIT", 60)
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", 90)
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TIMEZONE = "UTC"
# Queues (README "Worker and beat"). A paid order's renewal, and the Stripe event that carries it,
# have a queue of their own with a worker of its own (Procfile `renewals`), so a burst of notices, a
# slow carrier, an export or a periodic job never sits in front of a renewal. The general worker
# consumes every queue, renewals first. Tasks not named here (the periodic jobs, Stripe
# housekeeping) go to the default queue, "celery".
CELERY_TASK_DEFAULT_QUEUE = "celery"
# In priority order: the Procfile's general worker lists them so (`-Q renewals,celery,...`).
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name)
    for name in ("renewals", "celery", "provisioning", "notices", "exports")
]
CELERY_TASK_ROUTES = {
    "billing.tasks.order_fulfil_task": {"queue": "renewals"},
    "billing.tasks.webhook_event_process_task": {"queue": "renewals"},
    "usage.tasks.provisioning_event_send": {"queue": "provisioning"},
    "notices.tasks.notification_deliver": {"queue": "notices"},
    "support.tasks.export_job_run": {"queue": "exports"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Beat sends a heartbeat to each queue a worker of the Procfile must consume (the default queue: the
# general worker; renewals: the renewals worker, and the general worker after it); /healthz reports
# each and answers 503 when one is older than HEARTBEAT_STALE_SECONDS.
HEARTBEAT_QUEUES = [CELERY_TASK_DEFAULT_QUEUE, "renewals"]
CELERY_BEAT_SCHEDULE = {
    **{
        "heartbeat" if queue == CELERY_TASK_DEFAULT_QUEUE else f"heartbeat-{queue}": {
            "task": "portal.tasks.heartbeat",
            "schedule": 30.0,
            "args": [queue],
            "options": {"queue": queue},
        }
        for queue in HEARTBEAT_QUEUES
    },
    "billing-reconcile": {"task": "billing.tasks.orders_reconcile_task", "schedule": 60.0},
    "billing-auto-renew": {"task": "billing.tasks.auto_renewals_run_task", "schedule": 120.0},
    "usage-expiry-sweep": {"task": "usage.tasks.cards_expire_sweep", "schedule": 60.0},
    # usage's alerts, run by billing so each carries a card-scoped renew link.
    "usage-card-alerts": {"task": "billing.tasks.card_alerts_send_task", "schedule": 300.0},
    "usage-provisioning-dispatch": {"task": "usage.tasks.provisioning_events_dispatch", "schedule": 60.0},
    "support-export-jobs-purge": {"task": "support.tasks.export_jobs_purge", "schedule": 3600.0},
    "support-export-jobs-resume": {"task": "support.tasks.export_jobs_resume", "schedule": 120.0},
    "notices-requeue": {"task": "notices.tasks.notifications_requeue_stale", "schedule": 300.0},
}
HEARTBEAT_STALE_SECONDS = envint("HEARTBEAT_STALE_SECONDS", 120)

# --- Email and SMS ----------------------------------------------------------------------------

DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL") or f"{SITE_NAME} <no-reply@localhost>"
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_HOST = envstr("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = envint("EMAIL_PORT", 587)
    EMAIL_HOST_USER = envstr("EMAIL_HOST_USER") or ""
    EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD") or ""
    EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", True)
    EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10)
else:
    EMAIL_BACKEND = "portal.lib.mail.FileAndConsoleBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"

SMS_BACKEND = envstr("SMS_BACKEND") or "notices.sms.ConsoleFileBackend"
SMS_FILE_PATH = VAR_DIR / "sms"
SMS_API_URL = envstr("SMS_API_URL") or ""
SMS_API_USER = envstr("SMS_API_USER") or ""
SMS_API_TOKEN = envstr("SMS_API_TOKEN") or ""
SMS_SENDER = envstr("SMS_SENDER") or "MonacoData"


def _sms_countries(name: str, default: list[str]) -> list[str]:
    import phonenumbers

    regions = [code.upper() for code in envlist(name, default)]
    unknown = [code for code in regions if code not in phonenumbers.SUPPORTED_REGIONS]
    if unknown:
        raise ImproperlyConfigured(
            f"{name}: not two-letter country codes phonenumbers knows: {', '.join(unknown)}"
        )
    return regions


# SMS country policy (accounts.phone): numbers of a blocked country are refused for SMS; when the
# allowed list is set, only its countries are accepted. The default blocks the destinations SMS
# pumping was seen sending to; satellite and international-network numbers are always refused.
SMS_BLOCKED_COUNTRIES = _sms_countries("SMS_BLOCKED_COUNTRIES", ["CU", "SO", "SL"])
SMS_ALLOWED_COUNTRIES = _sms_countries("SMS_ALLOWED_COUNTRIES", [])
# "No account uses this number" texts cost money and help pumping; off unless switched on.
SMS_UNKNOWN_ACCOUNT_TEXTS = envbool("SMS_UNKNOWN_ACCOUNT_TEXTS", False)
# Texts a whole hour may carry (notices.sms): beyond it, texts anyone can trigger (codes) pause and
# administrators and support are emailed; the portal's own notices still go out.
SMS_GLOBAL_PER_HOUR = envint("SMS_GLOBAL_PER_HOUR", 200)
ACCOUNT_RATE_LIMITS["sms_global"] = f"{SMS_GLOBAL_PER_HOUR}/h/key"

# --- Payments (Stripe, or demo mode when no key is set) ---------------------------------------

STRIPE_SECRET_KEY = envstr("STRIPE_SECRET_KEY") or ""
STRIPE_PUBLISHABLE_KEY = envstr("STRIPE_PUBLISHABLE_KEY") or ""
STRIPE_WEBHOOK_SECRET = envstr("STRIPE_WEBHOOK_SECRET") or ""
# Tests point the official client at a local fake; never set in production.
STRIPE_API_BASE = envstr("STRIPE_API_BASE") or ""
# The Stripe API version the code is written for: every request asks for it, and the webhook
# endpoint must be created with it (README "Stripe"). Change it only with the code.
STRIPE_API_VERSION = "2026-10-28.endive"
# Starts every idempotency key sent to Stripe; default: derived from SITE_URL and the database.
STRIPE_IDEMPOTENCY_PREFIX = envstr("STRIPE_IDEMPOTENCY_PREFIX") or ""
# Payments fail closed: demo payments (customers confirm their own payment on a demo page) are the
# development default only. In production they need PAYMENTS_DEMO=1, which `check --deploy` reports
# as an error and every page announces with a banner; production without Stripe keys and without
# the flag refuses to start.
PAYMENTS_DEMO_MODE = envbool("PAYMENTS_DEMO", DEBUG and not STRIPE_SECRET_KEY)
if PAYMENTS_DEMO_MODE and STRIPE_SECRET_KEY:
    raise ImproperlyConfigured(
        "PAYMENTS_DEMO is on and STRIPE_SECRET_KEY is set: choose one (unset PAYMENTS_DEMO to take real payments)."
    )
_payments_missing = [
    name
    for name, value in (
        ("STRIPE_SECRET_KEY", STRIPE_SECRET_KEY),
        ("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET),
    )
    if not value and (name == "STRIPE_SECRET_KEY" or not DEBUG)
]
if not PAYMENTS_DEMO_MODE and _payments_missing:
    raise ImproperlyConfigured(
        f"{' and '.join(_payments_missing)} must be set to take payments (an empty value or an empty *_FILE counts "
        "as unset). For a demonstration without real payments set PAYMENTS_DEMO=1 instead."
    )
CURRENCY = "EUR"
# Goodwill credit a support agent may give alone: per credit, and in total per Monaco day. More needs an
# administrator (a superuser), who makes the credit. Nobody credits or refunds their own account.
GOODWILL_MAX_CREDIT_CENTS = envint("GOODWILL_MAX_CREDIT_CENTS", 5000)
GOODWILL_DAILY_CAP_CENTS = envint("GOODWILL_DAILY_CAP_CENTS", 20000)
# Printed on receipts, invoices and credit notes. Invoices are issued only when name, address and
# VAT number are all set; development mode fills in a labelled demo seller. In the address, "\n"
# (backslash n) starts a new line.
SELLER_NAME = envstr("SELLER_NAME") or SITE_NAME
SELLER_ADDRESS = (
    envstr("SELLER_ADDRESS") or ("Demo seller, 1 avenue de la Costa\n98000 Monaco" if DEBUG else "")
).replace("\\n", "\n")
SELLER_VAT_NUMBER = envstr("SELLER_VAT_NUMBER") or ("FR00000000000" if DEBUG else "")
# Registration numbers printed under the seller (Monaco: RCI and NIS), e.g. "RCI 12S05678".
SELLER_REGISTRATION = envstr("SELLER_REGISTRATION") or ""

# --- Invoices and the right of withdrawal -----------------------------------------------------

# Days after payment during which a customer can ask for an invoice on the receipt page.
INVOICE_REQUEST_DAYS = envint("INVOICE_REQUEST_DAYS", 90)

# --- Carrier feeds ----------------------------------------------------------------------------

CARRIER_USAGE_SECRET = envstr("CARRIER_USAGE_SECRET") or ("demo-usage-secret" if DEBUG else "")
CARRIER_USAGE_MAX_BODY_BYTES = envint("CARRIER_USAGE_MAX_BODY_BYTES", 5 * 1024 * 1024)
CARRIER_PROVISIONING_URL = envstr("CARRIER_PROVISIONING_URL") or ""
CARRIER_PROVISIONING_SECRET = envstr("CARRIER_PROVISIONING_SECRET") or ""

# --- Security ---------------------------------------------------------------------------------

TRUSTED_PROXY_COUNT = ALLAUTH_TRUSTED_PROXY_COUNT
if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
# No inline scripts or styles anywhere: all CSS and JS are files under static/.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'", "https://checkout.stripe.com"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- Logging ----------------------------------------------------------------------------------

# Web, worker and beat all log through this (portal/celery.py hands Celery's logging to it).
LOG_LEVEL = (envstr("LOG_LEVEL") or "INFO").strip().upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL; got {LOG_LEVEL!r}"
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Redacts renew-link tokens from every line (portal.lib.redact).
    "formatters": {
        "plain": {
            "()": "portal.lib.redact.RedactingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's default config gives "django" a console handler of its own (with DEBUG on) on
        # top of the root's: each request error was written twice, once without time or level.
        "django": {"handlers": [], "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        # fontTools reports every table it trims when a PDF embeds its font subset.
        "fontTools": {"level": "WARNING"},
    },
}
