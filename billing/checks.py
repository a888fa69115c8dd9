from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def demo_payments_in_production(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Demo payments let customers confirm their own payment: never in a real deployment."""
    if settings.PAYMENTS_DEMO_MODE and not settings.DEBUG:
        return [
            checks.Error(
                "Demo payments are on (PAYMENTS_DEMO=1) with DEBUG off: customers can mark their own "
                "orders paid on the demo payment page.",
                hint="Unset PAYMENTS_DEMO and set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET.",
                id="billing.E001",
            )
        ]
    return []
