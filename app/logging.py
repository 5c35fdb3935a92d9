"""JSON logs with the request id, user id and operation name of the current request."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys

import orjson

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
user_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("user_id", default=None)
operation_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("operation", default=None)

_REDACT = ("password", "token", "secret", "authorization")
# Defence in depth for messages and tracebacks: JWTs, bearer credentials, and Florin's opaque tokens
# (refresh tokens and `flo_` API tokens are 43 url-safe characters).
_SECRETS = re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]{5,}"  # a JWT
                      r"|(?i:bearer)\s+\S+|\bflo_[\w-]{20,}|(?<![\w-])[\w-]{43}(?![\w-])")


def redact(text: str) -> str:
    return _SECRETS.sub("[redacted]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, var in (("request_id", request_id_var), ("user_id", user_id_var), ("operation", operation_var)):
            value = var.get()
            if value:
                entry[key] = value
        for key, value in getattr(record, "fields", {}).items():
            entry[key] = "[redacted]" if any(word in key.lower() for word in _REDACT) else value
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        try:  # orjson: the access log line of every request is the hot case
            return orjson.dumps(entry, default=str).decode()
        except TypeError:  # what orjson refuses (an integer over 64 bits, a key that is no string)
            return json.dumps(entry, default=str)


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(level: str = "INFO", json_format: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_format else PlainFormatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
