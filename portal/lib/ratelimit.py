"""The portal's one rate-limit helper, on allauth's public API (`allauth.core.ratelimit`).

Every limit is a named action in `settings.ACCOUNT_RATE_LIMITS`, written as allauth writes rates:
"10/h/user,30/d/user,60/h/ip,200/d/ip" = at most 10 an hour and 30 a day per account, 60 an hour
and 200 a day per client address (IPv6 counted per /64). "key" rates count per a key the caller
names (an account together with a client, a phone number). allauth keeps a sliding window of hit
times per action and key in the cache (Redis in production), shared by every web process.

Two ways to count:
- `hit()` counts every attempt (a write, a text message sent) and says whether it may go ahead;
- `allowed()` before and `hit()` after a failure count failures only (a wrong password or code),
  so the real owner's successful logins never spend their own budget.

Limits never lock the real owner out: a per-account budget is spent only by someone who already is
that account (writes) or only gates what an attacker could abuse while the owner keeps another way
in (see accounts.security for logins and codes).
"""

import ipaddress
from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.account.adapter import get_adapter
from allauth.core import ratelimit as allauth_ratelimit
from django.http import HttpRequest, HttpResponse

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class _Counted:
    """allauth counts POSTs only; a guess sent by GET (a promo code in the address) counts too."""

    method = "POST"

    def __init__(self, request: HttpRequest) -> None:
        self._request = request

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


def _consume(request: HttpRequest, action: str, *, user: Any, key: str | None, dry_run: bool) -> bool:
    counted = request if request.method not in SAFE_METHODS else _Counted(request)
    return allauth_ratelimit.consume(counted, action=action, user=user, key=key, dry_run=dry_run)


def allowed(request: HttpRequest, action: str, *, user: Any = None, key: str | None = None) -> bool:
    """Would one more attempt be within every rate of `action`? Counts nothing."""
    return _consume(request, action, user=user, key=key, dry_run=True)


def hit(request: HttpRequest, action: str, *, user: Any = None, key: str | None = None) -> bool:
    """Count one attempt against every rate of `action`; False when one of them is spent."""
    return _consume(request, action, user=user, key=key, dry_run=False)


class _Server:
    """Stands for a request when no client is involved (a worker): only "key" rates apply."""

    method = "POST"


def hit_key(action: str, *, key: str) -> bool:
    """`hit()` for a limit that belongs to no client or account (e.g. all texts in an hour)."""
    return allauth_ratelimit.consume(_Server(), action=action, key=key)


def client_address(request: HttpRequest) -> str:
    """The client's address as the limits count it: behind TRUSTED_PROXY_COUNT proxies, the real
    client; an IPv6 client by its /64 (one household or phone holds a whole /64)."""
    address = get_adapter().get_client_ip(request)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False).network_address)
    return str(parsed)


def respond_429(request: HttpRequest) -> HttpResponse:
    """The "too many requests" page (templates/429.html), status 429."""
    return allauth_ratelimit.respond_429(request)


def limit_writes(action: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """View decorator: each POST (PUT, PATCH, DELETE) by the signed-in person counts against `action`."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in SAFE_METHODS and not hit(request, action, user=request.user):
                return respond_429(request)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
