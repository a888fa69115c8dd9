"""Settings for the Monaco data-card portal, read from the environment.

Every variable is documented in README.md and .env.example. With nothing set, the portal runs on
embedded defaults (SQLite, a filesystem Celery broker, mail and SMS written under var/, demo payments);
DATABASE_URL, REDIS_URL and STRIPE_* switch it to PostgreSQL, Redis and Stripe.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from portal.lib.env import envbool, envint, envlist, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("VAR_DIR") or BASE_DIR / "var")

# --- Core -------------------------------------------------------------------------------------

DEBUG = envbool("DEBUG", False)
SECRET_KEY = envstr("SECRET_KEY")
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
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
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
            "NAME": VAR_DIR / "db.sqlite3",
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
USE_I18N = True
USE_TZ = True
# Stored in UTC (USE_TZ); shown in Monaco time with the zone named.
TIME_ZONE = "Europe/Monaco"
DISPLAY_TIME_ZONE = "Europe/Monaco"
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
    "reset_password": "accounts.forms.ResetPasswordForm",
    "change_phone": "accounts.forms.ChangePhoneForm",
    "verify_phone": "accounts.forms.VerifyPhoneForm",
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
# allauth's limits, stated here so they are visible; the admin login goes through allauth's login
# view (accounts.views.admin_login), so "login_failed" protects it too.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "request_login_code": "20/m/ip,3/m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "verify_phone": "1/30s/key,3/m/ip",
    "change_phone": "1/m/user",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reauthenticate": "10/m/user",
    "delete_account_code": "3/10m/user",
    # Each PDF is rendered on request (about 0.2 s of CPU): enough for any traveller, not for a flood.
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
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if not DEBUG else "http"
ALLAUTH_TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)
PHONE_DEFAULT_REGION = envstr("PHONE_DEFAULT_REGION") or "MC"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Cache (rate limits, heartbeats) ----------------------------------------------------------

REDIS_URL = envstr("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # Shared by web, worker and beat processes, so rate limits hold across them.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": VAR_DIR / "cache",
        }
    }

# --- Celery -----------------------------------------------------------------------------------

if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
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
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "portal.tasks.heartbeat", "schedule": 30.0},
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

# --- Payments (Stripe, or demo mode when no key is set) ---------------------------------------

STRIPE_SECRET_KEY = envstr("STRIPE_SECRET_KEY") or ""
STRIPE_PUBLISHABLE_KEY = envstr("STRIPE_PUBLISHABLE_KEY") or ""
STRIPE_WEBHOOK_SECRET = envstr("STRIPE_WEBHOOK_SECRET") or ""
# Tests point the official client at a local fake; never set in production.
STRIPE_API_BASE = envstr("STRIPE_API_BASE") or ""
PAYMENTS_DEMO_MODE = not STRIPE_SECRET_KEY
CURRENCY = "EUR"
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
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL") or "INFO"},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # fontTools reports every table it trims when a PDF embeds its font subset.
        "fontTools": {"level": "WARNING"},
    },
}
