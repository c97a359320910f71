"""Switchboard reservation and allocation benchmark: one run, one ceiling (see bench/README.md).

(a) ceiling: grpc.health.v1 Health/Check calls/s at concurrency C against the server;
(b) CreateReservation calls/s, p50/p99 latency at concurrency C, and its ratio to (a);
(c) watch fan-out: W live watchers receiving N reservation events, made at concurrency C by
    CreateReservation (--producer create, the default: admitted in batches, the fastest
    one-event-per-call producer) or UpdateReservation: events/s delivered over all watchers
    and p99 delivery lag;
(c') the same watchers replaying those events from the log: the fan-out's own capacity;
(d) the server's peak RSS (VmHWM);
(e) CreateInstance calls/s (simulated VIM, zero build time), p50/p99 latency at concurrency C,
    and its ratio to (a);
(f) CreateInstance to ACTIVE seen on a WatchInstances stream: p50/p99, at concurrency C;
(b') with --tls: (b) against a second server that takes mTLS only (certificates made at run
    time by tests/certs.py) with authorization on (a policy giving the bench client the
    operator and viewer roles; its principal from its client certificate, or with
    --tls-auth token or token-credentials from a JWT bearer token), interleaved with (b), and
    its ratio to (b)
    (goal: at least 0.85) and server CPU per call of each; and the cost of a new connection
    (handshake and one Health/Check) on each.

(a), (b) and (e) are interleaved in --rounds rounds, so that the machine's drift falls alike on
the ceiling and on the calls compared with it.

The server runs as a subprocess on a free 127.0.0.1 port with a fresh temporary SQLite file
(or --database-url). The load runs in separate processes (--client-procs), each one grpc.aio
event loop on one channel. Every loop is bounded by a deadline and a call budget.

    .venv/bin/python bench/reservation_bench.py [--seconds 10] [--events 10000] [--watchers 50]
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
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc

from switchboard.allocation.v1 import allocation_pb2 as apb
from switchboard.allocation.v1 import allocation_pb2_grpc as apb_grpc
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.reservation.v1 import reservation_pb2_grpc as pb_grpc

from benchlib import free_port, percentile, proc_status, py_spy_record

HOUR = 3600.0
DAY = 24 * HOUR
CALL_TIMEOUT = 30.0  # seconds, per unary call
TARGET_RATIO = 0.4
TARGET_SECURED_RATIO = 0.85  # issue 15: mTLS + authorization costs at most 15% of throughput
TARGET_P99_MS = 50.0
TARGET_EVENTS_S = 50_000.0
TARGET_LAG_P99_MS = 200.0


# -- small helpers ---------------------------------------------------------------------------


def open_channel(target: str, pki: str | Path = "",
                 options: Sequence[tuple[str, Any]] = (), token: str = "") -> grpc.aio.Channel:
    """Plaintext, or mTLS with the client certificate in `pki` (tests/certs.py's files), and
    then `token` as a bearer token on every call if given."""
    if not pki:
        return grpc.aio.insecure_channel(target, options=options)
    d = Path(pki)
    credentials = grpc.ssl_channel_credentials(
        (d / "ca.pem").read_bytes(), (d / "client.key").read_bytes(),
        (d / "client.pem").read_bytes())
    if token:
        credentials = grpc.composite_channel_credentials(
            credentials, grpc.access_token_call_credentials(token))
    return grpc.aio.secure_channel(target, credentials, options=options)


TESTS = Path(__file__).resolve().parent.parent / "tests"
CLIENT_PRINCIPAL = "switchboard-test-client"
"""The CN of tests/certs.py's client certificate: the bench client's principal (or its
token's subject)."""


def make_pki(directory: Path) -> Path:
    """A CA, a server and a client certificate in `directory`, made by tests/certs.py."""
    directory.mkdir()
    subprocess.run([sys.executable, str(TESTS / "certs.py"), str(directory)], check=True)
    return directory


def authorization_args(directory: Path, auth: str) -> tuple[list[str], str]:
    """Server flags that turn authorization on, with a policy in `directory` giving the bench
    client the operator and viewer roles in the project "bench" (so ownership is checked on
    every call too); and the bearer token to send ("" with `cert`: the principal is the client
    certificate's CN)."""
    policy = directory / "policy.toml"
    policy.write_text(f'[principals]\n"{CLIENT_PRINCIPAL}" = ["operator", "viewer"]\n\n'
                      f'[projects.bench]\nprincipals = ["{CLIENT_PRINCIPAL}"]\n')
    args = ["--policy-file", str(policy), "--tls-client-identity", "cn"]
    if not auth.startswith("token"):
        return args, ""
    sys.path.insert(0, str(TESTS))
    from tokens import AUDIENCE, ISSUER, Issuer  # tests/tokens.py: a key made now

    issuer = Issuer()
    issuer.write_pem(directory / "jwt.pem")
    token = issuer.token(CLIENT_PRINCIPAL, time.time_ns() // 1000, lifetime_s=24 * 3600)
    return [*args, "--jwt-issuer", ISSUER, "--jwt-audience", AUDIENCE,
            "--jwt-key-file", str(directory / "jwt.pem")], token


def timestamp(seconds: float) -> Timestamp:
    whole = int(seconds)
    return Timestamp(seconds=whole, nanos=int((seconds - whole) * 1e9))


def cpu_seconds_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def create_request(pool_id: str, rng: random.Random,
                   request_ids: bool) -> pb.CreateReservationRequest:
    """A 1-hour, 1-core reservation at a random start over the next ~300 days."""
    start = time.time() + HOUR + rng.uniform(0, 300 * DAY)
    return pb.CreateReservationRequest(
        reservation=pb.Reservation(
            pool_id=pool_id, name="bench", start_time=timestamp(start),
            end_time=timestamp(start + HOUR), resources=pb.Resources(cores=1),
        ),
        request_id=uuid.uuid4().hex if request_ids else "",
    )


def instance_request(pool_id: str) -> apb.CreateInstanceRequest:
    """An m1.tiny instance outside any reservation."""
    return apb.CreateInstanceRequest(instance=apb.Instance(
        pool_id=pool_id, name="bench", flavor="m1.tiny", image="cirros"))


# -- load worker (runs in a spawned process) --------------------------------------------------


@dataclass(frozen=True)
class Window:
    """One stretch of load: calls start from `start_at` until `measure_to`; those completing
    before `measure_from` are warm-up."""

    start_at: float  # time.time()
    measure_from: float
    measure_to: float


@dataclass
class LoadSpec:
    kind: str  # "health", "create", "update" or "instance"
    target: str
    concurrency: int
    windows: list[Window]  # run one after another, on one channel
    max_calls: int  # call budget for this process over all its windows (bounds the loops)
    pool_id: str = ""
    seed: int = 0
    request_ids: bool = False
    reservation_ids: list[str] = field(default_factory=list)  # "update": one per call slot
    pki: str = ""  # directory of tests/certs.py's files: connect with mTLS; empty: plaintext
    token: str = ""  # with pki: a bearer token sent on every call
    token_credentials: bool = False  # send it by call credentials, not as call metadata


@dataclass
class LoadResult:
    ok: int = 0  # calls completing inside [measure_from, measure_to]
    errors: dict[str, int] = field(default_factory=dict)
    total_calls: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, measured calls only
    first_send: float = float("inf")
    last_done: float = 0.0
    cpu: float = 0.0  # CPU seconds of this process between start and end of the load
    wall: float = 0.0


async def _load(spec: LoadSpec) -> list[LoadResult]:
    """Runs the spec's windows in turn; one result per window."""
    results = []
    by_metadata = spec.token and not spec.token_credentials
    md = (("authorization", f"Bearer {spec.token}"),) if by_metadata else None
    async with open_channel(spec.target, spec.pki,
                            token="" if by_metadata else spec.token) as channel:
        await asyncio.wait_for(channel.channel_ready(), 10)
        if spec.kind == "health":
            health = health_pb2_grpc.HealthStub(channel)
            request = health_pb2.HealthCheckRequest(service="")

            def call(slot: int) -> Any:
                return health.Check(request, timeout=CALL_TIMEOUT, metadata=md)
        elif spec.kind in ("create", "create-mtls"):
            stub = pb_grpc.ReservationServiceStub(channel)
            rng = random.Random(spec.seed)

            def call(slot: int) -> Any:
                return stub.CreateReservation(
                    create_request(spec.pool_id, rng, spec.request_ids), timeout=CALL_TIMEOUT,
                    metadata=md)
        elif spec.kind == "instance":
            instances = apb_grpc.AllocationServiceStub(channel)
            new_instance = instance_request(spec.pool_id)

            def call(slot: int) -> Any:
                return instances.CreateInstance(new_instance, timeout=CALL_TIMEOUT, metadata=md)
        else:  # "update": rename a reservation (no capacity check); one event per call
            stub = pb_grpc.ReservationServiceStub(channel)
            mask = FieldMask(paths=["name"])
            counter = [0]

            def call(slot: int) -> Any:
                counter[0] += 1
                return stub.UpdateReservation(pb.UpdateReservationRequest(
                    reservation=pb.Reservation(id=spec.reservation_ids[slot],
                                               name=f"bench-{counter[0]}"),
                    update_mask=mask), timeout=CALL_TIMEOUT, metadata=md)

        budget = [spec.max_calls]

        async def one(slot: int, window: Window, result: LoadResult) -> None:
            while budget[0] > 0 and time.time() < window.measure_to:
                budget[0] -= 1
                sent = time.time()
                result.first_send = min(result.first_send, sent)
                t0 = time.perf_counter()
                try:
                    await call(slot)
                except grpc.aio.AioRpcError as e:
                    result.errors[e.code().name] = result.errors.get(e.code().name, 0) + 1
                    continue
                finally:
                    result.total_calls += 1
                latency = time.perf_counter() - t0
                done = time.time()
                result.last_done = max(result.last_done, done)
                if window.measure_from <= done <= window.measure_to:
                    result.ok += 1
                    result.latencies.append(latency)

        for window in spec.windows:
            result = LoadResult()
            await asyncio.sleep(max(0.0, window.start_at - time.time()))
            cpu0, wall0 = cpu_seconds_self(), time.time()
            await asyncio.gather(*(one(i, window, result) for i in range(spec.concurrency)))
            result.cpu, result.wall = cpu_seconds_self() - cpu0, time.time() - wall0
            results.append(result)
    return results


def load_worker(index: int, spec: LoadSpec, out: Any) -> None:
    try:
        out.put(("ok", index, asyncio.run(_load(spec))))
    except BaseException:  # reported to the parent, which fails the run
        out.put(("error", index, traceback.format_exc()))


# -- watch worker (runs in a spawned process) -------------------------------------------------


@dataclass
class WatchSpec:
    target: str
    watchers: int
    events: int  # the watches end once every watcher has this many events
    deadline: float  # time.time() after which every watch is cancelled
    channels: int = 1
    start_revision: int = 0  # > 0: replay from the log (no lag figures)


@dataclass
class WatchResult:
    live_after: float = 0.0  # seconds until every watcher had its first (progress) response
    counts: list[int] = field(default_factory=list)
    first_recv: float = float("inf")
    last_recv: float = 0.0
    lag_p50: float = float("nan")
    lag_p99: float = float("nan")
    lag_max: float = float("nan")
    errors: dict[str, int] = field(default_factory=dict)
    out_of_order: int = 0
    time_backwards: int = 0  # events stamped earlier than the previous revision's event
    responses: int = 0
    min_revision: int = 0
    start: float = 0.0  # replay: when the watches were requested
    cpu: float = 0.0
    wall: float = 0.0


async def _watch(spec: WatchSpec, live: Any, done: Any) -> WatchResult:
    result = WatchResult(counts=[0] * spec.watchers)
    lags: list[float] = []
    channels = [grpc.aio.insecure_channel(spec.target) for _ in range(spec.channels)]
    try:
        for channel in channels:
            await asyncio.wait_for(channel.channel_ready(), 10)
        stubs = [pb_grpc.ReservationServiceStub(c) for c in channels]
        first = [asyncio.get_running_loop().create_future() for _ in range(spec.watchers)]
        calls = []

        async def watcher(i: int) -> None:
            call = stubs[i % len(stubs)].WatchReservations(
                pb.WatchReservationsRequest(start_revision=spec.start_revision))
            calls.append(call)
            last_revision = 0
            last_time = 0.0
            try:
                async for response in call:
                    now = time.time()
                    if not first[i].done():
                        first[i].set_result(now)
                    if not response.events:
                        continue
                    result.responses += 1
                    result.first_recv = min(result.first_recv, now)
                    result.last_recv = max(result.last_recv, now)
                    if not result.min_revision:
                        result.min_revision = response.events[0].revision
                    result.min_revision = min(result.min_revision, response.events[0].revision)
                    if replay:
                        if response.events[0].revision <= last_revision:
                            result.out_of_order += 1
                        last_revision = response.events[-1].revision
                    for event in () if replay else response.events:
                        t = event.time
                        stamped = t.seconds + t.nanos * 1e-9
                        lags.append(now - stamped)
                        if stamped < last_time:
                            result.time_backwards += 1
                        last_time = stamped
                        if event.revision <= last_revision:
                            result.out_of_order += 1
                        last_revision = event.revision
                    result.counts[i] += len(response.events)
            except grpc.aio.AioRpcError as e:
                if e.code() != grpc.StatusCode.CANCELLED:
                    result.errors[e.code().name] = result.errors.get(e.code().name, 0) + 1
            finally:
                call.cancel()
                if not first[i].done():
                    first[i].set_result(None)

        replay = spec.start_revision > 0
        t0 = time.time()
        cpu0, wall0 = cpu_seconds_self(), t0
        result.start = t0
        tasks = [asyncio.create_task(watcher(i)) for i in range(spec.watchers)]
        if not replay:
            await asyncio.wait_for(asyncio.gather(*first), 30)
            result.live_after = time.time() - t0
            cpu0, wall0 = cpu_seconds_self(), time.time()
        live.set()
        # Bounded: the watches are cancelled together once every one has its events (none is
        # cancelled while others still stream), at the deadline, or 10 s after the producers
        # are done (events that never came).
        pending = set(tasks)
        finished_at: float | None = None
        while pending and time.time() < spec.deadline:
            _, pending = await asyncio.wait(pending, timeout=0.1)
            if min(result.counts) >= spec.events:
                break
            if done.is_set():
                finished_at = finished_at or time.time()
                if time.time() - finished_at > 10:
                    break
        for call in calls:
            call.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        result.cpu, result.wall = cpu_seconds_self() - cpu0, time.time() - wall0
    finally:
        for channel in channels:
            await channel.close()
    lags.sort()
    result.lag_p50, result.lag_p99 = percentile(lags, 50), percentile(lags, 99)
    result.lag_max = lags[-1] if lags else float("nan")
    return result


def watch_worker(spec: WatchSpec, live: Any, done: Any, out: Any) -> None:
    try:
        out.put(("ok", asyncio.run(_watch(spec, live, done))))
    except BaseException:
        live.set()
        out.put(("error", traceback.format_exc()))


# -- the server under test --------------------------------------------------------------------


class Server:
    def __init__(self, args: argparse.Namespace, mtls: bool = False) -> None:
        """`mtls`: serve mTLS only, with certificates made in its temporary directory, and
        authorization on (`authorization_args`)."""
        self.tmp = Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
        self.pki = make_pki(self.tmp / "pki") if mtls else ""
        self.token = ""
        self.port = free_port()
        self.target = f"127.0.0.1:{self.port}"
        self.database_url = args.database_url or f"sqlite+aiosqlite:///{self.tmp / 'bench.db'}"
        self.log_path = self.tmp / "server.log"
        cmd = [
            sys.executable, "-m", "switchboard.server", "--host", "127.0.0.1",
            "--port", str(self.port), "--database-url", self.database_url,
            "--log-level", args.log_level, "--shutdown-grace", "1",
            "--vim-build-seconds", "0", "--vim-delete-seconds", "0",
        ]
        if args.watch_buffer_events:
            cmd += ["--watch-buffer-events", str(args.watch_buffer_events)]
        if self.pki:
            cmd += ["--tls-cert-file", f"{self.pki}/server.pem",
                    "--tls-key-file", f"{self.pki}/server.key",
                    "--tls-client-ca-file", f"{self.pki}/ca.pem"]
            authorization, self.token = authorization_args(self.tmp, args.tls_auth)
            cmd += authorization
        cmd += args.server_arg
        self.cmd = cmd
        self._log = open(self.log_path, "wb")  # closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, cwd=self.tmp)
        self.pid = self.proc.pid

    def wait_ready(self, timeout: float = 30.0) -> None:
        async def probe() -> bool:
            async with open_channel(self.target, self.pki, token=self.token) as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                try:
                    r = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                except grpc.aio.AioRpcError:
                    return False
                return bool(r.status == health_pb2.HealthCheckResponse.SERVING)

        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            if asyncio.run(probe()):
                return
            time.sleep(0.2)
        raise RuntimeError(f"server not SERVING after {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def cpu(self) -> float:
        return proc_cpu_seconds(self.pid)

    def died(self) -> str:
        """Empty while the server runs, else how it ended."""
        code = self.proc.poll()
        if code is None:
            return ""
        return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exited {code}"

    def memory_kb(self) -> tuple[int, int]:
        """(VmHWM, VmRSS), or (0, 0) once the process is gone."""
        try:
            return proc_status(self.pid, "VmHWM"), proc_status(self.pid, "VmRSS")
        except (OSError, KeyError):
            return 0, 0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


# -- phases (run from the parent) -------------------------------------------------------------


class Phase:
    """Server CPU and wall time over one phase."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.cpu0, self.wall0 = server.cpu(), time.time()
        self.server_cpu = self.wall = 0.0

    def end(self) -> None:
        self.server_cpu = self.server.cpu() - self.cpu0
        self.wall = time.time() - self.wall0


def start_workers(ctx: Any, specs: list[LoadSpec]) -> tuple[list[Any], Any]:
    out = ctx.Queue()
    procs = [ctx.Process(target=load_worker, args=(i, s, out), daemon=True)
             for i, s in enumerate(specs)]
    for p in procs:
        p.start()
    return procs, out


def collect_workers(procs: list[Any], out: Any, timeout: float) -> list[list[LoadResult]]:
    """Each load process's results (one per window), in the order of its spec."""
    results: list[list[LoadResult]] = [[] for _ in procs]
    try:
        for _ in procs:
            status, index, value = out.get(timeout=timeout)
            if status != "ok":
                raise RuntimeError(f"load worker failed: {value}")
            results[index] = value
    finally:
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.kill()
    return results


PHASE_OF = {"health": "a", "create": "b", "create-mtls": "b'", "instance": "e"}


def unary_rounds(ctx: Any, args: argparse.Namespace, servers: dict[str, tuple[Server, str]],
                 kinds: list[str]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The unary phases, interleaved: --rounds rounds, each giving every kind in turn one window
    of --seconds / --rounds measured seconds after --warmup. Drift of the machine's speed (a
    shared VM's ceiling moves by a third over minutes) then falls alike on every kind. The
    server's CPU is sampled over the measured part of each window. `servers`: each kind's
    server and pool. Returns each kind's summary (`summarize_unary`), and notes."""
    measured = args.seconds / args.rounds
    t = time.time() + args.spawn_delay
    plan: list[tuple[str, Window]] = []
    for _ in range(args.rounds):
        for kind in kinds:
            plan.append((kind, Window(t, t + args.warmup, t + args.warmup + measured)))
            t += args.warmup + measured
    specs: list[LoadSpec] = []
    for kind in kinds:
        windows = [w for k, w in plan if k == kind]
        server, pool_id = servers[kind]
        specs += [
            LoadSpec(kind, server.target, conc, windows, max_calls=args.max_calls,
                     pool_id=pool_id, seed=1000 * i + 7, request_ids=args.request_ids,
                     pki=str(server.pki), token=server.token,
                     token_credentials=args.tls_auth == "token-credentials")
            for i, conc in enumerate(split(args.concurrency, args.client_procs))
        ]
    procs, out = start_workers(ctx, specs)
    phases: dict[str, list[Phase]] = {k: [] for k in kinds}
    profiler: subprocess.Popen[bytes] | None = None
    notes: list[str] = []
    try:
        for kind, w in plan:
            time.sleep(max(0.0, w.start_at - time.time()))
            server = servers[kind][0]
            if profiler is None and not phases[kind]:
                profiler = start_profiler(args, server, PHASE_OF[kind],
                                          w.measure_to - w.start_at)
            time.sleep(max(0.0, w.measure_from - time.time()))
            phase = Phase(server)
            time.sleep(max(0.0, w.measure_to - time.time()))
            phase.end()
            phases[kind].append(phase)
        if profiler is not None:
            notes += finish_profiler(args, profiler, args.profile_phase)
    finally:
        if profiler is not None and profiler.poll() is None:
            profiler.kill()
        results = collect_workers(procs, out, timeout=120)
    summaries = {}
    for kind in kinds:
        mine = [r for spec, r in zip(specs, results, strict=True) if spec.kind == kind]
        summary = summarize_unary([r for per_window in mine for r in per_window], args.seconds)
        summary["round_rates"] = [sum(per_window[i].ok for per_window in mine) / measured
                                  for i in range(args.rounds)]
        summary["client_cpu"] = sum(sum(r.cpu for r in per_window) / sum(r.wall for r in per_window)
                                    for per_window in mine)
        summary["server_cpu"] = (sum(p.server_cpu for p in phases[kind])
                                 / sum(p.wall for p in phases[kind]))
        summaries[kind] = summary
    return summaries, notes


def summarize_unary(results: list[LoadResult], seconds: float) -> dict[str, Any]:
    latencies = sorted(x for r in results for x in r.latencies)
    errors: dict[str, int] = {}
    for r in results:
        for k, v in r.errors.items():
            errors[k] = errors.get(k, 0) + v
    return {
        "rate": sum(r.ok for r in results) / seconds,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "errors": errors,
        "calls": sum(r.total_calls for r in results),
    }


def ratio_rows(calls: dict[str, Any], ceiling: dict[str, Any], name: str = "(a)",
               target: float | None = TARGET_RATIO) -> list[tuple[str, str, str, str]]:
    """The ratio to `name` ((a) unless told) over the whole run, and its spread over the
    rounds; checked against `target` unless None."""
    ratio = calls["rate"] / ceiling["rate"]
    rounds = sorted(c / h for c, h in zip(calls["round_rates"], ceiling["round_rates"],
                                         strict=True) if h)
    spread = (f"{rounds[0]:.3f} / {statistics.median(rounds):.3f} / {rounds[-1]:.3f}"
              if rounds else "-")
    met = "" if target is None else "yes" if ratio >= target else "NO"
    return [(f"    ratio to {name}", f"{ratio:.3f}", "" if target is None else f">= {target}",
             met),
            (f"    ratio per round, min / median / max ({len(rounds)})", spread, "", "")]


def make_reservations(target: str, pool_id: str, n: int) -> list[str]:
    """Reservations for the "update" producer to rename (made before the watchers start)."""
    async def make() -> list[str]:
        async with grpc.aio.insecure_channel(target) as channel:
            stub = pb_grpc.ReservationServiceStub(channel)
            rng = random.Random(4242)
            return [(await stub.CreateReservation(create_request(pool_id, rng, False),
                                                  timeout=CALL_TIMEOUT)).reservation.id
                    for _ in range(n)]
    return asyncio.run(make())


def watch_phase(ctx: Any, args: argparse.Namespace, server: Server,
                pool_id: str) -> tuple[WatchResult, list[LoadResult], Phase]:
    """(c): watchers go live, then the producers make exactly --events reservation events."""
    slots = split(args.producer_concurrency, args.client_procs)
    ids = make_reservations(server.target, pool_id, args.producer_concurrency) \
        if args.producer == "update" else []
    live, done, out = ctx.Event(), ctx.Event(), ctx.Queue()
    deadline = time.time() + args.watch_timeout
    spec = WatchSpec(server.target, args.watchers, args.events, deadline, args.watch_channels)
    watcher = ctx.Process(target=watch_worker, args=(spec, live, done, out), daemon=True)
    watcher.start()
    try:
        if not live.wait(60):
            raise RuntimeError("watchers did not go live within 60 s")
        start_at = time.time() + args.spawn_delay
        specs = [
            LoadSpec(args.producer, server.target, conc, [Window(start_at, start_at, deadline)],
                     max_calls=n, pool_id=pool_id, seed=99_000 + i, request_ids=args.request_ids,
                     reservation_ids=ids[sum(slots[:i]):sum(slots[:i + 1])])
            for i, (conc, n) in enumerate(zip(slots, split(args.events, args.client_procs),
                                              strict=True))
        ]
        procs, pout = start_workers(ctx, specs)
        time.sleep(max(0.0, start_at - time.time()))
        phase = Phase(server)
        producers = [r for (r,) in collect_workers(procs, pout, timeout=args.watch_timeout + 60)]
        done.set()
        status, value = out.get(timeout=args.watch_timeout + 60)
        phase.end()
        if status != "ok":
            raise RuntimeError(f"watch worker failed: {value}")
        return value, producers, phase
    finally:
        done.set()
        watcher.join(5)
        if watcher.is_alive():
            watcher.kill()


def replay_phase(ctx: Any, args: argparse.Namespace, server: Server,
                 start_revision: int) -> tuple[WatchResult, Phase]:
    """(c'): the same watchers replay the same events from the log: the fan-out's own ceiling,
    with no producer in the way."""
    live, done, out = ctx.Event(), ctx.Event(), ctx.Queue()
    spec = WatchSpec(server.target, args.watchers, args.events,
                     time.time() + args.watch_timeout, args.watch_channels, start_revision)
    watcher = ctx.Process(target=watch_worker, args=(spec, live, done, out), daemon=True)
    watcher.start()
    try:
        live.wait(60)
        phase = Phase(server)
        status, value = out.get(timeout=args.watch_timeout + 60)
        phase.end()
        if status != "ok":
            raise RuntimeError(f"watch worker failed: {value}")
        return value, phase
    finally:
        watcher.join(5)
        if watcher.is_alive():
            watcher.kill()


async def _to_active(target: str, pool_id: str, calls: int, concurrency: int
                     ) -> tuple[list[float], int]:
    """(f): seconds from sending CreateInstance to its ACTIVE event arriving on a watch, for
    `calls` instances created at `concurrency`; and how many never showed ACTIVE."""
    async with grpc.aio.insecure_channel(target) as channel:
        stub = apb_grpc.AllocationServiceStub(channel)
        sent: dict[str, float] = {}
        active: dict[str, float] = {}
        live, arrived = asyncio.Event(), asyncio.Event()
        watch = stub.WatchInstances(apb.WatchInstancesRequest(pool_id=pool_id))

        async def follow() -> None:
            async for response in watch:
                now = time.perf_counter()
                live.set()
                for event in response.events:
                    if event.instance.status == apb.INSTANCE_STATUS_ACTIVE:
                        active[event.instance.id] = now
                        arrived.set()

        follower = asyncio.create_task(follow())
        await asyncio.wait_for(live.wait(), 30)
        budget = [calls]
        request = instance_request(pool_id)

        async def one() -> None:
            while budget[0] > 0:
                budget[0] -= 1
                t0 = time.perf_counter()
                created = await stub.CreateInstance(request, timeout=CALL_TIMEOUT)
                sent[created.instance.id] = t0

        await asyncio.gather(*(one() for _ in range(concurrency)))
        deadline = time.time() + 60
        while not set(sent) <= set(active):
            arrived.clear()
            try:
                await asyncio.wait_for(arrived.wait(), max(0.0, deadline - time.time()))
            except TimeoutError:
                break
        watch.cancel()
        await asyncio.gather(follower, return_exceptions=True)
    seen = sorted(active[i] - t for i, t in sent.items() if i in active)
    return seen, len(sent) - len(seen)


def start_profiler(args: argparse.Namespace, server: Server, phase: str,
                   seconds: float) -> subprocess.Popen[bytes] | None:
    """py-spy recording the server for the next `seconds`, if --profile asks for this phase."""
    if not args.profile or args.profile_phase != phase:
        return None
    return py_spy_record(args.py_spy, server.pid, seconds, args.profile,
                         args.py_spy_arg or ["--nonblocking"])


def finish_profiler(args: argparse.Namespace, profiler: subprocess.Popen[bytes] | None,
                    phase: str) -> list[str]:
    if profiler is None:
        return []
    _, err = profiler.communicate(timeout=60)
    return [f"py-spy profile of the server during ({phase}): {args.profile}"
            + ("" if profiler.returncode == 0 else f" (failed: {err[-300:]!r})")]


# -- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--seconds", type=float, default=10.0,
                   help="measured duration of each of phases (a), (b) and (e), over all rounds")
    p.add_argument("--rounds", type=int, default=5,
                   help="rounds that (a), (b) and (e) are interleaved in: each round gives each "
                        "phase one window of --seconds / --rounds")
    p.add_argument("--warmup", type=float, default=0.5,
                   help="unmeasured warm-up at the start of every window of (a), (b) and (e)")
    p.add_argument("--concurrency", type=int, default=32, help="calls in flight")
    p.add_argument("--client-procs", type=int, default=1,
                   help="load-generator processes (the concurrency is split between them)")
    p.add_argument("--events", type=int, default=10_000, help="events produced in phase (c)")
    p.add_argument("--watchers", type=int, default=50, help="watch streams in phase (c)")
    p.add_argument("--producer", choices=("update", "create"), default="create",
                   help="what makes the phase (c) events, one event per call: UpdateReservation "
                        "renaming one of C reservations (one transaction per call) "
                        "or CreateReservation")
    p.add_argument("--producer-concurrency", type=int, default=64,
                   help="producer calls in flight in phase (c): enough that the producer, whose "
                        "admission batches grow with it, is not what limits the fan-out")
    p.add_argument("--no-replay", action="store_true",
                   help="skip (c'): the watchers replaying the phase (c) events from the log")
    p.add_argument("--watch-channels", type=int, default=1,
                   help="gRPC channels the watch streams are spread over")
    p.add_argument("--watch-timeout", type=float, default=180.0,
                   help="upper bound on phase (c), seconds")
    p.add_argument("--watch-buffer-events", type=int, default=0,
                   help="passed to the server when > 0 (server default 10000)")
    p.add_argument("--request-ids", action="store_true",
                   help="send a unique request_id with every CreateReservation (idempotency "
                        "lookup + insert per call)")
    p.add_argument("--max-calls", type=int, default=2_000_000,
                   help="call budget per load process and phase (bounds the loops)")
    p.add_argument("--database-url", default="",
                   help="server database (e.g. postgresql+asyncpg://...); default: a fresh "
                        "temporary SQLite file")
    p.add_argument("--log-level", default="warning", help="server --log-level")
    p.add_argument("--server-arg", action="append", default=[],
                   help="extra server flag, repeatable (--server-arg=--watch-batch-events=1000)")
    p.add_argument("--spawn-delay", type=float, default=2.0,
                   help="seconds allowed for load processes to start before a phase begins")
    p.add_argument("--instances", type=int, default=2000,
                   help="instances created in phase (f)")
    p.add_argument("--tls", action="store_true",
                   help="also (b'): CreateReservation against a second server, mTLS only and "
                        "with authorization on, interleaved with (b); and new-connection cost "
                        "on each")
    p.add_argument("--tls-auth", choices=("cert", "token", "token-credentials"), default="cert",
                   help="with --tls: the bench client's principal from its client "
                        "certificate (CN), or from a JWT bearer token sent on every call: as "
                        "call metadata (token, as grpcurl -H does), or by gRPC call credentials "
                        "(token-credentials, as the Python client does: grpcio runs them in a "
                        "thread per call, which costs the client)")
    p.add_argument("--connections", type=int, default=200,
                   help="with --tls: new connections timed on each server")
    p.add_argument("--skip", default="", help="comma-separated phases to skip: a,b,c,e,f")
    p.add_argument("--keep-tmp", action="store_true",
                   help="keep the temporary directory (SQLite file, server log)")
    p.add_argument("--profile-phase", choices=("b", "c", "e"), default="b",
                   help="the phase --profile records (c: its first 8 s)")
    p.add_argument("--profile", default="",
                   help="py-spy record the server during one phase into this file "
                        "(.json: speedscope, .txt: collapsed stacks, else flame graph SVG)")
    p.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy",
                   help="py-spy executable for --profile")
    p.add_argument("--py-spy-arg", action="append", default=[],
                   help="py-spy record flag in place of the default --nonblocking, repeatable "
                        "(--py-spy-arg=--native)")
    return p.parse_args(argv)


async def setup_pool(target: str, pki: str | Path = "", token: str = "") -> str:
    pool_id = "bench-" + uuid.uuid4().hex[:8]
    async with open_channel(target, pki, token=token) as channel:
        stub = pb_grpc.ReservationServiceStub(channel)
        await stub.CreatePool(pb.CreatePoolRequest(
            pool=pb.Pool(id=pool_id, provider="bench", availability_zone="az1")), timeout=10)
        await stub.IncreaseCapacity(pb.IncreaseCapacityRequest(
            pool_id=pool_id, resources=pb.Resources(
                cores=10**12, ram_mb=10**12, instances=10**12, gigabytes=10**12),
            reason="bench"), timeout=10)
    return pool_id


async def connection_ms(servers: list[Server], n: int) -> list[list[float]]:
    """Per server, the milliseconds each of `n` new connections takes to answer one
    Health/Check (its handshake included), the servers taken in turn."""
    options = [("grpc.use_local_subchannel_pool", 1)]  # a new connection each time
    out: list[list[float]] = [[] for _ in servers]
    for _ in range(n):
        for server, times in zip(servers, out, strict=True):
            t0 = time.perf_counter()
            async with open_channel(server.target, server.pki, options, server.token) as channel:
                await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=10)
            times.append((time.perf_counter() - t0) * 1000)
    return [sorted(t) for t in out]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    ctx = mp.get_context("spawn")
    server = Server(args)
    tls_server = Server(args, mtls=True) if args.tls and "b" not in skip else None
    connections: list[list[float]] = []
    notes: list[str] = []
    profiler: subprocess.Popen[bytes] | None = None
    health = create = create_mtls = watch = producers = replay = instance = None
    to_active: tuple[list[float], int] | None = None
    hwm_kb = rss_kb = 0
    crash = ""

    def checkpoint(phase: str) -> bool:
        """Samples the server's memory; False (and notes it) if the server has died."""
        nonlocal hwm_kb, rss_kb, crash
        if server.died():
            crash = crash or f"server {server.died()} during {phase}"
            return False
        hwm, rss = server.memory_kb()
        hwm_kb, rss_kb = max(hwm_kb, hwm), rss or rss_kb
        return True

    try:
        server.wait_ready()
        db = "PostgreSQL" if args.database_url.startswith("postgres") else "SQLite"
        print(f"server pid {server.pid} on {server.target}, {db}: {server.database_url}",
              flush=True)
        print(f"load: {args.client_procs} client process(es), concurrency {args.concurrency}, "
              f"(a), (b), (e): {args.seconds:g} s measured each, interleaved in {args.rounds} "
              f"rounds of windows with {args.warmup:g} s warm-up; "
              f"{os.cpu_count()} CPUs", flush=True)
        pool_id = asyncio.run(setup_pool(server.target))
        servers = {k: (server, pool_id) for k in PHASE_OF}
        if tls_server is not None:
            tls_server.wait_ready()
            print(f"mTLS + authorization ({args.tls_auth}) server pid {tls_server.pid} on "
                  f"{tls_server.target}, {tls_server.database_url}", flush=True)
            servers["create-mtls"] = (
                tls_server, asyncio.run(setup_pool(tls_server.target, tls_server.pki,
                                                   tls_server.token)))
            connections = asyncio.run(connection_ms([server, tls_server], args.connections))

        kinds = [k for k, phase in PHASE_OF.items()
                 if phase not in skip and (k != "create-mtls" or tls_server is not None)]
        if kinds:
            unary, more = unary_rounds(ctx, args, servers, kinds)
            notes += more
            health, create, create_mtls, instance = (unary.get(k) for k in PHASE_OF)
            for kind, summary in unary.items():
                rounds = " ".join(f"{r:,.0f}" for r in summary["round_rates"])
                print(f"({PHASE_OF[kind]}) {summary['rate']:,.0f} calls/s (rounds: {rounds})",
                      flush=True)
        if "c" not in skip and checkpoint("(a), (b), (e)"):
            profiler = start_profiler(args, server, "c", args.spawn_delay + 8)
            watch, producers, wphase = watch_phase(ctx, args, server, pool_id)
            notes += finish_profiler(args, profiler, "c")
            print(f"(c) {sum(watch.counts):,} events delivered", flush=True)
            if not args.no_replay and watch.min_revision and checkpoint("(c)"):
                try:
                    replay, rphase = replay_phase(ctx, args, server, watch.min_revision)
                    print(f"(c') {sum(replay.counts):,} events replayed", flush=True)
                except RuntimeError as e:
                    if not server.died():
                        raise
                    print(f"(c') failed: {e}", file=sys.stderr)
                time.sleep(0.5)
        if "f" not in skip and checkpoint("(c)"):
            to_active = asyncio.run(_to_active(server.target, pool_id, args.instances,
                                               args.concurrency))
            print(f"(f) {len(to_active[0]):,} instances seen ACTIVE", flush=True)
        checkpoint("the run")
    except BaseException:
        print(f"--- server (exit status {server.proc.poll()}) log tail ---\n"
              + server.log_tail(), file=sys.stderr)
        raise
    finally:
        if profiler is not None and profiler.poll() is None:
            profiler.kill()
        for each in (server, tls_server):
            if each is not None:
                each.stop()
                if not args.keep_tmp:
                    shutil.rmtree(each.tmp, ignore_errors=True)

    rows: list[tuple[str, str, str, str]] = []

    def ok(passed: bool) -> str:
        return "yes" if passed else "NO"

    if health:
        rows.append((f"(a) Health/Check calls/s (c={args.concurrency})",
                     f"{health['rate']:,.0f}", "ceiling", ""))
        rows.append(("    p50 / p99 latency ms",
                     f"{health['p50_ms']:.2f} / {health['p99_ms']:.2f}", "", ""))
        rows.append(("    server / client CPU (cores)",
                     f"{health['server_cpu']:.2f} / {health['client_cpu']:.2f}", "", ""))
    if create:
        rows.append((f"(b) CreateReservation calls/s (c={args.concurrency})",
                     f"{create['rate']:,.0f}", "", ""))
        if health:
            rows += ratio_rows(create, health)
        rows.append(("    p50 latency ms", f"{create['p50_ms']:.2f}", "", ""))
        rows.append(("    p99 latency ms", f"{create['p99_ms']:.2f}", f"< {TARGET_P99_MS:g}",
                     ok(create["p99_ms"] < TARGET_P99_MS)))
        rows.append(("    server / client CPU (cores)",
                     f"{create['server_cpu']:.2f} / {create['client_cpu']:.2f}", "", ""))
        rows.append(("    errors", str(create["errors"] or 0), "0", ok(not create["errors"])))
    if create and create_mtls:
        rows.append((f"(b') CreateReservation, mTLS + authorization ({args.tls_auth}) calls/s "
                     f"(c={args.concurrency})", f"{create_mtls['rate']:,.0f}", "", ""))
        rows += ratio_rows(create_mtls, create, "(b)", target=TARGET_SECURED_RATIO)
        rows.append(("    server CPU µs per call, (b) / (b')",
                     f"{create['server_cpu'] / create['rate'] * 1e6:.0f} / "
                     f"{create_mtls['server_cpu'] / create_mtls['rate'] * 1e6:.0f}", "", ""))
        rows.append(("    p50 / p99 latency ms",
                     f"{create_mtls['p50_ms']:.2f} / {create_mtls['p99_ms']:.2f}", "", ""))
        rows.append(("    server / client CPU (cores)",
                     f"{create_mtls['server_cpu']:.2f} / {create_mtls['client_cpu']:.2f}", "",
                     ""))
        rows.append(("    errors", str(create_mtls["errors"] or 0), "0",
                     ok(not create_mtls["errors"])))
    if connections:
        plain, mtls = connections
        rows.append((f"new connection + Health/Check ms, p50 plaintext / mTLS "
                     f"({args.connections} each)",
                     f"{percentile(plain, 50):.2f} / {percentile(mtls, 50):.2f}", "", ""))
    if watch and producers is not None:
        expected = args.watchers * args.events
        delivered = sum(watch.counts)
        first_call = min(r.first_send for r in producers)
        span = watch.last_recv - first_call if delivered else float("nan")
        rate = delivered / span if delivered else 0.0
        made = sum(r.total_calls - sum(r.errors.values()) for r in producers)
        made_span = max(r.last_done for r in producers) - first_call
        verb = "UpdateReservation" if args.producer == "update" else "CreateReservation"
        rows.append((f"(c) events/s delivered ({args.watchers} watchers)", f"{rate:,.0f}",
                     f">= {TARGET_EVENTS_S:,.0f}", ok(rate >= TARGET_EVENTS_S)))
        lag_ms = watch.lag_p99 * 1000
        rows.append(("    p99 delivery lag ms", f"{lag_ms:.1f}", f"< {TARGET_LAG_P99_MS:g}",
                     ok(lag_ms < TARGET_LAG_P99_MS)))
        rows.append(("    p50 / max delivery lag ms",
                     f"{watch.lag_p50 * 1000:.1f} / {watch.lag_max * 1000:.1f}", "", ""))
        rows.append(("    events stamped before the previous revision",
                     f"{watch.time_backwards // max(1, args.watchers):,}", "", ""))
        rows.append(("    events delivered / expected", f"{delivered:,} / {expected:,}", "all",
                     ok(delivered == expected)))
        rows.append(("    first call -> last delivery s", f"{span:.2f}", "", ""))
        rows.append((f"    producer {verb} calls/s (c={args.producer_concurrency})",
                     f"{made / made_span:,.0f}", "", ""))
        rows.append(("    events per watch response (mean)",
                     f"{delivered / max(1, watch.responses):.1f}", "", ""))
        rows.append(("    server / watchers / producer CPU (cores)",
                     f"{wphase.server_cpu / wphase.wall:.2f} / {watch.cpu / watch.wall:.2f} / "
                     f"{sum(r.cpu for r in producers) / max(r.wall for r in producers):.2f}",
                     "", ""))
        bad = dict(watch.errors)
        for r in producers:
            for k, v in r.errors.items():
                bad["producer " + k] = bad.get("producer " + k, 0) + v
        if watch.out_of_order:
            bad["out of order"] = watch.out_of_order
        rows.append(("    errors", str(bad or 0), "0", ok(not bad)))
    if crash and "(c')" in crash and not replay:
        rows.append(("(c') replay of the same events", "failed", "", "NO"))
    if replay:
        got = sum(replay.counts)
        span = replay.last_recv - replay.start
        complete = got == args.watchers * args.events
        rows.append(("(c') replay of the same events, events/s",
                     f"{got / span:,.0f}" if complete else "incomplete", "", ""))
        rows.append(("    events replayed / expected",
                     f"{got:,} / {args.watchers * args.events:,}", "all", ok(complete)))
        rows.append(("    server / watchers CPU (cores)",
                     f"{rphase.server_cpu / rphase.wall:.2f} / {replay.cpu / replay.wall:.2f}",
                     "", ""))
        if replay.errors or replay.out_of_order:
            rows.append(("    errors", str(replay.errors), "0", "NO"))
    if instance:
        rows.append((f"(e) CreateInstance calls/s (c={args.concurrency})",
                     f"{instance['rate']:,.0f}", "", ""))
        if health:
            rows += ratio_rows(instance, health)
        rows.append(("    p50 latency ms", f"{instance['p50_ms']:.2f}", "", ""))
        rows.append(("    p99 latency ms", f"{instance['p99_ms']:.2f}", f"< {TARGET_P99_MS:g}",
                     ok(instance["p99_ms"] < TARGET_P99_MS)))
        rows.append(("    server / client CPU (cores)",
                     f"{instance['server_cpu']:.2f} / {instance['client_cpu']:.2f}", "", ""))
        rows.append(("    errors", str(instance["errors"] or 0), "0", ok(not instance["errors"])))
    if to_active is not None:
        seen, missing = to_active
        rows.append((f"(f) CreateInstance -> ACTIVE seen, p50 / p99 ms (c={args.concurrency})",
                     f"{percentile(seen, 50) * 1000:.1f} / {percentile(seen, 99) * 1000:.1f}",
                     "", ""))
        rows.append(("    instances never seen ACTIVE", str(missing), "0", ok(not missing)))
    rows.append(("(d) server peak RSS (VmHWM) MiB", f"{hwm_kb / 1024:.1f}", "", ""))
    rows.append(("    server RSS at end MiB" + (" (last sample)" if crash else ""),
                 f"{rss_kb / 1024:.1f}", "", ""))
    if crash:
        rows.append(("server crashed", crash, "no crash", "NO"))

    header = ("figure", "value", "target", "met")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join([row[0].ljust(widths[0]), row[1].rjust(widths[1]),
                         row[2].ljust(widths[2]), row[3].ljust(widths[3])]).rstrip())
    for n in notes:
        print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
