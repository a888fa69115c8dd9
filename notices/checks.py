from django.conf import settings
from django.core.checks import Warning, register

from notices.sms import OLD_MODULE_PREFIX, backend_path


@register()
def sms_backend_moved(app_configs, **kwargs):
    if not settings.SMS_BACKEND.startswith(OLD_MODULE_PREFIX):
        return []
    return [
        Warning(
            f"SMS_BACKEND={settings.SMS_BACKEND} names the backend's old home; it still works.",
            hint=f"Set SMS_BACKEND={backend_path()}.",
            id="notices.W001",
        )
    ]
