"""Assembles the server: storage, event log, watch hub, services, health, reflection, and the
background tasks it owns; starts and stops them in order."""

from __future__ import annotations

import gc
import os
import socket
import uuid
from collections.abc import Sequence
from pathlib import Path

import grpc
import structlog
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from switchboard.allocation.v1 import allocation_pb2, allocation_pb2_grpc
from switchboard.cmhandle.v1 import cmhandle_pb2, cmhandle_pb2_grpc
from switchboard.participant.v1 import participant_pb2, participant_pb2_grpc
from switchboard.reservation.v1 import reservation_pb2, reservation_pb2_grpc
from switchboard.scheduler.v1 import scheduler_pb2, scheduler_pb2_grpc
from switchboard.server.allocation.lifecycle import Lifecycle
from switchboard.server.allocation.model import DEFAULT_FLAVORS, Flavor, parse_flavors
from switchboard.server.allocation.servicer import AllocationServicer
from switchboard.server.allocation.simvim import SimulatedVim, SimulatedVimSettings
from switchboard.server.clock import MICROS, Clock, SystemClock
from switchboard.server.cmhandle.changes import LCM_KIND
from switchboard.server.cmhandle.inventory import Inventory
from switchboard.server.cmhandle.modulesync import Backoff
from switchboard.server.cmhandle.servicer import CmHandleServicer, InventoryServicer
from switchboard.server.cmhandle.upkeep import UpkeepSettings
from switchboard.server.cmhandle.workers import HealthChecker, ModuleSync, Plugins, SyncSettings
from switchboard.server.config import Settings, is_loopback
from switchboard.server.db import Database
from switchboard.server.drain import Drain
from switchboard.server.eventlog import Event, EventLog
from switchboard.server.health import NOT_SERVING, SERVING, HealthServicer
from switchboard.server.identity import Authorizer, JwtVerifier
from switchboard.server.leases import Leases, Waker
from switchboard.server.limits import Limits, LimitSettings
from switchboard.server.participant.runtime import Runtime, RuntimeSettings
from switchboard.server.participant.servicer import (
    AutomationCompositionServicer,
    ParticipantProtocolServicer,
)
from switchboard.server.policy import parse_policy
from switchboard.server.reservation.admission import Admission
from switchboard.server.reservation.servicer import ReservationServicer
from switchboard.server.reservation.sweeper import Sweeper
from switchboard.server.reservation.validate import DAY, Policy
from switchboard.server.rpc import RpcInterceptor
from switchboard.server.scheduler.dispatch import Dispatcher, DispatchSettings
from switchboard.server.scheduler.planner import Planner, PlannerSettings
from switchboard.server.scheduler.servicer import SchedulerServicer
from switchboard.server.scheduler.so import SimulatedSo, SimulatedSoSettings
from switchboard.server.scheduler.tickets import DatabaseTickets
from switchboard.server.tasks import Job
from switchboard.server.timestamps import to_micros
from switchboard.server.tls import (
    ClientFiles,
    ReloadingChannelCredentials,
    ReloadingCredentials,
    ServerFiles,
)
from switchboard.server.watch import Hub, WatchSettings

log = structlog.get_logger("switchboard.server")

SERVICES = (
    reservation_pb2.DESCRIPTOR.services_by_name["ReservationService"].full_name,
    allocation_pb2.DESCRIPTOR.services_by_name["AllocationService"].full_name,
    scheduler_pb2.DESCRIPTOR.services_by_name["SchedulerService"].full_name,
    cmhandle_pb2.DESCRIPTOR.services_by_name["CmHandleInventoryService"].full_name,
    cmhandle_pb2.DESCRIPTOR.services_by_name["CmHandleService"].full_name,
    participant_pb2.DESCRIPTOR.services_by_name["AutomationCompositionService"].full_name,
    participant_pb2.DESCRIPTOR.services_by_name["ParticipantProtocolService"].full_name,
)

_RUNNING = (reservation_pb2.RESERVATION_STATUS_ACTIVE, reservation_pb2.RESERVATION_STATUS_IMPAIRED)


