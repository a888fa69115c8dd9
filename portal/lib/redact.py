"""Keep renew-link tokens (billing.renew_links) out of logs: the web server's access log, Django's
"Not Found: /r/…" warnings, anything a handler writes.

`RedactingFormatter` is the formatter of every handler in settings.LOGGING; gunicorn's access log
uses `GunicornLogger` (Procfile: `--logger-class portal.lib.redact.GunicornLogger`). Four characters
are kept, enough for support to match a complaint to a log line and useless to anyone else.
"""

import logging
import re
import time
from typing import Any

from gunicorn.glogging import Logger

TOKEN_IN_PATH = re.compile(r"(/r/)([A-Za-z0-9_-]{4})[A-Za-z0-9_-]+")


def redact(text: str) -> str:
    return TOKEN_IN_PATH.sub(r"\1\2…", text)


class RedactingFormatter(logging.Formatter):
    """Also writes every time in UTC, named: Django sets the process's zone to TIME_ZONE (Monaco)
    while gunicorn's master starts without Django, so local times would mix +0000 and +0100."""

    converter = time.gmtime  # type: ignore[assignment]  # called with a timestamp, as logging does
    default_time_format = "%Y-%m-%d %H:%M:%S"
    default_msec_format = "%s.%03d UTC"

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class GunicornLogger(Logger):
    """Gunicorn's logger with the request line, path and referrer redacted in the access log, and
    its times in UTC like every other line (RedactingFormatter)."""

    datefmt = "[%Y-%m-%d %H:%M:%S +0000]"

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            if handler.formatter is not None:
                handler.formatter.converter = time.gmtime

    def now(self) -> str:
        return time.strftime("[%d/%b/%Y:%H:%M:%S +0000]", time.gmtime())

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "f", "q"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms
