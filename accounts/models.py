from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

SESSION_HASH_SALT = "accounts.User.get_session_auth_hash"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, phone, password, **extra_fields):
        email = self.normalize_email(email) if email else None
        user = self.model(email=email, phone=phone or None, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email=None, password=None, phone=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, phone, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, None, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A customer or a staff member. Logs in by a verified email or a verified phone (E.164)."""

    email = models.EmailField(_("email address"), unique=True, null=True, blank=True)
    phone = models.CharField(_("phone number"), max_length=20, unique=True, null=True, blank=True)
    phone_verified = models.BooleanField(_("phone verified"), default=False)
    name = models.CharField(_("name"), max_length=150, blank=True)
    language = models.CharField(
        _("preferred language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    notify_email = models.BooleanField(_("notices by email"), default=True)
    notify_sms = models.BooleanField(_("notices by SMS"), default=False)
    is_staff = models.BooleanField(_("staff status"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True)
    # "Log out everywhere": part of the session hash, so moving it ends every session at once; renew
    # links sent before it stop working too (billing.renew_links).
    sessions_ended_at = models.DateTimeField(_("logged out everywhere at"), null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []  # type: ignore[misc]  # Django reads it from the class

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(anonymised_at__isnull=False)
                | models.Q(email__isnull=False)
                | models.Q(phone__isnull=False),
                name="user_has_email_or_phone",
            ),
        ]
        # The staff list of customers, newest first (the admin adds the id to its ordering).
        # Names and emails are searched by part through trigram indexes (migration 0006, PostgreSQL).
        indexes = [models.Index(fields=["date_joined", "id"], name="user_joined_idx")]

    def __str__(self) -> str:
        return self.email or self.phone or f"#{self.pk}"

    def get_full_name(self) -> str:
        return self.name or str(self)

    def get_short_name(self) -> str:
        return self.name or str(self)

    def _session_hash(self, secret: str | None = None) -> str:
        if self.sessions_ended_at is None:
            # Django's own hash: sessions opened before this field existed stay valid.
            return self._get_session_auth_hash(secret=secret)  # type: ignore[attr-defined]  # Django's, private
        value = f"{self.password}|{self.sessions_ended_at.isoformat()}"
        return salted_hmac(SESSION_HASH_SALT, value, secret=secret, algorithm="sha256").hexdigest()

    def get_session_auth_hash(self) -> str:
        return self._session_hash()

    def get_session_auth_fallback_hash(self):
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(secret=fallback_secret)
