"""scripts/local_cluster.sh: PostgreSQL and two replicas started, the printed target serving
through either replica, and everything stopped on SIGINT (Ctrl-C)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb

from support import make_pool

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))

pytestmark = pytest.mark.skipif(not (PG_BIN / "initdb").exists(),
                                reason=f"no PostgreSQL binaries in {PG_BIN}")


def free_ports(count: int) -> int:
    """The first of `count` consecutive loopback ports that are free now."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            first = int(s.getsockname()[1])
        if first + count > 65535:
            continue
        held = []
        try:
            for port in range(first, first + count):
                s = socket.socket()
                held.append(s)
                s.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for s in held:
                s.close()


def accepts(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


async def test_the_script_starts_a_cluster_and_ctrl_c_stops_it() -> None:
    first = free_ports(2)
    script = await asyncio.create_subprocess_exec(
        str(ROOT / "scripts" / "local_cluster.sh"), "-n", "2", "-p", str(first),
        "--", "--log-level", "warning",
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHON": sys.executable})
    assert script.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not lines or not lines[-1].startswith("serving"):
                line = (await script.stdout.readline()).decode()
                assert line, f"the script ended: {lines}"
                lines.append(line.strip())
        target = next(line.removeprefix("target: ") for line in lines
                      if line.startswith("target: "))
        assert target == f"ipv4:127.0.0.1:{first},127.0.0.1:{first + 1}"
        logs = os.path.dirname(next(line for line in lines if line.startswith("replica 1:"))
                               .rpartition("log ")[2].rstrip(")"))
        postgres_port = int(lines[0].rpartition(":")[2].partition("/")[0])
        assert accepts(postgres_port)
        async with AsyncClient(target) as client:
            await make_pool(client)
            for _ in range(4):  # through both replicas
                listed = await client.reservations.ListPools(pb.ListPoolsRequest())
                assert [p.id for p in listed.pools] == ["pool-a"]
    finally:
        if script.returncode is None:
            script.send_signal(signal.SIGINT)
        async with asyncio.timeout(60):
            rest = (await script.stdout.read()).decode()
            await script.wait()
    assert script.returncode == 130
    assert "cluster stopped" in rest
    assert not accepts(first) and not accepts(first + 1)
    assert not accepts(postgres_port)
    assert not await asyncio.to_thread(os.path.isdir, logs)  # removed after a clean stop
