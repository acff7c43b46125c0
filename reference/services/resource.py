"""The guarded resource: a one-value store, in its own process, that fences writes by token.

A leader writes here with the fencing token of its election (the ZooKeeper lock node's
sequence number or the etcd leader key's create revision). With fencing on, a write whose
token is lower than the highest token accepted so far is rejected; equal or higher tokens
are accepted and raise `highest`. With fencing off (the `no-fencing` variants) every write
is accepted, and the resource still tracks `highest` so the trace shows which accepted
writes were stale. Decisions are made one at a time under one lock, so the resource's
records are the order in which the store changed.

Wire protocol (TCP on 127.0.0.1, one JSON object per line each way):
    -> {"op": "write", "client": 2, "token": 17, "id": 5, "clock": 40, "value": "2:5"}
    <- {"accepted": true, "highest": 17, "clock": 41}

Run as `python -m reference.services.resource --trace FILE --epoch E [--no-fencing]`; it
prints its port on stdout once it listens.
"""
from __future__ import annotations

import argparse
import json
import signal
import socket
import socketserver
import sys
import threading
from typing import Any

from .recorder import Recorder


class Store:
    def __init__(self, rec: Recorder, fencing: bool):
        self.rec = rec
        self.fencing = fencing
        self.highest: int | None = None
        self.value: Any = None

    def write(self, req: dict[str, Any]) -> dict[str, Any]:
        client, token, wid = req["client"], req["token"], req["id"]
        with self.rec.lock:
            stale = self.highest is not None and token < self.highest
            accepted = not (self.fencing and stale)
            if accepted:
                self.value = req.get("value")
                self.highest = token if self.highest is None else max(self.highest, token)
            kind = "accept" if accepted else "reject"
            reply = {"type": "WriteResult", "id": wid, "accepted": accepted, "highest": self.highest}
            r = self.rec.record({"kind": kind, "from": client, "token": token, "id": wid, "stale": stale},
                                {"highest": self.highest},
                                [{"kind": "send", "to": client, "msg": reply}],
                                recv_clock=req.get("clock"))
            return {"accepted": accepted, "highest": self.highest, "clock": r["clock"]}


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        store: Store = self.server.store  # type: ignore[attr-defined]
        for line in self.rfile:
            try:
                req = json.loads(line)
                if req.get("op") != "write":
                    raise ValueError("unknown op")
                out = store.write(req)
            except (ValueError, KeyError, TypeError) as e:
                out = {"error": f"bad request: {e}"}
            try:
                self.wfile.write((json.dumps(out) + "\n").encode())
                self.wfile.flush()
            except OSError:
                return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class ResourceClient:
    """A client's connection to the resource; one request at a time."""

    def __init__(self, port: int, timeout: float = 3.0):
        self.port = port
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.rfile = None

    def _connect(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
        self.rfile = self.sock.makefile("rb")

    def write(self, client: int, token: int, wid: int, clock: int, value: str) -> dict[str, Any]:
        """Send one write; returns the reply. Raises OSError when the resource is unreachable."""
        if self.sock is None:
            self._connect()
        try:
            self.sock.sendall((json.dumps({"op": "write", "client": client, "token": token, "id": wid,
                                           "clock": clock, "value": value}) + "\n").encode())
            line = self.rfile.readline()
            if not line:
                raise OSError("resource closed the connection")
            return json.loads(line)
        except (OSError, ValueError):
            self.close()
            raise OSError("resource unreachable")

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reference.services.resource")
    ap.add_argument("--trace", required=True)
    ap.add_argument("--epoch", type=float, required=True)
    ap.add_argument("--no-fencing", action="store_true")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    rec = Recorder(args.trace, "resource", args.epoch,
                   {"source": "resource", "fencing": not args.no_fencing})
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.store = Store(rec, fencing=not args.no_fencing)  # type: ignore[attr-defined]
    print(srv.server_address[1], flush=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        t.join()
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
