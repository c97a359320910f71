"""`--workers N`: N server processes on this host sharing one port, under a supervisor.

The supervisor (the process the command started) serves nothing itself. It starts worker 0
(a `multiprocessing` spawn child running an `App` with the same settings) and waits until it
is bound: worker 0 creates the schema alone, and with `--port 0` the port it was given is the
one the others bind too. Then it starts the other workers on that port; every worker binds
with `grpc.so_reuseport`, so the kernel spreads new connections over them (a connection, and
every call on it, stays with one worker: clients spread their load by opening several
connections).

Health: each worker serves `grpc.health.v1` and stays NOT_SERVING until the supervisor has
seen every worker bound and tells them all to serve. A health check reaches one worker and
speaks for it; SERVING from one also means that all N were serving once, and since any worker
that dies takes the group down, the others are serving or stopping.

Stop: SIGTERM or SIGINT to the supervisor goes to every worker, each drains and stops as a
single server does (`drain`, `App.stop`), and the supervisor exits 0 once they all exited 0.
A worker that exits unexpectedly is not restarted: the supervisor stops the others and exits
with status 1, for the service manager to restart the group. A worker starting on its own
beside running ones would do its start-up recovery (instance builds and SO requests are
rechecked with the worker's own simulated VIM and SO) over work the running workers are
doing. Each worker also watches its pipe to the supervisor and stops if the supervisor dies.

Every worker runs the background work an `App` owns, as replicas on one database do: their
writes re-read what they change under the write lock (on SQLite one write transaction at a
time across all processes, `BEGIN IMMEDIATE`, handed between workers by a lock file:
`db._WriterLock`), and admission's optimistic transactions check at commit what they counted
on (`eventlog.Transaction`), so nothing is admitted twice or over capacity. The participant
runtime keeps its state in the database, so a participant connected to one worker serves
operations started through any.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import socket
import time
from dataclasses import replace
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

import structlog

from switchboard.server.app import App, tune_gc
from switchboard.server.config import Settings
from switchboard.server.drain import LIMIT
from switchboard.server.logs import configure

log = structlog.get_logger("switchboard.server.workers")

STOP_MARGIN = 10.0
"""Seconds past the shutdown grace and the drain that the supervisor waits for the workers to
stop before it kills them."""


def supervise(settings: Settings) -> int:
    """Runs `settings.workers` workers until SIGTERM or SIGINT, or until one of them dies;
    returns the exit status: 0 when every worker stopped cleanly on a signal, else 1."""
    configure(settings.log_format, settings.log_level)
    signals = _Signals()
    workers: list[_Worker] = []
    try:
        first = _Worker(0, settings)
        workers.append(first)
        port = first.bound(signals)
        if port is not None:
            others = [_Worker(i, replace(settings, port=port)) for i in range(1, settings.workers)]
            workers += others
            if all(w.bound(signals) is not None for w in others):
                for w in workers:
                    w.serve()
                log.info("workers serving", port=port, pids=[w.pid for w in workers],
                         supervisor=os.getpid())
                _wait_for_end(workers, signals)
        return _stop(workers, settings, signals.received)
    finally:
        signals.close()


class _Worker:
    """One worker process and the supervisor's end of its pipe."""

    def __init__(self, index: int, settings: Settings) -> None:
        self.index = index
        self.conn, child = multiprocessing.Pipe()
        self.process: BaseProcess = multiprocessing.get_context("spawn").Process(
            target=run_worker, args=(index, settings, child), name=f"switchboard-worker-{index}")
        self.process.start()
        child.close()
        self.pid = self.process.pid
        self.exited = False
        log.info("worker started", worker=index, pid=self.pid)

    def bound(self, signals: _Signals) -> int | None:
        """Waits until the worker is bound; its port, or None if it died or a signal came."""
        while not signals.received:
            ready = wait([self.conn, self.process.sentinel, signals.wakeup])
            if self.conn in ready:
                with contextlib.suppress(EOFError):  # if it died, its sentinel says so
                    port: int = self.conn.recv()
                    return port
            if self.process.sentinel in ready:
                self.ended("worker died while starting")
                return None
            signals.clear()
        return None

    def serve(self) -> None:
        """Tells the worker that every worker is bound: its health may say SERVING."""
        self.conn.send("serve")

    def ended(self, event: str) -> None:
        self.process.join()
        self.exited = True
        log.error(event, worker=self.index, pid=self.pid, exitcode=self.process.exitcode)


