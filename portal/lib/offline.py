"""What a device keeps for the installable app (static/sw.js), and how it is told to forget it.

The service worker keeps the static assets, the offline page and, for a signed-in customer, a
snapshot of the last dashboard seen (data left and validity, nothing else). Logging out, logging
out everywhere and deleting the account answer with `Clear-Site-Data`, which empties the caches and
unregisters the worker; every page rendered for a visitor who is not signed in also tells the page
script to drop the snapshot (`data-offline="forget"` on <html>), for browsers without that header.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse

# Not "cookies": the language choice survives, and the session is ended by the view itself.
CLEAR_SITE_DATA = '"cache", "storage"'


def clear_site_data(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For a POST that ends a session: the answer tells the browser to forget what it kept."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if request.method == "POST" and response.status_code in (301, 302, 303):
            response["Clear-Site-Data"] = CLEAR_SITE_DATA
            response.delete_cookie("renew_scope", path="/renew/", samesite="Lax")
        return response

    return wrapped
