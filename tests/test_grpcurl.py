"""The server as a generic gRPC tool sees it: the real `grpcurl` binary, knowing nothing but
what server reflection tells it, against the in-process server."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.app import SERVICES, App

from support import START

SERVICE = "switchboard.reservation.v1.ReservationService"


def _grpcurl() -> str | None:
    beside_python = Path(sys.executable).parent / "grpcurl"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("grpcurl")


GRPCURL = _grpcurl()
pytestmark = pytest.mark.skipif(GRPCURL is None, reason="grpcurl is not installed")


def rfc3339(hours: float) -> str:
    """The test clock's start plus `hours`, as grpcurl's JSON wants a Timestamp."""
    when = datetime.fromtimestamp(START // 1_000_000, UTC) + timedelta(hours=hours)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.code == 0, self
        return json.loads(self.stdout)


async def grpcurl(app: App, *args: str, data: Any = None,
                  transport: Sequence[str] = ("-plaintext",)) -> Result:
    """Runs grpcurl as a subprocess, so this event loop keeps serving while it waits;
    `transport`: its flags for plaintext (the default) or TLS (`-cacert`, `-cert`, `-key`)."""
    assert GRPCURL is not None
    argv = list(transport)
    if data is not None:
        argv += ["-d", json.dumps(data)]
    process = await asyncio.create_subprocess_exec(
        GRPCURL, *argv, f"127.0.0.1:{app.port}", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(30):
        stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return Result(process.returncode, stdout.decode(), stderr.decode())


async def call(app: App, method: str, data: Any) -> Any:
    return (await grpcurl(app, f"{SERVICE}/{method}", data=data)).json()


async def test_list_shows_every_service(server: App) -> None:
    result = await grpcurl(server, "list")
    assert result.code == 0, result
    assert set(result.stdout.split()) == {
        *SERVICES, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}

    methods = await grpcurl(server, "list", SERVICE)
    assert methods.code == 0, methods
    assert set(methods.stdout.split()) == {
        f"{SERVICE}.{m.name}" for m in pb.DESCRIPTOR.services_by_name["ReservationService"].methods
    }


async def test_describe_service_and_message(server: App) -> None:
    result = await grpcurl(server, "describe", SERVICE)
    assert result.code == 0, result
    assert f"{SERVICE} is a service:" in result.stdout
    assert ("rpc CreateReservation ( .switchboard.reservation.v1.CreateReservationRequest ) "
            "returns ( .switchboard.reservation.v1.CreateReservationResponse );") in result.stdout
    assert ("rpc WatchReservations ( .switchboard.reservation.v1.WatchReservationsRequest ) "
            "returns ( stream .switchboard.reservation.v1.WatchReservationsResponse );"
            ) in result.stdout

    message = await grpcurl(server, "describe", "switchboard.reservation.v1.Reservation")
    assert message.code == 0, message
    assert "switchboard.reservation.v1.Reservation is a message:" in message.stdout
    assert ".google.protobuf.Timestamp start_time = 4;" in message.stdout


async def test_create_and_get_reservation_with_json(server: App) -> None:
    pool = await call(server, "CreatePool", {
        "pool": {"id": "pool-a", "provider": "openstack", "availability_zone": "az1"}})
    assert pool["pool"]["id"] == "pool-a"
    assert pool["pool"]["create_time"] == rfc3339(0)  # the server's (manual) clock

    increased = await call(server, "IncreaseCapacity", {
        "pool_id": "pool-a", "resources": {"cores": 100, "ram_mb": 4096},
        "start_time": rfc3339(0)})
    assert increased["change"]["type"] == "CAPACITY_CHANGE_TYPE_INCREASE"
    assert increased["change"]["resources"] == {"cores": "100", "ram_mb": "4096"}
    assert "end_time" not in increased["change"]  # open-ended

    created = (await call(server, "CreateReservation", {"reservation": {
        "pool_id": "pool-a", "name": "from grpcurl", "start_time": rfc3339(1),
        "end_time": rfc3339(5), "resources": {"cores": 8, "ram_mb": 1024},
        "priority": "PRIORITY_HIGH",
    }}))["reservation"]
    assert created["id"]
    assert created["status"] == "RESERVATION_STATUS_PENDING"
    assert (created["start_time"], created["end_time"]) == (rfc3339(1), rfc3339(5))

    got = (await call(server, "GetReservation", {"reservation_id": created["id"]}))["reservation"]
    assert got == created
    assert got["resources"] == {"cores": "8", "ram_mb": "1024"}  # int64 in JSON: strings
    assert got["priority"] == "PRIORITY_HIGH"
    assert got["name"] == "from grpcurl"

    # The same reservation, seen by the ordinary client.
    async with AsyncClient(f"127.0.0.1:{server.port}") as client:
        response = await client.reservations.GetReservation(
            pb.GetReservationRequest(reservation_id=created["id"]))
    assert response.reservation.resources == pb.Resources(cores=8, ram_mb=1024)
    assert response.reservation.revision == int(created["revision"])


async def test_invalid_reservation_exits_nonzero(server: App) -> None:
    await call(server, "CreatePool", {
        "pool": {"id": "pool-a", "provider": "openstack", "availability_zone": "az1"}})
    result = await grpcurl(server, f"{SERVICE}/CreateReservation", data={"reservation": {
        "pool_id": "pool-a", "start_time": rfc3339(5), "end_time": rfc3339(1)}})
    assert result.code != 0
    output = result.stdout + result.stderr
    assert "Code: InvalidArgument" in output, output
    # grpcurl prints the rich status too: the BadRequest names both bad fields.
    assert "google.rpc.BadRequest" in output, output
    assert '"field":"reservation.resources"' in output, output
    assert '"field":"reservation.end_time"' in output, output

    listed = await call(server, "ListReservations", {})
    assert listed.get("reservations", []) == []  # nothing was written


async def test_health_check_with_grpcurl(server: App) -> None:
    result = await grpcurl(server, "grpc.health.v1.Health/Check", data={"service": SERVICE})
    assert result.json() == {"status": "SERVING"}
    unknown = await grpcurl(server, "grpc.health.v1.Health/Check", data={"service": "nope"})
    assert unknown.code != 0
    assert "Code: NotFound" in unknown.stdout + unknown.stderr
