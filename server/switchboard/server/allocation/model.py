"""Instances, flavors and the status rules that need neither gRPC nor a database."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from enum import StrEnum

from switchboard.server.allocation.vim import ServerState
from switchboard.server.reservation.ledger import MAX_AMOUNT


class Status(StrEnum):
    BUILDING = "BUILDING"
    ACTIVE = "ACTIVE"
    ERROR = "ERROR"
    DELETING = "DELETING"
    DELETED = "DELETED"


FINISHED = (Status.DELETING, Status.DELETED)
"""Statuses from which destroying changes nothing."""


@dataclass(frozen=True)
class Flavor:
    """A size of instance; it takes one instance, its cores, memory and disk from its pool."""

    name: str
    vcpus: int
    ram_mb: int
    disk_gb: int

    def amounts(self) -> dict[str, int]:
        return {"instances": 1, "cores": self.vcpus, "ram_mb": self.ram_mb,
                "gigabytes": self.disk_gb}


DEFAULT_FLAVORS = (
    Flavor("m1.tiny", 1, 512, 1),
    Flavor("m1.small", 1, 2048, 20),
    Flavor("m1.medium", 2, 4096, 40),
    Flavor("m1.large", 4, 8192, 80),
    Flavor("m1.xlarge", 8, 16384, 160),
)
"""OpenStack's classic catalogue, used unless configuration names another."""


MAX_FLAVOR_NAME = 255
"""Longest flavor name: what CreateInstanceRequest's `instance.flavor` may hold."""


def parse_flavors(text: str) -> dict[str, Flavor]:
    """A catalogue from JSON: a list of {"name", "vcpus", "ram_mb", "disk_gb"} objects, names of
    1 to MAX_FLAVOR_NAME characters, amounts 0 to MAX_AMOUNT."""
    flavors: dict[str, Flavor] = {}
    for item in json.loads(text):
        flavor = Flavor(str(item["name"]), int(item["vcpus"]), int(item["ram_mb"]),
                        int(item["disk_gb"]))
        if not 0 < len(flavor.name) <= MAX_FLAVOR_NAME or not all(
                0 <= n <= MAX_AMOUNT for n in (flavor.vcpus, flavor.ram_mb, flavor.disk_gb)):
            raise ValueError(f"bad flavor {item!r}")
        if flavor.name in flavors:
            raise ValueError(f"flavor {flavor.name!r} is listed twice")
        flavors[flavor.name] = flavor
    if not flavors:
        raise ValueError("the flavor catalogue is empty")
    return flavors


@dataclass(frozen=True)
class Instance:
    id: str
    name: str
    pool_id: str
    flavor: str
    image: str
    networks: tuple[str, ...]
    reservation_id: str
    status: Status
    status_message: str
    vim_server_id: str
    amounts: dict[str, int]
    create_time: int
    update_time: int
    created_revision: int
    revision: int
    project: str = ""

    def with_status(self, status: Status, message: str, now: int, revision: int,
                    vim_server_id: str = "") -> Instance:
        return replace(self, status=status, status_message=message, update_time=now,
                       revision=revision, vim_server_id=vim_server_id or self.vim_server_id)


def reported_status(current: Status, reported: ServerState) -> Status | None:
    """Where a VIM report moves an instance, or None when it changes nothing (a build that
    finishes after its instance was destroyed, a report repeated after a restart)."""
    if current is Status.BUILDING:
        return {ServerState.ACTIVE: Status.ACTIVE, ServerState.ERROR: Status.ERROR,
                ServerState.GONE: Status.ERROR}.get(reported)
    if current is Status.DELETING and reported in (ServerState.DELETED, ServerState.GONE):
        return Status.DELETED
    return None


def releases(status: Status) -> bool:
    """Whether entering `status` gives the instance's capacity back."""
    return status in (Status.ERROR, Status.DELETED)
