"""{% page_urls as urls %} in base.html: the pages every layout links to, `{{ urls.orders }}`.

Resolved once per URL configuration and script prefix, instead of one `{% url %}` per link per page
(24 of them on the dashboard). A tag rather than a context processor, so pages rendered without a
request (Django's CSRF failure page) still link to the site."""

from functools import lru_cache

from django import template
from django.conf import settings
from django.templatetags.static import static
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

register = template.Library()

# The first name that resolves wins; "" when none does (a URL configuration without that app).
PAGE_URL_NAMES = {
    "dashboard": ["usage:dashboard"],
    "plans": ["plans:list"],
    "orders": ["billing:orders"],
    "wallet": ["billing:wallet"],
    "card_claim": ["usage:card_claim"],
    "help": ["usage:help"],
    "profile": ["accounts:profile"],
    "support": ["support:ticket_list"],
    "login": ["account_login"],
    "logout": ["account_logout"],
    "signup": ["account_signup"],
    "set_language": ["accounts:set_language", "set_language"],
    "service_worker": ["service_worker"],
    "web_manifest": ["web_manifest"],
}


def _first_reversible(names: list[str]) -> str:
    for name in names:
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return ""


# The layout's own static files, `{{ urls.static_css }}`: their (hashed) names are fixed for the life
# of a process, like the links.
LAYOUT_STATIC_FILES = {
    "static_favicon": "img/favicon.svg",
    "static_touch_icon": "img/apple-touch-icon.png",
    "static_css": "css/portal.css",
    "static_js": "js/portal.js",
}


@lru_cache(maxsize=16)
def _resolved(urlconf: str, script_prefix: str, static_url: str) -> dict[str, str]:
    urls = {key: _first_reversible(names) for key, names in PAGE_URL_NAMES.items()}
    urls.update({key: static(path) for key, path in LAYOUT_STATIC_FILES.items()})
    return urls


@register.simple_tag
def page_urls() -> dict[str, str]:
    return _resolved(
        str(get_urlconf() or settings.ROOT_URLCONF), get_script_prefix(), str(settings.STATIC_URL)
    )
