"""A participant that stops cleanly (deregisters, as a pod does on SIGTERM) and starts again:
it keeps the element types that primed compositions use, meanwhile actions needing it are
FAILED_PRECONDITION naming it and no other participant may claim its types, and when it
registers again (a new replica, whatever the gap) it is sent a sync of all it owns. Element
statuses it reports for elements it does not own are answered as rejected; the others apply."""

from __future__ import annotations

import asyncio
import signal
import sys

import grpc
import pytest
from google.rpc import error_details_pb2
from test_participant_flow import (
    DEPLOYED,
    HEARTBEAT,
    LOCKED,
    NO_ERROR,
    acm,
    composition,
    element,
    names,
    participants,
    two_participants,
    until_online,
)

from switchboard.client.participant import Participant
from switchboard.client.simparticipant import SimulatedHandler
from switchboard.participant.v1 import participant_pb2 as ppb
from switchboard.participant.v1 import participant_pb2_grpc as ppb_grpc
from switchboard.server.app import App

from support import detail


class SimProcess:
    """The simulated participant as its own process (p2, org.b), and what it printed."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, port: int, replica_id: str) -> SimProcess:
        return cls(await asyncio.create_subprocess_exec(
            sys.executable, "-m", "switchboard.client.simparticipant", "--target",
            f"127.0.0.1:{port}", "--participant-id", "p2", "--replica-id", replica_id,
            "--element-types", "org.b", "--heartbeat-interval", str(HEARTBEAT),
            stdout=asyncio.subprocess.PIPE))

    async def line(self) -> str:
        assert self.process.stdout is not None
        async with asyncio.timeout(30):
            return (await self.process.stdout.readline()).decode().strip()

    async def stop(self) -> int:
        """SIGTERM: it deregisters and exits."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            return await self.process.wait()


def subjects(error: grpc.aio.AioRpcError) -> list[str]:
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error
    return [v.subject for v in detail(error, error_details_pb2.PreconditionFailure).violations]


def listed(response: ppb.ListParticipantsResponse) -> dict[str, tuple[list[str], list[str]]]:
    return {p.id: (list(p.element_types), [*p.online_replicas, *p.offline_replicas])
            for p in response.participants}


async def test_sigterm_then_start_again_keeps_the_types_and_gets_a_sync(server: App) -> None:
    journal: list[tuple[str, str, str]] = []
    sim = await SimProcess.start(server.port, "pod-1")
    try:
        assert await sim.line() == "registered p2 pod-1 rejoined=False"
        async with participants(server, *two_participants(journal)[:1]), acm(server) as a:
            await a.primed(composition())
            for n in range(2):
                await a.instance(f"inst-{n}")
            assert (await a.act("Deploy", "inst-0")).deploy_state == DEPLOYED

            assert await sim.stop() == 0  # a clean stop: it deregisters
            participants_now = await a.stub.ListParticipants(ppb.ListParticipantsRequest())
            assert listed(participants_now) == {"p1": (["org.a"], ["r1"]),
                                                "p2": (["org.b"], [])}

            # Nothing may take org.b over, and what needs p2 names it (not "no owner").
            intruder = Participant(f"127.0.0.1:{server.port}", "p3", "r1", ["org.b"],
                                   SimulatedHandler())
            with pytest.raises(grpc.aio.AioRpcError) as taken:
                await intruder.start()
            await intruder.stop(deregister=False)
            assert subjects(taken.value) == ["elementTypes/org.b"]
            assert "'p2'" in (taken.value.details() or "")
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await a.stub.DeployInstance(ppb.DeployInstanceRequest(instance_id="inst-1"))
            assert subjects(refused.value) == ["participants/p2"]
            assert "deregistered" in (refused.value.details() or "")

            # A new pod of p2: a rejoin, with a sync of the primed composition and instances.
            sim = await SimProcess.start(server.port, "pod-2")
            assert await sim.line() == "registered p2 pod-2 rejoined=True"
            assert await sim.line() == "synced compositions=comp instances=inst-0,inst-1"
            await until_online(a.client, "p1", "p2")
            done = await a.act("Deploy", "inst-1")
            assert (done.deploy_state, done.lock_state, done.result) == (
                DEPLOYED, LOCKED, NO_ERROR)
            assert names(journal, "deploy") == ["e0", "e2", "e0", "e2"]
            assert element(done, "e1").out_properties["operation"] == "deploy"
    finally:
        await sim.stop()


async def test_deregistered_participant_in_process_gets_a_sync_and_types_go_once_unused(
        server: App) -> None:
    journal: list[tuple[str, str, str]] = []
    async with participants(server, *two_participants(journal)) as (_, p2), \
            acm(server) as a:
        await a.primed(composition())
        await a.instance()
        await a.act("Deploy")
        await p2.stop()  # deregisters
        handler = SimulatedHandler(None, "p2-again", journal)
        async with participants(server, ("p2", "r2", ["org.b"], handler)) as (again,):
            assert again.rejoined
            async with asyncio.timeout(10):
                await handler.synced.wait()
            (sync,) = handler.syncs
            assert [c.id for c in sync.compositions] == ["comp"]
            assert [(i.id, i.deploy_state) for i in sync.instances] == [("inst", DEPLOYED)]

            await a.act("Undeploy")
            await a.act("Delete")
            started = (await a.stub.DeprimeComposition(
                ppb.DeprimeCompositionRequest(composition_id="comp"))).composition
            await a.composition_settles(started)
        # Nothing uses org.b any more: p2 deregistered for good, and p3 may take it.
        response = await a.stub.ListParticipants(ppb.ListParticipantsRequest())
        assert listed(response) == {"p1": (["org.a"], ["r1"])}
        async with participants(server, ("p3", "r1", ["org.b"], SimulatedHandler())) as (p3,):
            assert not p3.rejoined


