from django.contrib.auth import password_validation
from django.utils.translation import ngettext


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's, with its message in our catalogues: Django 5.2 reworded it ("at least %d
    character") and the Chinese and Italian catalogues Django ships do not have the new words yet,
    so a traveller signing up in those languages read it in English."""

    def get_error_message(self) -> str:
        return (
            ngettext(
                "This password is too short. It must contain at least %d character.",
                "This password is too short. It must contain at least %d characters.",
                self.min_length,
            )
            % self.min_length
        )
