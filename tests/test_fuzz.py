"""The fuzz gate: every RPC of every Switchboard service, found from the descriptors, gets
generated requests (random and extreme field values, unknown enum numbers, out-of-range
timestamps and durations, long and unicode strings, big repeated fields and maps, deep Structs,
empty messages, and bytes that are not a valid message). Whatever comes in: never INTERNAL or
UNKNOWN, the server stays up and healthy, and a rejected request writes nothing (the event log's
head is unchanged).

One server on SQLite for the whole module, on its own event loop in a background thread, on a
manual clock that never moves (so nothing time-driven writes on its own), seeded with a row of
each kind whose ids the generated requests reuse. Server-streaming RPCs (the watches,
ReceiveMessages) are opened, read up to their first message and cancelled.

The examples are the same on every run (derandomized). `SWITCHBOARD_FUZZ_EXAMPLES` sets how
many in all, spread evenly over the RPCs (default 1500, about a minute).

A second server, with authorization on, takes a quarter as many again, all from one principal
of one project holding every non-admin role (with a dmi-plugin role for any address), so that
the identity, role, scope and ownership checks see the same wild requests: authorization must
not turn a bad request into INTERNAL either."""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchboard.client import AsyncClient
from switchboard.client.simdmi import SimulatedDmiPlugin
from switchboard.cmhandle.v1 import cmhandle_pb2 as cpb
from switchboard.participant.v1 import participant_pb2 as ppb
from switchboard.participant.v1 import participant_pb2_grpc as ppb_grpc
from switchboard.scheduler.v1 import scheduler_pb2 as spb
from switchboard.server.app import SERVICES, App
from switchboard.server.clock import ManualClock
from switchboard.server.config import Settings

from support import START, allocate, at, make_pool, reserve
from tokens import Issuer, authorizing

T = TypeVar("T")

EXAMPLES = int(os.environ.get("SWITCHBOARD_FUZZ_EXAMPLES", "1500"))
"""Examples in all, spread over the RPCs."""

RPCS: list[MethodDescriptor] = [
    method
    for name in SERVICES
    for method in descriptor_pool.Default().FindServiceByName(name).methods
    if not method.client_streaming
]
"""Every RPC of every service the server registers (none streams requests)."""

FORBIDDEN = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
CALL_TIMEOUT = 30.0
"""Seconds a unary call may take before it counts as hung."""
STREAM_TIMEOUT = 2.0
"""Seconds a server stream gets to send its first message or end."""
MAX_MESSAGE = 4 * 1024 * 1024
"""A default gRPC client's receive limit, which every response has to fit."""
MAX_REQUEST = 5 * 1024 * 1024
"""About how big a long repeated field may grow (a little beyond what the server takes)."""


AUTHORIZED_POLICY = """
[principals]
fuzzer = ["viewer", "operator", "approver", "dmi-plugin:any", "participant:p1"]

[dmi_plugins.any]
addresses = ["*"]

[projects]
fuzz = { principals = ["fuzzer"] }
"""


