from django.urls import path

from support import finance_views, views

app_name = "support"
urlpatterns = [
    path("", views.ticket_list, name="ticket_list"),
    path("new/", views.ticket_new, name="ticket_new"),
    path("<int:ticket_id>/", views.ticket_detail, name="ticket_detail"),
    path("finance/export/", finance_views.export, name="finance_export"),
    path("finance/export/<int:job_id>/status/", finance_views.export_status, name="finance_export_status"),
    path(
        "finance/export/<int:job_id>/download/", finance_views.export_download, name="finance_export_download"
    ),
    path("finance/revenue/", finance_views.revenue, name="finance_revenue"),
    path("finance/invoice-register/", finance_views.invoice_register, name="finance_invoice_register"),
]
