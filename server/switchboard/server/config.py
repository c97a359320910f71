"""Server settings: command-line flags, each with a `SWITCHBOARD_*` environment variable.

Precedence: flag, then environment variable, then default. The README's configuration table
lists the same settings.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Settings:
    """Everything the server can be configured with."""

    host: str = "[::]"
    port: int = 50051
    database_url: str = "sqlite+aiosqlite:///./switchboard.db"
    log_format: str = "console"
    log_level: str = "info"
    shutdown_grace: float = 10.0
    watch_progress_interval: float = 5.0
    watch_poll_interval: float = 0.2
    watch_buffer_events: int = 10_000
    watch_batch_events: int = 500
    watch_send_rate: float = 1000.0
    event_retention: int = 1_000_000
    reservation_max_duration_days: float = 90.0
    reservation_max_start_ahead_days: float = 365.0
    flavors_file: str = ""
    vim_build_seconds: float = 5.0
    vim_delete_seconds: float = 2.0
    vim_failure_rate: float = 0.0
    vim_seed: int = 0
    scheduler_optimizer_time_limit: float = 10.0
    scheduler_immediate_horizon_hours: float = 24.0
    scheduler_max_outstanding: int = 100
    scheduler_past_due_seconds: float = 300.0
    so_run_seconds: float = 60.0
    so_failure_rate: float = 0.0
    so_seed: int = 0
    cmhandle_health_interval: float = 30.0
    cmhandle_dmi_timeout: float = 10.0
    cmhandle_sync_concurrency: int = 32
    cmhandle_sync_batch: int = 5000
    cmhandle_sync_backoff_seconds: float = 30.0
    cmhandle_sync_backoff_cap_seconds: float = 1800.0
    participant_heartbeat_bound_seconds: float = 30.0
    participant_operation_timeout_seconds: float = 60.0


_HELP = {
    "host": "address to listen on",
    "port": "port to listen on (0 picks a free one)",
    "database_url": "SQLAlchemy URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    "log_format": "console (key=value) or json",
    "log_level": "debug, info, warning or error",
    "shutdown_grace": "seconds in-flight RPCs get to finish on SIGTERM/SIGINT",
    "watch_progress_interval": "seconds between progress messages on an idle watch",
    "watch_poll_interval": "seconds between polls for events written by other processes",
    "watch_buffer_events": "events buffered per watcher before its stream ends RESOURCE_EXHAUSTED",
    "watch_batch_events": "most events in one watch response",
    "watch_send_rate": "live watch responses a second, all watches together, beyond which "
                       "each response waits to carry more events (0: no limit)",
    "event_retention": "events kept in the log; older revisions give OUT_OF_RANGE",
    "reservation_max_duration_days": "policy: longest reservation window, in days",
    "reservation_max_start_ahead_days": "policy: how far ahead a reservation may start, in days",
    "flavors_file": "JSON list of flavors ({name, vcpus, ram_mb, disk_gb}); empty: m1.tiny-xlarge",
    "vim_build_seconds": "simulated VIM: seconds a build takes",
    "vim_delete_seconds": "simulated VIM: seconds a delete takes",
    "vim_failure_rate": "simulated VIM: share of builds that fail, 0 to 1",
    "vim_seed": "simulated VIM: seed of which builds fail",
    "scheduler_optimizer_time_limit": "scheduler: most seconds one optimization searches",
    "scheduler_immediate_horizon_hours": "scheduler: how far ahead, in hours, the VNFs of a "
                                         "schedule with no change window may be placed",
    "scheduler_max_outstanding": "scheduler: most SO requests outstanding at once",
    "scheduler_past_due_seconds": "scheduler: seconds after its start a VNF may still be sent "
                                  "to the SO; later it is PAST_DUE",
    "so_run_seconds": "simulated SO: seconds a workflow runs",
    "so_failure_rate": "simulated SO: share of workflows that fail, 0 to 1",
    "so_seed": "simulated SO: seed of which workflows fail",
    "cmhandle_health_interval": "CM handles: seconds between health checks of each DMI plugin",
    "cmhandle_dmi_timeout": "CM handles: seconds a call to a DMI plugin may take",
    "cmhandle_sync_concurrency": "CM handles: most module-set fetches outstanding at once",
    "cmhandle_sync_batch": "CM handles: most handles the module-sync worker takes per round",
    "cmhandle_sync_backoff_seconds": "CM handles: wait before the first retry of a failed "
                                     "module sync; doubles with each failure",
    "cmhandle_sync_backoff_cap_seconds": "CM handles: longest wait between module-sync retries",
    "participant_heartbeat_bound_seconds": "participants: seconds without a heartbeat after "
                                           "which a participant replica is offline",
    "participant_operation_timeout_seconds": "participants: default timeout, in seconds, of a "
                                             "prime, a deprime, or one step of an instance "
                                             "operation",
}


CHOICES = {
    "log_format": ("console", "json"),
    "log_level": ("debug", "info", "warning", "error"),
}


def env_name(name: str) -> str:
    return "SWITCHBOARD_" + name.upper()


def parse_settings(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Builds Settings from flags (`--log-format json`) and environment variables."""
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(
        prog="switchboard-server", description="The Switchboard gRPC server."
    )
    defaults = Settings()
    for spec in fields(Settings):
        default = getattr(defaults, spec.name)
        kind = type(default)
        raw = environ.get(env_name(spec.name))
        parser.add_argument(
            "--" + spec.name.replace("_", "-"),
            dest=spec.name,
            type=kind,
            default=kind(raw) if raw is not None else default,
            help=f"{_HELP[spec.name]} (env {env_name(spec.name)}; default {default})",
        )
    values = vars(parser.parse_args(argv))
    for name, allowed in CHOICES.items():
        if values[name] not in allowed:
            parser.error(f"--{name.replace('_', '-')} (or {env_name(name)}) must be one of "
                         f"{', '.join(allowed)}, not {values[name]!r}")
    return Settings(**values)
