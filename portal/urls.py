from django.contrib import admin
from django.urls import include, path

from portal import views

# Apps are included by name: portal imports no app, so every app may use portal.lib.

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/login/", include("accounts.admin_urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("account/", include("accounts.urls")),
    path("", include("front.urls")),
    path("support/", include("support.urls")),
    path("", include("plans.urls")),
    path("", include("usage.urls")),
    path("", include("billing.urls")),
]
