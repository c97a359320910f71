"""`--workers` benchmark: CreateReservation throughput and server CPU per call of one server
command with `--workers 1` and with `--workers 2` (or `--workers-list`), on SQLite, in one run.

Each configuration is a server command (`python -m switchboard.server --workers N`) on a free
127.0.0.1 port with its own fresh temporary SQLite file (or `--database-url`, one database for
all: then run one configuration at a time). The configurations are interleaved in `--rounds`
rounds of one window each (`--seconds` / `--rounds`, measured after `--warmup`), so the
machine's drift falls on all of them alike. In each window `--client-procs` load processes
each open `--connections` connections (a channel each, with its own subchannel pool), so that
the kernel spreads them over the workers (`SO_REUSEPORT`), and keep `--concurrency` calls in
flight, split over the connections. Each call reserves 1 core for 1 hour at a random start in
the next ~300 days, in a pool with capacity for every call. Each layout of `--pools-list` is
measured in turn: with a pool per connection (0, the default's first) each pool is written by
one worker; with one pool (1) by all of them, so each worker re-reads the pool's holdings when
another has changed it.

Printed per configuration: calls/s, p50/p99 latency, the server's CPU (the supervisor and its
workers, from /proc) per call and in cores, the load processes' CPU in cores, and the ratio
of each configuration's calls/s to the first one's (issue 16's goal on 2 cores: 2 workers
>= 1.4x one).

    .venv/bin/python bench/workers_bench.py [--seconds 12] [--rounds 3] [--pools-list 0,1]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchlib import percentile
from loadlib import ServerProcess, run_window, setup_pools

TARGET_RATIO = 1.4


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=12.0,
                        help="measured seconds per configuration, over all its windows")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=1.0,
                        help="unmeasured seconds at the start of each window")
    parser.add_argument("--workers-list", default="1,2",
                        help="the --workers of each configuration, the first being the base")
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4,
                        help="connections per load process")
    parser.add_argument("--concurrency", type=int, default=64,
                        help="calls in flight, over all load processes")
    parser.add_argument("--pools-list", default="0,1",
                        help="the layouts measured, each a number of pools: connection i (over "
                             "all load processes) uses pool i modulo it; 0: one per connection")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--keep-tmp", action="store_true")
    return parser.parse_args(argv)


def measure(ctx: Any, args: argparse.Namespace, counts: list[int], n_pools: int,
            tmp: Path) -> None:
    """One layout of pools: a server per configuration, the rounds, and the table."""
    label = f"{n_pools} pool(s)" if n_pools else "a pool per connection"
    n_pools = n_pools or args.client_procs * args.connections
    servers = {n: ServerProcess(
        f"server-{n}", args.database_url or f"sqlite+aiosqlite:///{tmp}/{n_pools}-{n}.db",
        tmp / f"{n_pools}-{n}", ["--workers", str(n)]) for n in counts}
    totals: dict[int, dict[str, Any]] = {n: {"ok": 0, "failed": 0, "lat": [], "server_cpu": 0.0,
                                             "client_cpu": 0.0, "wall": 0.0, "rates": []}
                                         for n in counts}
    try:
        for s in servers.values():
            s.wait_serving()
        pools = {n: asyncio.run(setup_pools(s.target, n_pools)) for n, s in servers.items()}
        for r in range(args.rounds):
            for n, s in servers.items():
                results, server_cpu, wall = run_window(
                    ctx, [s.target], "CreateReservation", pools[n], [s.proc.pid],
                    client_procs=args.client_procs, connections=args.connections,
                    concurrency=args.concurrency, warmup=args.warmup,
                    seconds=args.seconds / args.rounds, seed=r * 10 + n)
                t = totals[n]
                ok = sum(x.ok for x in results)
                t["ok"] += ok
                t["failed"] += sum(x.failed for x in results)
                t["lat"] += [v for x in results for v in x.latencies_ms]
                t["server_cpu"] += server_cpu
                t["client_cpu"] += sum(x.cpu for x in results)
                t["wall"] += wall
                t["rates"].append(ok / wall)
    finally:
        codes = [s.stop() for s in servers.values()]
    base = totals[counts[0]]["ok"] / totals[counts[0]]["wall"]
    print(f"\n{label}; servers exited {codes}")
    print(f"{'--workers':>9} {'calls/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'server CPU':>10} "
          f"{'µs/call':>8} {'client CPU':>10} {'failed':>6} {'ratio':>6}  per round calls/s")
    for n in counts:
        t = totals[n]
        lat = sorted(t["lat"])
        rate = t["ok"] / t["wall"]
        ratio = rate / base
        mark = " ok" if ratio >= TARGET_RATIO else " NO"
        print(f"{n:>9} {rate:>9.0f} {statistics.median(lat) if lat else float('nan'):>7.1f} "
              f"{percentile(lat, 99):>7.1f} {t['server_cpu'] / t['wall']:>10.2f} "
              f"{t['server_cpu'] / max(1, t['ok']) * 1e6:>8.0f} "
              f"{t['client_cpu'] / t['wall']:>10.2f} {t['failed']:>6} {ratio:>6.2f}"
              f"{mark if n == 2 else '   '}  " + " ".join(f"{x:.0f}" for x in t["rates"]))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    counts = [int(n) for n in args.workers_list.split(",")]
    layouts = [int(n) for n in args.pools_list.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="switchboard-workers-bench-"))
    ctx = mp.get_context("spawn")
    print(f"{os.cpu_count()} cores; {args.rounds} rounds of {args.seconds / args.rounds:g} s "
          f"per configuration after {args.warmup:g} s warm-up; {args.client_procs} load "
          f"processes x {args.connections} connections, {args.concurrency} calls in flight")
    try:
        for n_pools in layouts:
            measure(ctx, args, counts, n_pools, tmp)
    finally:
        if args.keep_tmp:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"goal: --workers 2 >= {TARGET_RATIO}x --workers 1 (on 2 cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
