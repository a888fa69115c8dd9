"""The staff admin at a carrier's volumes: support searches, changelists and a customer's page.

    .venv/bin/python bench/admin_scale.py [--quick] [--repeat 5] [--rebuild]

Builds (once; later runs reuse it) a PostgreSQL database `bench_admin_scale` with 200,000
customers, their cards and login addresses, 1,000,000 orders, 10,000,000 usage records (one card
alone has 1,000,000), 1.2 M ledger entries, 1 M provisioning events and notices, refunds, wallet
entries, webhook events and audit entries, set-based (generate_series), in about two minutes.
`--quick` builds and uses `bench_admin_scale_quick`, a tenth of that. Every run migrates the
database first, so it measures the code checked out (and its indexes).

Then, in-process with Django's test client logged in as a support agent (staff, `support` group,
authenticator enrolled, as `force_login` after the second factor leaves them), it times:
  - every search key on the customer, order and card admins: phone typed with spaces, E.164,
    email in another case, ICCID with spaces, order number, Stripe PaymentIntent and Checkout
    Session ids, name. Target < 100 ms each; the page must list the object searched for.
  - every big changelist, unfiltered. Target < 300 ms each.
  - the page of a customer with 365 orders. Target < 200 ms.
Baselines measured in the same run: the admin index page (an admin page with no data) and an
index-only lookup of one order by primary key. Prints median and p95 per page, the ratio of the
median to the admin index, and met / MISSED.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
SECRET_KEY = "bench-only-secret-key-not-for-production-0123456789"

FULL = {"customers": 200_000, "orders": 1_000_000, "usage": 10_000_000, "big_card_usage": 1_000_000}
QUICK = {"customers": 20_000, "orders": 100_000, "usage": 1_000_000, "big_card_usage": 100_000}
FREQUENT_ORDERS = 365  # the customer whose page is timed: a year of daily plans

SEARCH_TARGET_MS = 100
CHANGELIST_TARGET_MS = 300
CUSTOMER_PAGE_TARGET_MS = 200

FILL = """
INSERT INTO plans_plan (code, name, description, period, data_bytes, price_cents, currency, vat_rate_bp,
    covers_monaco, covers_french_riviera, covers_ligurian_coast, is_active, display_order)
VALUES ('bench-day', 'Day 1 GB', '', 'day', 1000000000, 490, 'EUR', 2000, true, true, true, true, 1),
       ('bench-week', 'Week 5 GB', '', 'week', 5000000000, 1990, 'EUR', 2000, true, true, true, true, 2),
       ('bench-month', 'Month 20 GB', '', 'month', 20000000000, 4990, 'EUR', 2000, true, true, true, true, 3);

INSERT INTO accounts_user (id, password, is_superuser, email, phone, phone_verified, name, language, notify_email,
    notify_sms, is_staff, is_active, date_joined)
SELECT n, '!', false, 'traveller' || n || '@example.com', '+3776' || lpad(n::text, 8, '0'), true,
       CASE WHEN n % 10 = 0 THEN '王小明 ' || n ELSE 'Traveller ' || n END,
       (ARRAY['en', 'fr', 'it', 'zh-hans'])[1 + n % 4], true, n % 3 = 0, false, true,
       timestamptz '2024-01-01 00:00+00' + ((n * 97) % (700 * 86400)) * interval '1 second'
FROM generate_series(1, %(customers)s) AS n;
SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), %(customers)s);

INSERT INTO account_emailaddress (email, verified, "primary", user_id)
SELECT email, true, true, id FROM accounts_user;

INSERT INTO usage_card (id, iccid, kind, activation_code, claim_code_hash, label, data_remaining, expires_at,
    period_started_at, period_allowance, overage_bytes, usage_updated_at, created_at, owner_id)
