"""What accounts does when allauth reports a step (allauth's documented signals, connected in
AccountsConfig.ready). Each receiver calls one named function; the rules live in accounts.security
and accounts.services."""

from allauth.account.signals import password_reset, user_logged_in
from django.contrib.auth import signals as auth_signals
from django.dispatch import receiver

from accounts import security, services
from accounts.middleware import session_language_remember


@receiver(user_logged_in, dispatch_uid="accounts.device_remember")
def _remember_device(sender, request, user, response=None, **kwargs) -> None:
    if response is not None:
        security.device_remember(request=request, response=response, user=user)


@receiver(auth_signals.user_logged_in, dispatch_uid="accounts.session_language")
def _session_language(sender, request, user, **kwargs) -> None:
    # Kept with the login's own session write, so the first page after it (which may be a form
    # post) writes no session: a session write that fails answers 400, not the portal's error page.
    if request is not None and hasattr(request, "session"):
        session_language_remember(request, getattr(user, "language", "") or "")


@receiver(password_reset, dispatch_uid="accounts.drop_unverified_identifiers")
def _drop_unverified_identifiers(sender, request, user, **kwargs) -> None:
    services.user_drop_unverified_identifiers(user=user)
