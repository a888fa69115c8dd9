"""A notice stuck at a slow provider never holds up a renewal, with the Procfile's worker layout."""

import pytest

from billing.models import Order
from tests.faults.conftest import customers_with_cards, deliver, pending_orders
from tests.fixtures.services import procfile_worker_queues, wait_for

pytestmark = pytest.mark.integration

PROVIDER_STUCK_SECONDS = 60


def test_a_renewal_goes_through_while_the_general_worker_is_stuck_sending_a_notice(
    fault_worker, fault_dir, webhooks_on, plan, client
):
    layout = procfile_worker_queues()
    # One process each, the smallest layout: the general worker has no second process to help.
    workers = [
        fault_worker(queues=layout[name], points="send", delay=PROVIDER_STUCK_SECONDS)
        for name in ("renewals", "worker")
    ]
    first, second = pending_orders(customers_with_cards(2), plan)

    assert deliver(client, first).status_code == 200
    # The first renewal's confirmation is now inside the mail or SMS provider, which hangs.
    wait_for(
        lambda: list((fault_dir / "at").glob("send-*")),
        timeout=30,
        what="a notice of the first order held at the provider\n" + "\n".join(w.log() for w in workers),
    )

    assert deliver(client, second).status_code == 200

    wait_for(
        lambda: Order.objects.filter(pk=second.pk, status=Order.Status.FULFILLED).exists(),
        timeout=20,
        what="the second order renewed\n" + "\n".join(w.log() for w in workers),
    )
    # Renewed while the notice was still stuck, not after it gave way.
    assert list((fault_dir / "at").glob("send-*"))
    assert not (fault_dir / "mail").exists() and not (fault_dir / "sms").exists()
