"""The portal's URLs plus two trivial authenticated views, the benchmark's baselines."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import include, path


@login_required
def ping(request):
    return HttpResponse("ok", content_type="text/plain")


@login_required
def page(request):
    """The portal's page shell (header, navigation, footer) around one heading."""
    return render(request, "bench/page.html")


urlpatterns = [path("bench/ping/", ping), path("bench/page/", page), path("", include("portal.urls"))]
