"""Time-based one-time codes (RFC 6238, as allauth.mfa and every authenticator app compute them).

Only for showing the demo staff their current code and for tests that log in as staff; the portal
itself checks codes through allauth.mfa.
"""

import base64
import hashlib
import hmac
import struct
import time

PERIOD_SECONDS = 30
DIGITS = 6


def totp_code(secret: str, *, at: float | None = None) -> str:
    counter = int(time.time() if at is None else at) // PERIOD_SECONDS
    key = base64.b32decode(secret.encode("ascii"), casefold=True)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**DIGITS:0{DIGITS}d}"
