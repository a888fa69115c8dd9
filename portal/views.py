import logging
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.lib.health import (
    check_broker,
    check_database,
    check_heartbeat,
    check_heartbeats,
    process_is_starting,
)

logger = logging.getLogger(__name__)


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    database = check_database()
    broker = check_broker()
    queues = check_heartbeats()
    heartbeat, age = check_heartbeat(queues)
    healthy = database.ok and broker.ok and heartbeat.ok
    # Only a heartbeat missing, right after a start: the first ones are on their way (503 all the same,
    # so nothing routes traffic here yet), and the log says so instead of an ERROR per poll.
    starting = database.ok and broker.ok and not heartbeat.ok and process_is_starting()
    body = {
        "status": "ok" if healthy else "starting" if starting else "down",
        "database": {"ok": database.ok, "detail": database.detail},
        "broker": {"ok": broker.ok, "detail": broker.detail},
        # Every queue's in one (the oldest), then each queue's: a dead renewals worker shows there.
        "heartbeat": {
            "ok": heartbeat.ok,
            "age_seconds": None if age is None else round(age, 1),
            "detail": heartbeat.detail,
        },
        "queues": {
            queue: {
                "ok": check.ok,
                "age_seconds": None if queue_age is None else round(queue_age, 1),
                "detail": check.detail,
            }
            for queue, (check, queue_age) in queues.items()
        },
    }
    response = JsonResponse(body, status=200 if healthy else 503)
    if starting:
        logger.warning("health: starting, waiting for the first heartbeat (%s)", heartbeat.detail)
        response._has_been_logged = True  # type: ignore[attr-defined]  # Django's request log: ERROR
    return response


# --- The installable app (static/sw.js, portal.lib.offline) -------------------------------------


@lru_cache(maxsize=1)
def _service_worker_source() -> bytes:
    path = finders.find("sw.js")
    if not path:
        raise ImproperlyConfigured("static/sw.js is missing.")
    return Path(path).read_bytes()


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """static/sw.js, served from the root so that it may control every page (its scope is "/")."""
    response = HttpResponse(_service_worker_source(), content_type="text/javascript; charset=utf-8")
    # Browsers check for a new worker on each visit; this keeps that check cheap but never stale.
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
def web_manifest(request: HttpRequest) -> JsonResponse:
    """What "Add to home screen" needs: names, colours, the icons (static/img)."""
    manifest = {
        "name": settings.SITE_NAME,
        "short_name": settings.SITE_NAME,
        "description": _("Data left, validity and renewal of your Monaco data card."),
        "lang": get_language(),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0a2a4a",
        "icons": [
            {"src": static("img/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {
                "src": static("img/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = JsonResponse(
        manifest, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False}
    )
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    """The page the service worker shows with no connection: the same for everyone (it is fetched
    without cookies); the last balance on it comes from the device's own snapshot (static/js)."""
    response = render(request, "offline.html")
    response["Cache-Control"] = "no-cache"
    return response
