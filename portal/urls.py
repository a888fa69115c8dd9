from django.contrib import admin
from django.urls import include, path

from accounts import views as accounts_views
from portal import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Staff log in through allauth's login (rate limits, code login) instead of the admin's own form.
    path("admin/login/", accounts_views.admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("account/", include("accounts.urls")),
    path("support/", include("support.urls")),
    path("", include("plans.urls")),
    path("", include("usage.urls")),
    path("", include("billing.urls")),
]
