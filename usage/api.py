"""Machine endpoints for the carrier. Authenticated by signature, not by session: no CSRF."""

import json
import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from usage.feeds import SIGNATURE_HEADER, TIMESTAMP_HEADER, usage_records_apply, usage_signature_is_valid

logger = logging.getLogger(__name__)


def _error(status: int, error: str, message: str) -> JsonResponse:
    return JsonResponse({"error": error, "message": message}, status=status)


@csrf_exempt
@require_POST
def carrier_usage(request: HttpRequest) -> JsonResponse:
    """A JSON batch {"records": [{record_id, iccid, start, end, bytes}, ...]} signed with HMAC-SHA256."""
    # Comma-separated: during a rotation the new secret and the old one are both accepted.
    secrets = [secret.strip() for secret in settings.CARRIER_USAGE_SECRET.split(",") if secret.strip()]
    if not secrets:
        return _error(503, "not_configured", "The usage feed is not configured on this portal.")
    limit = settings.CARRIER_USAGE_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _error(413, "too_large", f"The body is over {limit} bytes; send smaller batches.")
    # Read the stream ourselves: request.body would apply Django's smaller form-upload limit.
    body = request.read(limit + 1)
    if len(body) > limit:
        return _error(413, "too_large", f"The body is over {limit} bytes; send smaller batches.")

    now = timezone.now()
    if not any(
        usage_signature_is_valid(
            body=body,
            timestamp=request.headers.get(TIMESTAMP_HEADER, ""),
            signature=request.headers.get(SIGNATURE_HEADER, ""),
            secret=secret,
            now=now,
        )
        for secret in secrets
    ):
        logger.warning("Usage batch refused: bad or stale signature from %s", request.META.get("REMOTE_ADDR"))
        return _error(401, "bad_signature", "The signature or its timestamp is missing, wrong or stale.")

    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _error(400, "bad_json", "The body is not valid JSON.")
    except RecursionError:
        return _error(400, "bad_json", "The body nests too deeply.")
    records = payload.get("records") if isinstance(payload, dict) else payload
    if not isinstance(records, list):
        return _error(400, "bad_batch", 'Send {"records": [...]}.')

    result = usage_records_apply(records=records, now=now)
    return JsonResponse(
        {
            "received": len(records),
            "applied": result.applied,
            "duplicates": result.duplicates,
            "failed": [failure.as_dict() for failure in result.failures],
        }
    )
