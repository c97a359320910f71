"""The participant protocol end to end through real gRPC with simulated participants on the test
clock: priming, phase-by-phase deploy/undeploy/lock/unlock, update and delete; failure and
retry; timeouts; a participant that dies and comes back; dropped streams; replicas."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.rpc import error_details_pb2

from switchboard.client import AsyncClient
from switchboard.client.participant import Participant
from switchboard.client.simparticipant import SimSettings, SimulatedHandler
from switchboard.participant.v1 import participant_pb2 as ppb
from switchboard.participant.v1 import participant_pb2_grpc as ppb_grpc
from switchboard.server.app import App
from switchboard.server.clock import ManualClock

from conftest import StartServer
from support import Collector, detail

DEPLOYED, UNDEPLOYED = ppb.DEPLOY_STATE_DEPLOYED, ppb.DEPLOY_STATE_UNDEPLOYED
DEPLOYING, DELETED = ppb.DEPLOY_STATE_DEPLOYING, ppb.DEPLOY_STATE_DELETED
LOCKED, UNLOCKED, NONE = ppb.LOCK_STATE_LOCKED, ppb.LOCK_STATE_UNLOCKED, ppb.LOCK_STATE_NONE
NO_ERROR, FAILED = ppb.STATE_CHANGE_RESULT_NO_ERROR, ppb.STATE_CHANGE_RESULT_FAILED
TIMEOUT = ppb.STATE_CHANGE_RESULT_TIMEOUT
PRIMED = ppb.COMPOSITION_STATE_PRIMED
COMMISSIONED = ppb.COMPOSITION_STATE_COMMISSIONED

ELEMENTS = (("e0", "org.a", 0), ("e1", "org.b", 1), ("e2", "org.a", 2))
"""Three elements in phases 0, 1, 2 on two participants: org.a on p1, org.b on p2."""

HEARTBEAT = 0.05
"""Real seconds between the in-process participants' heartbeats."""

STABLE = {(DEPLOYED, LOCKED), (DEPLOYED, UNLOCKED), (UNDEPLOYED, NONE), (DELETED, NONE)}


def composition(composition_id: str = "comp",
                elements: Sequence[tuple[str, str, int]] = ELEMENTS,
                deploy_timeout: int = 0) -> ppb.Composition:
    c = ppb.Composition(id=composition_id, elements=[
        ppb.ElementDefinition(name=name, type=t, version="1.0.0", start_phase=phase)
        for name, t, phase in elements])
    if deploy_timeout:
        c.timeouts.deploy.CopyFrom(Duration(seconds=deploy_timeout))
    return c


