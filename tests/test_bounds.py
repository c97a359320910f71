"""Size bounds of request fields: every field that can grow has one, its proto comment states
it, and the server enforces it (with enum numbers and Timestamp / Duration ranges) before the
call runs: INVALID_ARGUMENT naming each bad field by its path, and nothing written."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.duration_pb2 import Duration
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_tools import protoc

from switchboard.client import AsyncClient
from switchboard.cmhandle.v1 import cmhandle_pb2 as cpb
from switchboard.options.v1 import bounds_pb2
from switchboard.participant.v1 import participant_pb2 as ppb
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.scheduler.v1 import scheduler_pb2 as spb
from switchboard.server.app import App

from support import at, bad_fields, make_pool

PROTOS = Path(__file__).parent.parent / "protos"
F = descriptor_pb2.FieldDescriptorProto


def _descriptor_set(tmp_path: Path) -> descriptor_pb2.FileDescriptorSet:
    out = tmp_path / "protos.binpb"
    files = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.glob("switchboard/*/v1/*.proto"))
    include = str(resources.files("grpc_tools") / "_proto")
    assert protoc.main(["protoc", f"-I{PROTOS}", f"-I{include}", "--include_source_info",
                        "--include_imports", f"--descriptor_set_out={out}", *files]) == 0
    return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def _messages(fds: descriptor_pb2.FileDescriptorSet) -> dict[str, tuple[Any, dict[int, str]]]:
    """Every message by full name: (its DescriptorProto, comments of its fields by index)."""
    found: dict[str, tuple[Any, dict[int, str]]] = {}
    for file in fds.file:
        comments = {tuple(loc.path): loc.leading_comments for loc in file.source_code_info.location}

        todo = [(m, f".{file.package}", (4, i)) for i, m in enumerate(file.message_type)]
        while todo:
            message, prefix, path = todo.pop()
            name = f"{prefix}.{message.name}"
            found[name] = (message, {i: comments.get((*path, 2, i), "")
                                     for i in range(len(message.field))})
            todo += [(n, name, (*path, 3, j)) for j, n in enumerate(message.nested_type)]
    return found


def _request_fields(fds: descriptor_pb2.FileDescriptorSet) -> Iterator[tuple[str, Any, str, Any]]:
    """(message, field, comment, map entry or None) of every field reachable from the request
    of any RPC in the protos, in messages of ours."""
    messages = _messages(fds)
    todo = [m.input_type for f in fds.file if f.package.startswith("switchboard.")
            for s in f.service for m in s.method]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or not name.startswith(".switchboard."):
            continue
        seen.add(name)
        message, comments = messages[name]
        for i, field in enumerate(message.field):
            entry = None
            if field.type == F.TYPE_MESSAGE:
                target, _ = messages.get(field.type_name, (None, None))
                if target is not None and target.options.map_entry:
                    entry = target
                    value = target.field[1]
                    if value.type == F.TYPE_MESSAGE:
                        todo.append(value.type_name)
                else:
                    todo.append(field.type_name)
            yield name, field, comments[i], entry
    assert len(seen) > 80  # every area's requests were walked


def _needed(field: Any, entry: Any) -> set[str]:
    """The bounds a field must declare."""
    if entry is not None:
        key, value = entry.field
        return ({"max_items"} | ({"max_key_chars"} if key.type == F.TYPE_STRING else set())
                | ({"max_chars"} if value.type == F.TYPE_STRING else set()))
    needed = {"max_items"} if field.label == F.LABEL_REPEATED else set()
    if field.type == F.TYPE_STRING:
        needed.add("max_chars")
    elif field.type == F.TYPE_BYTES or field.type_name == ".google.protobuf.Struct":
        needed.add("max_bytes")
    return needed


def test_every_request_field_that_can_grow_is_bounded_and_documented(tmp_path: Path) -> None:
    missing, undocumented = [], []
    checked = 0
    for message, field, comment, entry in _request_fields(_descriptor_set(tmp_path)):
        needed = _needed(field, entry)
        if not needed:
            continue
        checked += 1
        where = f"{message[1:]}.{field.name}"
        bounds = field.options.Extensions[bounds_pb2.bounds]
        absent = {n for n in needed if not getattr(bounds, n)}
        if absent:
            missing.append(f"{where}: {sorted(absent)}")
        text = " ".join(comment.split())
        for name in ("max_chars", "max_items", "max_key_chars", "max_bytes"):
            n = getattr(bounds, name)
            if n and not re.search(rf"at most ({n}|{n:,})\b", text, re.IGNORECASE):
                undocumented.append(f"{where}: {name} {n} not in {text!r}")
    assert checked > 150
    assert not missing, missing
    assert not undocumented, undocumented


# -- enforcement on real RPCs ------------------------------------------------------------------


async def rejected(app: App, call: Callable[[], Awaitable[Any]]) -> grpc.aio.AioRpcError:
    """The call's INVALID_ARGUMENT error; the event log did not move."""
    before = await app.events.bounds()
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call()
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT, failure.value
    assert await app.events.bounds() == before
    return failure.value


