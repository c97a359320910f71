"""Switchboard CM handle benchmark, in one run:

(a) registration: the simulated DMI plugin (`python -m switchboard.client.simdmi`, its own
    process) registers N handles (default 50,000) in batches of 1,000 with 10 module-set tags;
    handles/s from starting the plugin process until the last handle's READY event arrives on a
    WatchLcmEvents stream;
(b) id-searches over the N handles (every page of ids): by effective trust level (a fifth of the
    handles are set NONE by device heartbeats first) and by a public property (a tenth match);
(c) full search: every handle, whole, page by page;
(d) de-registration: UpdateRegistration removing every handle in batches of 1,000 (on the
    plugin's behalf), handles/s until the last DELETE event arrives;
(e) LCM events/s delivered to the one watcher over (a) and (d);
(f) the server's peak RSS (VmHWM).

NCMP's KPIs (two instances of 3 CPUs): registration >= 22 handles/s (expected 70),
de-registration >= 22 (expected 140), id-search <= 2,600 ms, full search <= 24,000 ms, 3 GB.
Targets here, on 2 cores: registration >= 1,000/s, de-registration >= 2,000/s, id-search
< 100 ms, full search < 2 s, peak RSS < 500 MB. A missed target prints NO; nothing fails.

The server runs as a subprocess on a free 127.0.0.1 port with a fresh temporary SQLite file (or
--database-url).

    .venv/bin/python bench/cmhandle_bench.py [--handles 50000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from switchboard.cmhandle.v1 import cmhandle_pb2 as pb
from switchboard.cmhandle.v1 import cmhandle_pb2_grpc as pb_grpc

from benchlib import free_port, proc_status, wait_ready

BATCH = 1000
TARGETS = {"register": 1000.0, "deregister": 2000.0, "id_search_ms": 100.0,
           "full_search_ms": 2000.0, "rss_mb": 500.0}


class Watcher:
    """Counts LCM events by kind on one WatchLcmEvents stream."""

    def __init__(self, stub: pb_grpc.CmHandleServiceStub) -> None:
        self.stream = stub.WatchLcmEvents(pb.WatchLcmEventsRequest())
        self.ready = 0
        self.deleted = 0
        self.events = 0
        self.live = asyncio.Event()
        self.changed = asyncio.Event()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for response in self.stream:
            if not response.events:
                self.live.set()
            for e in response.events:
                self.events += 1
                if e.content.operation == "DELETE":
                    self.deleted += 1
                elif e.content.data.new_values.state.cm_handle_state == "READY":
                    self.ready += 1
            self.changed.set()

    async def until(self, predicate: Callable[[], bool]) -> float:
        """Waits until `predicate` holds; returns the time it was seen."""
        while not predicate():
            self.changed.clear()
            await self.changed.wait()
        return time.perf_counter()


async def search_all(stub: pb_grpc.CmHandleServiceStub, **conditions: Any) -> tuple[int, float]:
    """(results, ms) for every page of a search."""
    start = time.perf_counter()
    found, token = 0, ""
    while True:
        response = await stub.SearchCmHandles(pb.SearchCmHandlesRequest(
            page_size=1000, page_token=token, **conditions))
        found += len(response.cm_handle_ids) + len(response.cm_handles)
        token = response.next_page_token
        if not token:
            return found, (time.perf_counter() - start) * 1000


async def run(args: argparse.Namespace, target: str, workdir: Path) -> dict[str, float]:
    n = args.handles
    plugin_port = free_port()
    plugin = f"127.0.0.1:{plugin_port}"
    out: dict[str, float] = {}
    async with grpc.aio.insecure_channel(target) as channel:
        handles = pb_grpc.CmHandleServiceStub(channel)
        inventory = pb_grpc.CmHandleInventoryServiceStub(channel)
        watcher = Watcher(handles)
        await watcher.live.wait()
        start = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "switchboard.client.simdmi", "--server", target,
            "--port", str(plugin_port), "--handles", str(n), "--batch", str(BATCH),
            "--module-sets", "10", "--property", "vendor=vendor-{m}",
            "--property", "site=site-{i}",
            stdout=subprocess.DEVNULL, stderr=(workdir / "simdmi.log").open("w"))
        try:
            done = await watcher.until(lambda: watcher.ready >= n)
            out["register"] = n / (done - start)
            register_events = watcher.events
            out["register_events_s"] = register_events / (done - start)

            ids = [f"ch-{i:06d}" for i in range(n)]
            for i in range(0, n, 10_000):
                await inventory.ReportTrustLevels(pb.ReportTrustLevelsRequest(
                    dmi_plugin=plugin, trust_levels=[
                        pb.CmHandleTrustLevel(cm_handle_id=h, trust_level=pb.TRUST_LEVEL_NONE)
                        for h in ids[i:i + 10_000:5]]))
            found, out["id_search_trust_ms"] = await search_all(
                handles, trust_level=pb.TRUST_LEVEL_NONE, ids_only=True)
            out["id_search_trust_found"] = found
            found, out["id_search_property_ms"] = await search_all(
                handles, public_properties={"vendor": "vendor-3"}, ids_only=True)
            out["id_search_property_found"] = found
            found, out["full_search_ms"] = await search_all(handles)
            out["full_search_found"] = found

            before = watcher.events
            start = time.perf_counter()
            for i in range(0, n, BATCH):
                await inventory.UpdateRegistration(pb.UpdateRegistrationRequest(
                    dmi_plugin=plugin, removed=ids[i:i + BATCH]))
            done = await watcher.until(lambda: watcher.deleted >= n)
            out["deregister"] = n / (done - start)
            out["deregister_events_s"] = (watcher.events - before) / (done - start)
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), 30)
            watcher.stream.cancel()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handles", type=int, default=50_000, help="handles to register")
    parser.add_argument("--database-url", default="",
                        help="default: a fresh temporary SQLite file")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cmhandle-bench-"))
    port = free_port()
    target = f"127.0.0.1:{port}"
    database_url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    server = subprocess.Popen(
        [sys.executable, "-m", "switchboard.server", "--host", "127.0.0.1", "--port", str(port),
         "--database-url", database_url, "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=(workdir / "server.log").open("w"))
    try:
        asyncio.run(wait_ready(target))
        figures = asyncio.run(run(args, target, workdir))
        rss_mb = proc_status(server.pid, "VmHWM") / 1024
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)

    def verdict(ok: bool) -> str:
        return "yes" if ok else "NO"

    print(f"CM handles: {args.handles} handles, batches of {BATCH}, 10 module-set tags, "
          f"{'SQLite' if not args.database_url else database_url.split(':')[0]}")
    f = figures
    print(f"  (a) registration handles/s    {f['register']:10.1f}  target >= 1000: "
          f"{verdict(f['register'] >= TARGETS['register'])}  (NCMP >= 22, expected 70)")
    print(f"  (b) id-search by trust     ms {f['id_search_trust_ms']:10.1f}  target < 100: "
          f"{verdict(f['id_search_trust_ms'] < TARGETS['id_search_ms'])}  "
          f"({f['id_search_trust_found']:.0f} ids; NCMP <= 2600)")
    print(f"      id-search by property  ms {f['id_search_property_ms']:10.1f}  target < 100: "
          f"{verdict(f['id_search_property_ms'] < TARGETS['id_search_ms'])}  "
          f"({f['id_search_property_found']:.0f} ids)")
    print(f"  (c) full search            ms {f['full_search_ms']:10.1f}  target < 2000: "
          f"{verdict(f['full_search_ms'] < TARGETS['full_search_ms'])}  "
          f"({f['full_search_found']:.0f} handles; NCMP <= 24000)")
    print(f"  (d) de-registration handles/s {f['deregister']:10.1f}  target >= 2000: "
          f"{verdict(f['deregister'] >= TARGETS['deregister'])}  (NCMP >= 22, expected 140)")
    print(f"  (e) LCM events/s to 1 watcher {f['register_events_s']:10.1f}  during (a); "
          f"{f['deregister_events_s']:.1f} during (d)")
    print(f"  (f) server peak RSS        MB {rss_mb:10.1f}  target < 500: "
          f"{verdict(rss_mb < TARGETS['rss_mb'])}  (NCMP 3 GB)")


if __name__ == "__main__":
    main()