class Served:
    """The app on its own event loop in a thread, called into from the (synchronous) test;
    with `authorized` (a directory for the policy and key), authorization on and every call
    made as the principal "fuzzer" of AUTHORIZED_POLICY."""

    def __init__(self, database: Path, authorized: Path | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-server",
                                       daemon=True)
        self.thread.start()
        self.clock = ManualClock(START)
        security: dict[str, str] = {}
        self.token: str | None = None
        if authorized is not None:
            issuer = Issuer()
            security = authorizing(authorized, issuer, AUTHORIZED_POLICY)
            self.token = issuer.token("fuzzer", START, lifetime_s=86_400)
        self.app = App(Settings(
            host="127.0.0.1", port=0, database_url=f"sqlite+aiosqlite:///{database}",
            log_level="warning", shutdown_grace=0.0, watch_poll_interval=0.05,
            scheduler_optimizer_time_limit=0.5, cmhandle_dmi_timeout=0.5, **security,
        ), clock=self.clock)
        self.plugin: SimulatedDmiPlugin | None = None
        self.ids: dict[str, list[str]] = {}
        """Ids of the seeded rows by kind ("pool", "cm_handle", ...)."""
        self.names: list[str] = []
        """Other strings a valid request might carry."""

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.app.port}"

    def head(self) -> int:
        return self.run(self.app.events.bounds())[1]

    def events_after(self, revision: int) -> list[tuple[int, str, str, str]]:
        found = self.run(self.app.events.read(revision, None, 20))
        return [(e.revision, e.area, e.kind, e.key) for e in found]

    def settle(self, quiet: float = 0.1, limit: float = 10.0) -> int:
        """Waits until the head has not moved for `quiet` seconds (background work an accepted
        request set off, such as an optimization or a module sync, has written); the head."""
        head, since, started = self.head(), time.monotonic(), time.monotonic()
        while time.monotonic() - since < quiet and time.monotonic() - started < limit:
            time.sleep(quiet / 4)
            now = self.head()
            if now != head:
                head, since = now, time.monotonic()
        return head

    def __enter__(self) -> Served:
        """Started and seeded (stopped again if that fails)."""
        try:
            self.run(self.app.start())
            self.run(self._seed())
            self.settle(quiet=0.5)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.plugin is not None:
            self.run(self.plugin.close())
        if self.app.server is not None:
            self.run(self.app.stop(grace=0))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    async def _seed(self) -> None:
        """A row of each kind, so that generated ids sometimes name real objects."""
        async with AsyncClient(self.target, token=self.token) as c:
            await make_pool(c, "pool-a", cores=100, ram_mb=409_600, gigabytes=4000,
                            instances=20)
            await make_pool(c, "pool-b", cores=10)
            later = await reserve(c, 2, 6, cores=8, instances=2, ram_mb=8192, gigabytes=80)
            now = await reserve(c, 0, 4, cores=2, instances=1, ram_mb=4096, gigabytes=40)
            unreserved = await allocate(c, "pool-a")
            reserved = await allocate(c, "pool-a", reservation_id=now.id)
            schedule = spb.Schedule(
                id="s1", name="change s1", domain="ChangeManagement", user="jf9860",
                workflow_name="Replace", callback_data="cb",
                vnfs=[spb.Vnf(name="vnf-a", group="g1", network_elements=["ne1"])],
                change_windows=[spb.TimeWindow(start_time=at(1), end_time=at(5))],
                normal_duration=Duration(seconds=1800), concurrency_limit=1)
            schedule.vnfs[0].so_request.update({"requestDetails": {"vnf": "vnf-a"}})
            await c.schedules.CreateSchedule(spb.CreateScheduleRequest(schedule=schedule))
            await c.schedules.CreateBlackout(spb.CreateBlackoutRequest(blackout=spb.Blackout(
                id="maint", network_elements=["ne1"], start_time=at(1), end_time=at(2))))
            self.plugin = await SimulatedDmiPlugin(self.target).start()
            await c.cm_inventory.UpdateRegistration(cpb.UpdateRegistrationRequest(
                dmi_plugin=self.plugin.address,
                created=[cpb.NewCmHandle(id="h1", public_properties={"site": "s1"}),
                         cpb.NewCmHandle(id="h2", alternate_id="alt-h2")]))
            await ppb_grpc.ParticipantProtocolServiceStub(c.channel).Register(
                ppb.RegisterRequest(participant_id="p1", replica_id="r1",
                                    element_types=["org.a"]))
            await c.compositions.CreateComposition(ppb.CreateCompositionRequest(
                composition=ppb.Composition(id="comp", elements=[ppb.ElementDefinition(
                    name="e0", type="org.a", version="1.0.0", start_phase=0)])))
        self.ids = {
            "pool": ["pool-a", "pool-b"], "reservation": [later.id, now.id],
            "instance": [unreserved.id, reserved.id], "schedule": ["s1"], "blackout": ["maint"],
            "cm_handle": ["h1", "h2"], "alternate": ["alt-h2"], "participant": ["p1"],
            "replica": ["r1"], "composition": ["comp"],
        }
        self.names = [
            "vnf-a", "ne1", self.plugin.address, "127.0.0.1:1", "org.a", "e0", "1.0.0",
            "m1.medium", "m1.tiny", "cirros", "mgmt", "openstack", "cores", "ram_mb",
            "gigabytes", "instances", "UTC", "Europe/Paris", "site", "s1",
        ]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with Served(tmp_path_factory.mktemp("fuzz") / "switchboard.db") as s:
        yield s


