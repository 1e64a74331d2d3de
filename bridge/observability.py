"""Logging set-up: structlog to stderr, console or JSON, with secrets redacted.

Redaction has two layers: values of keys that look secret (``token``, ``password``,
``authorization``…) are masked, and every known secret value (the resolved ``*_env`` secrets,
registered with :func:`register_secret`) is replaced wherever it appears in a log line, including
inside exception text.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = re.compile(r"(token|password|passwd|secret|authorization|api_key|cookie)", re.I)
_MASK = "***"
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Never show ``value`` in a log line (ignored when shorter than 4 characters)."""
    if value and len(value) >= 4:
        _secrets.add(value)


def redact_text(text: str) -> str:
    """``text`` with every registered secret masked."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, _MASK)
    return text


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        if _SECRET_KEYS.search(key) and value is not None and key != "event":
            event[key] = _MASK
        elif isinstance(value, str):
            event[key] = redact_text(value)
        elif isinstance(value, BaseException):
            event[key] = redact_text(f"{type(value).__name__}: {value}")
    return event


def _redact_rendered(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    exc = event.get("exception")
    if isinstance(exc, str):
        event["exception"] = redact_text(exc)
    return event


def setup_logging(fmt: str = "console", level: str = "info") -> None:
    """Configure structlog (and stdlib logging, so library logs are formatted and redacted too)."""
    lvl = getattr(logging, level.upper(), logging.INFO)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                _redact_rendered,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(lvl)
    # httpx logs every request at INFO, with URLs; keep that for debug level only.
    logging.getLogger("httpx").setLevel(max(lvl, logging.WARNING))
    logging.getLogger("httpcore").setLevel(max(lvl, logging.WARNING))
