"""The `support` and `finance` staff groups, with the least each role needs.

Support sees customers, cards, orders and ledgers and acts through audited staff actions; it cannot
export or see revenue. Finance sees orders, refunds and wallets, exports and reads revenue; it cannot
change cards, orders or wallets. Nobody gets add/change/delete on the ledger or the audit trail.
"""

from django.db import migrations

SUPPORT = {
    "accounts": ["view_user", "view_notification"],
    "account": ["view_emailaddress"],
    "plans": ["view_plan", "view_promotion"],
    "usage": ["view_card", "change_card", "view_ledgerentry", "view_usagerecord", "view_provisioningevent"],
    "billing": [
        "view_order",
        "view_refund",
        "view_webhookevent",
        "view_wallet",
        "view_walletentry",
        "view_autorenewal",
        "change_autorenewal",
    ],
    "support": [
        "view_auditentry",
        "view_ticket",
        "change_ticket",
        "view_ticketmessage",
        "card_adjust",
        "card_suspend",
        "order_refund",
        "order_resend_confirmation",
        "order_retry_fulfilment",
        "wallet_credit",
        "webhook_rerun",
    ],
}

FINANCE = {
    "accounts": ["view_user"],
    "plans": ["view_plan", "view_promotion"],
    "usage": ["view_card"],
    "billing": ["view_order", "view_refund", "view_wallet", "view_walletentry"],
    "support": ["finance_export", "finance_revenue"],
}


def _ensure_permissions(apps):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module


def create_groups(apps, schema_editor):
    _ensure_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, grants in (("support", SUPPORT), ("finance", FINANCE)):
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for app_label, codenames in grants.items():
            found = list(Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))
            missing = set(codenames) - {permission.codename for permission in found}
            if missing:
                raise RuntimeError(f"Permissions missing for {app_label}: {sorted(missing)}")
            wanted += found
        group.permissions.set(wanted)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["support", "finance"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("support", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("account", "0009_emailaddress_unique_primary_email"),
        ("accounts", "0001_initial"),
        ("plans", "0001_initial"),
        ("usage", "0001_initial"),
        ("billing", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
