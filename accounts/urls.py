from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.profile, name="profile"),
    path("logout-everywhere/", views.logout_everywhere, name="logout_everywhere"),
    path("language/", views.set_language, name="set_language"),
]
