from django.urls import path

from billing import receipt_views, renew_views, views, withdrawal_views

app_name = "billing"
urlpatterns = [
    path("checkout/", views.checkout, name="checkout"),
    path("orders/", views.order_list, name="orders"),
    path("orders/<str:number>/", views.order_status, name="order_status"),
    path("orders/<str:number>/status.json", views.order_status_json, name="order_status_json"),
    path("orders/<str:number>/cancel/", views.order_cancel, name="order_cancel"),
    path("orders/<str:number>/receipt/", receipt_views.receipt, name="receipt"),
    path("orders/<str:number>/receipt.pdf", receipt_views.receipt_pdf, name="receipt_pdf"),
    path("orders/<str:number>/invoice/", receipt_views.invoice_request, name="invoice_request"),
    path(
        "orders/<str:number>/documents/<str:document_number>.pdf",
        receipt_views.document_pdf,
        name="document_pdf",
    ),
    path(
        "orders/<str:number>/documents/<str:document_number>/email/",
        receipt_views.document_email,
        name="document_email",
    ),
    path("orders/<str:number>/withdraw/", withdrawal_views.withdraw, name="withdraw"),
    # Short link for text messages (one SMS segment).
    path("o/<str:number>", views.receipt_short, name="receipt_short"),
    path("orders/<str:number>/demo-payment/", views.demo_checkout, name="demo_checkout"),
    path("wallet/", views.wallet, name="wallet"),
    path("cards/<int:card_id>/auto-renew/", views.auto_renew, name="auto_renew"),
    path("stripe/webhook", views.stripe_webhook, name="stripe_webhook"),
    # Card-scoped renew links (billing.renew_links): no login; the token leaves the address at once.
    path("r/<str:token>", renew_views.renew_link_open, name="renew_link_open"),
    path("renew/", renew_views.renew, name="renew"),
    path("renew/forget/", renew_views.renew_forget, name="renew_forget"),
    path("renew/orders/<str:number>/", renew_views.renew_order_status, name="renew_order_status"),
    path(
        "renew/orders/<str:number>/status.json",
        renew_views.renew_order_status_json,
        name="renew_order_status_json",
    ),
    path(
        "renew/orders/<str:number>/demo-payment/",
        renew_views.renew_demo_checkout,
        name="renew_demo_checkout",
    ),
]
