"""Logs: structlog over the standard library, one format for every process.

``configure_logging(settings)`` is called once per process (``partnergraph`` commands, each
Dramatiq worker process): every record, ours (``structlog.get_logger``) and the libraries'
(``logging.getLogger``: uvicorn, dramatiq, sqlalchemy), goes through the same processors
and renderer: readable console lines in development, one JSON object per line in
production (``PARTNERGRAPH_LOG_FORMAT`` = ``auto`` | ``console`` | ``json``).

What a request or a job is doing rides in context variables, so every line logged while it
runs carries it: ``request_id`` (the API binds it per request, ``app.request_log``), and in
a job ``request_id`` (of the request that enqueued it), ``job`` and ``outbox_id``.

The request line: :class:`RequestRecord` collects what one HTTP request did (operation,
viewer, error codes) from the layers that know it; the ASGI middleware logs it once at the
end. :func:`note_error_code` is how a layer adds a code (a field error, a user error).
"""

from __future__ import annotations

import contextvars
import logging
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
import structlog

from config import tracing

if TYPE_CHECKING:
    from config.settings import Settings

REQUEST_ID = "request_id"


def _json_dumps(data: Mapping[str, Any], **_: Any) -> str:
    return orjson.dumps(data, default=str).decode()


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]


def _default_configuration() -> None:
    """Before ``configure_logging`` (tests, libraries): plain standard-library records."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.format_exc_info,
            structlog.stdlib.render_to_log_kwargs,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


_default_configuration()
_HANDLER_NAME = "partnergraph"


def wants_json(settings: Settings) -> bool:
    fmt = settings.log_format
    return fmt == "json" or (fmt == "auto" and settings.production)


def configure_logging(settings: Settings, *, stream: Any = None) -> None:
    """Route every log record of this process through structlog's renderer (idempotent)."""
    shared = _shared_processors()
    renderer: Any
    if wants_json(settings):
        renderer = structlog.processors.JSONRenderer(serializer=_json_dumps)
        final = [structlog.processors.format_exc_info, renderer]
    else:
        final = [structlog.dev.ConsoleRenderer(colors=False)]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    _remove_handler(root)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for noisy in ("uvicorn.access", "httpx", "httpcore", "aiosqlite", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def _remove_handler(root: logging.Logger) -> None:
    # Ours, and a plain basicConfig() one (Dramatiq's CLI without --skip-logging).
    for old in list(root.handlers):
        if old.get_name() == _HANDLER_NAME or type(old) is logging.StreamHandler:
            root.removeHandler(old)


def reset_logging() -> None:
    """Undo ``configure_logging`` (tests)."""
    _remove_handler(logging.getLogger())
    _default_configuration()


def new_id() -> str:
    return uuid.uuid4().hex[:16]


@dataclass
class RequestRecord:
    """What one HTTP request did; logged as one line when it ends."""

    request_id: str
    method: str
    path: str
    started: float = field(default_factory=time.perf_counter)
    status: int | None = None
    operation_name: str | None = None
    operation_type: str | None = None
    user_id: int | None = None
    api_token_id: int | None = None
    organizations: list[int] = field(default_factory=list)
    error_codes: list[str] = field(default_factory=list)
    error_id: str | None = None

    def duration_ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 2)

    def fields(self) -> dict[str, Any]:
        organization: int | list[int] | None = (
            self.organizations[0] if len(self.organizations) == 1 else (self.organizations or None)
        )
        out: dict[str, Any] = {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "duration_ms": self.duration_ms(),
            "operation": self.operation_name,
            "operation_type": self.operation_type,
            "user_id": self.user_id,
            "organization": organization,
            "error_codes": self.error_codes,
        }
        if self.api_token_id is not None:
            out["api_token_id"] = self.api_token_id
        if self.error_id is not None:
            out["error_id"] = self.error_id
        return out


_current: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar(
    "partnergraph_request", default=None
)


def begin_request(record: RequestRecord) -> contextvars.Token[RequestRecord | None]:
    structlog.contextvars.bind_contextvars(request_id=record.request_id)
    return _current.set(record)


def end_request(token: contextvars.Token[RequestRecord | None]) -> None:
    _current.reset(token)
    structlog.contextvars.unbind_contextvars(REQUEST_ID)


def current_request() -> RequestRecord | None:
    return _current.get()


def note_error_code(code: str | None) -> None:
    """Count an error code in the current request's line (no request: nothing)."""
    record = _current.get()
    if record is not None and code:
        record.error_codes.append(str(code))


def job_context() -> dict[str, str]:
    """What a job enqueued now carries from its cause (stored with the outbox row)."""
    context: dict[str, str] = {}
    request_id = structlog.contextvars.get_contextvars().get(REQUEST_ID)
    if request_id:
        context[REQUEST_ID] = str(request_id)
    tracing.inject(context)  # traceparent, when tracing is on
    return context
