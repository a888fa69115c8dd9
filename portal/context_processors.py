from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict:
    return {
        "SITE_NAME": settings.SITE_NAME,
        "PAYMENTS_DEMO_MODE": settings.PAYMENTS_DEMO_MODE,
    }
