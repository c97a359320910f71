"""Server settings: command-line flags, each with a `SWITCHBOARD_*` environment variable.

Precedence: flag, then environment variable, then default. The README's configuration table
lists the same settings.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import os
import ssl
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from switchboard.server.allocation.model import parse_flavors
from switchboard.server.identity import CERT_IDENTITIES, load_keys
from switchboard.server.policy import parse_policy
from switchboard.server.tls import ClientFiles, check_pair


@dataclass(frozen=True)
class Settings:
    """Everything the server can be configured with."""

    host: str = "localhost"
    port: int = 50051
    workers: int = 1
    lease_ttl_seconds: float = 15.0
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_client_ca_file: str = ""
    tls_client_identity: str = "san_uri"
    insecure: bool = False
    policy_file: str = ""
    jwt_issuer: str = ""
    jwt_audience: str = ""
    jwt_key_file: str = ""
    max_watches_per_principal: int = 1000
    request_rate_per_principal: float = 0.0
    request_burst_per_principal: int = 0
    outbound_tls_ca_file: str = ""
    outbound_tls_cert_file: str = ""
    outbound_tls_key_file: str = ""
    database_url: str = "sqlite+aiosqlite:///./switchboard.db"
    log_format: str = "console"
    log_level: str = "info"
    shutdown_grace: float = 10.0
    watch_progress_interval: float = 5.0
    watch_poll_interval: float = 0.2
    watch_poll_only: bool = False
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
    vim_recheck_seconds: float = 60.0
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
    cmhandle_heartbeat_limit_seconds: float = 600.0
    cmhandle_reregistration_timeout_seconds: float = 120.0
    participant_heartbeat_bound_seconds: float = 30.0
    participant_operation_timeout_seconds: float = 60.0


_HELP = {
    "host": "address to listen on; without TLS only a loopback one unless --insecure",
    "port": "port to listen on (0 picks a free one)",
    "workers": "server processes on this host sharing the port, under one supervisor (README, "
               "Workers); the database must then be a SQLite file or PostgreSQL",
    "lease_ttl_seconds": "seconds a background singleton's lease lasts unrenewed: another "
                         "replica takes it over this long after its holder died (renewed "
                         "every third of it)",
    "tls_cert_file": "PEM certificate chain the server presents (TLS); re-read when it changes",
    "tls_key_file": "PEM private key of --tls-cert-file; re-read when it changes",
    "tls_client_ca_file": "PEM CA certificates: clients must present a certificate signed by "
                          "one (mTLS); re-read when it changes",
    "tls_client_identity": "what names a client certificate's principal: san_uri, san_dns "
                           "or cn (the first one)",
    "insecure": "allow plaintext on a non-loopback --host (true/false)",
    "policy_file": "TOML authorization policy (principals and groups to roles, DMI plugin "
                   "addresses); empty: authorization off, every caller may call every RPC",
    "jwt_issuer": "bearer tokens: the issuer (iss) they must name",
    "jwt_audience": "bearer tokens: the audience (aud) they must name",
    "jwt_key_file": "bearer tokens: the PEM public key or JWKS file (JSON) they are signed by; "
                    "re-read when it changes",
    "max_watches_per_principal": "most Watch* streams one principal may have open at once; "
                                 "more get RESOURCE_EXHAUSTED (0: no bound; with "
                                 "authorization off all callers are one principal)",
    "request_rate_per_principal": "requests a second one principal may make on average; more "
                                  "get RESOURCE_EXHAUSTED (0: no bound; with authorization off "
                                  "all callers are one principal)",
    "request_burst_per_principal": "requests one principal may make at once after being idle "
                                   "(0: the rate, at least 1)",
    "outbound_tls_ca_file": "PEM CA certificates the server verifies the services it calls "
                            "(DMI plugins) by; given (or --outbound-tls-cert-file): TLS; "
                            "re-read when it changes",
    "outbound_tls_cert_file": "PEM certificate chain the server presents to the services it "
                              "calls (mTLS); re-read when it changes",
    "outbound_tls_key_file": "PEM private key of --outbound-tls-cert-file; re-read when it "
                             "changes",
    "database_url": "SQLAlchemy URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    "log_format": "console (key=value) or json",
    "log_level": "debug, info, warning or error",
    "shutdown_grace": "seconds in-flight RPCs get to finish on SIGTERM/SIGINT",
    "watch_progress_interval": "seconds between progress messages on an idle watch",
    "watch_poll_interval": "seconds between polls for events written by other processes",
    "watch_poll_only": "PostgreSQL: find other processes' events by polling alone, without "
                       "LISTEN/NOTIFY wake-ups (true/false)",
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
    "vim_recheck_seconds": "seconds an instance may build or delete with no news before the "
                           "lease holder asks the VIM about it again (the replica that sent "
                           "it may have died)",
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
    "cmhandle_heartbeat_limit_seconds": "CM handles: seconds a handle's last device heartbeat "
                                        "may be old before its trust is NONE (seed 004)",
    "cmhandle_reregistration_timeout_seconds": "CM handles: seconds a re-registration request "
                                               "to a DMI plugin stays pending (none is sent "
                                               "again meanwhile)",
    "participant_heartbeat_bound_seconds": "participants: seconds without a heartbeat after "
                                           "which a participant replica is offline",
    "participant_operation_timeout_seconds": "participants: default timeout, in seconds, of a "
                                             "prime, a deprime, or one step of an instance "
                                             "operation",
}


CHOICES = {
    "tls_client_identity": CERT_IDENTITIES,
    "log_format": ("console", "json"),
    "log_level": ("debug", "info", "warning", "error"),
}

YEAR = 365 * 24 * 3600.0
"""Longest any duration setting may be, in seconds (longer ones overflow the clock's sleeps)."""

Check = Callable[[Any], bool]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _range(low: float, high: float, above: bool = False) -> tuple[str, Check]:
    bound = f"more than {_number(low)}" if above else f"at least {_number(low)}"
    return f"must be {bound} and at most {_number(high)}", (
        lambda v: (v > low if above else v >= low) and v <= high)


def _flavors_rule(path: str) -> bool:
    if not path:
        return True
    try:
        parse_flavors(Path(path).read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return True


def _loads(parse: Callable[[str], object]) -> Check:
    """A rule for a file setting: empty, or a file `parse` takes."""
    def check(path: str) -> bool:
        if not path:
            return True
        try:
            parse(path)
        except (OSError, ValueError, UnicodeDecodeError):
            return False
        return True
    return check


_TOKEN_TEXT = ("must be at most 1024 characters, none of them whitespace or control characters",
               lambda v: len(v) <= 1024 and all(c.isprintable() and not c.isspace() for c in v))
_SECONDS = _range(0, YEAR)
_POSITIVE_SECONDS = _range(0, YEAR, above=True)
_SHARE = _range(0, 1)
_COUNT = _range(1, 2**31 - 1)
_SEED = _range(-(2**63), 2**63 - 1)

_FILE = ("must be empty or name a readable file",
         lambda v: not v or (os.path.isfile(v) and os.access(v, os.R_OK)))

RULES: dict[str, tuple[str, Check]] = {
    "host": ("must not be empty", bool),
    "port": _range(0, 65535),
    "workers": _range(1, 256),
    "lease_ttl_seconds": _range(0.03, 3600),
    "tls_cert_file": _FILE,
    "tls_key_file": _FILE,
    "tls_client_ca_file": _FILE,
    "tls_client_identity": ("must be one of " + ", ".join(CERT_IDENTITIES),
                            lambda v: v in CERT_IDENTITIES),
    "insecure": ("one of true, false, 1, 0, yes, no, on, off", lambda v: True),
    "policy_file": ("must be empty or name a readable TOML policy (README: Authorization)",
                    _loads(lambda p: parse_policy(Path(p).read_text()))),
    "jwt_issuer": _TOKEN_TEXT,
    "jwt_audience": _TOKEN_TEXT,
    "jwt_key_file": ("must be empty or name a readable PEM public key (RSA, EC or Ed25519) or "
                     "JWKS file", _loads(load_keys)),
    "max_watches_per_principal": _range(0, 2**31 - 1),
    "request_rate_per_principal": _range(0, 1e9),
    "request_burst_per_principal": _range(0, 2**31 - 1),
    "outbound_tls_ca_file": _FILE,
    "outbound_tls_cert_file": _FILE,
    "outbound_tls_key_file": _FILE,
    "database_url": ("must start with sqlite+aiosqlite:// or postgresql+asyncpg://",
                     lambda v: v.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://"))),
    "log_format": ("must be one of " + ", ".join(CHOICES["log_format"]),
                   lambda v: v in CHOICES["log_format"]),
    "log_level": ("must be one of " + ", ".join(CHOICES["log_level"]),
                  lambda v: v in CHOICES["log_level"]),
    "shutdown_grace": _SECONDS,
    "watch_progress_interval": _POSITIVE_SECONDS,
    "watch_poll_interval": _POSITIVE_SECONDS,
    "watch_poll_only": ("one of true, false, 1, 0, yes, no, on, off", lambda v: True),
    "watch_buffer_events": _COUNT,
    "watch_batch_events": _COUNT,
    "watch_send_rate": _range(0, 1e9),
    "event_retention": _COUNT,
    "reservation_max_duration_days": _range(0, 36_500, above=True),
    "reservation_max_start_ahead_days": _range(0, 36_500),
    "flavors_file": ("must be empty or name a readable JSON list of flavors "
                     "({name, vcpus, ram_mb, disk_gb}, each name once, of 1-255 characters, "
                     "amounts 0 to 2^40)", _flavors_rule),
    "vim_build_seconds": _SECONDS,
    "vim_delete_seconds": _SECONDS,
    "vim_failure_rate": _SHARE,
    "vim_seed": _SEED,
    "vim_recheck_seconds": _POSITIVE_SECONDS,
    "scheduler_optimizer_time_limit": _POSITIVE_SECONDS,
    "scheduler_immediate_horizon_hours": _range(0, 24 * 36_500, above=True),
    "scheduler_max_outstanding": _COUNT,
    "scheduler_past_due_seconds": _SECONDS,
    "so_run_seconds": _SECONDS,
    "so_failure_rate": _SHARE,
    "so_seed": _SEED,
    "cmhandle_health_interval": _POSITIVE_SECONDS,
    "cmhandle_dmi_timeout": _POSITIVE_SECONDS,
    "cmhandle_sync_concurrency": _COUNT,
    "cmhandle_sync_batch": _COUNT,
    "cmhandle_sync_backoff_seconds": _POSITIVE_SECONDS,
    "cmhandle_sync_backoff_cap_seconds": _POSITIVE_SECONDS,
    "cmhandle_heartbeat_limit_seconds": _POSITIVE_SECONDS,
    "cmhandle_reregistration_timeout_seconds": _POSITIVE_SECONDS,
    "participant_heartbeat_bound_seconds": _POSITIVE_SECONDS,
    "participant_operation_timeout_seconds": _POSITIVE_SECONDS,
}
"""Each setting's rule: what it must be, and the check."""

COMBINATIONS: tuple[tuple[str, str, Callable[[Settings], bool]], ...] = (
    ("cmhandle_sync_backoff_seconds", "cmhandle_sync_backoff_cap_seconds",
     lambda s: s.cmhandle_sync_backoff_seconds <= s.cmhandle_sync_backoff_cap_seconds),
)
"""Rules between settings: (setting, the setting it must be at most, the check)."""


def is_loopback(host: str) -> bool:
    """Whether `host` (as --host takes it: a name, an IPv4 address or a bracketed IPv6 one)
    is only reachable from this machine; names other than localhost are taken as not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


def _pair_loads(cert_file: str, key_file: str) -> bool:
    if not (cert_file and key_file):
        return True
    try:
        check_pair(cert_file, key_file)
    except (OSError, ssl.SSLError):
        return False
    return True


def _loads_ca(ca_file: str) -> bool:
    try:
        ClientFiles(ca_file).check()
    except (OSError, ssl.SSLError):
        return False
    return True


def _in_memory(url: str) -> bool:
    """Whether a database URL names an in-memory SQLite database (one per process)."""
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and (
        parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory")


def _both_or_neither(a: str, b: str) -> bool:
    return bool(a) == bool(b)


REQUIREMENTS: tuple[tuple[tuple[str, ...], str, Callable[[Settings], bool]], ...] = (
    (("tls_cert_file", "tls_key_file"),
     "--tls-cert-file and --tls-key-file (or SWITCHBOARD_TLS_CERT_FILE and "
     "SWITCHBOARD_TLS_KEY_FILE) go together: give both or neither",
     lambda s: _both_or_neither(s.tls_cert_file, s.tls_key_file)),
    (("tls_cert_file", "tls_key_file"),
     "--tls-cert-file and --tls-key-file must hold a PEM certificate chain and its private key",
     lambda s: _pair_loads(s.tls_cert_file, s.tls_key_file)),
    (("tls_client_ca_file", "tls_cert_file"),
     "--tls-client-ca-file (or SWITCHBOARD_TLS_CLIENT_CA_FILE) needs --tls-cert-file and "
     "--tls-key-file: mTLS is TLS with client certificates",
     lambda s: not s.tls_client_ca_file or bool(s.tls_cert_file)),
    (("insecure", "tls_cert_file"),
     "--insecure (or SWITCHBOARD_INSECURE) must not be given with --tls-cert-file: with TLS "
     "there is no plaintext port",
     lambda s: not (s.insecure and s.tls_cert_file)),
    (("host", "insecure", "tls_cert_file", "tls_key_file"),
     "--host (or SWITCHBOARD_HOST) must be a loopback address (localhost, 127.0.0.1, [::1]) "
     "without TLS, not {s.host!r}: give --tls-cert-file and --tls-key-file, or --insecure to "
     "serve plaintext to the network",
     lambda s: s.insecure or bool(s.tls_cert_file or s.tls_key_file) or is_loopback(s.host)),
    (("outbound_tls_cert_file", "outbound_tls_key_file"),
     "--outbound-tls-cert-file and --outbound-tls-key-file (or SWITCHBOARD_OUTBOUND_TLS_CERT_FILE "
     "and SWITCHBOARD_OUTBOUND_TLS_KEY_FILE) go together: give both or neither",
     lambda s: _both_or_neither(s.outbound_tls_cert_file, s.outbound_tls_key_file)),
    (("jwt_issuer", "jwt_audience", "jwt_key_file"),
     "--jwt-issuer, --jwt-audience and --jwt-key-file (or SWITCHBOARD_JWT_ISSUER, "
     "SWITCHBOARD_JWT_AUDIENCE and SWITCHBOARD_JWT_KEY_FILE) go together: give all or none",
     lambda s: len({bool(s.jwt_issuer), bool(s.jwt_audience), bool(s.jwt_key_file)}) == 1),
    (("policy_file", "jwt_key_file", "tls_client_ca_file"),
     "--policy-file (or SWITCHBOARD_POLICY_FILE) needs an identity source: --jwt-key-file "
     "(bearer tokens) or --tls-client-ca-file (client certificates)",
     lambda s: not s.policy_file or bool(s.jwt_key_file or s.tls_client_ca_file)),
    (("jwt_key_file", "policy_file"),
     "--jwt-key-file (or SWITCHBOARD_JWT_KEY_FILE) needs --policy-file: tokens name "
     "principals, the policy gives them roles",
     lambda s: not s.jwt_key_file or bool(s.policy_file)),
    (("workers", "database_url"),
     "--workers (or SWITCHBOARD_WORKERS) above 1 needs a database the workers share: a SQLite "
     "file or PostgreSQL, not an in-memory SQLite database",
     lambda s: s.workers == 1 or not _in_memory(s.database_url)),
    (("request_burst_per_principal", "request_rate_per_principal"),
     "--request-burst-per-principal (or SWITCHBOARD_REQUEST_BURST_PER_PRINCIPAL) needs "
     "--request-rate-per-principal: a burst bounds a rate",
     lambda s: not s.request_burst_per_principal or s.request_rate_per_principal > 0),
    (("outbound_tls_cert_file", "outbound_tls_key_file"),
     "--outbound-tls-cert-file and --outbound-tls-key-file must hold a PEM certificate chain "
     "and its private key",
     lambda s: _pair_loads(s.outbound_tls_cert_file, s.outbound_tls_key_file)),
    (("outbound_tls_ca_file",),
     "--outbound-tls-ca-file (or SWITCHBOARD_OUTBOUND_TLS_CA_FILE) must hold PEM CA "
     "certificates",
     lambda s: _loads_ca(s.outbound_tls_ca_file)),
)
"""Other rules between settings: (the settings involved, the line when broken, the check);
a rule is checked only when its settings passed their own rules."""


def env_name(name: str) -> str:
    return "SWITCHBOARD_" + name.upper()


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


_BOOLEANS = {"true": True, "1": True, "yes": True, "on": True,
             "false": False, "0": False, "no": False, "off": False}


def _convert(kind: type, raw: str) -> Any:
    """`raw` as a setting of type `kind`; ValueError if it is not one (floats must be finite)."""
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered not in _BOOLEANS:
            raise ValueError(raw)
        return _BOOLEANS[lowered]
    value = kind(raw)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(raw)
    return value


def parse_settings(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Builds Settings from flags (`--log-format json`) and environment variables, and checks
    every setting against its rule (RULES, COMBINATIONS, REQUIREMENTS) in one place. Bad
    settings print one line each on stderr, naming the flag, the environment variable and the
    rule, and exit with status 2 (argparse's convention)."""
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(
        prog="switchboard-server", description="The Switchboard gRPC server."
    )
    defaults = Settings()
    for spec in fields(Settings):
        default = getattr(defaults, spec.name)
        # A boolean's flag takes no value (`--insecure`); its variable takes true or false.
        value: dict[str, Any] = (
            {"action": "store_const", "const": "true"} if isinstance(default, bool) else {})
        parser.add_argument(
            flag_name(spec.name), dest=spec.name, default=None, **value,
            help=f"{_HELP[spec.name]} (env {env_name(spec.name)}; default {default})",
        )
    given = vars(parser.parse_args(argv))
    values: dict[str, Any] = {}
    problems: list[str] = []
    bad: set[str] = set()
    for spec in fields(Settings):
        name = spec.name
        default = getattr(defaults, name)
        raw = given[name] if given[name] is not None else environ.get(env_name(name))
        where = f"{flag_name(name)} (or {env_name(name)})"
        rule, check = RULES[name]
        if raw is None:
            values[name] = default
            continue
        try:
            values[name] = _convert(type(default), raw)
        except ValueError:
            kind = {int: "an integer", float: "a finite number",
                    bool: "true or false"}.get(type(default), "text")
            problems.append(f"{where} must be {kind} ({rule}), not {raw!r}")
            values[name] = default
            bad.add(name)
            continue
        if not check(values[name]):
            problems.append(f"{where} {rule}, not {raw!r}")
            bad.add(name)
    settings = Settings(**values)
    problems += [f"{flag_name(name)} (or {env_name(name)}) must be at most {flag_name(bound)} "
                 f"({getattr(settings, bound)!r}), not {getattr(settings, name)!r}"
                 for name, bound, check in COMBINATIONS
                 if not bad & {name, bound} and not check(settings)]
    problems += [line.format(s=settings) for names, line, check in REQUIREMENTS
                 if not bad & set(names) and not check(settings)]
    if problems:
        for line in problems:
            print(f"{parser.prog}: error: {line}", file=sys.stderr)
        raise SystemExit(2)
    return settings
