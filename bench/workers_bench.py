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
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc

from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.reservation.v1 import reservation_pb2_grpc as pb_grpc

from benchlib import free_port, percentile

TARGET_RATIO = 1.4
CALL_TIMEOUT = 30.0
HOUR = 3600.0


def create_request(pool_id: str, rng: random.Random) -> pb.CreateReservationRequest:
    """A 1-hour, 1-core reservation at a random start over the next ~300 days (as
    reservation_bench's (b))."""
    start = time.time() + HOUR + rng.uniform(0, 300 * 24 * HOUR)
    return pb.CreateReservationRequest(reservation=pb.Reservation(
        pool_id=pool_id, name="bench", start_time=Timestamp(seconds=int(start)),
        end_time=Timestamp(seconds=int(start + HOUR)), resources=pb.Resources(cores=1)))


@dataclass(frozen=True)
class Window:
    target: str
    pools: list[str]
    connections: int
    concurrency: int
    start_at: float
    measure_from: float
    measure_to: float
    seed: int
    first_connection: int
    """The index of this process's first connection among all load processes' (pools are
    taken by that index)."""


@dataclass
class Result:
    ok: int
    failed: int
    latencies_ms: list[float]
    cpu: float
    wall: float


async def _load(w: Window) -> Result:
    rng = random.Random(w.seed)
    channels = [grpc.aio.insecure_channel(w.target, options=[
        ("grpc.use_local_subchannel_pool", 1)]) for _ in range(w.connections)]
    stubs = [pb_grpc.ReservationServiceStub(c) for c in channels]
    result = Result(0, 0, [], 0.0, 0.0)
    try:
        await asyncio.gather(*(c.channel_ready() for c in channels))
        await asyncio.sleep(max(0.0, w.start_at - time.time()))

        async def one(slot: int) -> None:
            stub = stubs[slot % len(stubs)]
            pool = w.pools[(w.first_connection + slot % len(stubs)) % len(w.pools)]
            while (now := time.time()) < w.measure_to:
                try:
                    await stub.CreateReservation(create_request(pool, rng),
                                                 timeout=CALL_TIMEOUT)
                    ok = True
                except grpc.aio.AioRpcError:
                    ok = False
                done = time.time()
                if w.measure_from <= now and done <= w.measure_to:
                    if ok:
                        result.ok += 1
                        result.latencies_ms.append((done - now) * 1000)
                    else:
                        result.failed += 1

        await asyncio.sleep(max(0.0, w.measure_from - time.time()))
        cpu0, wall0 = _cpu_self(), time.time()
        await asyncio.gather(*(one(i) for i in range(w.concurrency)))
        result.cpu, result.wall = _cpu_self() - cpu0, time.time() - wall0
    finally:
        for c in channels:
            await c.close()
    return result


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_process(w: Window, out: Any) -> None:
    out.put(asyncio.run(_load(w)))


def _cpu_of(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int) -> float:
    """CPU seconds of `root` and every process under it (alive now)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    total = 0.0
    for pid in tree:
        try:
            total += _cpu_of(pid)
        except OSError:
            continue
    return total


class Server:
    """One `--workers N` server command on a fresh SQLite file (or the given database)."""

    def __init__(self, workers: int, database_url: str, tmp: Path) -> None:
        tmp.mkdir(parents=True)
        self.workers = workers
        self.target = f"127.0.0.1:{free_port()}"
        url = database_url or f"sqlite+aiosqlite:///{tmp / f'bench-{workers}.db'}"
        self.log = open(tmp / f"server-{workers}.log", "wb")  # closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "switchboard.server", "--host", "127.0.0.1",
             "--port", self.target.rpartition(":")[2], "--database-url", url,
             "--workers", str(workers), "--log-level", "warning", "--shutdown-grace", "1"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=tmp)

    def wait_serving(self, timeout: float = 60.0) -> None:
        async def probe() -> bool:
            async with grpc.aio.insecure_channel(self.target) as channel:
                try:
                    r = await health_pb2_grpc.HealthStub(channel).Check(
                        health_pb2.HealthCheckRequest(), timeout=1)
                except grpc.aio.AioRpcError:
                    return False
                return bool(r.status == health_pb2.HealthCheckResponse.SERVING)

        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"--workers {self.workers} exited {self.proc.returncode}")
            if asyncio.run(probe()):
                return
            time.sleep(0.2)
        raise RuntimeError(f"--workers {self.workers} not SERVING after {timeout} s")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


async def setup_pools(target: str, n: int) -> list[str]:
    pools = [f"bench-{uuid.uuid4().hex[:8]}" for _ in range(n)]
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.ReservationServiceStub(channel)
        for pool_id in pools:
            await stub.CreatePool(pb.CreatePoolRequest(
                pool=pb.Pool(id=pool_id, provider="bench", availability_zone="az1")), timeout=10)
            await stub.IncreaseCapacity(pb.IncreaseCapacityRequest(
                pool_id=pool_id, resources=pb.Resources(cores=10**12), reason="bench"),
                timeout=10)
    return pools


def run_window(ctx: Any, args: argparse.Namespace, server: Server, pools: list[str],
               seed: int) -> tuple[list[Result], float, float]:
    """One window against `server`: the load processes' results, the server's CPU seconds
    and the wall seconds over the measured part."""
    start_at = time.time() + 1.5  # the load processes start and connect meanwhile
    measure_from = start_at + args.warmup
    measure_to = measure_from + args.seconds / args.rounds
    out = ctx.Queue()
    procs = []
    per_proc = [args.concurrency // args.client_procs + (i < args.concurrency % args.client_procs)
                for i in range(args.client_procs)]
    for i, concurrency in enumerate(per_proc):
        w = Window(server.target, pools, args.connections, concurrency, start_at, measure_from,
                   measure_to, seed * 100 + i, i * args.connections)
        p = ctx.Process(target=load_process, args=(w, out))
        p.start()
        procs.append(p)
    time.sleep(max(0.0, measure_from - time.time()))
    cpu0, wall0 = tree_cpu(server.proc.pid), time.time()
    time.sleep(max(0.0, measure_to - time.time()))
    server_cpu, wall = tree_cpu(server.proc.pid) - cpu0, time.time() - wall0
    results = [out.get(timeout=CALL_TIMEOUT + 30) for _ in procs]
    for p in procs:
        p.join()
    return results, server_cpu, wall


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
    servers = [Server(n, args.database_url, tmp / f"{n_pools}-{n}") for n in counts]
    totals: dict[int, dict[str, Any]] = {n: {"ok": 0, "failed": 0, "lat": [], "server_cpu": 0.0,
                                             "client_cpu": 0.0, "wall": 0.0, "rates": []}
                                         for n in counts}
    try:
        for s in servers:
            s.wait_serving()
        pools = {s.workers: asyncio.run(setup_pools(s.target, n_pools)) for s in servers}
        for r in range(args.rounds):
            for s in servers:
                results, server_cpu, wall = run_window(ctx, args, s, pools[s.workers],
                                                       seed=r * 10 + s.workers)
                t = totals[s.workers]
                ok = sum(x.ok for x in results)
                t["ok"] += ok
                t["failed"] += sum(x.failed for x in results)
                t["lat"] += [v for x in results for v in x.latencies_ms]
                t["server_cpu"] += server_cpu
                t["client_cpu"] += sum(x.cpu for x in results)
                t["wall"] += wall
                t["rates"].append(ok / wall)
    finally:
        codes = [s.stop() for s in servers]
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