@pytest.fixture(scope="module")
def values(served: Served) -> Values:
    return Values(served.ids, served.names)


@pytest.fixture(scope="module")
def channel(served: Served) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(served.target) as ch:
        yield ch


@pytest.fixture(scope="module")
def authorized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("fuzz-authorized")
    with Served(directory / "switchboard.db", authorized=directory) as s:
        yield s


@pytest.fixture(scope="module")
def authorized_values(authorized: Served) -> Values:
    return Values(authorized.ids, authorized.names)


@pytest.fixture(scope="module")
def authorized_channel(authorized: Served) -> Iterator[grpc.Channel]:
    assert authorized.token is not None
    credentials = grpc.composite_channel_credentials(
        grpc.local_channel_credentials(), grpc.access_token_call_credentials(authorized.token))
    with grpc.secure_channel(authorized.target, credentials) as ch:
        yield ch


# ---- Values -------------------------------------------------------------------------------

EXTREMES = (0, 1, -1, 2, 255, 256, 2**31 - 1, -(2**31), 2**31, 2**32 - 1, 2**32, 2**53 + 1,
            2**63 - 1, -(2**63), 2**63, 2**64 - 1)
RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
START_S = START // 1_000_000
SECONDS_EXTREMES = (0, -1, -62_135_596_801, -62_135_596_800, 253_402_300_799, 253_402_300_800,
                    315_576_000_001, -315_576_000_001, 2**63 - 1, -(2**63))
"""Timestamp/Duration seconds at and beyond the valid ranges (years 1-9999, ±10,000 years)."""
NANOS_EXTREMES = (0, -1, 999_999_999, 1_000_000_000, 2**31 - 1, -(2**31))
WELL_KNOWN_TIME = {"google.protobuf.Timestamp", "google.protobuf.Duration"}
MAX_DEPTH = 4


def integers(lo: int, hi: int) -> st.SearchStrategy[int]:
    """Mostly the extremes of the range, else any value in it, or a small one."""
    extremes = st.sampled_from([v for v in EXTREMES if lo <= v <= hi])
    return st.one_of(extremes, extremes, st.integers(lo, hi), st.integers(0, 10))


def _repeated(field: FieldDescriptor) -> bool:
    if hasattr(field, "is_repeated"):  # protobuf >= 5.29; `label` is gone from 7
        return bool(field.is_repeated)
    return bool(field.label == FieldDescriptor.LABEL_REPEATED)


def long_text() -> st.SearchStrategy[str]:
    """Strings of 100 to 100,000 characters, cheap to draw: one character repeated."""
    return st.builds(lambda c, n: c * n, st.sampled_from(["a", "é", "\U0001f600", "\x00", " "]),
                     st.integers(100, 100_000))


def _all_fields(descriptor: Descriptor, seen: set[str]) -> Iterator[FieldDescriptor]:
    if descriptor.full_name in seen:
        return
    seen.add(descriptor.full_name)
    for field in descriptor.fields:
        yield field
        if field.message_type is not None:
            yield from _all_fields(field.message_type, seen)


FIELD_NAMES = sorted({f.name for m in RPCS for f in _all_fields(m.input_type, set())})
"""Every field name in a request: what a FieldMask path may plausibly name."""


