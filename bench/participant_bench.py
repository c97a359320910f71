"""Switchboard participant-protocol benchmark.

N instances (default 500) of a composition with 3 elements in start phases 0, 1, 2, one element
type per simulated participant process (3 processes, zero work delay). It reports:

(a) deploys completed per second: N over the time from the first DeployInstance to the last
    instance seen DEPLOYED on a WatchInstances stream, with C instances in flight (each worker
    deploys its next instance once the watch shows its last one DEPLOYED);
(b) p50/p99 time from DeployInstance to DEPLOYED seen on the watch;
(c) the same two for undeploy (UNDEPLOYED);
(d) the server's peak RSS (VmHWM).

For reference, ONAP ACM's published S3P run (5 users x 100 compositions and instances) averaged
1,297 ms per request on a 16-CPU VM. Targets: at least 100 instance deploys per second; p50 under
100 ms. Both hold at one load, 10 instances in flight by default (--concurrency): on a 2-core
machine, more in flight raises deploys/s and the wait with it (16: ~150/s, p50 ~105 ms), fewer
lowers both (8: ~95/s, p50 ~80 ms); the server is CPU-bound at about one core.

The server runs as a subprocess on a free 127.0.0.1 port with a fresh temporary SQLite file (or
--database-url); the participants are `python -m switchboard.client.simparticipant` processes.

    .venv/bin/python bench/participant_bench.py [--instances 500] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc

from switchboard.participant.v1 import participant_pb2 as pb
from switchboard.participant.v1 import participant_pb2_grpc as pb_grpc

from benchlib import free_port, percentile, proc_status, py_spy_record, wait_ready

TYPES = ("bench.TypeA", "bench.TypeB", "bench.TypeC")
TARGET_DEPLOYS_S = 100.0
TARGET_P50_MS = 100.0
ACM_S3P_MS = 1297.0


async def wait_participants(stub: pb_grpc.AutomationCompositionServiceStub) -> None:
    async with asyncio.timeout(30):
        while True:
            listed = await stub.ListParticipants(pb.ListParticipantsRequest())
            if sum(p.online for p in listed.participants) == len(TYPES):
                return
            await asyncio.sleep(0.1)


async def prime(stub: pb_grpc.AutomationCompositionServiceStub) -> None:
    await stub.CreateComposition(pb.CreateCompositionRequest(composition=pb.Composition(
        id="bench", elements=[pb.ElementDefinition(name=f"e{n}", type=t, version="1.0.0",
                                                   start_phase=n)
                              for n, t in enumerate(TYPES)])))
    await stub.PrimeComposition(pb.PrimeCompositionRequest(composition_id="bench"))
    async with asyncio.timeout(30):
        while True:
            c = (await stub.GetComposition(
                pb.GetCompositionRequest(composition_id="bench"))).composition
            if c.state == pb.COMPOSITION_STATE_PRIMED:
                return
            await asyncio.sleep(0.05)


async def drive(stub: pb_grpc.AutomationCompositionServiceStub, ids: list[str], action: str,
                done_state: int, concurrency: int) -> tuple[float, list[float]]:
    """Takes every instance through `action` with `concurrency` instances in flight (a worker
    starts the next one when the watch shows its last one done); returns (completions/s,
    latencies in ms from the call to the end state seen on the watch)."""
    loop = asyncio.get_running_loop()
    ends: dict[str, asyncio.Future[float]] = {i: loop.create_future() for i in ids}
    watch = stub.WatchInstances(pb.WatchInstancesRequest(composition_id="bench"))
    live = asyncio.Event()

    async def follow() -> None:
        async for response in watch:
            if not response.events:
                live.set()
            now = time.perf_counter()
            for e in response.events:
                i = e.instance
                end = ends[i.id]
                if end.done():
                    continue
                if i.deploy_state == done_state and i.result == pb.STATE_CHANGE_RESULT_NO_ERROR:
                    end.set_result(now)
                elif i.result != pb.STATE_CHANGE_RESULT_NO_ERROR:
                    end.set_exception(RuntimeError(
                        f"{i.id} ended {i.result}: {i.status_message}"))

    follower = asyncio.create_task(follow())
    await live.wait()
    queue = list(reversed(ids))
    method = getattr(stub, f"{action}Instance")
    request_type = getattr(pb, f"{action}InstanceRequest")
    latencies: list[float] = []

    async def worker() -> None:
        while queue:
            instance_id = queue.pop()
            sent = time.perf_counter()
            await method(request_type(instance_id=instance_id), timeout=30)
            async with asyncio.timeout(60):
                seen = await ends[instance_id]
            latencies.append((seen - sent) * 1000)

    start = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        watch.cancel()
        follower.cancel()
    elapsed = max(end.result() for end in ends.values()) - start
    return len(ids) / elapsed, sorted(latencies)


def start_profiler(args: argparse.Namespace, pid: int) -> subprocess.Popen[bytes] | None:
    """py-spy recording the server from the start of the deploys, if --profile asks for it."""
    if not args.profile:
        return None
    return py_spy_record(args.py_spy, pid, args.profile_seconds, args.profile)


async def run(args: argparse.Namespace, target: str, server_pid: int) -> dict[str, float]:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.AutomationCompositionServiceStub(channel)
        await wait_participants(stub)
        await prime(stub)
        ids = [f"inst-{n:05d}" for n in range(args.instances)]
        pending = list(ids)

        async def create() -> None:
            while pending:
                await stub.CreateInstance(pb.CreateInstanceRequest(instance=pb.Instance(
                    id=pending.pop(), composition_id="bench")))

        await asyncio.gather(*(create() for _ in range(args.concurrency)))
        profiler = start_profiler(args, server_pid)
        deploy_rate, deploy = await drive(stub, ids, "Deploy", pb.DEPLOY_STATE_DEPLOYED,
                                          args.concurrency)
        undeploy_rate, undeploy = await drive(stub, ids, "Undeploy",
                                              pb.DEPLOY_STATE_UNDEPLOYED, args.concurrency)
        if profiler is not None:
            profiler.communicate(timeout=60)
    return {
        "deploys_per_s": deploy_rate, "deploy_p50_ms": percentile(deploy, 50),
        "deploy_p99_ms": percentile(deploy, 99), "undeploys_per_s": undeploy_rate,
        "undeploy_p50_ms": percentile(undeploy, 50), "undeploy_p99_ms": percentile(undeploy, 99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=10,
                        help="instances in flight at once")
    parser.add_argument("--database-url", default="",
                        help="default: a fresh temporary SQLite file")
    parser.add_argument("--profile", default="",
                        help="py-spy record the server from the first deploy into this file "
                             "(.txt: collapsed stacks, .json: speedscope, else flame graph SVG)")
    parser.add_argument("--profile-seconds", type=int, default=3)
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy",
                        help="py-spy executable for --profile")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="participant-bench-"))
    port = free_port()
    target = f"127.0.0.1:{port}"
    database_url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    server = subprocess.Popen(
        [sys.executable, "-m", "switchboard.server", "--host", "127.0.0.1", "--port", str(port),
         "--database-url", database_url, "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=(workdir / "server.log").open("w"))
    participants: list[subprocess.Popen[bytes]] = []
    try:
        asyncio.run(wait_ready(target))
        for n, t in enumerate(TYPES):
            participants.append(subprocess.Popen(
                [sys.executable, "-m", "switchboard.client.simparticipant", "--target", target,
                 "--participant-id", f"participant-{n}", "--replica-id", "r1",
                 "--element-types", t, "--heartbeat-interval", "1"],
                stdout=subprocess.DEVNULL, stderr=(workdir / f"participant-{n}.log").open("w")))
        figures = asyncio.run(run(args, target, server.pid))
        rss_mb = proc_status(server.pid, "VmHWM") / 1024
    finally:
        for process in [*participants, server]:
            process.terminate()
        for process in [*participants, server]:
            process.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"participant protocol: {args.instances} instances x 3 elements in phases 0-2, "
          f"3 participant processes, concurrency {args.concurrency}, "
          f"{'SQLite' if not args.database_url else database_url.split(':')[0]}")
    rate = figures["deploys_per_s"]
    print(f"  deploys completed/s      {rate:9.1f}   "
          f"(target >= {TARGET_DEPLOYS_S:.0f}; ratio {rate / TARGET_DEPLOYS_S:.2f})")
    print(f"  deploy -> DEPLOYED  p50  {figures['deploy_p50_ms']:9.1f} ms "
          f"(target < {TARGET_P50_MS:.0f}; ACM S3P average {ACM_S3P_MS:.0f} ms per request)")
    print(f"                      p99  {figures['deploy_p99_ms']:9.1f} ms")
    print(f"  undeploys completed/s    {figures['undeploys_per_s']:9.1f}")
    print(f"  undeploy -> UNDEPLOYED p50 {figures['undeploy_p50_ms']:7.1f} ms, "
          f"p99 {figures['undeploy_p99_ms']:.1f} ms")
    print(f"  server peak RSS          {rss_mb:9.1f} MiB")


if __name__ == "__main__":
    main()
