from django.urls import path

from front import views

app_name = "front"

urlpatterns = [
    path("account/delete/", views.delete_account, name="account_delete"),
]
