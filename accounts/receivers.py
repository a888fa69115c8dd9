"""What accounts does when allauth reports a step (allauth's documented signals, connected in
AccountsConfig.ready). Each receiver calls one named function; the rules live in accounts.security
and accounts.services."""

from allauth.account.signals import password_reset, user_logged_in
from django.dispatch import receiver

from accounts import security, services


@receiver(user_logged_in, dispatch_uid="accounts.device_remember")
def _remember_device(sender, request, user, response=None, **kwargs) -> None:
    if response is not None:
        security.device_remember(request=request, response=response, user=user)


@receiver(password_reset, dispatch_uid="accounts.drop_unverified_identifiers")
def _drop_unverified_identifiers(sender, request, user, **kwargs) -> None:
    services.user_drop_unverified_identifiers(user=user)