async def test_a_huge_pool_provider_is_refused_and_nothing_written(
        server: App, client: AsyncClient) -> None:
    error = await rejected(server, lambda: client.reservations.CreatePool(pb.CreatePoolRequest(
        pool=pb.Pool(id="pool-a", provider="p" * 3_000_000, availability_zone="az1"))))
    assert bad_fields(error) == {"pool.provider"}
    assert "pool.provider" in (error.details() or "")
    pools = await client.reservations.ListPools(pb.ListPoolsRequest())
    assert list(pools.pools) == []


async def test_each_field_over_its_bound_is_named(server: App, client: AsyncClient) -> None:
    error = await rejected(server, lambda: client.reservations.CreatePool(pb.CreatePoolRequest(
        pool=pb.Pool(id="p" * 64, provider="p" * 256, availability_zone="az1"),
        request_id="r" * 256)))
    assert bad_fields(error) == {"pool.id", "pool.provider", "request_id"}


async def test_repeated_and_their_entries(server: App, client: AsyncClient) -> None:
    await make_pool(client)
    error = await rejected(server, lambda: client.reservations.QueryCapacity(
        pb.QueryCapacityRequest(pool_ids=["pool-a"] * 1001, end_time=at(1))))
    assert bad_fields(error) == {"pool_ids"}
    vnfs = [spb.Vnf(name=f"v{i}") for i in range(5)]
    vnfs[3].name = "n" * 256
    vnfs[4].network_elements.extend(["ne-1", "e" * 256])
    error = await rejected(server, lambda: client.schedules.CreateSchedule(
        spb.CreateScheduleRequest(schedule=spb.Schedule(id="s1", vnfs=vnfs))))
    assert bad_fields(error) == {"schedule.vnfs[3].name", "schedule.vnfs[4].network_elements[1]"}


async def test_maps_entries_keys_and_values(server: App, client: AsyncClient) -> None:
    search = client.cm_handles.SearchCmHandles
    error = await rejected(server, lambda: search(cpb.SearchCmHandlesRequest(
        public_properties={f"k{i}": "v" for i in range(101)})))
    assert bad_fields(error) == {"public_properties"}
    error = await rejected(server, lambda: search(cpb.SearchCmHandlesRequest(
        public_properties={"k": "v" * 1025, "a" * 256: "v", "ok": "v"})))
    assert bad_fields(error) == {'public_properties["k"]',
                                 'public_properties["' + "a" * 40 + '..."]'}


async def test_structs_and_messages_by_serialized_size(server: App, client: AsyncClient) -> None:
    properties = Struct()
    properties.update({"blob": "x" * 9000})
    error = await rejected(server, lambda: client.compositions.CreateComposition(
        ppb.CreateCompositionRequest(composition=ppb.Composition(id="c1", elements=[
            ppb.ElementDefinition(name="e1", type="t"),
            ppb.ElementDefinition(name="e2", type="t", properties=properties)]))))
    assert bad_fields(error) == {"composition.elements[1].properties"}
    vnfs = [spb.Vnf(name=f"vnf-{i}", group="g" * 200) for i in range(5000)]  # ~1.1 MB
    error = await rejected(server, lambda: client.schedules.CreateSchedule(
        spb.CreateScheduleRequest(schedule=spb.Schedule(id="s1", vnfs=vnfs))))
    assert bad_fields(error) == {"schedule"}


