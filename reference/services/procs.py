"""Child processes that are always stopped: every process a run starts goes through here.

`spawn` starts a child in its own session (so it heads its own process group) with the
Linux parent-death signal set to SIGKILL, so a child dies with its parent even when the
parent is killed with SIGKILL. Every child is registered in `REGISTRY`, and
`Processes.kill_all` (called from `finally` blocks) kills each group by its id and reaps
it. Tests use `leftovers()` to assert that nothing survived a run.

Children must be spawned from the main thread: the parent-death signal fires when the
*thread* that forked the child exits.
"""
from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path | None
    started: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def state(self) -> str:
        """The kernel's one-letter state ('R', 'S', 'T' stopped, 'Z'), or 'X' when gone."""
        try:
            text = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return "X"
        return text[text.rindex(")") + 2]

    def signal(self, sig: int) -> None:
        """Signal the whole process group (the child heads it)."""
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self) -> bool:
        """SIGSTOP and wait until the kernel shows the process stopped; False if it is gone."""
        self.signal(signal.SIGSTOP)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            st = self.state()
            if st in ("T", "t"):
                return True
            if st in ("X", "Z"):
                return False
            time.sleep(0.001)
        return self.state() in ("T", "t")

    def resume(self) -> None:
        self.signal(signal.SIGCONT)

    def kill(self, timeout: float = 5.0) -> None:
        """SIGKILL the group and reap the child."""
        self.signal(signal.SIGKILL)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        # the group may hold grandchildren that outlive the leader
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def terminate(self, timeout: float) -> bool:
        """SIGTERM (after SIGCONT, in case it is paused), wait; True if it exited in time."""
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False


REGISTRY: list[Proc] = []


def spawn(name: str, argv: list[str], log: Path | None = None, env: dict[str, str] | None = None,
          cwd: str | None = None, stdout_pipe: bool = False) -> Proc:
    out = None
    if stdout_pipe:
        out = subprocess.PIPE
    elif log is not None:
        out = open(log, "ab")
    try:
        popen = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out,
            stderr=(open(log, "ab") if log is not None else subprocess.DEVNULL),
            start_new_session=True, preexec_fn=_die_with_parent, env=env, cwd=cwd)
    finally:
        if out not in (None, subprocess.PIPE):
            out.close()
    proc = Proc(name, popen, log)
    REGISTRY.append(proc)
    return proc


def leftovers() -> list[Proc]:
    """Registered children that are still running (or unreaped zombies)."""
    return [p for p in REGISTRY if p.popen.poll() is None]


class Processes:
    """The children of one run, killed together in `kill_all` (idempotent)."""

    def __init__(self) -> None:
        self.procs: list[Proc] = []

    def spawn(self, name: str, argv: list[str], **kw) -> Proc:
        p = spawn(name, argv, **kw)
        self.procs.append(p)
        return p

    def kill_all(self) -> None:
        for p in self.procs:
            p.kill()
        for p in self.procs:
            if p.popen.stdout is not None:
                p.popen.stdout.close()


# ---- ports ------------------------------------------------------------------------------

def free_ports(n: int) -> list[int]:
    """n distinct ports on 127.0.0.1 that were free a moment ago (all held open together,
    so they are distinct, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return sorted(s.getsockname()[1] for s in socks)
    finally:
        for s in socks:
            s.close()


def port_in_use(port: int) -> bool:
    """True when something listens on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0