SELECT n, '89377' || lpad(n::text, 14, '0'), 'esim', '', '', '', 1000000000,
       timestamptz '2026-12-01 00:00+00' + (n % 60) * interval '1 day',
       timestamptz '2026-11-01 00:00+00', 5000000000, 0, timestamptz '2026-11-30 00:00+00',
       timestamptz '2024-01-01 00:00+00' + ((n * 97) % (700 * 86400)) * interval '1 second', n
FROM generate_series(1, %(customers)s) AS n;
SELECT setval(pg_get_serial_sequence('usage_card', 'id'), %(customers)s);

INSERT INTO billing_order (number, customer_id, card_id, new_esim, origin, language, plan_id, plan_code, plan_name,
    plan_period, plan_duration_seconds, plan_data_bytes, list_price_cents, vat_rate_bp, promotion_code,
    discount_cents, bonus_bytes, wallet_applied_cents, amount_charged_cents, currency, refunded_amount_cents,
    status, created_at, checkout_started_at, paid_at, fulfilled_at, last_error, payment_method_type,
    save_payment_method, stripe_checkout_session_id, stripe_payment_intent_id, stripe_customer_id, checkout_url,
    customer_email, customer_phone, flag_reason)
SELECT NULL, g.u, g.u, false, 'customer', 'en', p.id, p.code, p.name, p.period,
       86400, p.data_bytes, p.price_cents, p.vat_rate_bp, '', 0, 0, 0, p.price_cents, 'EUR',
       CASE WHEN g.n % 50 = 0 THEN 100 ELSE 0 END,
       CASE WHEN g.n % 50 = 0 THEN 'partially_refunded' WHEN g.n % 23 = 0 THEN 'expired' ELSE 'fulfilled' END,
       g.ts, g.ts, CASE WHEN g.n % 23 = 0 AND g.n % 50 <> 0 THEN NULL ELSE g.ts + interval '1 minute' END,
       CASE WHEN g.n % 23 = 0 AND g.n % 50 <> 0 THEN NULL ELSE g.ts + interval '2 minutes' END, '',
       (ARRAY['card', 'alipay', 'wechat_pay', 'paypal'])[1 + g.n % 4], false,
       'cs_bench_' || g.n, CASE WHEN g.n % 23 = 0 AND g.n % 50 <> 0 THEN NULL ELSE 'pi_bench_' || g.n END,
       'cus_bench_' || g.u, '', 'traveller' || g.u || '@example.com', '+3776' || lpad(g.u::text, 8, '0'), ''
FROM (
    SELECT n,
           CASE WHEN n > %(orders)s - %(frequent)s THEN 7 ELSE 1 + n % %(customers)s END AS u,
           timestamptz '2025-01-01 00:00+00' + ((n * 31) % (700 * 86400)) * interval '1 second' AS ts
    FROM generate_series(1, %(orders)s) AS n
) AS g
JOIN plans_plan p ON p.code = (ARRAY['bench-day', 'bench-week', 'bench-month'])[1 + g.n % 3];
UPDATE billing_order SET number = 'MC-' || extract(year FROM created_at) || '-' || lpad(id::text, 7, '0');

INSERT INTO billing_refund (order_id, amount_cents, currency, destination, source, data_reversed_bytes,
    duration_reversed_seconds, failure_reason, status, reason, created_at, succeeded_at)
SELECT id, 100, 'EUR', 'wallet', 'staff', 0, 0, '', 'succeeded', 'bench', paid_at + interval '1 day',
       paid_at + interval '1 day'
FROM billing_order WHERE refunded_amount_cents > 0;

INSERT INTO billing_wallet (user_id, balance_cents, currency, updated_at)
SELECT id, 100, 'EUR', date_joined FROM accounts_user WHERE id % 2 = 0;
INSERT INTO billing_walletentry (wallet_id, kind, amount_cents, balance_after_cents, reason, created_at, order_id)
SELECT w.id, 'refund', 100, 100, '', o.paid_at + interval '1 day', o.id
FROM billing_order o JOIN billing_wallet w ON w.user_id = o.customer_id WHERE o.refunded_amount_cents > 0;