async def test_enums_timestamps_and_durations(server: App, client: AsyncClient) -> None:
    await make_pool(client)
    error = await rejected(server, lambda: client.reservations.CreateReservation(
        pb.CreateReservationRequest(reservation=pb.Reservation(
            pool_id="pool-a", priority=7,  # type: ignore[arg-type]
            start_time=Timestamp(seconds=253_402_300_800),  # 10000-01-01
            end_time=Timestamp(seconds=1, nanos=-1),
            resources=pb.Resources(cores=1)))))
    assert bad_fields(error) == {"reservation.priority", "reservation.start_time",
                                 "reservation.end_time"}
    error = await rejected(server, lambda: client.schedules.CreateSchedule(
        spb.CreateScheduleRequest(schedule=spb.Schedule(
            id="s1", vnfs=[spb.Vnf(name="v")],
            normal_duration=Duration(seconds=1, nanos=-1),
            additional_duration=Duration(seconds=315_576_000_001),
            allowed_time_policy=spb.AllowedTimePolicy(weekdays=[1, 9]),  # type: ignore[list-item]
            change_windows=[spb.TimeWindow(start_time=Timestamp(seconds=-62_135_596_801))]))))
    assert bad_fields(error) == {
        "schedule.normal_duration", "schedule.additional_duration",
        "schedule.allowed_time_policy.weekdays[1]", "schedule.change_windows[0].start_time"}


async def test_values_at_their_bounds_are_accepted(server: App, client: AsyncClient) -> None:
    await client.reservations.CreatePool(pb.CreatePoolRequest(
        pool=pb.Pool(id="p" * 63, provider="p" * 255, availability_zone="a" * 255),
        request_id="r" * 255))
    await client.cm_handles.SearchCmHandles(cpb.SearchCmHandlesRequest(
        public_properties={"k" * 255: "v" * 1024}))
    extremes = pb.Reservation(pool_id="p" * 63, name="n" * 255, resources=pb.Resources(cores=1),
                              start_time=Timestamp(seconds=253_402_300_799, nanos=999_999_999),
                              end_time=Timestamp(seconds=253_402_300_799, nanos=999_999_999))
    with pytest.raises(grpc.aio.AioRpcError) as failure:  # in range, refused for its meaning
        await client.reservations.CreateReservation(pb.CreateReservationRequest(
            reservation=extremes))
    assert bad_fields(failure.value) == {"reservation.end_time", "reservation.start_time"}


def _recursive_type() -> Any:
    """A message type `Node {Kind kind; oneof which {Node child; string label}; repeated Node
    children}` with bounds, built at run time (no proto of ours is recursive)."""
    from google.protobuf import descriptor_pool, message_factory

    file = descriptor_pb2.FileDescriptorProto(name="test_recursive.proto", package="test.rec",
                                              syntax="proto3",
                                              dependency=["switchboard/options/v1/bounds.proto"])
    file.enum_type.add(name="Kind").value.add(name="KIND_UNSPECIFIED", number=0)
    node = file.message_type.add(name="Node")
    node.oneof_decl.add(name="which")
    node.field.add(name="kind", number=1, type=F.TYPE_ENUM, type_name=".test.rec.Kind",
                   label=F.LABEL_OPTIONAL)
    node.field.add(name="child", number=2, type=F.TYPE_MESSAGE, type_name=".test.rec.Node",
                   label=F.LABEL_OPTIONAL, oneof_index=0)
    label = node.field.add(name="label", number=3, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL,
                           oneof_index=0)
    label.options.Extensions[bounds_pb2.bounds].max_chars = 3
    children = node.field.add(name="children", number=4, type=F.TYPE_MESSAGE,
                              type_name=".test.rec.Node", label=F.LABEL_REPEATED)
    children.options.Extensions[bounds_pb2.bounds].max_items = 2
    pool = descriptor_pool.Default()  # where the bounds option is
    try:
        pool.FindMessageTypeByName("test.rec.Node")
    except KeyError:
        pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("test.rec.Node"))


def test_recursive_types_and_oneofs_are_checked_at_every_depth() -> None:
    from switchboard.server import requestcheck
    from switchboard.server.errors import InvalidArgument

    node = _recursive_type()
    deep = node(children=[node(child=node(child=node(kind=5))), node(label="long")])
    with pytest.raises(InvalidArgument) as failure:
        requestcheck.check(deep)
    assert {v.field for v in failure.value.violations} == {
        "children[0].child.child.kind", "children[1].label"}
    requestcheck.check(node(child=node(label="ok", children=[node(), node()])))
    with pytest.raises(InvalidArgument) as failure:
        requestcheck.check(node(child=node(children=[node(), node(), node()])))
    assert [v.field for v in failure.value.violations] == ["child.children"]
