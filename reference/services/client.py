"""What every election client shares: its recorded state, leader work, stopping.

A client is one OS process (so the harness can pause it with SIGSTOP and kill it) with a
few threads: the main thread campaigns and, while leader, writes to the guarded resource
every `write_interval` seconds; the coordination library's own thread (kazoo's
connection thread, or the etcd keepalive thread) reports session events. Every change
of the client's state happens in `step`, under the recorder's lock, and is recorded as
one trace record holding the state after the step:

    role     "idle" (holds no lock node / leader key), "candidate" (holds one and waits),
             "leader" (believes it is elected)
    token    the fencing token of the node or key it holds, or null
    session  the ZooKeeper session id ("0x...") or etcd lease id (decimal string), or null

A leader works in units: it checks its role (under the lock) and records the `write` it
decides on, prepares it for `write_interval` seconds, then sends it to the resource with
its token, as decided, without looking again; a pause during the preparation delivers the
write after the pause (in a spec: a message in flight while its sender is paused). A
rejected write means a newer leader exists: the client drops its token and goes idle. Subclasses implement `connect`, `campaign_step` and `resign`.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any

from .recorder import Recorder
from .resource import ResourceClient

ELECTION = "/elect/election"


def client_args(prog: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog)
    ap.add_argument("--id", type=int, required=True)
    ap.add_argument("--incarnation", type=int, default=0)
    ap.add_argument("--hosts", required=True, help="comma-separated server addresses, tried in order")
    ap.add_argument("--resource-port", type=int, required=True)
    ap.add_argument("--trace", required=True)
    ap.add_argument("--epoch", type=float, required=True)
    ap.add_argument("--timeout", type=float, default=2.0, help="session timeout / lease TTL, seconds")
    ap.add_argument("--write-interval", type=float, default=0.1)
    ap.add_argument("--no-fencing", action="store_true")
    ap.add_argument("--trust-campaign", action="store_true")
    return ap


class ClientBase:
    system = "?"

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.id: int = args.id
        self.incarnation: int = args.incarnation
        self.write_interval: float = args.write_interval
        self.rec = Recorder(args.trace, args.id, args.epoch,
                            {"source": "client", "system": self.system, "incarnation": args.incarnation,
                             "fencing": not args.no_fencing})
        self.lock = self.rec.lock
        self.role = "idle"
        self.token: int | None = None
        self.session: str | None = None
        self.stopping = threading.Event()
        self.resource = ResourceClient(args.resource_port)
        # write ids are unique within a run: each incarnation has its own block
        self.next_wid = args.incarnation * 1_000_000 + 1

    # -- state and steps --
    def state(self) -> dict[str, Any]:
        return {"role": self.role, "token": self.token, "session": self.session}

    def step(self, input: dict[str, Any], effects: list[dict[str, Any]] | None = None,
             pos: dict[str, int] | None = None, recv_clock: int | None = None, **changes: Any) -> dict[str, Any]:
        """Apply `changes` to the state and record the step (with leadership effects)."""
        with self.lock:
            was_role, was_token = self.role, self.token
            for k, v in changes.items():
                setattr(self, k, v)
            eff = list(effects or [])
            if was_role == "leader" and self.role != "leader":
                eff.append({"kind": "lost_leadership", "token": was_token})
            if self.role == "leader" and (was_role != "leader" or was_token != self.token):
                eff.append({"kind": "became_leader", "token": self.token})
            return self.rec.record(input, self.state(), eff, pos, recv_clock)

    # -- leader work --
    def lead_once(self) -> None:
        with self.lock:
            if self.role != "leader" or self.stopping.is_set():
                return
            wid = self.next_wid
            self.next_wid += 1
            token = self.token
            r = self.step({"kind": "write", "token": token, "id": wid},
                          [{"kind": "send", "to": "resource", "msg": {"type": "Write", "token": token, "id": wid}}])
        # the leader's unit of work: the write is prepared for write_interval seconds and
        # then sent as decided, without looking at the role again (a pause lands here)
        self.stopping.wait(self.write_interval)
        try:
            reply = self.resource.write(self.id, token, wid, r["clock"], f"{self.id}:{wid}")
        except OSError:
            self.step({"kind": "write_result", "id": wid, "token": token, "accepted": None, "highest": None,
                       "error": "resource unreachable"})
            self.stopping.wait(self.write_interval)
            return
        with self.lock:
            changes: dict[str, Any] = {}
            if not reply.get("accepted") and self.role == "leader" and self.token == token:
                changes = {"role": "idle", "token": None}
                self.on_fenced()
            self.step({"kind": "write_result", "id": wid, "token": token, "accepted": bool(reply.get("accepted")),
                       "highest": reply.get("highest")}, recv_clock=reply.get("clock"), **changes)

    def on_fenced(self) -> None:
        """Called (under the lock) when the resource rejected this leader's token."""

    # -- lifecycle --
    def connect(self) -> None:
        raise NotImplementedError

    def campaign_step(self) -> None:
        """One bounded step of campaigning (returns within about half a second)."""
        raise NotImplementedError

    def resign(self) -> None:
        raise NotImplementedError

    def run(self) -> int:
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        signal.signal(signal.SIGINT, lambda *_: self.stopping.set())
        self.step({"kind": "start", "incarnation": self.incarnation})
        self.connect()
        while not self.stopping.is_set():
            if self.role == "leader":
                self.lead_once()
            else:
                self.campaign_step()
        # a stuck close must not keep the process alive
        threading.Timer(3.0, lambda: os._exit(0)).start()
        try:
            self.resign()
        finally:
            self.resource.close()
            self.rec.close()
        os._exit(0)


def main(cls: type[ClientBase], argv: list[str] | None = None) -> int:
    args = client_args(f"python -m reference.services.{cls.system}").parse_args(argv)
    return cls(args).run()


if __name__ == "__main__":
    sys.exit("run reference.services.zookeeper or reference.services.etcd")
