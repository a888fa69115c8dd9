from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.lib.health import check_broker, check_database, check_heartbeat


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    database = check_database()
    broker = check_broker()
    heartbeat, age = check_heartbeat()
    healthy = database.ok and broker.ok and heartbeat.ok
    body = {
        "status": "ok" if healthy else "down",
        "database": {"ok": database.ok, "detail": database.detail},
        "broker": {"ok": broker.ok, "detail": broker.detail},
        "heartbeat": {
            "ok": heartbeat.ok,
            "age_seconds": None if age is None else round(age, 1),
            "detail": heartbeat.detail,
        },
    }
    return JsonResponse(body, status=200 if healthy else 503)
