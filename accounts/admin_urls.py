"""Staff log in through allauth's login (rate limits, code login) instead of the admin's own form.

Included at admin/login/ by portal.urls (which imports no app, so apps may import portal.lib)."""

from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.admin_login, name="admin_login"),
]
