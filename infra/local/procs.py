"""Child processes of the local stack: started in their own process groups, always stopped.

Every process the local stack starts goes through `Processes.spawn`, which puts it in a new
session (so a terminal's Ctrl-C reaches only the orchestrator, which then stops the children in
order) and, on Linux, asks the kernel to send it SIGTERM if the orchestrator dies without
cleaning up. `Processes.stop_all` stops the children in reverse start order, one group of
like-named children at a time (the pollers, then the API, the portal, moto last), so nothing
talks to a service that has already gone: SIGTERM, a grace period, then SIGKILL. It runs from
`atexit` and from the SIGINT/SIGTERM handlers, so nothing is left running however the run ends.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port free on `host` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen[Any] | None) -> None:
    """Block until something accepts connections on host:port (or fail with a clear error)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with code {proc.returncode} before listening")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout:.0f} s")


def _die_with_parent() -> None:
    """preexec_fn: new session, and SIGTERM when the parent dies (Linux prctl PR_SET_PDEATHSIG)."""
    os.setsid()
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path | None
    log_file: IO[bytes] | None = None


@dataclass
class Processes:
    """The process tree of one local stack."""

    log_dir: Path
    grace_seconds: float = 5.0
    children: list[Child] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopped: bool = False
    _installed: bool = False
    _previous: dict[int, Any] = field(default_factory=dict)

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: Path | None = None,
    ) -> Child:
        self._install_handlers()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        log_file = log_path.open("ab")
        proc = subprocess.Popen(  # our own argv, never a shell
            list(argv),
            env=dict(env),
            cwd=str(cwd) if cwd else None,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - spawned from the main thread only
        )
        child = Child(name, proc, log_path, log_file)
        with self._lock:
            self.children.append(child)
        return child

    def peak_rss_mib(self) -> dict[str, float]:
        """Each live child's peak resident memory (VmHWM), for the run's report."""
        peaks = {}
        for child in self.children:
            try:
                with open(f"/proc/{child.proc.pid}/status", encoding="ascii") as status:
                    line = next(x for x in status if x.startswith("VmHWM:"))
            except (OSError, StopIteration):
                continue  # exited, or not Linux
            peaks[child.name] = round(int(line.split()[1]) / 1024, 1)
        return peaks

    def check_alive(self) -> list[str]:
        """Names of children that have exited (a healthy stack returns [])."""
        return [c.name for c in self.children if c.proc.poll() is not None]

    def stop_all(self) -> None:
        """Stop the children newest group first (pollers, API, portal, then moto).

        Each group of like-named children (poller-0, poller-1, ...) gets SIGTERM together, up
        to `grace_seconds` to exit, then SIGKILL; only then is the next (older) group asked.
        """
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            children = list(reversed(self.children))
        for group in stop_groups(children):
            self._stop_group(group)
        self._restore_handlers()

    def _stop_group(self, group: list[Child]) -> None:
        for child in group:
            _signal_group(child.proc, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_seconds
        for child in group:
            remaining = max(0.0, deadline - time.monotonic())
            try:
                child.proc.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                _signal_group(child.proc, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.proc.wait(timeout=2)
            # The group may hold grandchildren (chalice's reloader, werkzeug): make sure.
            _signal_group(child.proc, signal.SIGKILL)
            if child.log_file is not None:
                child.log_file.close()

    def _restore_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum, previous in self._previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, previous)
        self._previous.clear()

    def _install_handlers(self) -> None:
        if self._installed:
            return
        self._installed = True
        atexit.register(self.stop_all)
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            previous = signal.getsignal(signum)
            self._previous[signum] = previous
            signal.signal(signum, self._make_handler(signum, previous))

    def _make_handler(
        self, signum: int, previous: Callable[[int, FrameType | None], Any] | int | None
    ) -> Callable[[int, FrameType | None], None]:
        def handler(received: int, frame: FrameType | None) -> None:
            self.stop_all()
            if callable(previous):
                previous(received, frame)
                return
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise SystemExit(128 + signum)

        return handler


def stop_groups(children: Sequence[Child]) -> list[list[Child]]:
    """Neighbouring children of one kind ("poller-0", "poller-1": "poller"), in the given order."""

    def kind(child: Child) -> str:
        return child.name.rstrip("0123456789").rstrip("-_")

    groups: list[list[Child]] = []
    for child in children:
        if groups and kind(groups[-1][0]) == kind(child):
            groups[-1].append(child)
        else:
            groups.append([child])
    return groups


def _signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    if proc.poll() is not None and signum != signal.SIGKILL:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signum)
