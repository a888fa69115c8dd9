import os
from logging.config import dictConfig

from celery import Celery
from celery.signals import setup_logging
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def logging_from_django_settings(**kwargs: object) -> None:
    # A receiver here stops the worker and beat from configuring logging themselves (their
    # --loglevel would win over LOG_LEVEL, and their lines would skip the redacting formatter).
    dictConfig(settings.LOGGING)
