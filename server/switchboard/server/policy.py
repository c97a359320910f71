"""Authorization policy: who holds which roles, and whether a role allows a call. Pure: no gRPC.

The policy file (TOML) maps principals and groups to roles, and each DMI plugin to the
addresses it may register (an allow-list, so that a plugin cannot make the server dial
elsewhere):

    [principals]
    "spiffe://example.org/ops/alice" = ["operator", "viewer"]

    [groups]
    netops = ["viewer"]

    [dmi_plugins.plugin-a]
    addresses = ["dmi-a.example.net:50051", "10.1.2.*:50051"]

    [projects]
    team-a = { principals = ["spiffe://example.org/ops/alice"], groups = ["netops"] }

A principal's projects are those the policy lists it in (itself or one of its groups) and those
its token's `projects` claim names. Non-admins see and change only their projects' resources
(`switchboard.server.ownership`).

Roles: viewer, operator, approver, admin, `dmi-plugin:<name>` (a plugin of [dmi_plugins]),
`participant:<id>`. Address patterns are shell-style (`*`, `?`, `[...]`), matched against the
whole host:port.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, NoReturn

from switchboard.server.errors import PermissionDenied
from switchboard.server.permissions import Need, Permission

AREA = "auth"
PLAIN_ROLES = frozenset({"viewer", "operator", "approver", "admin"})
PLUGIN_PREFIX = "dmi-plugin:"
PARTICIPANT_PREFIX = "participant:"
RESERVED_PREFIX = "@"
"""Names no principal or project may take: the server's own (`SERVER`)."""
MAX_PROJECT_CHARS = 63


@dataclass(frozen=True)
class Principal:
    """Who makes a call: its name (a token's subject or a certificate's identity; "" when
    authorization is off) and the groups and projects its token lists."""

    name: str
    groups: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()


ANONYMOUS = Principal("")
"""Every caller when authorization is off: it may make every call."""

SERVER = Principal("@server")
"""The server itself, doing its own work (sweeps, dispatch, timeouts): what events it causes
record, and the principal of whatever runs outside a call."""

caller: ContextVar[Principal] = ContextVar("caller", default=SERVER)
"""The principal of the call being served (set by the RPC interceptor, read by servicers);
`SERVER` outside calls."""


@dataclass(frozen=True)
class Grants:
    """What one principal's roles allow, ready for per-call decisions."""

    roles: frozenset[str] = frozenset()
    address_patterns: tuple[str, ...] = ()
    participants: frozenset[str] = frozenset()
    projects: frozenset[str] = frozenset()

    @property
    def admin(self) -> bool:
        return "admin" in self.roles


@dataclass(frozen=True)
class Policy:
    principals: Mapping[str, frozenset[str]] = field(default_factory=dict)
    groups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    plugin_addresses: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    project_principals: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Per principal, the projects the policy lists it in."""
    project_groups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Per group, the projects the policy lists it in."""

    def grants(self, principal: Principal) -> Grants:
        roles = set(self.principals.get(principal.name, ()))
        for group in principal.groups:
            roles |= self.groups.get(group, frozenset())
        patterns = tuple(p for role in sorted(roles) if role.startswith(PLUGIN_PREFIX)
                         for p in self.plugin_addresses[role.removeprefix(PLUGIN_PREFIX)])
        participants = frozenset(role.removeprefix(PARTICIPANT_PREFIX) for role in roles
                                 if role.startswith(PARTICIPANT_PREFIX))
        projects = set(principal.projects) | self.project_principals.get(principal.name, set())
        for group in principal.groups:
            projects |= self.project_groups.get(group, frozenset())
        return Grants(frozenset(roles & PLAIN_ROLES), patterns, participants,
                      frozenset(projects))

    def check(self, principal: Principal, method: str, permission: Permission | None,
              scope: str | None) -> Grants:
        """`principal`'s grants; raises PermissionDenied unless it may call `method` with the
        request's scope field (`permission.scope_field`) holding `scope` (None: unknown,
        refused)."""
        grants = self.grants(principal)
        if grants.admin or (permission is not None and permission.need is Need.OPEN):
            return grants
        if permission is None:
            refuse(principal, "NO_PERMISSION_DECLARED", f"{method} is open to admins only",
                   method)
        need = permission.need
        if need is Need.INVENTORY:
            if not grants.address_patterns:
                refuse(principal, "ROLE_REQUIRED", f"{method} needs a dmi-plugin role", method)
            if scope is None or not any(fnmatch.fnmatchcase(scope, p)
                                        for p in grants.address_patterns):
                refuse(principal, "ADDRESS_NOT_ALLOWED",
                       f"dmi_plugin {scope!r} is not an address of this plugin in the policy",
                       method)
        elif need is Need.SOUTHBOUND:
            if not grants.participants:
                refuse(principal, "ROLE_REQUIRED", f"{method} needs a participant role", method)
            if scope not in grants.participants:
                refuse(principal, "NOT_OWN_PARTICIPANT",
                       f"participant_id {scope!r} is not this caller's participant", method)
        elif need.value not in grants.roles:
            refuse(principal, "ROLE_REQUIRED", f"{method} needs the {need.value} role", method)
        return grants