class Acm:
    """A client on one server with watches of compositions and instances from revision 1."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.stub = client.compositions
        self.compositions = Collector(self.stub.WatchCompositions(
            ppb.WatchCompositionsRequest(start_revision=1)))
        self.instances = Collector(self.stub.WatchInstances(
            ppb.WatchInstancesRequest(start_revision=1)))

    async def close(self) -> None:
        await self.compositions.close()
        await self.instances.close()

    async def composition_settles(self, c: ppb.Composition) -> ppb.Composition:
        """The composition once its prime or deprime (started at c.revision) has ended."""
        def found(col: Collector) -> list[Any]:
            return [e.composition for e in col.events
                    if e.composition.id == c.id and e.revision > c.revision
                    and (e.composition.state in (PRIMED, COMMISSIONED)
                         or e.composition.result != NO_ERROR)]
        await self.compositions.wait_for(lambda col: found(col))
        return found(self.compositions)[0]  # type: ignore[no-any-return]

    async def settles(self, i: ppb.Instance) -> ppb.Instance:
        """The instance once the operation started at i.revision has ended."""
        def found(col: Collector) -> list[Any]:
            return [e.instance for e in col.events
                    if e.instance.id == i.id and e.revision > i.revision
                    and ((e.instance.deploy_state, e.instance.lock_state) in STABLE
                         or e.instance.result != NO_ERROR)]
        await self.instances.wait_for(lambda col: found(col))
        return found(self.instances)[0]  # type: ignore[no-any-return]

    async def primed(self, c: ppb.Composition) -> ppb.Composition:
        await self.stub.CreateComposition(ppb.CreateCompositionRequest(composition=c))
        started = await self.stub.PrimeComposition(
            ppb.PrimeCompositionRequest(composition_id=c.id))
        done = await self.composition_settles(started.composition)
        assert (done.state, done.result) == (PRIMED, NO_ERROR), done
        return done

    async def instance(self, instance_id: str = "inst", composition_id: str = "comp",
                       **properties: dict[str, Any]) -> ppb.Instance:
        i = ppb.Instance(id=instance_id, composition_id=composition_id)
        for name, values in properties.items():
            e = i.elements.add(name=name)
            e.properties.update(values)
        response = await self.stub.CreateInstance(ppb.CreateInstanceRequest(instance=i))
        return response.instance

    async def act(self, action: str, instance_id: str = "inst") -> ppb.Instance:
        """Starts an action (Deploy, Undeploy, Lock, Unlock, Delete) and waits for its end."""
        method = getattr(self.stub, f"{action}Instance")
        request = getattr(ppb, f"{action}InstanceRequest")(instance_id=instance_id)
        started = (await method(request)).instance
        return await self.settles(started)


@contextlib.asynccontextmanager
async def acm_of(client: AsyncClient) -> AsyncIterator[Acm]:
    """Live composition and instance watches through `client`."""
    a = Acm(client)
    await a.compositions.live()
    await a.instances.live()
    try:
        yield a
    finally:
        await a.close()


@contextlib.asynccontextmanager
async def acm(app: App) -> AsyncIterator[Acm]:
    async with AsyncClient(f"127.0.0.1:{app.port}") as client, acm_of(client) as a:
        yield a


@contextlib.asynccontextmanager
async def participants(server: App | str | Sequence[str],
                       *specs: tuple[str, str, Sequence[str], SimulatedHandler]
                       ) -> AsyncIterator[list[Participant]]:
    """In-process simulated participants (participant id, replica id, types, handler) of a
    server (an App, or a target or several replicas' addresses)."""
    target = f"127.0.0.1:{server.port}" if isinstance(server, App) else server
    started = []
    try:
        for participant_id, replica_id, types, handler in specs:
            p = Participant(target, participant_id, replica_id, types, handler,
                            heartbeat_interval=HEARTBEAT, retry_delay=0.02)
            await p.start()
            started.append(p)
        yield started
    finally:
        for p in started:
            await p.stop()


def two_participants(journal: list[tuple[str, str, str]], sim_a: SimSettings | None = None,
                     sim_b: SimSettings | None = None
                     ) -> list[tuple[str, str, Sequence[str], SimulatedHandler]]:
    return [("p1", "r1", ["org.a"], SimulatedHandler(sim_a, "p1", journal)),
            ("p2", "r1", ["org.b"], SimulatedHandler(sim_b, "p2", journal))]


def names(journal: list[tuple[str, str, str]], operation: str) -> list[str]:
    return [name for op, _, name in journal if op == operation]


def element(i: ppb.Instance, name: str) -> ppb.InstanceElement:
    return next(e for e in i.elements if e.name == name)


async def until_online(client: AsyncClient, *participant_ids: str) -> None:
    """Waits for the heartbeats of live participants to reach the server (after the test clock
    jumped ahead of them)."""
    async with asyncio.timeout(10):
        while True:
            response = await client.compositions.ListParticipants(ppb.ListParticipantsRequest())
            online = {p.id for p in response.participants if p.online}
            if set(participant_ids) <= online:
                return
            await asyncio.sleep(HEARTBEAT)


async def test_prime_deploy_lock_unlock_update_undeploy_delete_phase_by_phase(
        server: App) -> None:
    journal: list[tuple[str, str, str]] = []
    async with participants(server, *two_participants(journal)) as (p1, _), \
            acm(server) as a:
        c = await a.primed(composition())
        assert sorted(c.acknowledged_types) == ["org.a", "org.b"]
        assert sorted(names(journal, "prime")) == ["e0", "e1", "e2"]

        await a.instance(e1={"size": 3})
        deployed = await a.act("Deploy")
        assert (deployed.deploy_state, deployed.lock_state, deployed.result) == (
            DEPLOYED, LOCKED, NO_ERROR)
        assert names(journal, "deploy") == ["e0", "e1", "e2"]
        assert {(op, who) for op, who, _ in journal if op == "deploy"} == {
            ("deploy", "p1"), ("deploy", "p2")}
        assert element(deployed, "e1").out_properties["operation"] == "deploy"

        # Element statuses ride on the heartbeat.
        p1.report("inst", "e0", use_state="IN_USE", operational_state="ENABLED",
                  out_properties={"pods": 2})
        await a.instances.wait_for(lambda col: any(
            e.instance.id == "inst" and element(e.instance, "e0").use_state == "IN_USE"
            for e in col.events))
        reported = element((await a.stub.GetInstance(ppb.GetInstanceRequest(
            instance_id="inst"))).instance, "e0")
        assert (reported.operational_state, reported.out_properties["pods"]) == ("ENABLED", 2)

        unlocked = await a.act("Unlock")
        assert (unlocked.deploy_state, unlocked.lock_state) == (DEPLOYED, UNLOCKED)
        assert names(journal, "unlock") == ["e0", "e1", "e2"]
        locked = await a.act("Lock")
        assert (locked.deploy_state, locked.lock_state) == (DEPLOYED, LOCKED)
        assert names(journal, "lock") == ["e2", "e1", "e0"]

        request = ppb.UpdateInstanceRequest(instance_id="inst")
        request.elements.add(name="e1").properties.update({"size": 5})
        started = (await a.stub.UpdateInstance(request)).instance
        assert started.deploy_state == ppb.DEPLOY_STATE_UPDATING
        updated = await a.settles(started)
        assert (updated.deploy_state, updated.lock_state) == (DEPLOYED, LOCKED)
        assert sorted(names(journal, "update")) == ["e0", "e1", "e2"]
        assert element(updated, "e1").properties["size"] == 5

        undeployed = await a.act("Undeploy")
        assert (undeployed.deploy_state, undeployed.lock_state) == (UNDEPLOYED, NONE)
        assert names(journal, "undeploy") == ["e2", "e1", "e0"]

        deleted = await a.act("Delete")
        assert deleted.deploy_state == DELETED
        assert names(journal, "delete") == ["e2", "e1", "e0"]
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await a.stub.GetInstance(ppb.GetInstanceRequest(instance_id="inst"))
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND

        started_c = (await a.stub.DeprimeComposition(
            ppb.DeprimeCompositionRequest(composition_id="comp"))).composition
        assert (await a.composition_settles(started_c)).state == COMMISSIONED
        await a.stub.DeleteComposition(ppb.DeleteCompositionRequest(composition_id="comp"))
        listed = await a.stub.ListCompositions(ppb.ListCompositionsRequest())
        assert not listed.compositions


async def test_failed_element_then_retry_messages_only_unfinished_elements(
        server: App) -> None:
    journal: list[tuple[str, str, str]] = []
    specs = two_participants(journal, sim_b=SimSettings(failures={"org.b:deploy": 1}))
    async with participants(server, *specs), acm(server) as a:
        await a.primed(composition())
        await a.instance()
        failed = await a.act("Deploy")
        assert (failed.deploy_state, failed.result) == (DEPLOYING, FAILED)
        assert "e1" in failed.status_message
        assert [element(failed, n).deploy_state for n in ("e0", "e1", "e2")] == [
            DEPLOYED, DEPLOYING, UNDEPLOYED]
        assert names(journal, "deploy") == ["e0", "e1"]

        retried = await a.act("Deploy")
        assert (retried.deploy_state, retried.lock_state, retried.result) == (
            DEPLOYED, LOCKED, NO_ERROR)
        assert names(journal, "deploy") == ["e0", "e1", "e1", "e2"]


async def test_participant_that_does_not_answer_times_out_after_the_phase_timeout(
        server: App, clock: ManualClock) -> None:
    journal: list[tuple[str, str, str]] = []
    specs = two_participants(journal, sim_b=SimSettings(silent={"org.b:deploy"}))
    async with participants(server, *specs), acm(server) as a:
        await a.primed(composition(deploy_timeout=5))
        await a.instance()
        started = (await a.stub.DeployInstance(
            ppb.DeployInstanceRequest(instance_id="inst"))).instance
        await a.instances.wait_for(lambda col: any(
            e.instance.id == "inst" and element(e.instance, "e0").deploy_state == DEPLOYED
            for e in col.events))
        clock.advance(4)
        await asyncio.sleep(0.05)  # let the runtime see the clock: nothing may end before 5 s
        assert (await a.stub.GetInstance(ppb.GetInstanceRequest(
            instance_id="inst"))).instance.result == NO_ERROR
        clock.advance(1)
        ended = await a.settles(started)
        assert (ended.deploy_state, ended.result) == (DEPLOYING, TIMEOUT)
        assert "e1" in ended.status_message
        assert names(journal, "deploy") == ["e0"]


async def test_dropped_stream_gets_unacknowledged_messages_again_and_double_ack_is_harmless(
        server: App) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel, \
            acm(server) as a:
        southbound = ppb_grpc.ParticipantProtocolServiceStub(channel)
        for participant_id, t in (("p1", "org.a"), ("p2", "org.b")):
            await southbound.Register(ppb.RegisterRequest(
                participant_id=participant_id, replica_id="r1", element_types=[t]))
        await a.stub.CreateComposition(ppb.CreateCompositionRequest(composition=composition()))
        started = (await a.stub.PrimeComposition(
            ppb.PrimeCompositionRequest(composition_id="comp"))).composition

        async def first(participant_id: str) -> ppb.ParticipantMessage:
            stream = southbound.ReceiveMessages(ppb.ReceiveMessagesRequest(
                participant_id=participant_id, replica_id="r1"))
            message = (await stream.read()).message
            stream.cancel()  # the stream drops before the message is acknowledged
            return message  # type: ignore[no-any-return]

        dropped = await first("p1")
        assert dropped.type == ppb.MESSAGE_TYPE_PRIME
        assert sorted(e.name for e in dropped.elements) == ["e0", "e2"]
        again = await first("p1")
        assert again == dropped

        for participant_id, message in (("p1", again), ("p2", await first("p2"))):
            t = message.elements[0].type
            ack = ppb.AcknowledgeRequest(participant_id=participant_id, replica_id="r1",
                                         message_id=message.id,
                                         results=[ppb.ElementResult(name=t, success=True)])
            assert not (await southbound.Acknowledge(ack)).duplicate
            assert (await southbound.Acknowledge(ack)).duplicate
        assert (await a.composition_settles(started)).state == PRIMED

        # Acknowledged messages are not sent again: the next one p1 receives is new.
        await a.instance()
        await a.stub.DeployInstance(ppb.DeployInstanceRequest(instance_id="inst"))
        deploy = await first("p1")
        assert deploy.type == ppb.MESSAGE_TYPE_DEPLOY and deploy.id > again.id
        assert [e.name for e in deploy.elements] == ["e0"]


async def test_replicas_share_messages_and_an_owned_element_type_is_refused(
        server: App) -> None:
    journal: list[tuple[str, str, str]] = []
    specs = [("p1", "r1", ["org.a"], SimulatedHandler(None, "r1", journal)),
             ("p1", "r2", ["org.a"], SimulatedHandler(None, "r2", journal)),
             ("p2", "r1", ["org.b"], SimulatedHandler(None, "p2", journal))]
    async with participants(server, *specs) as running, acm(server) as a:
        assert [p.rejoined for p in running] == [False, True, False]
        await a.primed(composition(elements=[("e0", "org.a", 0)]))
        for n in range(4):
            await a.instance(f"inst-{n}")
            assert (await a.act("Deploy", f"inst-{n}")).deploy_state == DEPLOYED
        assert sorted(who for op, who, _ in journal if op == "deploy") == ["r1", "r1", "r2", "r2"]

        listed = await a.stub.ListParticipants(ppb.ListParticipantsRequest())
        assert [(p.id, list(p.element_types), list(p.online_replicas))
                for p in listed.participants] == [("p1", ["org.a"], ["r1", "r2"]),
                                                   ("p2", ["org.b"], ["r1"])]

        intruder = Participant(f"127.0.0.1:{server.port}", "p3", "r1", ["org.a", "org.c"],
                               SimulatedHandler())
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await intruder.start()
        await intruder.stop(deregister=False)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "p1" in (refused.value.details() or "")
        subjects = [v.subject for v in detail(
            refused.value, error_details_pb2.PreconditionFailure).violations]
        assert subjects == ["elementTypes/org.a"]


async def _simulated_process(port: int, *flags: str) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "switchboard.client.simparticipant", "--target",
        f"127.0.0.1:{port}", "--participant-id", "p2", "--replica-id", "r1",
        "--element-types", "org.b", "--heartbeat-interval", str(HEARTBEAT), *flags,
        stdout=asyncio.subprocess.PIPE)
    return process


