"""The portal's URLs plus a stand-in `billing:checkout`, so the plans page can be tested on its own."""

from django.http import HttpResponse
from django.urls import include, path

from portal.urls import urlpatterns as portal_urlpatterns

checkout_stub = ([path("checkout/", lambda request: HttpResponse("checkout"), name="checkout")], "billing")

urlpatterns = [path("stub-billing/", include(checkout_stub)), *portal_urlpatterns]