def _wait_for_end(workers: list[_Worker], signals: _Signals) -> None:
    """Until a signal comes or a worker exits."""
    sentinels = {w.process.sentinel: w for w in workers}
    while not signals.received:
        for ready in wait([*sentinels, signals.wakeup]):
            if isinstance(ready, int):
                sentinels[ready].ended("worker exited unexpectedly; stopping the others")
                return
            signals.clear()


def _stop(workers: list[_Worker], settings: Settings, received: list[int]) -> int:
    """SIGTERM to every running worker, then waits for them (killing any that outlasts the
    grace); 0 if a signal asked for the stop and every worker exited 0."""
    if received:
        log.info("stopping workers", signal=signal.Signals(received[0]).name)
    running = [w for w in workers if not w.exited]
    for w in running:
        if w.process.exitcode is None:
            w.process.terminate()  # SIGTERM
    deadline = time.monotonic() + settings.shutdown_grace + LIMIT + STOP_MARGIN
    for w in running:
        w.process.join(max(0.0, deadline - time.monotonic()))
        if w.process.exitcode is None:
            log.error("worker did not stop in time; killing it", worker=w.index, pid=w.pid)
            w.process.kill()
            w.process.join()
    clean = bool(received) and all(w.process.exitcode == 0 for w in workers)
    for w in workers:
        if w.process.exitcode != 0 and not w.exited:
            log.error("worker failed", worker=w.index, pid=w.pid, exitcode=w.process.exitcode)
    log.info("workers stopped", status=0 if clean else 1)
    return 0 if clean else 1


class _Signals:
    """SIGTERM and SIGINT, recorded in `received` and woken on through `wakeup`, a socket
    `wait` can watch."""

    def __init__(self) -> None:
        self.wakeup, self._writer = socket.socketpair()
        self.received: list[int] = []
        for end in (self.wakeup, self._writer):
            end.setblocking(False)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, _frame: self.received.append(signum))
        signal.set_wakeup_fd(self._writer.fileno())

    def clear(self) -> None:
        """Empties the wake-up socket."""
        with contextlib.suppress(BlockingIOError):
            while self.wakeup.recv(64):
                pass

    def close(self) -> None:
        signal.set_wakeup_fd(-1)
        self.wakeup.close()
        self._writer.close()


# -- in the worker -------------------------------------------------------------------------


def run_worker(index: int, settings: Settings, conn: Connection) -> None:
    """A worker's process: one `App` on the shared port (spawned by `supervise`)."""
    configure(settings.log_format, settings.log_level, worker=index)
    asyncio.run(_serve(settings, conn))


async def _serve(settings: Settings, conn: Connection) -> None:
    """Starts the app with health NOT_SERVING, tells the supervisor its port, serves health
    once told to, and stops on SIGTERM or SIGINT, or when the supervisor's end of the pipe
    closes (it died)."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    told = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    app = App(settings)
    port = await app.start(ready=False)
    tune_gc()

    def heard() -> None:
        try:
            conn.recv()
            told.set()
        except (EOFError, OSError):
            log.error("supervisor gone; stopping")
            loop.remove_reader(conn.fileno())
            stopping.set()

    loop.add_reader(conn.fileno(), heard)
    conn.send(port)
    waits = [asyncio.create_task(event.wait()) for event in (told, stopping)]
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    if not stopping.is_set():
        await app.ready()
        log.info("worker serving", port=port)
        await stopping.wait()
    for task in waits:
        task.cancel()
    loop.remove_reader(conn.fileno())
    await app.stop()
