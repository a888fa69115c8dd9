import logging

from celery import shared_task
from django.utils import timezone

from notices import services
from notices.models import Notification

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


def _backoff_seconds(attempts: int) -> int:
    return min(30 * 2 ** max(attempts - 1, 0), 3600)


@shared_task(bind=True, max_retries=None)
def notification_deliver(self, notification_id: int) -> None:
    try:
        delivered = services.notification_deliver(notification_id=notification_id)
    except services.NoticeDeliveryError as error:
        attempts = (
            Notification.objects.filter(pk=notification_id).values_list("attempts", flat=True).first() or 0
        )
        if attempts >= MAX_ATTEMPTS:
            services.notification_mark_failed(
                notification_id=notification_id, error=f"Gave up after {attempts} attempts: {error}"
            )
            logger.warning("Notice %s failed for good: %s", notification_id, error)
            return
        raise self.retry(exc=error, countdown=_backoff_seconds(attempts)) from error
    except services.NoticeError:
        logger.exception("Notice %s cannot be delivered", notification_id)
    else:
        if delivered or self.request.is_eager:
            return
        claimed_until = (
            Notification.objects.filter(pk=notification_id, status=Notification.Status.PENDING)
            .values_list("claimed_until", flat=True)
            .first()
        )
        if claimed_until:
            # Held by another worker, maybe one killed mid-send (this is its redelivered task):
            # come back when that claim lapses rather than leave the notice to the 15-minute sweep.
            wait = (claimed_until - timezone.now()).total_seconds()
            raise self.retry(countdown=max(wait, 0) + 1)


@shared_task
def notifications_requeue_stale() -> int:
    return services.notifications_requeue_stale(now=timezone.now())
