"""One page of a traveller's list (orders, requests, balance history, usage records)."""

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

PER_PAGE = 20


def page_of(rows: QuerySet, number: str | None, *, per_page: int = PER_PAGE) -> Page:
    """Page `number` (the first for a missing or malformed number, the last past the end): two
    queries whatever the list's length, one to count and one for the page's rows."""
    return Paginator(rows, per_page).get_page(number)


def page_get(
    request: HttpRequest, rows: QuerySet, *, per_page: int = PER_PAGE, parameter: str = "page"
) -> Page:
    """The page `?page=` names."""
    return page_of(rows, request.GET.get(parameter), per_page=per_page)
