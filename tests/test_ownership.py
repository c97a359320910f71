"""Projects and what a caller sees (`ownership`, `policy`): the decisions themselves, and the
identities that may never be taken. The areas' own tests (tests/test_ownership_*.py) show them
through every owned RPC."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2

from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as rpb
from switchboard.server.clock import ManualClock
from switchboard.server.errors import PermissionDenied, Violations
from switchboard.server.ownership import Access, Visibility
from switchboard.server.policy import Principal, parse_policy

from conftest import StartServer
from support import detail
from tokens import Issuer, authorizing

POLICY = parse_policy("""
[principals]
alice = ["operator"]
adam = ["admin"]

[projects]
blue = { principals = ["alice"], groups = ["radio"] }
green = { groups = ["radio"] }
""")


def access_of(principal: Principal) -> Access:
    grants = POLICY.grants(principal)
    return Access(principal, grants.projects, grants.admin)


def test_projects_come_from_the_policy_by_name_and_group_and_from_the_token() -> None:
    assert POLICY.grants(Principal("alice")).projects == {"blue"}
    assert POLICY.grants(Principal("bob", groups=("radio",))).projects == {"blue", "green"}
    assert POLICY.grants(Principal("carl", projects=("red",))).projects == {"red"}
    assert POLICY.grants(Principal("dora")).projects == frozenset()


def test_a_caller_sees_its_projects_and_admins_see_all() -> None:
    alice, adam = access_of(Principal("alice")), access_of(Principal("adam"))
    assert alice.sees("blue") and not alice.sees("green") and not alice.sees("")
    assert alice.sees("", Visibility.SHARED) and not alice.sees("green", Visibility.SHARED)
    assert alice.sees("green", Visibility.PUBLIC)
    assert not alice.changes("") and alice.changes("blue")
    assert alice.visible_projects() == {"blue"}
    assert alice.visible_projects(Visibility.SHARED) == {"blue", ""}
    assert alice.visible_projects(Visibility.PUBLIC) is None
    assert adam.sees("green") and adam.sees("") and adam.changes("")
    assert adam.visible_projects() is None


def project_for(access: Access, requested: str) -> tuple[str, list[str]]:
    violations = Violations("test")
    project = access.project_for(requested, violations)
    return project, [v.field for v in violations.items]


def refusal_reason(access: Access, requested: str) -> str:
    with pytest.raises(PermissionDenied) as refused:
        access.project_for(requested, Violations("test"))
    return refused.value.reason


def test_the_project_a_create_goes_into() -> None:
    alice = access_of(Principal("alice"))
    assert project_for(alice, "") == ("blue", [])
    assert project_for(alice, "blue") == ("blue", [])
    assert refusal_reason(alice, "green") == "NOT_OWN_PROJECT"
    both = access_of(Principal("bob", groups=("radio",)))
    assert project_for(both, "") == ("", ["project"])
    assert project_for(both, "green") == ("green", [])
    assert refusal_reason(access_of(Principal("dora")), "") == "NO_PROJECT"
    adam = access_of(Principal("adam"))
    assert project_for(adam, "") == ("", [])
    assert project_for(adam, "anything") == ("anything", [])
    assert project_for(adam, "@server") == ("", ["project"])
    assert project_for(Access(Principal("")), "x" * 64) == ("", ["project"])


@pytest.mark.parametrize(("text", "problem"), [
    ('[projects]\nblue = ["alice"]', "must be a table of principals and groups"),
    ('[projects]\nblue = { people = ["alice"] }', "must be a table of principals and groups"),
    ('[projects]\nblue = { principals = "alice" }', "must be a list of names"),
    ('[projects]\n"@ops" = { principals = ["alice"] }', "must be printable and not start"),
    (f'[projects]\n{"p" * 64} = {{ principals = ["alice"] }}', "at most 63 characters"),
])
def test_a_bad_projects_section_says_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_policy(text)


async def test_no_caller_may_pass_for_the_server(start_server: StartServer, tmp_path: Path,
                                                 clock: ManualClock) -> None:
    issuer = Issuer()
    app = await start_server(**authorizing(
        tmp_path, issuer, '[principals]\n"@server" = ["admin"]\nalice = ["viewer"]\n'))
    target = f"127.0.0.1:{app.port}"
    async with AsyncClient(target, token=issuer.token("@server", clock.now())) as server:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await server.reservations.ListPools(rpb.ListPoolsRequest())
    assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert detail(refused.value, error_details_pb2.ErrorInfo).reason == "RESERVED_PRINCIPAL"
    async with AsyncClient(target, token=issuer.token("alice", clock.now())) as alice:
        await alice.reservations.ListPools(rpb.ListPoolsRequest())


async def test_a_token_naming_a_project_that_cannot_be_is_refused(
        start_server: StartServer, tmp_path: Path, clock: ManualClock) -> None:
    issuer = Issuer()
    app = await start_server(**authorizing(
        tmp_path, issuer, '[principals]\nalice = ["viewer"]\n'))
    target = f"127.0.0.1:{app.port}"
    for projects in (["p" * 64], ["@server"], [""]):
        token = issuer.token("alice", clock.now(), projects=projects)
        async with AsyncClient(target, token=token) as alice:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await alice.reservations.ListPools(rpb.ListPoolsRequest())
        assert detail(refused.value, error_details_pb2.ErrorInfo).reason == "TOKEN_INVALID"
    token = issuer.token("alice", clock.now(), projects=["blue"])
    async with AsyncClient(target, token=token) as alice:
        await alice.reservations.ListPools(rpb.ListPoolsRequest())
