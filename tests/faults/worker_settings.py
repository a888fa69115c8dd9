"""Settings of the fault tests' workers: the shared worker settings plus tests.faults.hooks."""

from celery.signals import worker_init

from tests.fixtures.worker_settings import *  # noqa: F403

EMAIL_BACKEND = "tests.faults.hooks.FaultEmailBackend"
SMS_BACKEND = "tests.faults.hooks.FaultSMSBackend"


@worker_init.connect
def _install_fault_points(**_kwargs):
    # In the main worker process, before the pool forks: every child inherits the wrapped top-up.
    import django

    django.setup()  # idempotent; the top-up is imported with the app registry ready
    from tests.faults.hooks import install_fulfilment_points

    install_fulfilment_points()
