"""Thin tasks: ids in, one service call, the retry policy here."""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from billing import autorenew, reconcile, renew_links, services, stripe_client, webhooks
from billing.stripe_client import TRANSIENT_ERRORS
from usage.alerts import card_alerts_send
from usage.services import EsimOutOfStock

logger = logging.getLogger(__name__)

# Database hiccups (lock timeouts, a restarted server) and Stripe being briefly unreachable heal.
TRANSIENT = (OperationalError, InterfaceError, *TRANSIENT_ERRORS)
RETRY = {"retry_backoff": 1, "retry_backoff_max": 300, "retry_jitter": True, "max_retries": 10}


@shared_task(autoretry_for=(*TRANSIENT, EsimOutOfStock), **RETRY)
def order_fulfil_task(order_id: int) -> None:
    try:
        services.order_fulfil(order_id=order_id, now=timezone.now())
    except services.FulfilmentNotReady:
        logger.info("Order %s: not paid yet, nothing to fulfil", order_id)


@shared_task(autoretry_for=TRANSIENT, **RETRY)
def order_payment_details_task(order_id: int) -> None:
    services.order_payment_details_fetch(order_id=order_id, now=timezone.now())


@shared_task(autoretry_for=TRANSIENT, **RETRY)
def webhook_event_process_task(webhook_event_id: int) -> None:
    webhooks.webhook_event_process(webhook_event_id=webhook_event_id, now=timezone.now())


@shared_task(autoretry_for=TRANSIENT, **RETRY)
def stripe_customer_delete_task(customer_id: str) -> None:
    stripe_client.customer_delete(customer_id=customer_id)


@shared_task
def orders_reconcile_task() -> None:
    counts = reconcile.orders_reconcile(now=timezone.now())
    if any(counts.values()):
        logger.info("Reconciler: %s", counts)


@shared_task
def auto_renewals_run_task() -> None:
    started = autorenew.auto_renewals_run(now=timezone.now())
    if started:
        logger.info("Auto-renewal: %s attempts started", started)


@shared_task(ignore_result=True)
def card_alerts_send_task() -> int:
    """usage's alerts, each carrying a card-scoped renew link (billing.renew_links) instead of a login."""
    return card_alerts_send(now=timezone.now(), renew_url_for=renew_links.renew_link_url_for_notice)
