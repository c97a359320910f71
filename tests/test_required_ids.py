"""An empty required id is INVALID_ARGUMENT naming the field, in every RPC of every service,
never NOT_FOUND "'' not found"."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor

from switchboard.server.app import App

from rpcs import call, method_id, methods, request_of
from support import bad_fields


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite alone: these calls are refused before any storage is reached."""
    return f"sqlite+aiosqlite:///{tmp_path / 'switchboard.db'}"


FILTERS = ("List", "Search", "Watch")
"""Methods whose ids are optional filters (proto comments: "empty means all")."""


def required_ids(method: MethodDescriptor) -> set[str]:
    """The id fields a call on one resource cannot do without: the request's string `*_id`
    fields (a `request_id` is optional), and the resource's `id` in an Update."""
    fields = method.input_type.fields
    found = {f.name for f in fields if f.name.endswith("_id") and f.name != "request_id"
             and f.type == FieldDescriptor.TYPE_STRING}
    if method.name.startswith("Update"):
        found |= {f"{f.name}.id" for f in fields if f.message_type is not None
                  and not f.is_repeated
                  and "id" in f.message_type.fields_by_name}
    return found


CASES = [m for m in methods() if not m.client_streaming and not m.name.startswith(FILTERS)
         and required_ids(m)]


def test_cases_cover_the_ones_that_said_not_found() -> None:
    names = {method_id(m) for m in CASES}
    assert {"ReservationService.GetPool", "ReservationService.GetReservation",
            "ReservationService.UpdateReservation", "AllocationService.GetInstance",
            "SchedulerService.GetSchedule", "AutomationCompositionService.UpdateInstance",
            "AutomationCompositionService.DeleteComposition",
            "ParticipantProtocolService.ReceiveMessages"} <= names
    assert len(names) >= 30


@pytest.mark.parametrize("method", CASES, ids=method_id)
async def test_empty_required_id_is_invalid_argument(server: App, method: MethodDescriptor) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await call(channel, method, request_of(method))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT, failure.value
    named = bad_fields(failure.value)
    assert required_ids(method) <= named, named
    for field in required_ids(method):
        assert f"{field}: is required" in (failure.value.details() or "")
