"""A session write that loses the database answers with the portal's error page, not Django's 400."""

from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.db import DatabaseError, OperationalError
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _first_page_after_login(client, customer, failure: Exception):
    """The first page after a login stores the account's language in the session (a session write)."""
    client.force_login(customer)
    client.raise_request_exception = False
    with mock.patch.object(Session, "save", side_effect=failure) as save:
        response = client.get(reverse("usage:dashboard"))
    assert save.called, "the page did not write the session: the test no longer tests anything"
    return response


def test_a_connection_lost_while_the_session_is_saved_shows_the_portal_error_page(client, customer):
    response = _first_page_after_login(
        client, customer, OperationalError("server closed the connection unexpectedly")
    )

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_a_session_deleted_meanwhile_keeps_djangos_answer(client, customer):
    # Django's own signal for a session that a concurrent logout deleted: the forced update hit no row.
    response = _first_page_after_login(
        client, customer, DatabaseError("Forced update did not affect any rows.")
    )

    assert response.status_code == 400
