class BillingError(Exception):
    """Refused; the message is safe to show the customer or staff member."""


class WalletError(BillingError):
    pass
