"""Migrating a deployed instance to another composition (ACM's migrate, with its precheck),
through real gRPC with simulated participants: success phase by phase, a failure reverted (and a
revert that fails too), a precheck that changes nothing, and requests refused."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from test_participant_flow import (
    DEPLOYED,
    FAILED,
    LOCKED,
    NO_ERROR,
    UNDEPLOYED,
    Acm,
    acm,
    composition,
    element,
    names,
    participants,
    two_participants,
)

from switchboard.client.participant import Outcome
from switchboard.client.simparticipant import SimSettings, SimulatedHandler
from switchboard.participant.v1 import participant_pb2 as ppb
from switchboard.server.app import App

from support import bad_fields, detail

MIGRATING = ppb.DEPLOY_STATE_MIGRATING
PRECHECKING = ppb.DEPLOY_STATE_MIGRATION_PRECHECKING
REVERTING = ppb.DEPLOY_STATE_MIGRATION_REVERTING


class Recording(SimulatedHandler):
    """Also records each migrate's target and element version."""

    def __init__(self, journal: list[tuple[str, str, str]]) -> None:
        super().__init__(None, "p1", journal)
        self.migrations: list[tuple[str, str, str]] = []

    async def migrate(self, instance_id: str, target_composition_id: str,
                      element: ppb.ElementMessage) -> Outcome:
        self.migrations.append((target_composition_id, element.name, element.version))
        return await super().migrate(instance_id, target_composition_id, element)


async def deployed_with_target(a: Acm) -> ppb.Instance:
    """Instance `inst` deployed on `comp`, and `comp2` primed with the same elements at 2.0.0."""
    await a.primed(composition())
    target = composition("comp2")
    for d in target.elements:
        d.version = "2.0.0"
    await a.primed(target)
    await a.instance()
    deployed = await a.act("Deploy")
    assert (deployed.deploy_state, deployed.lock_state) == (DEPLOYED, LOCKED)
    return deployed


async def migrate(a: Acm, target: str = "comp2", precheck: bool = False) -> ppb.Instance:
    return (await a.stub.MigrateInstance(ppb.MigrateInstanceRequest(
        instance_id="inst", composition_id=target, precheck=precheck))).instance


async def test_migrate_moves_the_instance_phase_by_phase(server: App) -> None:
    journal: list[tuple[str, str, str]] = []
    p1 = Recording(journal)
    specs = two_participants(journal)
    async with participants(server, ("p1", "r1", ["org.a"], p1), specs[1]), acm(server) as a:
        await deployed_with_target(a)
        started = await migrate(a)
        assert (started.deploy_state, started.lock_state) == (MIGRATING, LOCKED)
        assert (started.composition_id, started.composition_target_id) == ("comp", "comp2")
        done = await a.settles(started)
        assert (done.deploy_state, done.lock_state, done.result) == (DEPLOYED, LOCKED, NO_ERROR)
        assert (done.composition_id, done.composition_target_id) == ("comp2", "")
        assert {e.deploy_state for e in done.elements} == {DEPLOYED}
        assert names(journal, "migrate") == ["e0", "e1", "e2"]  # lowest start phase first
        assert p1.migrations == [("comp2", "e0", "2.0.0"), ("comp2", "e2", "2.0.0")]
        got = (await a.stub.GetInstance(ppb.GetInstanceRequest(instance_id="inst"))).instance
        assert got.composition_id == "comp2"
        # The old composition has no instance left: it can be deprimed.
        await a.stub.DeprimeComposition(ppb.DeprimeCompositionRequest(composition_id="comp"))


async def test_failed_migrate_is_reverted(server: App) -> None:
    journal: list[tuple[str, str, str]] = []
    sim_b = SimSettings(failures={"org.b:migrate": 1})
    p1 = Recording(journal)
    specs = two_participants(journal, sim_b=sim_b)
    async with participants(server, ("p1", "r1", ["org.a"], p1), specs[1]), acm(server) as a:
        await deployed_with_target(a)
        done = await a.settles(await migrate(a))
        assert (done.deploy_state, done.lock_state, done.result) == (DEPLOYED, LOCKED, NO_ERROR)
        assert done.composition_id == "comp"
        assert "migration to composition 'comp2' failed" in done.status_message
        assert "simulated migrate failure of e1" in done.status_message
        # e0 migrated, e1 failed (e2 never started); then every element went back, phase by phase.
        assert names(journal, "migrate") == ["e0", "e1", "e0", "e1", "e2"]
        assert p1.migrations == [("comp2", "e0", "2.0.0"), ("comp", "e0", "1.0.0"),
                                 ("comp", "e2", "1.0.0")]
        assert REVERTING in {e.instance.deploy_state for e in a.instances.events
                             if e.instance.id == "inst"}
        assert {element(done, n).deploy_state for n in ("e0", "e1", "e2")} == {DEPLOYED}


