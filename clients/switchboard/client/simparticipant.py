"""A simulated participant built on `switchboard.client.participant`: it keeps its elements'
states in memory, takes a configurable time per element type, fails a configurable number of
operations per element type, or never answers for some element types. Tests, benchmarks and the
README use it; run it as its own process with

    python -m switchboard.client.simparticipant --participant-id p1 --element-types org.a,org.b

It prints `registered <participant> <replica> rejoined=<bool>` once registered, `synced
compositions=<ids> instances=<ids>` for each sync it receives (after it registers again, say
after a restart), and stops (and deregisters, as a pod does) on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field

from switchboard.client.participant import Handler, Outcome, Participant
from switchboard.participant.v1 import participant_pb2 as pb


@dataclass
class SimSettings:
    """`delays`: seconds each operation takes, per element type. `failures`: how many of the
    next operations fail, per element type (-1: every one), or per `TYPE:operation` (such as
    `org.b:deploy`). `silent`: element types (or `TYPE:operation`) that never answer."""

    delays: dict[str, float] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    silent: set[str] = field(default_factory=set)


class SimulatedHandler(Handler):
    """Records every call in `journal` as (operation, participant label, element name) and keeps
    each instance element's last successful operation in `elements`."""

    def __init__(self, settings: SimSettings | None = None, label: str = "",
                 journal: list[tuple[str, str, str]] | None = None) -> None:
        self.settings = settings or SimSettings()
        self.label = label
        self.journal: list[tuple[str, str, str]] = [] if journal is None else journal
        self.elements: dict[tuple[str, str], str] = {}
        self.syncs: list[pb.ParticipantMessage] = []
        self.synced = asyncio.Event()

    def _fails(self, element_type: str, operation: str) -> bool:
        """Whether this `operation` on an element of `element_type` is to fail (`failures`:
        by "TYPE:operation", else by "TYPE"), counting the failure down."""
        key = next((k for k in (f"{element_type}:{operation}", element_type)
                    if k in self.settings.failures), "")
        left = self.settings.failures.get(key, 0)
        if left > 0:
            self.settings.failures[key] = left - 1
        return left != 0

    async def _work(self, operation: str, subject: str, e: pb.ElementMessage) -> Outcome:
        if {e.type, f"{e.type}:{operation}"} & self.settings.silent:
            await asyncio.Event().wait()
        delay = self.settings.delays.get(e.type, 0.0)
        if delay:
            await asyncio.sleep(delay)
        self.journal.append((operation, self.label, e.name))
        if self._fails(e.type, operation):
            return Outcome(False, f"simulated {operation} failure of {e.name}")
        self.elements[(subject, e.name)] = operation
        return Outcome(True, f"{operation} done",
                       {"operation": operation, "properties": len(e.properties)})

    async def prime(self, composition_id: str, element: pb.ElementMessage) -> Outcome:
        return await self._work("prime", composition_id, element)

    async def deprime(self, composition_id: str, element: pb.ElementMessage) -> Outcome:
        return await self._work("deprime", composition_id, element)

    async def deploy(self, instance_id: str, element: pb.ElementMessage) -> Outcome:
        return await self._work("deploy", instance_id, element)

    async def undeploy(self, instance_id: str, element: pb.ElementMessage) -> Outcome:
        return await self._work("undeploy", instance_id, element)

    async def lock(self, instance_id: str, element: pb.ElementMessage) -> Outcome:
        return await self._work("lock", instance_id, element)

    async def unlock(self, instance_id: str, element: pb.ElementMessage) -> Outcome:
        return await self._work("unlock", instance_id, element)

    async def update(self, instance_id: str, element: pb.ElementMessage) -> Outcome:
        return await self._work("update", instance_id, element)

    async def delete(self, instance_id: str, element: pb.ElementMessage) -> Outcome:
        return await self._work("delete", instance_id, element)

    async def migrate(self, instance_id: str, target_composition_id: str,
                      element: pb.ElementMessage) -> Outcome:
        return await self._work("migrate", instance_id, element)

    async def migrate_precheck(self, instance_id: str, target_composition_id: str,
                               element: pb.ElementMessage) -> Outcome:
        """(Journaled as `migrate_precheck`; it does not change `elements`.)"""
        if {element.type, f"{element.type}:migrate_precheck"} & self.settings.silent:
            await asyncio.Event().wait()
        self.journal.append(("migrate_precheck", self.label, element.name))
        if self._fails(element.type, "migrate_precheck"):
            return Outcome(False, f"simulated migrate_precheck failure of {element.name}")
        return Outcome(True, f"{element.name} would migrate to {target_composition_id}")

    async def sync(self, message: pb.ParticipantMessage) -> None:
        self.syncs.append(message)
        self.synced.set()


class _PrintingHandler(SimulatedHandler):
    """Prints each sync (for whoever runs the process)."""

    async def sync(self, message: pb.ParticipantMessage) -> None:
        await super().sync(message)
        print(f"synced compositions={','.join(c.id for c in message.compositions)} "
              f"instances={','.join(i.id for i in message.instances)}", flush=True)


def _pairs(values: Sequence[str], flag: str) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, number = value.partition("=")
        if not sep:
            raise SystemExit(f"{flag} expects TYPE=VALUE, got {value!r}")
        out[name] = number
    return out


async def _main(args: argparse.Namespace) -> None:
    settings = SimSettings(
        delays={t: float(v) for t, v in _pairs(args.delay, "--delay").items()},
        failures={t: int(v) for t, v in _pairs(args.fail, "--fail").items()},
        silent=set(args.silent))
    participant = Participant(
        args.target, args.participant_id, args.replica_id,
        [t for t in args.element_types.split(",") if t], _PrintingHandler(settings),
        heartbeat_interval=args.heartbeat_interval)
    await participant.start()
    print(f"registered {args.participant_id} {args.replica_id} "
          f"rejoined={participant.rejoined}", flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    await participant.stop(deregister=not args.keep_registered)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="simparticipant",
                                     description="A simulated Switchboard participant.")
    parser.add_argument("--target", default="localhost:50051", help="server address")
    parser.add_argument("--participant-id", required=True, help="participant id")
    parser.add_argument("--replica-id", default=f"{socket.gethostname()}-{os.getpid()}",
                        help="replica id (default: host-pid)")
    parser.add_argument("--element-types", required=True,
                        help="comma-separated element types it supports")
    parser.add_argument("--delay", action="append", default=[], metavar="TYPE=SECONDS",
                        help="seconds each operation on elements of TYPE takes")
    parser.add_argument("--fail", action="append", default=[], metavar="TYPE=COUNT",
                        help="the next COUNT operations on TYPE (or TYPE:operation) fail "
                             "(-1: all)")
    parser.add_argument("--silent", action="append", default=[], metavar="TYPE",
                        help="never answer for elements of TYPE (or TYPE:operation)")
    parser.add_argument("--heartbeat-interval", type=float, default=None,
                        help="seconds between heartbeats (default: what the server says)")
    parser.add_argument("--keep-registered", action="store_true",
                        help="do not deregister on exit")
    asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
