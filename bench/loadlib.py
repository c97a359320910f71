"""What the scaling benchmarks (workers_bench.py, scaleout_bench.py) share: server commands as
subprocesses, pools with room for every call, load processes that keep calls in flight over
several connections to several servers for one timed window, and the CPU seconds of a process
tree from /proc."""

from __future__ import annotations

import asyncio
import os
import random
import resource
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from switchboard.allocation.v1 import allocation_pb2 as apb
from switchboard.allocation.v1 import allocation_pb2_grpc as apb_grpc
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.reservation.v1 import reservation_pb2_grpc as pb_grpc

from benchlib import free_port, serving

CALL_TIMEOUT = 30.0
HOUR = 3600.0
CALLS = ("CreateReservation", "CreateInstance")
"""The calls a load process can make."""


def create_request(pool_id: str, rng: random.Random) -> pb.CreateReservationRequest:
    """A 1-hour, 1-core reservation at a random start over the next ~300 days (as
    reservation_bench's (b))."""
    start = time.time() + HOUR + rng.uniform(0, 300 * 24 * HOUR)
    return pb.CreateReservationRequest(reservation=pb.Reservation(
        pool_id=pool_id, name="bench", start_time=Timestamp(seconds=int(start)),
        end_time=Timestamp(seconds=int(start + HOUR)), resources=pb.Resources(cores=1)))


def instance_request(pool_id: str) -> apb.CreateInstanceRequest:
    """An m1.tiny instance outside any reservation (as reservation_bench's (e))."""
    return apb.CreateInstanceRequest(instance=apb.Instance(
        pool_id=pool_id, name="bench", flavor="m1.tiny", image="cirros"))


# -- servers ---------------------------------------------------------------------------------


class ServerProcess:
    """One `python -m switchboard.server` command on a free loopback port (or `port`), logging
    to `<tmp>/<name>.log`, with a zero-time simulated VIM and `flags`."""

    def __init__(self, name: str, database_url: str, tmp: Path, flags: Sequence[str] = (),
                 port: int = 0) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.target = f"127.0.0.1:{port or free_port()}"
        self.log = open(tmp / f"{name}.log", "wb")  # closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "switchboard.server", "--host", "127.0.0.1",
             "--port", self.target.rpartition(":")[2], "--database-url", database_url,
             "--log-level", "warning", "--shutdown-grace", "1", "--vim-build-seconds", "0",
             "--vim-delete-seconds", "0", *flags],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=tmp)

    def wait_serving(self, timeout: float = 60.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server {self.name} exited {self.proc.returncode}")
            if asyncio.run(serving(self.target)):
                return
            time.sleep(0.2)
        raise RuntimeError(f"server {self.name} not SERVING after {timeout} s")

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
    """`n` new pools with capacity of 10^12 of every resource from now on."""
    pools = [f"bench-{uuid.uuid4().hex[:8]}" for _ in range(n)]
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.ReservationServiceStub(channel)
        for pool_id in pools:
            await stub.CreatePool(pb.CreatePoolRequest(
                pool=pb.Pool(id=pool_id, provider="bench", availability_zone="az1")), timeout=10)
            await stub.IncreaseCapacity(pb.IncreaseCapacityRequest(
                pool_id=pool_id, resources=pb.Resources(
                    cores=10**12, ram_mb=10**12, instances=10**12, gigabytes=10**12),
                reason="bench"), timeout=10)
    return pools


# -- CPU from /proc ----------------------------------------------------------------------------


def cpu_of(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc."""
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
            total += cpu_of(pid)
        except OSError:
            continue
    return total


# -- load processes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """One load process's part of a window: `connections` connections (a channel each, with
    its own subchannel pool) to each of `targets`, and `concurrency` calls of `call` in flight
    over them from `start_at`; calls started from `measure_from` and done by `measure_to`
    count."""

    targets: tuple[str, ...]
    call: str
    pools: tuple[str, ...]
    connections: int
    concurrency: int
    start_at: float
    measure_from: float
    measure_to: float
    seed: int
    first_connection: int
    """The index of this process's first connection among all load processes' (connection i
    takes pool i modulo the pools)."""


@dataclass
class Result:
    ok: int
    failed: int
    latencies_ms: list[float]
    cpu: float
    wall: float


def _caller(channel: grpc.aio.Channel, call: str, pool: str, rng: random.Random) -> Any:
    if call == "CreateReservation":
        reservations = pb_grpc.ReservationServiceStub(channel)
        return lambda: reservations.CreateReservation(create_request(pool, rng),
                                                      timeout=CALL_TIMEOUT)
    instances = apb_grpc.AllocationServiceStub(channel)
    return lambda: instances.CreateInstance(instance_request(pool), timeout=CALL_TIMEOUT)


async def _load(w: Window) -> Result:
    rng = random.Random(w.seed)
    channels = [grpc.aio.insecure_channel(target, options=[
        ("grpc.use_local_subchannel_pool", 1)])
        for target in w.targets for _ in range(w.connections)]
    callers = [_caller(c, w.call, w.pools[(w.first_connection + i) % len(w.pools)], rng)
               for i, c in enumerate(channels)]
    result = Result(0, 0, [], 0.0, 0.0)
    try:
        await asyncio.gather(*(c.channel_ready() for c in channels))
        await asyncio.sleep(max(0.0, w.start_at - time.time()))

        async def one(slot: int) -> None:
            call = callers[slot % len(callers)]
            while (now := time.time()) < w.measure_to:
                try:
                    await call()
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


def run_window(ctx: Any, targets: Sequence[str], call: str, pools: Sequence[str],
               server_pids: Sequence[int], *, client_procs: int, connections: int,
               concurrency: int, warmup: float, seconds: float, seed: int
               ) -> tuple[list[Result], float, float]:
    """One window of `call` against `targets`: `client_procs` load processes (spawned from
    `ctx`), each with `connections` connections to each target, `concurrency` calls in
    flight over all of them; measured for `seconds` after `warmup`. Gives the load processes'
    results, the CPU seconds of the servers' process trees (`server_pids`) and the wall
    seconds over the measured part."""
    start_at = time.time() + 1.5  # the load processes start and connect meanwhile
    measure_from = start_at + warmup
    measure_to = measure_from + seconds
    out = ctx.Queue()
    procs = []
    per_proc = [concurrency // client_procs + (i < concurrency % client_procs)
                for i in range(client_procs)]
    for i, share in enumerate(per_proc):
        w = Window(tuple(targets), call, tuple(pools), connections, share, start_at,
                   measure_from, measure_to, seed * 100 + i, i * connections * len(targets))
        p = ctx.Process(target=load_process, args=(w, out))
        p.start()
        procs.append(p)
    time.sleep(max(0.0, measure_from - time.time()))
    cpu0, wall0 = sum(tree_cpu(pid) for pid in server_pids), time.time()
    time.sleep(max(0.0, measure_to - time.time()))
    server_cpu = sum(tree_cpu(pid) for pid in server_pids) - cpu0
    wall = time.time() - wall0
    results = [out.get(timeout=CALL_TIMEOUT + 30) for _ in procs]
    for p in procs:
        p.join()
    return results, server_cpu, wall