async def _registered(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    async with asyncio.timeout(30):
        return (await process.stdout.readline()).decode()


async def test_killed_participant_goes_offline_then_restarts_gets_a_sync_and_works_again(
        start_server: StartServer, clock: ManualClock) -> None:
    app = await start_server(participant_heartbeat_bound_seconds=10)
    journal: list[tuple[str, str, str]] = []
    specs = two_participants(journal)[:1]
    process = await _simulated_process(app.port, "--silent", "org.b:deploy")
    try:
        assert "rejoined=False" in await _registered(process)
        async with participants(app, *specs), acm(app) as a:
            await a.primed(composition())
            await a.instance()
            started = (await a.stub.DeployInstance(
                ppb.DeployInstanceRequest(instance_id="inst"))).instance
            await a.instances.wait_for(lambda col: any(
                e.instance.id == "inst" and element(e.instance, "e1").deploy_state == DEPLOYING
                for e in col.events))
            process.send_signal(signal.SIGKILL)  # killed mid-operation, e1 unanswered
            await process.wait()

            clock.advance(11)
            ended = await a.settles(started)
            assert (ended.deploy_state, ended.result) == (DEPLOYING, TIMEOUT)
            assert "p2" in ended.status_message
            listed = await a.stub.ListParticipants(ppb.ListParticipantsRequest())
            p2 = next(p for p in listed.participants if p.id == "p2")
            assert (p2.online, list(p2.offline_replicas)) == (False, ["r1"])

            await until_online(a.client, "p1")
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await a.stub.DeployInstance(ppb.DeployInstanceRequest(instance_id="inst"))
            assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            subjects = [v.subject for v in detail(
                refused.value, error_details_pb2.PreconditionFailure).violations]
            assert subjects == ["participants/p2"]

            process = await _simulated_process(app.port)
            assert "rejoined=True" in await _registered(process)
            await until_online(a.client, "p1", "p2")
            retried = await a.act("Deploy")
            assert (retried.deploy_state, retried.lock_state, retried.result) == (
                DEPLOYED, LOCKED, NO_ERROR)
            assert names(journal, "deploy") == ["e0", "e2"]  # p1 did e0 only once
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await process.wait()


async def test_a_participant_registering_again_receives_a_sync(server: App) -> None:
    journal: list[tuple[str, str, str]] = []
    async with participants(server, *two_participants(journal)) as first, acm(server) as a:
        await a.primed(composition())
        await a.instance()
        await a.act("Deploy")
        # p2 restarts: the old process is gone (else its stream, still open for the same
        # replica, could take and acknowledge the sync first).
        await first[1].stop(deregister=False)
        handler = SimulatedHandler(None, "p2-again", journal)
        async with participants(server, ("p2", "r1", ["org.b"], handler)) as again:
            assert again[0].rejoined
            async with asyncio.timeout(10):
                await handler.synced.wait()
            sync = handler.syncs[0]
            assert [c.id for c in sync.compositions] == ["comp"]
            assert [(i.id, i.deploy_state) for i in sync.instances] == [("inst", DEPLOYED)]


async def test_operations_left_running_by_a_stopped_server_go_on_after_restart(
        start_server: StartServer) -> None:
    app = await start_server()
    journal: list[tuple[str, str, str]] = []
    specs = two_participants(journal, sim_b=SimSettings(silent={"org.b:deploy"}))
    async with participants(app, *specs), acm(app) as a:
        await a.primed(composition())
        await a.instance()
        started = (await a.stub.DeployInstance(
            ppb.DeployInstanceRequest(instance_id="inst"))).instance
        await a.instances.wait_for(lambda col: any(
            e.instance.id == "inst" and element(e.instance, "e1").deploy_state == DEPLOYING
            for e in col.events))
        await app.stop(grace=0)

    # The operation and its unanswered message outlive the server: p2, back, receives e1's
    # message again and answers it, and the deploy goes on to e2.
    again = await start_server()
    async with acm(again) as a:
        i = (await a.stub.GetInstance(ppb.GetInstanceRequest(instance_id="inst"))).instance
        assert (i.deploy_state, i.result, element(i, "e1").deploy_state) == (
            DEPLOYING, NO_ERROR, DEPLOYING)
        async with participants(again, *two_participants(journal)):
            done = await a.settles(started)
        assert (done.deploy_state, done.lock_state, done.result) == (DEPLOYED, LOCKED, NO_ERROR)
        assert names(journal, "deploy") == ["e0", "e1", "e2"]


async def test_messages_of_a_replica_that_went_offline_go_to_a_live_replica(
        start_server: StartServer, clock: ManualClock) -> None:
    app = await start_server(participant_heartbeat_bound_seconds=10)
    journal: list[tuple[str, str, str]] = []
    specs = [("p1", "r1", ["org.a"], SimulatedHandler(None, "r1", journal)),
             ("p1", "r2", ["org.a"], SimulatedHandler(
                 SimSettings(silent={"org.a:deploy"}), "r2", journal))]
    async with participants(app, *specs) as (_, second), acm(app) as a, \
            grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        await a.primed(composition(elements=[("e0", "org.a", 0)]))
        assert [who for op, who, _ in journal if op == "prime"] == ["r1"]
        await a.instance()
        # r1 was picked last (prime), so the deploy goes to r2, which never answers and dies.
        started = (await a.stub.DeployInstance(
            ppb.DeployInstanceRequest(instance_id="inst"))).instance
        await second.stop(deregister=False)

        heartbeat = ppb.ReportStatusRequest(participant_id="p1", replica_id="r1")
        southbound = ppb_grpc.ParticipantProtocolServiceStub(channel)
        clock.advance(6)
        await southbound.ReportStatus(heartbeat)
        clock.advance(5)  # r2 is now offline, r1 not: r2's message goes to r1
        done = await a.settles(started)
        assert (done.deploy_state, done.result) == (DEPLOYED, NO_ERROR)
        assert [(op, who) for op, who, _ in journal if op == "deploy"] == [("deploy", "r1")]
        listed = await a.stub.ListParticipants(ppb.ListParticipantsRequest())
        assert list(listed.participants[0].offline_replicas) == ["r2"]


class _StatusHandler(SimulatedHandler):
    """Reports e0 of "inst" IN_USE when the runtime asks for the status."""

    def __init__(self, label: str, journal: list[tuple[str, str, str]]) -> None:
        super().__init__(None, label, journal)
        self.asked = 0

    async def status(self, participant: Participant) -> None:
        self.asked += 1
        participant.report("inst", "e0", use_state="IN_USE", operational_state="ENABLED",
                           out_properties={"asked": self.asked})


async def test_a_status_request_is_answered_with_report_status(server: App) -> None:
    journal: list[tuple[str, str, str]] = []
    handler = _StatusHandler("p1", journal)
    target = f"127.0.0.1:{server.port}"
    # Heartbeats far apart: what reaches the server is the answer to the request.
    p1 = Participant(target, "p1", "r1", ["org.a"], handler, heartbeat_interval=3600)
    p2 = Participant(target, "p2", "r1", ["org.b"], SimulatedHandler(None, "p2", journal),
                     heartbeat_interval=3600)
    await p1.start()
    await p2.start()
    try:
        async with acm(server) as a:
            await a.primed(composition())
            await a.instance()
            deployed = await a.act("Deploy")
            assert element(deployed, "e0").use_state == ""

            response = await a.stub.RequestParticipantStatus(
                ppb.RequestParticipantStatusRequest(participant_id="p1"))
            assert list(response.replica_ids) == ["r1"]

            def reported(col: Collector) -> list[Any]:
                return [e.instance for e in col.events if e.revision > deployed.revision
                        and element(e.instance, "e0").use_state == "IN_USE"]
            await a.instances.wait_for(reported)
            e0 = element(reported(a.instances)[0], "e0")
            assert (e0.operational_state, dict(e0.out_properties)) == ("ENABLED", {"asked": 1})
            assert handler.asked == 1

            with pytest.raises(grpc.aio.AioRpcError) as unknown:
                await a.stub.RequestParticipantStatus(
                    ppb.RequestParticipantStatusRequest(participant_id="nobody"))
            assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
            with pytest.raises(grpc.aio.AioRpcError) as empty:
                await a.stub.RequestParticipantStatus(ppb.RequestParticipantStatusRequest())
            assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        await p1.stop()
        await p2.stop()


class _Proxy:
    """A TCP relay to the server that can go down (cutting every connection) and come back
    on the same port: what a participant sees when the network drops its stream."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers += [writer, up_writer]

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def test_the_library_reconnects_and_resumes_after_its_stream_drops(server: App) -> None:
    journal: list[tuple[str, str, str]] = []
    proxy = _Proxy(server.port)
    await proxy.up()
    # p1 reaches the server through the proxy; p2 directly.
    p1 = Participant(f"127.0.0.1:{proxy.port}", "p1", "r1", ["org.a"],
                     SimulatedHandler(None, "p1", journal), heartbeat_interval=HEARTBEAT,
                     retry_delay=0.02)
    p2 = Participant(f"127.0.0.1:{server.port}", "p2", "r1", ["org.b"],
                     SimulatedHandler(None, "p2", journal), heartbeat_interval=HEARTBEAT)
    await p1.start()
    await p2.start()
    try:
        async with acm(server) as a:
            await a.primed(composition())
            await a.instance()
            await proxy.down()  # p1's stream drops; the runtime still counts it online
            started = (await a.stub.DeployInstance(
                ppb.DeployInstanceRequest(instance_id="inst"))).instance
            await asyncio.sleep(0.3)
            assert names(journal, "deploy") == []  # the message waits, unacknowledged
            now = (await a.stub.GetInstance(ppb.GetInstanceRequest(instance_id="inst"))).instance
            assert now.deploy_state == DEPLOYING
            await proxy.up()  # the library reconnects and receives it
            done = await a.settles(started)
            assert (done.deploy_state, done.result) == (DEPLOYED, NO_ERROR)
            # Every element handled once, phase by phase (e2's message came on the new stream).
            assert names(journal, "deploy") == ["e0", "e1", "e2"]
    finally:
        await p1.stop()
        await p2.stop()
        await proxy.down()
