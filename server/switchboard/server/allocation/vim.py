"""The VIM driver interface: what the allocation area asks of a virtual infrastructure manager.

A driver creates and deletes servers and reports, through `updates()`, where each one ends up.
Servers are named by Switchboard's instance id; a driver keeps its own server ids (a Nova driver
would put the instance id in the server's metadata) and reports them with ACTIVE. Calls return
once the VIM has accepted the request; the outcome comes later as an update.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class ServerState(StrEnum):
    ACTIVE = "ACTIVE"
    """Built and running."""
    ERROR = "ERROR"
    """The build failed."""
    DELETED = "DELETED"
    """Deleted on request."""
    GONE = "GONE"
    """The VIM has no such server (asked about after a restart)."""


@dataclass(frozen=True)
class ServerSpec:
    """What to build."""

    instance_id: str
    name: str
    vcpus: int
    ram_mb: int
    disk_gb: int
    image: str
    networks: tuple[str, ...]


@dataclass(frozen=True)
class ServerUpdate:
    """Where a server has got to."""

    instance_id: str
    state: ServerState
    server_id: str = ""
    message: str = ""


class VimDriver(Protocol):
    async def create_server(self, spec: ServerSpec) -> None:
        """Asks the VIM to build a server; ACTIVE or ERROR follows as an update."""

    async def delete_server(self, instance_id: str) -> None:
        """Asks the VIM to delete a server; DELETED (or GONE) follows as an update."""

    async def recheck(self, instance_id: str, deleting: bool, since: int) -> None:
        """Asks where a server stands whose outcome this process has not seen (after a
        restart): building, or deleting, since `since` (µs). The answer comes as an update."""

    def updates(self) -> AsyncIterator[list[ServerUpdate]]:
        """Batches of updates, as they happen, for as long as the driver runs."""
        ...