INSERT INTO billing_webhookevent (stripe_event_id, type, livemode, payload, received_at, processed_at, attempts,
    error, order_id)
SELECT 'evt_bench_' || id, 'checkout.session.completed', false, '{}', paid_at, paid_at, 1, '', id
FROM billing_order WHERE paid_at IS NOT NULL AND id % 10 = 0;

INSERT INTO usage_ledgerentry (card_id, kind, data_delta, data_after, expires_before, expires_after, order_id,
    reason, created_at)
SELECT card_id, 'topup', plan_data_bytes, plan_data_bytes, NULL, fulfilled_at + interval '1 day', id, '',
       fulfilled_at
FROM billing_order WHERE fulfilled_at IS NOT NULL;
INSERT INTO usage_ledgerentry (card_id, kind, data_delta, data_after, reason, created_at)
SELECT id, 'usage', -1000000, 1000000000, '', timestamptz '2026-11-30 00:00+00' FROM usage_card;

INSERT INTO usage_provisioningevent (card_id, ledger_entry_id, payload, state, attempts, last_error, created_at,
    first_attempted_at, sent_at)
SELECT card_id, id, '{}', 'sent', 1, '', created_at, created_at, created_at
FROM usage_ledgerentry WHERE kind = 'topup';

INSERT INTO accounts_notification (user_id, kind, channel, dedupe_key, recipient, language, subject, context,
    status, attempts, last_error, created_at, sent_at)
SELECT customer_id, 'confirmation', 'email', 'confirmation:order:' || id || ':email', customer_email, 'en',
       'Your renewal', '{}', 'sent', 1, '', fulfilled_at, fulfilled_at
FROM billing_order WHERE fulfilled_at IS NOT NULL;

INSERT INTO support_auditentry (actor_label, action, object_type, object_id, object_label, reason, created_at)
SELECT 'agent@example.com', 'card_adjust', 'usage.card', (1 + n % %(customers)s)::text,
       '89377' || lpad((1 + n % %(customers)s)::text, 14, '0'), 'Goodwill after a network outage',
       timestamptz '2025-01-01 00:00+00' + ((n * 61) % (700 * 86400)) * interval '1 second'
FROM generate_series(1, %(customers)s) AS n;
"""

# Usage records last: the biggest table. One card (the frequent traveller's) has `big_card_usage`.
FILL_USAGE = """
INSERT INTO usage_usagerecord (record_id, card_id, ledger_entry_id, start, "end", bytes, overage_bytes, received_at)
SELECT 'rec-' || n, g.card, e.id, g.ts, g.ts + interval '1 hour', 1000000 + n % 5000000, 0,
       g.ts + interval '2 hours'
