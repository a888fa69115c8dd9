from allauth.account.views import logout as allauth_logout
from django.contrib import admin
from django.urls import include, path

from portal import views
from portal.lib.offline import clear_site_data

# Apps are included by name: portal imports no app, so every app may use portal.lib.

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    # The installable app: service worker (static/sw.js) at the root, manifest, offline page.
    path("sw.js", views.service_worker, name="service_worker"),
    path("manifest.webmanifest", views.web_manifest, name="web_manifest"),
    path("offline/", views.offline, name="offline"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/login/", include("accounts.admin_urls")),
    path("admin/", admin.site.urls),
    # allauth's logout, answered with Clear-Site-Data so the installable app forgets what it kept.
    path("accounts/logout/", clear_site_data(allauth_logout), name="account_logout"),
    path("accounts/", include("allauth.urls")),
    path("account/", include("accounts.urls")),
    path("", include("front.urls")),
    path("support/", include("support.urls")),
    path("", include("plans.urls")),
    path("", include("usage.urls")),
    path("", include("billing.urls")),
]