async def test_failed_revert_fails_the_instance(server: App) -> None:
    journal: list[tuple[str, str, str]] = []
    sim_b = SimSettings(failures={"org.b:migrate": 2})
    async with participants(server, *two_participants(journal, sim_b=sim_b)), \
            acm(server) as a:
        await deployed_with_target(a)
        done = await a.settles(await migrate(a))
        assert (done.deploy_state, done.lock_state, done.result) == (REVERTING, LOCKED, FAILED)
        assert done.composition_id == "comp"
        assert "revert:" in done.status_message
        undeployed = await a.act("Undeploy")
        assert undeployed.deploy_state == UNDEPLOYED


async def test_precheck_changes_nothing_and_reports(server: App) -> None:
    journal: list[tuple[str, str, str]] = []
    sim_a = SimSettings(failures={"org.a:migrate_precheck": 1})
    async with participants(server, *two_participants(journal, sim_a=sim_a)), \
            acm(server) as a:
        deployed = await deployed_with_target(a)
        assert deployed.precheck_result == ppb.STATE_CHANGE_RESULT_UNSPECIFIED
        started = await migrate(a, precheck=True)
        assert (started.deploy_state, started.composition_target_id) == (PRECHECKING, "comp2")
        failed = await a.settles(started)
        assert (failed.deploy_state, failed.lock_state, failed.result) == (
            DEPLOYED, LOCKED, NO_ERROR)
        assert failed.composition_id == "comp"
        assert failed.precheck_result == FAILED
        assert "simulated migrate_precheck failure" in failed.precheck_message

        passed = await a.settles(await migrate(a, precheck=True))
        assert (passed.deploy_state, passed.composition_id) == (DEPLOYED, "comp")
        assert (passed.precheck_result, passed.precheck_message) == (NO_ERROR, "")
        assert sorted(names(journal, "migrate_precheck")) == ["e0", "e0", "e1", "e1", "e2", "e2"]
        assert names(journal, "migrate") == []


async def test_bad_migrate_requests_are_refused(server: App) -> None:
    journal: list[tuple[str, str, str]] = []
    async with participants(server, *two_participants(journal)), acm(server) as a:
        await a.primed(composition())
        await a.primed(composition("comp2"))
        await a.stub.CreateComposition(ppb.CreateCompositionRequest(
            composition=composition("unprimed")))
        await a.primed(composition("other", [("e0", "org.a", 0), ("e1", "org.a", 1),
                                            ("e2", "org.a", 2)]))
        await a.instance()

        with pytest.raises(grpc.aio.AioRpcError) as empty:
            await a.stub.MigrateInstance(ppb.MigrateInstanceRequest())
        assert bad_fields(empty.value) == {"instance_id", "composition_id"}

        with pytest.raises(grpc.aio.AioRpcError) as undeployed:
            await migrate(a)
        assert undeployed.value.code() == grpc.StatusCode.FAILED_PRECONDITION

        before = await a.act("Deploy")
        for target in ("unprimed", "other", "comp"):
            for precheck in (False, True):
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await migrate(a, target, precheck)
                assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION, target
                failure = detail(refused.value, error_details_pb2.PreconditionFailure)
                assert failure.violations[0].subject == f"compositions/{target}"
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await migrate(a, "ghost")
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND

        got = (await a.stub.GetInstance(ppb.GetInstanceRequest(instance_id="inst"))).instance
        assert got.revision == before.revision
        assert names(journal, "migrate") == names(journal, "migrate_precheck") == []


async def test_a_retried_migrate_starts_nothing(server: App) -> None:
    journal: list[tuple[str, str, str]] = []
    async with participants(server, *two_participants(journal)), acm(server) as a:
        await deployed_with_target(a)
        request = ppb.MigrateInstanceRequest(instance_id="inst", composition_id="comp2",
                                             request_id="migrate-1")
        done = await a.settles((await a.stub.MigrateInstance(request)).instance)
        assert (done.deploy_state, done.composition_id) == (DEPLOYED, "comp2")
        again = (await a.stub.MigrateInstance(request)).instance
        assert (again.deploy_state, again.composition_id, again.revision) == (
            DEPLOYED, "comp2", done.revision)
        assert names(journal, "migrate") == ["e0", "e1", "e2"]
        # A request_id of a refused call is free again.
        back = ppb.MigrateInstanceRequest(instance_id="inst", composition_id="ghost",
                                          request_id="migrate-2")
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await a.stub.MigrateInstance(back)
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
        back.composition_id = "comp"
        reverted = await a.settles((await a.stub.MigrateInstance(back)).instance)
        assert reverted.composition_id == "comp"