FROM (
    SELECT n, CASE WHEN n <= %(big_card_usage)s THEN 7 ELSE 1 + n % %(customers)s END AS card,
           timestamptz '2025-01-01 00:00+00' + ((n * 13) % (700 * 86400)) * interval '1 second' AS ts
    FROM generate_series(1, %(usage)s) AS n
) AS g
JOIN usage_ledgerentry e ON e.card_id = g.card AND e.kind = 'usage';
"""


def database_prepare(name: str, sizes: dict, *, rebuild: bool) -> None:
    """Create and fill `name` unless a complete fill of the same sizes is already there; migrate it."""
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and rebuild:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = f"{SERVER}/{name}"
    django_setup()
    from django.core.management import call_command

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    migrated = time.monotonic() - started
    with psycopg.connect(f"{SERVER}/{name}", autocommit=True) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS bench_admin_scale_fill (sizes text PRIMARY KEY)")
        done = connection.execute("SELECT sizes FROM bench_admin_scale_fill").fetchone()
        if done and done[0] == repr(sorted(sizes.items())):
            print(f"reusing {name} (built earlier; migrate took {migrated:.1f} s)", flush=True)
            return
        if done:
            raise SystemExit(f"{name} holds another size ({done[0]}): run with --rebuild")
        started = time.monotonic()
        parameters = {**sizes, "frequent": FREQUENT_ORDERS}
        with connection.transaction():
            for statement in (FILL, FILL_USAGE):
                started_statement = time.monotonic()
                connection.execute(sql_with(statement, parameters))
                print(f"  filled in {time.monotonic() - started_statement:.0f} s", flush=True)
            connection.execute(
                "INSERT INTO bench_admin_scale_fill VALUES (%s)", [repr(sorted(sizes.items()))]
            )
        connection.execute("VACUUM ANALYZE")
        print(f"built {name} in {time.monotonic() - started:.0f} s: {sizes}", flush=True)


def sql_with(statement: str, values: dict[str, int]) -> str:
    """The fill with its sizes written in (integers only), run as one multi-statement script."""
    for key, value in values.items():
        statement = statement.replace(f"%({key})s", str(int(value)))
    return statement


def django_setup() -> None:
    os.environ.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": "testserver",
            "SECURE_SSL_REDIRECT": "false",
            "PAYMENTS_DEMO": "1",  # production settings, demo payments on purpose (no Stripe here)
            "DJANGO_SETTINGS_MODULE": "admin_scale_settings",
            "VAR_DIR": str(ROOT / "var" / "bench"),
            "LOG_LEVEL": "WARNING",
        }
    )
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    import django

    django.setup()


def support_client():
    """A test client logged in as a support agent who has passed the second factor."""
    from allauth.mfa.adapter import get_adapter
    from allauth.mfa.models import Authenticator
    from django.contrib.auth.models import Group
    from django.test import Client

    from accounts.models import User

    agent, _ = User.objects.get_or_create(
        email="bench-agent@example.com", defaults={"is_staff": True, "name": "Bench agent"}
    )
    agent.groups.set([Group.objects.get(name="support")])
    if not Authenticator.objects.filter(user=agent, type=Authenticator.Type.TOTP).exists():
        Authenticator.objects.create(
            user=agent,
            type=Authenticator.Type.TOTP,
            data={"secret": get_adapter().encrypt("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")},
        )
    client = Client()
    client.force_login(agent)
    return client


def timed(fetch, *, repeat: int) -> list[float]:
    """Milliseconds of `repeat` calls after one warm-up; a page slower than 2 s is timed once."""
    started = time.perf_counter()
    fetch()
    first = (time.perf_counter() - started) * 1000
    if first > 2000:
        return [first]
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fetch()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes (own database)")
    parser.add_argument("--repeat", type=int, default=9, help="timed requests per page after a warm-up")
    parser.add_argument("--rebuild", action="store_true", help="drop the kept database and build it again")
    options = parser.parse_args()
    sizes = QUICK if options.quick else FULL
    name = "bench_admin_scale_quick" if options.quick else "bench_admin_scale"
    database_prepare(name, sizes, rebuild=options.rebuild)

    from django.urls import reverse

    from billing.models import Order

    client = support_client()
    problems: list[str] = []

    def page(url, params=None, must_show=None):
        def fetch():
            response = client.get(url, params or {})
            if response.status_code != 200:
                raise SystemExit(f"{url} {params}: HTTP {response.status_code}")
            return response

        response = fetch()
        if must_show is not None and must_show.encode() not in response.content:
            problems.append(f"{url} {params or ''}: the page does not list {must_show}")
        return fetch

    # The customer searched for: an ordinary one, five orders, one card.
    number = 123_457 if not options.quick else 12_347
    order = Order.objects.filter(customer_id=number).order_by("id").first()
    phone_national = f"{number:08d}"
    keys = {
        "phone typed with spaces": f"+377 6 {phone_national[0:2]} {phone_national[2:4]} {phone_national[4:6]} "
        f"{phone_national[6:8]}",
        "phone E.164": f"+3776{phone_national}",
        "email in another case": f"Traveller{number}@EXAMPLE.com",
        "ICCID with spaces": " ".join(f"89377{number:014d}"[i : i + 4] for i in range(0, 19, 4)),
        "order number": order.number,
        "Stripe PaymentIntent": order.stripe_payment_intent_id or f"pi_bench_{order.pk}",
        "Stripe Checkout Session": order.stripe_checkout_session_id,
        "name": f"Traveller {number}",
    }
    admins = {
        "customer": ("admin:accounts_user_changelist", f"/admin/accounts/user/{number}/change/"),
        "order": ("admin:billing_order_changelist", None),
        "card": ("admin:usage_card_changelist", f"/admin/usage/card/{number}/change/"),
    }
    rows: list[tuple[str, list[float], float]] = []

    index = page(reverse("admin:index"))
    baseline = timed(index, repeat=max(options.repeat, 10))
    rows.append(("baseline: admin index page", baseline, 0))
    lookup = timed(lambda: Order.objects.only("id", "number").get(pk=order.pk).number, repeat=20)
    rows.append(("baseline: one order by primary key (ORM)", lookup, 0))

    for admin_name, (url_name, expected) in admins.items():
        for key, term in keys.items():
            shows = expected
            if admin_name == "order":
                # The order searched for by its own keys; a customer's keys list their orders.
                shows = f"/admin/billing/order/{order.pk}/change/"
            fetch = page(reverse(url_name), {"q": term}, must_show=shows)
            rows.append(
                (
                    f"search {admin_name}s by {key} ({term})",
                    timed(fetch, repeat=options.repeat),
                    SEARCH_TARGET_MS,
                )
            )

    changelists = [
        ("orders", "admin:billing_order_changelist"),
        ("customers", "admin:accounts_user_changelist"),
        ("cards", "admin:usage_card_changelist"),
        ("usage records", "admin:usage_usagerecord_changelist"),
        ("ledger entries", "admin:usage_ledgerentry_changelist"),
        ("provisioning events", "admin:usage_provisioningevent_changelist"),
        ("notices", "admin:notices_notification_changelist"),
        ("audit trail", "admin:audit_auditentry_changelist"),
        ("refunds", "admin:billing_refund_changelist"),
        ("wallet entries", "admin:billing_walletentry_changelist"),
        ("webhook events", "admin:billing_webhookevent_changelist"),
    ]
    for label, url_name in changelists:
        fetch = page(reverse(url_name))
        rows.append((f"changelist {label}", timed(fetch, repeat=options.repeat), CHANGELIST_TARGET_MS))

    frequent = page(reverse("admin:accounts_user_change", args=[7]))
    rows.append(
        (
            f"customer page, {FREQUENT_ORDERS} orders",
            timed(frequent, repeat=options.repeat),
            CUSTOMER_PAGE_TARGET_MS,
        )
    )

    base = statistics.median(baseline)
    width = max(len(label) for label, _, _ in rows)
    print(f"\n{'page':<{width}}  {'median ms':>9}  {'p95 ms':>8}  {'x index':>7}  target     verdict")
    met = 0
    targets = 0
    for label, samples, target in rows:
        median = statistics.median(samples)
        verdict = ""
        if target:
            targets += 1
            ok = median < target
            met += ok
            verdict = "met" if ok else "MISSED"
        target_text = f"< {target} ms" if target else ""
        print(
            f"{label:<{width}}  {median:9.1f}  {p95(samples):8.1f}  {median / base:7.1f}  {target_text:<9}  {verdict}"
        )
    print(f"\nadmin at scale: {met}/{targets} targets met; admin index baseline median {base:.1f} ms")
    for problem in problems:
        print(f"WRONG RESULT {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
