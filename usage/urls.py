from django.urls import path

from usage import api, views

app_name = "usage"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("carrier/usage", api.carrier_usage, name="carrier_usage"),
    path("cards/add/", views.card_claim, name="card_claim"),
    path("cards/<int:card_id>/", views.card_detail, name="card_detail"),
    path("cards/<int:card_id>/esim/", views.card_esim, name="card_esim"),
    # Short link for text messages (one SMS segment).
    path("e/<int:card_id>", views.card_esim_short, name="card_esim_short"),
    path("help/", views.help_page, name="help"),
    path("staff/esim-inventory/import/", views.esim_inventory_import, name="esim_inventory_import"),
]
