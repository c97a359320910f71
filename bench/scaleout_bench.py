"""Scale-out benchmark: CreateReservation and CreateInstance throughput, p99 latency and server
CPU per call with 1, 2 and 3 replica processes on one PostgreSQL database, and with
`--workers 1` and `--workers 2` on one SQLite file, in one run.

Each configuration gets its own fresh database: a new PostgreSQL database for each replica
count (on `--postgres-url`, else on a throw-away server started with scripts/start_postgres.sh),
a new SQLite file for each `--workers`. Replicas are separate `python -m switchboard.server`
processes on their own loopback ports (the first started alone, as it creates the schema); a
`--workers N` configuration is one server command of N processes sharing its port. All
configurations stay up for the whole run, and their windows are interleaved in `--rounds`
rounds (`--seconds` / `--rounds` each, measured after `--warmup`), so the machine's drift falls
on all alike. In a window `--client-procs` load processes each open `--connections` connections
per server process (to each replica's address; to the one port N times as many, which the
kernel spreads over the workers) and keep `--concurrency` calls in flight over all of them. Each
connection writes a pool of its own (capacity for every call; each call its own pools), so a
pool is written by one server process, as with a client that stays on one replica per tenant.

Printed per call and configuration: calls/s, p50/p99 latency, the servers' CPU in cores and in
µs per call (summed over every server process, from /proc; PostgreSQL's own CPU is not
counted), the load processes' CPU in cores, failed calls, and the ratio of calls/s to the same
engine's one-process configuration (issue 16's goal on 2 cores: `--workers 2` >= 1.4x one).

    .venv/bin/python bench/scaleout_bench.py [--seconds 12] [--rounds 3] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from benchlib import free_port, percentile
from loadlib import CALLS, ServerProcess, run_window, setup_pools

ROOT = Path(__file__).resolve().parent.parent
TARGET_WORKERS_RATIO = 1.4


@dataclass
class Totals:
    ok: int = 0
    failed: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    wall: float = 0.0
    rates: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.ok / self.wall if self.wall else float("nan")


@dataclass
class Config:
    """One configuration: its servers, the targets a load process connects to (a port
    shared by N workers is listed N times) and the pools its connections write."""

    engine: str
    processes: int
    servers: list[ServerProcess]
    targets: list[str]
    pools: dict[str, list[str]] = field(default_factory=dict)
    """By call: each call writes pools of its own, so one's figures do not depend on the rows
    the other's windows left."""
    totals: dict[str, Totals] = field(default_factory=lambda: {c: Totals() for c in CALLS})

    @property
    def label(self) -> str:
        kind = "replicas" if self.engine == "postgresql" else "--workers"
        return f"{self.engine} {kind} {self.processes}"


