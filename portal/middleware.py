"""Project-wide middleware that belongs to no app."""

from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's session middleware, except when the database is lost while the session is saved.

    Django turns any database error during a session update into ``SessionInterrupted`` (a 400
    "Bad Request"), since a session deleted by a concurrent logout looks the same to it. A lost
    connection is not the visitor's fault: it is re-raised so the portal's own error page (500)
    answers and the error is logged as the server's. A session really deleted meanwhile keeps
    Django's answer.
    """

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        try:
            return super().process_response(request, response)
        except SessionInterrupted as interrupted:
            update_error = interrupted.__context__
            lost = update_error.__context__ if update_error is not None else None
            if isinstance(lost, (OperationalError, InterfaceError)):
                raise lost from interrupted
            raise
