"""What the benchmark scripts share: percentiles, a free port, the server's memory from /proc,
waiting for a server to answer health checks, and py-spy on the server."""

from __future__ import annotations

import asyncio
import math
import socket
import subprocess
from collections.abc import Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (nan when empty)."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_status(pid: int, key: str) -> int:
    """A kB figure from /proc/<pid>/status (VmHWM, VmRSS)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


async def serving(target: str) -> bool:
    """Whether the server at `target` answers a health check SERVING (within 1 s)."""
    async with grpc.aio.insecure_channel(target) as channel:
        try:
            r = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=1)
        except grpc.aio.AioRpcError:
            return False
        return bool(r.status == health_pb2.HealthCheckResponse.SERVING)


async def wait_ready(target: str) -> None:
    """Returns once the server at `target` answers a health check (within 30 s)."""
    async with grpc.aio.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        async with asyncio.timeout(30):
            while True:
                try:
                    await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    return
                except grpc.aio.AioRpcError:
                    await asyncio.sleep(0.1)


def py_spy_record(executable: str, pid: int, seconds: float, output: str,
                  flags: Sequence[str] = ("--nonblocking",)) -> subprocess.Popen[bytes]:
    """`py-spy record` of process `pid` for `seconds` into `output`: collapsed stacks for .txt,
    speedscope for .json, else a flame graph SVG; 100 samples/s unless `flags` give a rate."""
    fmt = ("speedscope" if output.endswith(".json")
           else "raw" if output.endswith(".txt") else "flamegraph")
    rated = any(f in ("-r", "--rate") or f.startswith("--rate=") for f in flags)
    rate = [] if rated else ["-r", "100"]
    return subprocess.Popen(
        [executable, "record", "-p", str(pid), "-d", str(int(seconds) + 1), *rate,
         "-f", fmt, "-o", output, *flags],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
