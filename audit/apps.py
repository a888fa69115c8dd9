from django.apps import AppConfig
from django.db.models import CharField
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit")

    def ready(self) -> None:
        # `email__lower="carla@example.com"` in the admin kit's search keys: LOWER(email) = ..., which
        # the case-insensitive unique index on emails (accounts.User) serves, where iexact's UPPER() does not.
        CharField.register_lookup(Lower)
