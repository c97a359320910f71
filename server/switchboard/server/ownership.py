"""Ownership: which projects' resources a call may see and change. Pure: no gRPC, no DB.

Pools, reservations, instances, schedules and compositions belong to a project: the one a
create names, else its caller's only project. A caller sees and changes only its projects'
resources (admins and, with authorization off, everyone: all of them). Another project's
resource is as if it did not exist: NOT_FOUND, absent from lists and watches.

A resource of no project (""; made while authorization was off, or by an admin who named none)
is visible to admins only, except where the area is `SHARED`: pools of no project are shared
infrastructure, which every caller sees (and reserves from), and only admins change.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from enum import Enum

from switchboard.server.errors import Violations
from switchboard.server.policy import SERVER, Principal, check_project_name, refuse


class Visibility(Enum):
    """Who may see a resource of no project, by kind of resource."""

    OWNED = "owned"
    """Admins only (reservations, instances, schedules, compositions)."""
    SHARED = "shared"
    """Everyone (pools: shared infrastructure)."""
    PUBLIC = "public"
    """Everyone, whatever the project: resources no project owns (CM handles, blackouts)."""


@dataclass(frozen=True)
class Access:
    """What the caller of a call may see: `own`, its projects, and with `everything` all of
    them (admins, the server itself, and everyone when authorization is off)."""

    principal: Principal
    own: frozenset[str] = frozenset()
    everything: bool = True

    def sees(self, project: str, visibility: Visibility = Visibility.OWNED) -> bool:
        return (self.everything or project in self.own or visibility is Visibility.PUBLIC
                or (visibility is Visibility.SHARED and project == ""))

    def changes(self, project: str) -> bool:
        """Whether the caller may change a resource of `project` it sees (a shared pool of no
        project: admins only)."""
        return self.everything or project in self.own

    def visible_projects(self, visibility: Visibility = Visibility.OWNED
                         ) -> frozenset[str] | None:
        """The projects whose resources the caller sees (None: all), for list filters."""
        if self.everything or visibility is Visibility.PUBLIC:
            return None
        return self.own | {""} if visibility is Visibility.SHARED else self.own

    def project_for(self, requested: str, violations: Violations,
                    field: str = "project") -> str:
        """The project a new resource goes into: `requested` if the caller may create there
        (PermissionDenied if not), else the caller's only project; "" (no project) for
        admins with none, and with authorization off. Problems with the request's `field` go
        into `violations`."""
        if requested:
            problem = check_project_name(requested)
            if problem:
                violations.add(field, problem)
                return ""
            if not self.everything and requested not in self.own:
                refuse(self.principal, "NOT_OWN_PROJECT",
                       f"project {requested!r} is not one of the caller's projects")
            return requested
        if len(self.own) == 1:
            return next(iter(self.own))
        if self.everything:
            return ""
        if not self.own:
            refuse(self.principal, "NO_PROJECT",
                   "the caller belongs to no project (the policy's [projects], or the token's "
                   "projects claim)")
        violations.add(field, "name one of the caller's projects: " + ", ".join(sorted(self.own)))
        return ""


EVERYTHING = Access(SERVER)
"""The server's own access: it sees every project's resources."""

access: ContextVar[Access] = ContextVar("access", default=EVERYTHING)
"""What the caller of the call being served may see (set by the RPC interceptor when
authorization is on); everything outside calls and with authorization off."""


def current() -> Access:
    return access.get()


def event_filter(visibility: Visibility) -> Callable[[str], bool] | None:
    """For the current caller, whether it sees an event of a resource of a project (None: it
    sees them all)."""
    projects = current().visible_projects(visibility)
    if projects is None:
        return None
    return projects.__contains__
