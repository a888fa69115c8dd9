"""The portal's URLs plus one trivial authenticated view, the benchmark's baseline."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import include, path


@login_required
def ping(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/ping/", ping), path("", include("portal.urls"))]
