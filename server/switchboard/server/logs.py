"""structlog setup: human key=value lines by default, JSON when asked."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog


def configure(log_format: str, level: str, worker: int | None = None) -> None:
    """Logs to stderr; a worker of `--workers` (`worker`: its index) names itself and its pid
    on every line."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    named: list[structlog.types.Processor] = [] if worker is None else [_naming(worker)]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            *named,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        # One write per line (message and newline together), so that the lines of workers
        # sharing one stderr never interleave.
        logger_factory=structlog.WriteLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


def _naming(worker: int) -> structlog.types.Processor:
    pid = os.getpid()

    def name(_logger: Any, _method: str, event: MutableMapping[str, Any]
             ) -> MutableMapping[str, Any]:
        event["worker"] = worker
        event["pid"] = pid
        return event

    return name
