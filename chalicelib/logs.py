"""Structured JSON logs, one line per record, with the request's context and nothing private.

Every line carries the fields bound for the current request (correlation id, source,
licence id, event type) plus the record's own `extra` fields. Every string that leaves
through here, the message and tracebacks included, goes through chalicelib.masking, so
a national id or a mobile number that slipped into an exception message is still not
written in clear; webhook secrets and bearer tokens are cut out as well.

Metrics use CloudWatch Embedded Metric Format: a JSON line on stdout becomes a metric
without an API call.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Mapping
from contextvars import ContextVar, Token
from functools import cache
from types import MappingProxyType
from typing import Any

from chalicelib.masking import mask_text

ROOT_LOGGER = "licence_bridge"
METRIC_NAMESPACE = "LicenceBridge"

_context: ContextVar[Mapping[str, Any]] = ContextVar("log_context", default=MappingProxyType({}))

# Fields a log record may carry in `extra`; anything else stays out of the line.
FIELDS = (
    "correlation_id",
    "source",
    "webhook_id",
    "licence_id",
    "event_type",
    "version",
    "outcome",
    "status",
    "reason",
    "consumer",
    "count",
    "duration_ms",
    "error",
)

_SECRETS = re.compile(r"(whsec_|Bearer\s+|lb_)[A-Za-z0-9+/=_\-.]+", re.IGNORECASE)
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def mask(text: str) -> str:
    """National ids and phones (any run of 10+ digits), webhook secrets and tokens, hidden."""
    return _SECRETS.sub(lambda m: m.group(1) + "***", mask_text(text))


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask(str(value))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_context.get())
        for name in FIELDS:
            if name in record.__dict__:
                line[name] = record.__dict__[name]
        if record.exc_info and record.exc_info[0] is not None:
            line["error_type"] = record.exc_info[0].__name__
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(_clean(line), ensure_ascii=False, default=str)


class _StdoutHandler(logging.Handler):
    """Writes to whatever sys.stdout is at the time, so captured output sees the lines."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except Exception:
            self.handleError(record)


@cache
def _root() -> logging.Logger:
    logger = logging.getLogger(ROOT_LOGGER)
    handler = _StdoutHandler()
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    # Lambda's root handler would print every line a second time, unstructured.
    logger.propagate = False
    return logger


def adopt(logger: logging.Logger) -> None:
    """Route a framework's logger (Chalice's app.log) through our masked JSON lines."""
    logger.handlers = [_root().handlers[0]]
    logger.propagate = False


def get_logger(name: str) -> logging.Logger:
    _root()
    return logging.getLogger(f"{ROOT_LOGGER}.{name}")


def bind(**fields: Any) -> Token[Mapping[str, Any]]:
    """Add fields to every line logged until `unbind(token)`."""
    return _context.set({**_context.get(), **fields})


def unbind(token: Token[Mapping[str, Any]]) -> None:
    _context.reset(token)


def current(name: str) -> Any:
    return _context.get().get(name)


def correlation_id_for(request: Any) -> str:
    """The id bound for this request (by the middleware), else the caller's X-Correlation-Id
    when it is sane, else API Gateway's request id, else a new one."""
    bound = current("correlation_id")
    if bound:
        return str(bound)
    headers = getattr(request, "headers", None) or {}
    given = headers.get("x-correlation-id")
    if isinstance(given, str) and _CORRELATION_ID.match(given):
        return given
    context = getattr(request, "context", None) or {}
    request_id = context.get("requestId")
    if isinstance(request_id, str) and _CORRELATION_ID.match(request_id):
        return request_id
    # Base32 letters, so masking (which hides long digit runs) never mangles our own ids.
    return base64.b32encode(uuid.uuid4().bytes).decode("ascii").rstrip("=").lower()


def metric(name: str, value: float = 1, unit: str = "Count") -> None:
    from chalicelib import wiring

    stage = wiring.settings().stage
    line = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": METRIC_NAMESPACE,
                    "Dimensions": [["Stage"]],
                    "Metrics": [{"Name": name, "Unit": unit}],
                }
            ],
        },
        "Stage": stage,
        name: value,
    }
    if cid := current("correlation_id"):
        line["correlation_id"] = cid
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()