def _is_reservation(e: Event) -> bool:
    return e.kind.startswith("reservation.")


def _is_schedule(e: Event) -> bool:
    return e.kind.startswith("schedule.")


def _is_lcm(e: Event) -> bool:
    return e.kind == LCM_KIND


def flavors(settings: Settings) -> dict[str, Flavor]:
    """The configured flavor catalogue, or the default one."""
    if settings.flavors_file:
        return parse_flavors(Path(settings.flavors_file).read_text())
    return {f.name: f for f in DEFAULT_FLAVORS}


def outbound_credentials(settings: Settings) -> ReloadingChannelCredentials | None:
    """TLS for the channels the server dials (DMI plugins), re-read when the files change, or
    None: plaintext."""
    if not (settings.outbound_tls_ca_file or settings.outbound_tls_cert_file):
        return None
    return ReloadingChannelCredentials(ClientFiles(
        settings.outbound_tls_ca_file, settings.outbound_tls_cert_file,
        settings.outbound_tls_key_file))


def tune_gc() -> None:
    """Fewer, cheaper collections, once a server has started: what start-up made lives for
    good, and the default gen-0 threshold (700) collects every few requests, which showed as
    40 ms of p99 latency."""
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


class App:
    """One Switchboard server process."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.db = Database(settings.database_url, shared=settings.workers > 1)
        self.events = EventLog(self.db, self.clock, settings.event_retention,
                               notify=not settings.watch_poll_only)
        self.hub = Hub(self.events, self.clock, WatchSettings(
            progress_interval=settings.watch_progress_interval,
            poll_interval=settings.watch_poll_interval,
            buffer_events=settings.watch_buffer_events,
            batch_events=settings.watch_batch_events,
            send_rate=settings.watch_send_rate,
        ))
        self.health = HealthServicer()
        self.admission = Admission(self.events)
        self.reservations = ReservationServicer(self.events, self.hub, Policy(
            max_duration=int(settings.reservation_max_duration_days * DAY),
            max_start_ahead=int(settings.reservation_max_start_ahead_days * DAY),
        ), self.admission)
        self.vim = SimulatedVim(self.clock, SimulatedVimSettings(
            build_seconds=settings.vim_build_seconds, delete_seconds=settings.vim_delete_seconds,
            failure_rate=settings.vim_failure_rate, seed=settings.vim_seed,
        ))
        self.lifecycle = Lifecycle(self.events, self.hub, self.vim, self.admission,
                                   int(settings.vim_recheck_seconds * MICROS))
        self.allocations = AllocationServicer(
            self.events, self.hub, self.admission, self.lifecycle, flavors(settings))
        self.so = SimulatedSo(self.clock, SimulatedSoSettings(
            run_seconds=settings.so_run_seconds, failure_rate=settings.so_failure_rate,
            seed=settings.so_seed,
        ), self.db)
        self.tickets = DatabaseTickets()
        self.dispatcher = Dispatcher(self.events, self.so, self.tickets, DispatchSettings(
            max_outstanding=settings.scheduler_max_outstanding,
            past_due=int(settings.scheduler_past_due_seconds * 1_000_000),
        ))
        self.planner = Planner(self.events, self.tickets, PlannerSettings(
            time_limit_s=settings.scheduler_optimizer_time_limit,
            immediate_horizon=int(settings.scheduler_immediate_horizon_hours * 3600 * 1_000_000),
        ), self.dispatcher.wake)
        self.schedules = SchedulerServicer(self.events, self.hub, self.tickets,
                                           self.planner.wake, self.dispatcher.wake,
                                           self.planner.settings, self.dispatcher.settings.past_due)
        self.sweeper = Sweeper(self.events)
        self.reservations.transition_due = self.sweeper.due
        self.inventory = Inventory(self.events)
        self.dmi_plugins = Plugins(settings.cmhandle_dmi_timeout, outbound_credentials(settings))
        self.module_sync = ModuleSync(self.inventory, self.dmi_plugins, SyncSettings(
            concurrency=settings.cmhandle_sync_concurrency, batch=settings.cmhandle_sync_batch,
            backoff=Backoff(int(settings.cmhandle_sync_backoff_seconds * MICROS),
                            int(settings.cmhandle_sync_backoff_cap_seconds * MICROS)),
        ))
        self.dmi_health = HealthChecker(
            self.inventory, self.dmi_plugins, settings.cmhandle_health_interval, UpkeepSettings(
                heartbeat_limit=int(settings.cmhandle_heartbeat_limit_seconds * MICROS),
                reregistration_timeout=int(
                    settings.cmhandle_reregistration_timeout_seconds * MICROS),
                batch=settings.cmhandle_sync_batch,
                concurrency=settings.cmhandle_sync_concurrency))
        self.cm_inventory = InventoryServicer(self.inventory, self.module_sync.wake)
        self.cm_handles = CmHandleServicer(self.inventory, self.hub)
        self.acm = Runtime(self.events, RuntimeSettings(
            heartbeat_bound_us=int(settings.participant_heartbeat_bound_seconds * MICROS),
            default_timeout_us=int(settings.participant_operation_timeout_seconds * MICROS),
            poll_interval=settings.watch_poll_interval,
        ))
        self.compositions = AutomationCompositionServicer(self.acm, self.hub)
        self.participant_protocol = ParticipantProtocolServicer(self.acm)
        self.replica_id = f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
        """This process among the replicas on its database (the holder in lease rows)."""
        self.leases = self._singletons()
        self.drain = Drain()
        self.limits = Limits(LimitSettings(
            max_watches=settings.max_watches_per_principal,
            rate=settings.request_rate_per_principal,
            burst=settings.request_burst_per_principal,
        ), self.clock)
        self.server: grpc.aio.Server | None = None
        self.tls: ReloadingCredentials | None = None
        self.port = 0

    async def start(self, ready: bool = True) -> int:
        """Creates the schema, starts background work, then serves; returns the bound port.
        Health is NOT_SERVING until `ready` (now, unless False: a worker of `--workers` waits
        for its supervisor)."""
        await self.db.create_schema()
        await self.events.initialize()
        await self.hub.start()
        self.admission.start()
        self.lifecycle.start()
        self.acm.start()
        await self.leases.begin()
        server = grpc.aio.server(interceptors=[
            RpcInterceptor(self.authorizer(), self.limits), self.drain],
            options=[("grpc.so_reuseport", 1)] if self.settings.workers > 1 else None)
        reservation_pb2_grpc.add_ReservationServiceServicer_to_server(self.reservations, server)
        allocation_pb2_grpc.add_AllocationServiceServicer_to_server(self.allocations, server)
        scheduler_pb2_grpc.add_SchedulerServiceServicer_to_server(self.schedules, server)
        cmhandle_pb2_grpc.add_CmHandleInventoryServiceServicer_to_server(self.cm_inventory, server)
        cmhandle_pb2_grpc.add_CmHandleServiceServicer_to_server(self.cm_handles, server)
        participant_pb2_grpc.add_AutomationCompositionServiceServicer_to_server(
            self.compositions, server)
        participant_pb2_grpc.add_ParticipantProtocolServiceServicer_to_server(
            self.participant_protocol, server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable_server_reflection(
            (*SERVICES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
        await self.health.set("", NOT_SERVING)
        self.port = self._bind(server)
        await server.start()
        self.server = server
        if ready:
            await self.ready()
        log.info("serving", host=self.settings.host, port=self.port, transport=self.transport,
                 database=self.db.engine.url.render_as_string())
        return self.port

    def _singletons(self) -> Leases:
        """The background work that runs in one replica at a time, each under its lease, with
        what wakes it for other replicas' writes."""
        leases = Leases(self.db, self.clock, self.replica_id,
                        int(self.settings.lease_ttl_seconds * MICROS))
        leases.add(self.sweeper, Waker("reservation-sweeper-wake", self.hub, "reservation",
                                       _is_reservation, self._reservations_changed))
        leases.add(self.planner, Waker("scheduler-planner-wake", self.hub, "scheduler",
                                       _is_schedule, lambda _: self.planner.wake()))
        leases.add(self.dispatcher, Waker("scheduler-dispatcher-wake", self.hub, "scheduler",
                                          _is_schedule, lambda _: self.dispatcher.wake()))
        leases.add(Job("allocation-reaper", self.lifecycle.follow_reservations))
        leases.add(Job("allocation-rechecks", self.lifecycle.recheck_stale))
        leases.add(self.module_sync, Waker("cmhandle-module-sync-wake", self.hub, "cmhandle",
                                           _is_lcm, lambda _: self.module_sync.wake()))
        leases.add(self.dmi_health)
        leases.add(Job("participant-timeouts", self.acm.follow_clock))
        return leases

    def _reservations_changed(self, events: Sequence[Event]) -> None:
        """Tells the sweeper when the reservations `events` show next change by the clock (or,
        with none: the waker fell behind, to look now)."""
        if not events:
            self.sweeper.due(self.clock.now())
        for e in events:
            r = e.decode(reservation_pb2.ReservationEvent).reservation
            if r.status == reservation_pb2.RESERVATION_STATUS_PENDING:
                self.sweeper.due(to_micros(r.start_time))
            elif r.HasField("end_time") and r.status in _RUNNING:
                self.sweeper.due(to_micros(r.end_time))

    async def ready(self) -> None:
        """Health SERVING: the server and each service it serves."""
        for name in ("", *SERVICES):
            await self.health.set(name, SERVING)

    def authorizer(self) -> Authorizer | None:
        """Who may call what, from the policy file; None (authorization off) without one."""
        s = self.settings
        if not s.policy_file:
            log.info("authorization off (no --policy-file): every caller may call every RPC")
            return None
        verifier = (JwtVerifier(s.jwt_issuer, s.jwt_audience, s.jwt_key_file, self.clock)
                    if s.jwt_key_file else None)
        identities = [*(["bearer token"] if verifier else []),
                      *([f"client certificate ({s.tls_client_identity})"]
                        if s.tls_client_ca_file else [])]
        log.info("authorization on", policy_file=s.policy_file, identities=identities)
        return Authorizer(parse_policy(Path(s.policy_file).read_text()), verifier,
                          s.tls_client_identity if s.tls_client_ca_file else None)

    @property
    def transport(self) -> str:
        """mtls, tls or plaintext."""
        if not self.settings.tls_cert_file:
            return "plaintext"
        return "mtls" if self.settings.tls_client_ca_file else "tls"

    def _bind(self, server: grpc.aio.Server) -> int:
        """One port: TLS when a certificate is configured (certificates re-read when their
        files change), else plaintext, which is loopback only unless `insecure`."""
        address = f"{self.settings.host}:{self.settings.port}"
        if self.settings.tls_cert_file:
            self.tls = ReloadingCredentials(ServerFiles(
                self.settings.tls_cert_file, self.settings.tls_key_file,
                self.settings.tls_client_ca_file))
            return server.add_secure_port(address, self.tls.credentials)
        if is_loopback(self.settings.host):
            log.info("plaintext on loopback only: give --tls-cert-file and --tls-key-file to "
                     "serve other machines", host=self.settings.host)
        else:
            log.warning("plaintext on a non-loopback address (--insecure): anyone who reaches "
                        "it can call every RPC and read every reply", host=self.settings.host)
        return server.add_insecure_port(address)

    async def stop(self, grace: float | None = None) -> None:
        """Graceful stop: NOT_SERVING, watch streams end, in-flight calls get the grace period,
        then background work stops and the database closes."""
        grace = self.settings.shutdown_grace if grace is None else grace
        log.info("stopping", grace_seconds=grace)
        await self.health.enter_graceful_shutdown()
        await self.hub.stop()
        self.acm.close_streams()
        if self.server is not None:
            await self.drain.drain(grace)
            await self.server.stop(grace)
        await self.leases.stop()
        await self.leases.release()
        await self.dmi_plugins.close()
        await self.acm.stop()
        await self.lifecycle.stop()
        await self.admission.stop()
        await self.db.close()
        log.info("stopped")

    async def wait_for_termination(self) -> None:
        if self.server is not None:
            await self.server.wait_for_termination()