def refuse(principal: Principal, reason: str, message: str, method: str = "") -> NoReturn:
    raise PermissionDenied(message=f"permission denied: {message}", reason=reason, area=AREA,
                           metadata={"principal": principal.name,
                                     **({"method": method} if method else {})})


def _roles(where: str, value: Any, plugins: Mapping[str, Any]) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise ValueError(f"{where} must be a list of roles")
    for role in value:
        if role.startswith(PLUGIN_PREFIX):
            if role.removeprefix(PLUGIN_PREFIX) not in plugins:
                raise ValueError(f"{where}: {role!r} names no plugin of [dmi_plugins]")
        elif role.startswith(PARTICIPANT_PREFIX):
            if not role.removeprefix(PARTICIPANT_PREFIX):
                raise ValueError(f"{where}: {role!r} names no participant")
        elif role not in PLAIN_ROLES:
            raise ValueError(f"{where}: unknown role {role!r}")
    return frozenset(value)


def _table(document: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"[{key}] must be a table")
    return value


def parse_policy(text: str) -> Policy:
    """The policy in `text` (TOML); ValueError naming what is wrong."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"not TOML: {error}") from None
    unknown = set(document) - {"principals", "groups", "dmi_plugins", "projects"}
    if unknown:
        raise ValueError(f"unknown sections {sorted(unknown)}")
    plugins: dict[str, tuple[str, ...]] = {}
    for name, entry in _table(document, "dmi_plugins").items():
        addresses = entry.get("addresses") if isinstance(entry, dict) else None
        if (not isinstance(addresses, list) or not addresses
                or not all(isinstance(a, str) and a for a in addresses)):
            raise ValueError(f"dmi_plugins.{name}.addresses must be a list of address patterns")
        plugins[name] = tuple(addresses)
    return Policy(
        principals={name: _roles(f"principals.{name}", roles, plugins)
                    for name, roles in _table(document, "principals").items()},
        groups={name: _roles(f"groups.{name}", roles, plugins)
                for name, roles in _table(document, "groups").items()},
        plugin_addresses=plugins,
        **_members(_table(document, "projects")),
    )


def check_project_name(name: object) -> str | None:
    """What is wrong with `name` as a project's name, or None."""
    if not isinstance(name, str) or not name:
        return "must be a non-empty string"
    if len(name) > MAX_PROJECT_CHARS:
        return f"must be at most {MAX_PROJECT_CHARS} characters"
    if name.startswith(RESERVED_PREFIX) or not name.isprintable():
        return f"must be printable and not start with {RESERVED_PREFIX!r}"
    return None


def _members(projects: Mapping[str, Any]) -> dict[str, dict[str, frozenset[str]]]:
    """[projects] as, per principal and per group, the projects that list it."""
    by_kind: dict[str, dict[str, set[str]]] = {"principals": {}, "groups": {}}
    for project, entry in projects.items():
        problem = check_project_name(project)
        if problem:
            raise ValueError(f"projects: {project!r} {problem}")
        if not isinstance(entry, dict) or set(entry) - set(by_kind):
            raise ValueError(f"projects.{project} must be a table of principals and groups")
        for kind, members in entry.items():
            if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
                raise ValueError(f"projects.{project}.{kind} must be a list of names")
            for member in members:
                by_kind[kind].setdefault(member, set()).add(project)
    return {"project_principals": {m: frozenset(p) for m, p in by_kind["principals"].items()},
            "project_groups": {m: frozenset(p) for m, p in by_kind["groups"].items()}}


def check_four_eyes(created_by: str | None, approver: Principal) -> None:
    """Four eyes: a schedule is never approved by the principal that created it (whatever its
    roles). Schedules created with authorization off (`created_by` None) have no creator."""
    if created_by is not None and created_by == approver.name:
        refuse(approver, "SELF_APPROVAL",
               "a schedule may not be approved by the principal that created it")