class Postgres:
    """The PostgreSQL the replicas use: `url`'s server, or one started here in `tmp`."""

    def __init__(self, url: str, tmp: Path) -> None:
        self.data = ""
        if not url:
            tmp.chmod(0o755)  # the postgres user reaches its directory through this one
            self.data = str(tmp / "pg" / "data")
            url = subprocess.run(
                [str(ROOT / "scripts" / "start_postgres.sh"), str(tmp / "pg"), str(free_port())],
                check=True, capture_output=True, text=True).stdout.strip()
        self.admin = url.replace("postgresql+asyncpg://", "postgresql://")
        self.base = url.rpartition("/")[0]
        self.created: list[str] = []

    async def _execute(self, statement: str) -> None:
        conn = await asyncpg.connect(self.admin)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    def new_database(self) -> str:
        name = "sb_scaleout_" + uuid.uuid4().hex[:12]
        asyncio.run(self._execute(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return f"{self.base}/{name}"

    def close(self) -> None:
        for name in self.created:
            try:
                asyncio.run(self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            except (OSError, asyncpg.PostgresError):
                pass
        if self.data:
            bin_dir = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
            stop = [f"{bin_dir}/pg_ctl", "-D", self.data, "-m", "fast", "stop"]
            if os.geteuid() == 0:
                stop = ["runuser", "-u", "postgres", "--", *stop]
            subprocess.run(stop, check=False, capture_output=True)


def start_configs(args: argparse.Namespace, postgres: Postgres | None, tmp: Path,
                  configs: list[Config]) -> None:
    """Starts every configuration's servers into `configs` (as they start, so that a failure
    leaves there what is to be stopped) and makes their pools."""
    for n in args.replicas_list:
        assert postgres is not None
        url = postgres.new_database()
        config = Config("postgresql", n, [], [])
        configs.append(config)
        for i in range(n):
            server = ServerProcess(f"pg{n}-replica{i}", url, tmp / f"pg{n}")
            config.servers.append(server)
            config.targets.append(server.target)
            if i == 0:
                server.wait_serving()  # it has created the schema; the others start now
    for n in args.workers_list:
        url = f"sqlite+aiosqlite:///{tmp}/workers{n}.db"
        server = ServerProcess(f"sqlite-workers{n}", url, tmp / f"sqlite{n}",
                               ["--workers", str(n)])
        configs.append(Config("sqlite", n, [server], [server.target] * n))
    for config in configs:
        for s in config.servers:
            s.wait_serving()
        n_pools = args.client_procs * args.connections * len(config.targets)
        for call in args.calls:
            config.pools[call] = asyncio.run(setup_pools(config.targets[0], n_pools))


def run(ctx: Any, args: argparse.Namespace, configs: list[Config]) -> None:
    for r in range(args.rounds):
        for call in args.calls:
            for n, config in enumerate(configs):
                results, server_cpu, wall = run_window(
                    ctx, config.targets, call, config.pools[call],
                    [s.proc.pid for s in config.servers],
                    client_procs=args.client_procs, connections=args.connections,
                    concurrency=args.concurrency, warmup=args.warmup,
                    seconds=args.seconds / args.rounds, seed=r * 100 + n)
                t = config.totals[call]
                ok = sum(x.ok for x in results)
                t.ok += ok
                t.failed += sum(x.failed for x in results)
                t.latencies_ms += [v for x in results for v in x.latencies_ms]
                t.server_cpu += server_cpu
                t.client_cpu += sum(x.cpu for x in results)
                t.wall += wall
                t.rates.append(ok / wall)


def report(args: argparse.Namespace, configs: list[Config]) -> None:
    for call in args.calls:
        base = {c.engine: c.totals[call].rate for c in reversed(configs)
                if c.processes == 1}
        print(f"\n{call}")
        print(f"{'configuration':<24} {'calls/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'server CPU':>10} {'µs/call':>8} {'client CPU':>10} {'failed':>6} "
              f"{'ratio':>6}  per round calls/s")
        for c in configs:
            t = c.totals[call]
            lat = sorted(t.latencies_ms)
            ratio = t.rate / base[c.engine] if base.get(c.engine) else float("nan")
            goal = ""
            if c.engine == "sqlite" and c.processes == 2:
                goal = " ok" if ratio >= TARGET_WORKERS_RATIO else " NO"
            print(f"{c.label:<24} {t.rate:>8.0f} "
                  f"{statistics.median(lat) if lat else float('nan'):>7.1f} "
                  f"{percentile(lat, 99):>7.1f} {t.server_cpu / t.wall:>10.2f} "
                  f"{t.server_cpu / max(1, t.ok) * 1e6:>8.0f} {t.client_cpu / t.wall:>10.2f} "
                  f"{t.failed:>6} {ratio:>6.2f}{goal or '   '}  "
                  + " ".join(f"{x:.0f}" for x in t.rates))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=12.0,
                        help="measured seconds per configuration and call, over its windows")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=1.0,
                        help="unmeasured seconds at the start of each window")
    parser.add_argument("--postgres-url", default="",
                        help="a PostgreSQL server (SQLAlchemy URL of a database to connect to "
                             "for CREATE DATABASE); default: start one here")
    parser.add_argument("--replicas-list", default="1,2,3",
                        help="replica counts on PostgreSQL ('' for none)")
    parser.add_argument("--workers-list", default="1,2", help="--workers on SQLite ('' for none)")
    parser.add_argument("--calls", default=",".join(CALLS))
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--connections", type=int, default=2,
                        help="connections per load process and server process")
    parser.add_argument("--concurrency", type=int, default=64,
                        help="calls in flight, over all load processes")
    parser.add_argument("--keep-tmp", action="store_true")
    args = parser.parse_args(argv)
    args.replicas_list = [int(n) for n in args.replicas_list.split(",") if n]
    args.workers_list = [int(n) for n in args.workers_list.split(",") if n]
    args.calls = [c for c in args.calls.split(",") if c]
    unknown = set(args.calls) - set(CALLS)
    if unknown:
        parser.error(f"--calls: unknown {sorted(unknown)}; known: {', '.join(CALLS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="switchboard-scaleout-bench-"))
    ctx = mp.get_context("spawn")
    print(f"{os.cpu_count()} cores; {args.rounds} rounds of {args.seconds / args.rounds:g} s "
          f"per configuration and call after {args.warmup:g} s warm-up; {args.client_procs} "
          f"load processes x {args.connections} connections per server process, "
          f"{args.concurrency} calls in flight")
    postgres = Postgres(args.postgres_url, tmp) if args.replicas_list else None
    configs: list[Config] = []
    try:
        start_configs(args, postgres, tmp, configs)
        run(ctx, args, configs)
    finally:
        codes = [s.stop() for c in configs for s in c.servers]
        if postgres is not None:
            postgres.close()
        if args.keep_tmp:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"servers exited {codes}")
    report(args, configs)
    print(f"ratio: calls/s against the same engine's one process; goal: --workers 2 >= "
          f"{TARGET_WORKERS_RATIO}x --workers 1 (on 2 cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
