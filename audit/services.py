"""The audit trail: who did what to which object, why, and the values before and after.

The ground floor: every app's staff actions and admins call it; it imports none of them.
"""

import json
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext as _

from audit.models import AuditEntry


class StaffActionError(ValueError):
    """A staff action refused: the message is shown to the staff member on the confirmation page."""


def staff_action_refuse_own_account(*, actor: AbstractBaseUser | None, customer_id: int | None) -> None:
    """Staff never act on their own customer account (credit, refund, adjust, resend...): a colleague
    does, so every goodwill or refund has two people behind it."""
    if actor is not None and customer_id is not None and actor.pk == customer_id:
        raise StaffActionError(_("You cannot act on your own customer account. Ask a colleague to do it."))


# Never copied into the trail: a hash is still a secret.
SECRET_FIELDS = {"password", "claim_code_hash"}


def _jsonable(value: Any) -> Any:
    """Dates, decimals and UUIDs as Django's JSON encoder writes them, so JSONField accepts them."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def object_snapshot(obj: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """The concrete field values of one row (foreign keys by id), for before/after in the trail."""
    snapshot = {}
    for field in obj._meta.concrete_fields:
        if field.name in SECRET_FIELDS:
            continue
        if fields is not None and field.name not in fields and field.attname not in fields:
            continue
        snapshot[field.attname] = field.value_from_object(obj)
    return _jsonable(snapshot)


def audit_record(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    obj: models.Model,
    reason: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor_id=actor.pk if actor is not None and actor.pk else None,
        actor_label=str(actor) if actor is not None else "",
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_label=str(obj)[:200],
        reason=reason,
        before=_jsonable(before),
        after=_jsonable(after),
    )