class Values:
    """Fills messages from their descriptors. A `plausible` value is one a valid request might
    carry (a seeded id, a small number, an instant near the clock's); a wild one is anything
    the field's type allows. `wild` is the share of wild values."""

    def __init__(self, ids: dict[str, list[str]], names: list[str]) -> None:
        self.ids = {kind: st.sampled_from(found) for kind, found in ids.items()}
        self.known = st.sampled_from([*(i for found in ids.values() for i in found), *names])
        self.plausible_text = st.one_of(
            self.known, st.from_regex(r"[a-z][a-z0-9-]{0,11}", fullmatch=True))
        self.wild_text = st.one_of(self.known, st.text(max_size=30), long_text(),
                                   st.just(""), st.text(st.characters(codec="utf-8"), max_size=8))
        self.paths = st.lists(st.sampled_from(FIELD_NAMES), max_size=4)
        self.wild_paths = st.lists(st.one_of(st.sampled_from([*FIELD_NAMES, "", ".", "a.b.c"]),
                                             st.text(max_size=20), long_text()), max_size=4)

    def fill(self, draw: Any, message: Message, wild: float, depth: int = 0,
             name: str = "") -> None:
        """Sets some of the message's fields; `name` is the field the message is in."""
        descriptor = message.DESCRIPTOR
        if depth > MAX_DEPTH:
            return
        if descriptor.full_name in WELL_KNOWN_TIME:
            self._time(draw, message, wild, name)
            return
        if descriptor.full_name == "google.protobuf.FieldMask":
            paths = self.wild_paths if self._wild(draw, wild) else self.paths
            message.paths.extend(draw(paths))  # type: ignore[attr-defined]
            return
        if (descriptor.full_name == "google.protobuf.Struct" and self._wild(draw, wild)
                and draw(st.integers(0, 9)) == 0):
            _deep_struct(message, draw(st.integers(10, 150)))
            return
        for field in descriptor.fields:
            if field.containing_oneof is not None and message.WhichOneof(
                    field.containing_oneof.name) is not None:
                continue
            if draw(st.integers(0, 3)) >= (2 if self._wild(draw, wild) else 1):
                self._set(draw, message, field, wild, depth)

    def _ids_for(self, field: FieldDescriptor) -> st.SearchStrategy[str]:
        """Seeded ids of the kind a field names (`pool_id`, `cm_handle_ids`, `Pool.id`),
        else any seeded id or name."""
        kind = field.name.removesuffix("s").removesuffix("_id")
        if kind == "id":
            kind = re.sub(r"(?<!^)(?=[A-Z])", "_", field.containing_type.name).lower()
        for known, ids in self.ids.items():
            if kind.endswith(known):
                return ids
        return self.known

    def _wild(self, draw: Any, wild: float) -> bool:
        return wild >= 1 or (wild > 0 and draw(st.integers(0, 99)) < wild * 100)

    def _time(self, draw: Any, message: Any, wild: float, name: str) -> None:
        if self._wild(draw, wild):
            message.seconds = draw(st.one_of(st.sampled_from(SECONDS_EXTREMES),
                                             st.integers(-(2**63), 2**63 - 1)))
            message.nanos = draw(st.one_of(st.sampled_from(NANOS_EXTREMES),
                                           st.integers(-(2**31), 2**31 - 1)))
        elif message.DESCRIPTOR.full_name == "google.protobuf.Duration":
            message.seconds = draw(st.sampled_from([0, 1, 60, 300, 1800, 3600, 86_400]))
        else:
            # Ends (`end_time`, `window_end`) after starts; starts sometimes in the past.
            half_hours = st.integers(49, 192) if "end" in name else st.one_of(
                st.integers(1, 48), st.integers(-4, 0))
            message.seconds = START_S + 1800 * draw(half_hours)

    def scalar(self, draw: Any, field: FieldDescriptor, wild: bool) -> Any:
        t = field.type
        if t == FieldDescriptor.TYPE_STRING and field.name.endswith(("id", "ids")):
            ids = self._ids_for(field)
            return draw(st.one_of(ids, self.wild_text) if wild else ids)
        if t == FieldDescriptor.TYPE_STRING:
            return draw(self.wild_text if wild else self.plausible_text)
        if t == FieldDescriptor.TYPE_BYTES:
            return draw(st.binary(max_size=64))
        if t == FieldDescriptor.TYPE_BOOL:
            return draw(st.booleans())
        if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            width = 64 if t == FieldDescriptor.TYPE_DOUBLE else 32
            return draw(st.floats(width=width) if wild else st.integers(0, 100).map(float))
        if t == FieldDescriptor.TYPE_ENUM:
            numbers = [v.number for v in field.enum_type.values]
            if wild:
                return draw(st.one_of(st.sampled_from(numbers), integers(-(2**31), 2**31 - 1)))
            return draw(st.sampled_from(numbers))
        lo, hi = RANGES[t]
        return draw(integers(lo, hi) if wild else st.one_of(st.integers(1, 10), st.just(0)))

    def _count(self, draw: Any, wild: float) -> tuple[int, int]:
        """How many entries a repeated field or map gets: distinct ones, then (sometimes, when
        wild) many copies of the last, a cheap way to very long ones."""
        distinct = draw(st.integers(0, 3))
        if distinct and self._wild(draw, wild) and draw(st.integers(0, 9)) == 0:
            return distinct, draw(st.sampled_from([100, 1000, 10_001, 100_000]))
        return distinct, 0

    def _set(self, draw: Any, message: Message, field: FieldDescriptor, wild: float,
             depth: int) -> None:
        target = getattr(message, field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key_field, value_field = field.message_type.fields
            distinct, copies = self._count(draw, wild)
            keys = [self.scalar(draw, key_field, self._wild(draw, wild)) for _ in range(distinct)]
            if key_field.type == FieldDescriptor.TYPE_STRING:
                keys += [f"k{n}" for n in range(min(copies, MAX_REQUEST // 64))]
            for key in keys:
                if value_field.message_type is not None:
                    self.fill(draw, target[key], wild, depth + 1)
                else:
                    target[key] = self.scalar(draw, value_field, self._wild(draw, wild))
        elif _repeated(field):
            distinct, copies = self._count(draw, wild)
            for _ in range(distinct):
                if field.message_type is not None:
                    self.fill(draw, target.add(), wild, depth + 1)
                else:
                    target.append(self.scalar(draw, field, self._wild(draw, wild)))
            if copies:
                last = target[-1]
                size = last.ByteSize() if field.message_type is not None else len(
                    last.encode() if isinstance(last, str) else str(last))
                target.extend([last] * min(copies, MAX_REQUEST // (size + 2)))
        elif field.message_type is not None:
            target.SetInParent()
            self.fill(draw, target, wild, depth + 1, field.name)
        else:
            setattr(message, field.name, self.scalar(draw, field, self._wild(draw, wild)))


def _deep_struct(out: Any, depth: int) -> None:
    """A Struct nested `depth` levels ({"a": {"a": ...}}): beyond protobuf's parse limit (100)
    the request cannot be decoded."""
    inner: Any = {"leaf": 1}
    for _ in range(depth):
        inner = {"a": inner}
    out.update(inner)




# ---- Requests -----------------------------------------------------------------------------


class Request:
    """Request bytes, shown (when an example fails) as what they encode, cut short."""

    def __init__(self, kind: str, data: bytes, message: Message | None = None) -> None:
        self.kind = kind
        self.data = data
        self.message = message

    def __repr__(self) -> str:
        shown = str(self.message)[:2000] if self.message is not None else repr(self.data[:200])
        return f"<{self.kind}, {len(self.data)} bytes: {shown}>"


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append(n & 0x7F | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _undecodable(descriptor: Descriptor, valid: bytes) -> list[bytes]:
    """Ways a valid encoding stops being one: cut short, a truncated or over-long varint, a
    wire type that does not exist, a length beyond the end, a string that is not UTF-8."""
    strings = [f.number for f in descriptor.fields if f.type == FieldDescriptor.TYPE_STRING]
    number = strings[0] if strings else 1
    return [
        valid[:-1] if valid else b"\xff",
        valid + b"\x80",
        valid + b"\x08" + b"\xff" * 10 + b"\x01",
        valid + bytes([1 << 3 | 7]),
        valid + _varint(number << 3 | 2) + _varint(1000) + b"x",
        valid + _varint(number << 3 | 2) + b"\x02\xff\xfe",
    ]


KINDS = ("empty", "plausible", "plausible", "mixed", "mixed", "wild", "bytes", "broken")
"""What requests are made of, weighted: mostly plausible values, that get past validation."""


@st.composite
def requests(draw: Any, values: Values, descriptor: Descriptor) -> Request:
    """A message of the type (empty, plausible, partly or wholly wild), or bytes that are not
    a valid encoding of one."""
    kind = draw(st.sampled_from(KINDS))
    if kind == "empty":
        return Request(kind, b"")
    if kind == "bytes":
        return Request(kind, draw(st.binary(min_size=1, max_size=256)))
    wild = {"plausible": 0.0, "mixed": 0.2, "wild": 1.0, "broken": 0.0}[kind]
    message = GetMessageClass(descriptor)()
    values.fill(draw, message, wild)
    data = message.SerializeToString()
    if kind == "broken":
        broken = draw(st.sampled_from(_undecodable(descriptor, data)))
        return Request(f"{kind} (ending {broken[len(data) - 1:][:20]!r})", broken, message)
    return Request(kind, data, message)


def call(channel: grpc.Channel, rpc: MethodDescriptor, data: bytes
         ) -> tuple[grpc.StatusCode, str]:
    """Sends the bytes as the RPC's request; the status (a server stream: once its first
    message came, or it ended, or STREAM_TIMEOUT passed: DEADLINE_EXCEEDED)."""
    path = f"/{rpc.containing_service.full_name}/{rpc.name}"
    try:
        if rpc.server_streaming:
            stream = channel.unary_stream(path)(data, timeout=STREAM_TIMEOUT)
            try:
                next(stream, None)
            finally:
                stream.cancel()
        else:
            channel.unary_unary(path)(data, timeout=CALL_TIMEOUT)
    except grpc.RpcError as error:
        return error.code(), error.details() or ""
    return grpc.StatusCode.OK, ""


def healthy(channel: grpc.Channel) -> bool:
    response = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(), timeout=CALL_TIMEOUT)
    return bool(response.status == health_pb2.HealthCheckResponse.SERVING)


@pytest.mark.parametrize("rpc", RPCS, ids=lambda m: f"{m.containing_service.name}.{m.name}")
@settings(max_examples=max(1, EXAMPLES // len(RPCS)), derandomize=True, database=None,
          deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzz(served: Served, values: Values, channel: grpc.Channel, rpc: MethodDescriptor,
              data: st.DataObject) -> None:
    fuzz_one(served, values, channel, rpc, data)


@pytest.mark.parametrize("rpc", RPCS, ids=lambda m: f"{m.containing_service.name}.{m.name}")
@settings(max_examples=max(1, EXAMPLES // len(RPCS) // 4), derandomize=True, database=None,
          deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzz_with_authorization(authorized: Served, authorized_values: Values,
                                 authorized_channel: grpc.Channel, rpc: MethodDescriptor,
                                 data: st.DataObject) -> None:
    fuzz_one(authorized, authorized_values, authorized_channel, rpc, data)


def fuzz_one(served: Served, values: Values, channel: grpc.Channel, rpc: MethodDescriptor,
             data: st.DataObject) -> None:
    request = data.draw(requests(values, rpc.input_type), label="request")
    before = served.head()
    code, details = call(channel, rpc, request.data)
    assert code not in FORBIDDEN, f"{rpc.full_name}: {code.name} {details}"
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED:  # what a default client cannot read
        assert "metadata size exceeds" not in details, f"status over the metadata limit: {details}"
        assert "larger than max" not in details or len(request.data) > MAX_MESSAGE, (
            f"response over 4 MiB: {details}")
    if not rpc.server_streaming:
        assert code is not grpc.StatusCode.DEADLINE_EXCEEDED, f"{rpc.full_name} hung"
    if code is grpc.StatusCode.OK:
        served.settle(quiet=0.05)
    elif code is not grpc.StatusCode.DEADLINE_EXCEEDED and served.head() != before:
        # Background work an earlier request set off may have written meanwhile: once it has
        # settled, the same request again; one that writes when rejected writes again.
        written = served.events_after(before)
        settled = served.settle()
        again, _ = call(channel, rpc, request.data)
        assert again is grpc.StatusCode.OK or served.head() == settled, (
            f"{rpc.full_name} rejected ({code.name} {details}) and wrote {written}")
    assert healthy(channel), "the server is not SERVING"
