"""Secrets the database must keep but not show: staff authenticator (TOTP) keys and recovery-code
seeds. Sealed with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) under a key derived
from ``SECRET_KEY``, so a copy of the database alone (a backup, a replica, an injected query) does
not hand anyone the staff's second factor.

``SECRET_KEY_FALLBACKS`` still open what the previous key sealed, so ``SECRET_KEY`` can be rotated:
set the new key, keep the old one in the fallbacks, run ``manage.py reseal_secrets``, then drop it.
"""

import base64
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PREFIX = "sealed1:"
_INFO = b"portal.secret_box v1"


class SecretBoxError(Exception):
    """A sealed value none of the configured keys opens, or a value that was never sealed."""


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


@lru_cache(maxsize=4)
def _box(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_fernet(key) for key in keys])


def _keys() -> tuple[str, ...]:
    fallbacks: Sequence[str] = getattr(settings, "SECRET_KEY_FALLBACKS", ())
    return (str(settings.SECRET_KEY), *fallbacks)


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


def seal(text: str) -> str:
    return PREFIX + _box(_keys()).encrypt(text.encode()).decode()


def _token(value: str) -> bytes:
    if not is_sealed(value):
        raise SecretBoxError("the stored secret is not sealed (run the accounts migrations)")
    return value[len(PREFIX) :].encode()


_NO_KEY = "a stored secret was sealed with a key that is neither SECRET_KEY nor in SECRET_KEY_FALLBACKS"


def unseal(value: str) -> str:
    try:
        return _box(_keys()).decrypt(_token(value)).decode()
    except InvalidToken:
        raise SecretBoxError(_NO_KEY) from None


def reseal(value: str) -> str:
    """The same secret sealed under the current SECRET_KEY (for key rotation)."""
    try:
        return PREFIX + _box(_keys()).rotate(_token(value)).decode()
    except InvalidToken:
        raise SecretBoxError(_NO_KEY) from None