async def test_only_the_types_in_use_are_kept_and_deprime_waits_for_the_owner(
        server: App) -> None:
    journal: list[tuple[str, str, str]] = []
    specs = [two_participants(journal)[0],
             ("p2", "r1", ["org.b", "org.c"], SimulatedHandler(None, "p2", journal))]
    async with participants(server, *specs) as (_, p2), acm(server) as a:
        await a.primed(composition())
        await p2.stop()
        response = await a.stub.ListParticipants(ppb.ListParticipantsRequest())
        assert listed(response)["p2"] == (["org.b"], [])  # org.c: nothing uses it
        async with participants(server, ("p3", "r1", ["org.c"], SimulatedHandler())):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await a.stub.DeprimeComposition(
                    ppb.DeprimeCompositionRequest(composition_id="comp"))
            assert subjects(refused.value) == ["participants/p2"]


async def test_deregistering_one_replica_moves_its_messages_to_another(server: App) -> None:
    journal: list[tuple[str, str, str]] = []
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel, \
            participants(server, *two_participants(journal)[:1]), acm(server) as a:
        south = ppb_grpc.ParticipantProtocolServiceStub(channel)
        for replica in ("r1", "r2"):
            await south.Register(ppb.RegisterRequest(participant_id="p2", replica_id=replica,
                                                     element_types=["org.b"]))
        streams = {r: south.ReceiveMessages(ppb.ReceiveMessagesRequest(
            participant_id="p2", replica_id=r)) for r in ("r1", "r2")}

        await a.stub.CreateComposition(ppb.CreateCompositionRequest(composition=composition()))
        started = (await a.stub.PrimeComposition(
            ppb.PrimeCompositionRequest(composition_id="comp"))).composition
        first = streams["r1"]
        prime = (await first.read()).message  # r1 got it, then stops cleanly unanswered
        assert prime.type == ppb.MESSAGE_TYPE_PRIME
        first.cancel()
        await south.Deregister(ppb.DeregisterRequest(participant_id="p2", replica_id="r1"))
        moved = (await streams["r2"].read()).message
        assert moved.type == ppb.MESSAGE_TYPE_SYNC  # (r2 registered second: a rejoin)
        moved = (await streams["r2"].read()).message
        assert (moved.type, moved.composition_id, moved.elements) == (
            ppb.MESSAGE_TYPE_PRIME, "comp", prime.elements)
        await south.Acknowledge(ppb.AcknowledgeRequest(
            participant_id="p2", replica_id="r2", message_id=moved.id,
            results=[ppb.ElementResult(name="org.b", success=True)]))
        assert (await a.composition_settles(started)).state == ppb.COMPOSITION_STATE_PRIMED
        streams["r2"].cancel()


async def test_report_status_answers_the_statuses_it_did_not_apply(server: App) -> None:
    journal: list[tuple[str, str, str]] = []
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel, \
            participants(server, *two_participants(journal)), acm(server) as a:
        await a.primed(composition())
        deployed = await a.instance()
        south = ppb_grpc.ParticipantProtocolServiceStub(channel)
        statuses = [
            ppb.ElementStatus(instance_id="inst", name="e1", use_state="IN_USE"),  # p2's
            ppb.ElementStatus(instance_id="nope", name="e0"),
            ppb.ElementStatus(instance_id="inst", name="e0", use_state="IN_USE"),
            ppb.ElementStatus(instance_id="inst", name="e9"),
        ]
        statuses[2].statistics.update({"requests": 7, "errors": 0})
        response = await south.ReportStatus(ppb.ReportStatusRequest(
            participant_id="p1", replica_id="r1", elements=statuses))
        assert [(r.instance_id, r.name, r.reason) for r in response.rejected] == [
            ("inst", "e1", "ELEMENT_NOT_OWNED"), ("nope", "e0", "INSTANCE_NOT_FOUND"),
            ("inst", "e9", "ELEMENT_NOT_FOUND")]
        assert "'p2'" in response.rejected[0].message
        i = (await a.stub.GetInstance(ppb.GetInstanceRequest(instance_id="inst"))).instance
        assert (element(i, "e0").use_state, element(i, "e1").use_state) == ("IN_USE", "")
        assert dict(element(i, "e0").statistics) == {"requests": 7, "errors": 0}
        assert element(i, "e0").report_time.ToMicroseconds() > 0
        assert not element(i, "e1").HasField("report_time")
        assert i.revision > deployed.revision
