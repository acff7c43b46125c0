"""One reference node as an OS process: asyncio UDP on 127.0.0.1, JSON on the wire.

    python -m reference.drivers.net --algo raft[:VARIANT] --id 2 --nodes 5 --dir RUNDIR \\
        --control PORT [--port P] [--restart --clock C] [--seed S] [--lifetime S]

`drivers/cluster.py` starts these; a person rarely does. The process binds a UDP socket
on 127.0.0.1 (port P, or any free port), says hello to the cluster's control port and
waits for "start", which brings the peers' ports, the node's options and the current
partition. Then it runs the node: real timers (asyncio call_later, durations picked by a
seeded RNG), durable state in RUNDIR/node-<id>.durable.json (written atomically and
fsynced before anything of the step leaves the process, read back on --restart), and
one trace record per step appended and flushed to RUNDIR/node-<id>.jsonl.

Wire format: {"src": 1, "clock": 7, "msg": {...}} between nodes; {"ctl": ...} objects
between the cluster and a node:
    node -> cluster: hello {id, port, pid}; started {id}; held {op, id, clock};
                     applied {op, id}; output {id, event, wall, clock}
    cluster -> node: start {ports, options, sides, clock, t0}; peers {ports};
                     hold {op}: stop stepping, buffer inputs, report the clock;
                     apply {op, sides, clock}: set the partition (sides null = heal),
                         move the clock past the cluster's, then handle what was buffered;
                     stop: exit cleanly.
Partitions: a node sends nothing across the cut and drops every packet that arrives from
across it (one sent before it learnt of the cut), recording a drop step either way.

Clocks are Lamport clocks: a step that receives a message sets clock = max(clock, the
sender's clock) + 1; any other step adds 1. The hold/apply exchange gives a partition or
heal one clock value that every node's earlier steps are below and later steps above.

The process exits on "stop", on SIGTERM, when the cluster process goes away (parent
death signal on Linux, and a parent-pid check everywhere), or after --lifetime seconds.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any, Callable

from reference.node import (CancelTimer, Effect, Output, Persist, Send, SetTimer, dumps,
                            effect_json, load, make_record)

HOST = "127.0.0.1"


class NodeProcess(asyncio.DatagramProtocol):
    def __init__(self, args: argparse.Namespace, done: asyncio.Event) -> None:
        self.args = args
        self.done = done
        self.id: int = args.id
        self.ids = list(range(1, args.nodes + 1))
        self.cls, self.variant = load(args.algo)
        self.dir = Path(args.dir)
        self.trace_path = self.dir / f"node-{self.id}.jsonl"
        self.durable_path = self.dir / f"node-{self.id}.durable.json"
        self.control = (HOST, args.control)
        self.t0 = time.time()  # replaced by the cluster's, from "start"
        self.clock = args.clock
        self.seq = _count_lines(self.trace_path)
        self.rng = random.Random(args.seed * 100003 + self.id * 101 + self.seq)
        self.ports: dict[int, int] = {}
        self.sides: list[list[int]] | None = None
        self.node: Any = None
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.timer_token: dict[str, int] = {}
        self.tokens = 0
        self.held = False
        self.applied = 0  # the last partition/heal operation applied
        self.backlog: list[Callable[[], None]] = []
        self.transport: asyncio.DatagramTransport | None = None
        self.trace = open(self.trace_path, "a", buffering=1)

    # ------------------------------------------------------------------ transport
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send_ctl(self, obj: dict) -> None:
        if self.transport is not None:
            self.transport.sendto(dumps(obj).encode(), self.control)

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        try:
            obj = json.loads(data)
        except ValueError:
            _warn(f"node {self.id}: ignored a packet that is not JSON from {addr}")
            return
        if not isinstance(obj, dict):
            return
        if "ctl" in obj:
            if addr[1] == self.control[1]:
                self._control(obj)
            return
        src, clock, msg = obj.get("src"), obj.get("clock"), obj.get("msg")
        if src not in self.ids or not isinstance(clock, int) or not isinstance(msg, dict):
            _warn(f"node {self.id}: ignored a malformed packet {obj!r}")
            return
        if self.node is None:
            return  # not started yet: as if the packet had arrived before the process
        self._input(lambda: self._receive(src, clock, msg))

    def error_received(self, exc: Exception) -> None:  # ICMP errors: peers that are down
        pass

    # ------------------------------------------------------------------ control
    def _control(self, obj: dict) -> None:
        kind = obj["ctl"]
        if kind == "start" and self.node is None:
            self.ports = {int(k): v for k, v in obj["ports"].items()}
            self.sides = obj.get("sides")
            self.clock = max(self.clock, int(obj.get("clock", 0)))
            if obj.get("t0") is not None:
                self.t0 = float(obj["t0"])
            options = (obj.get("options") or {}).get(str(self.id), {})
            durable = None
            if self.args.restart and self.durable_path.exists():
                durable = json.loads(self.durable_path.read_text())
            others = [n for n in self.ids if n != self.id]
            self.node = self.cls(self.id, others, self.variant, durable, **options)
            kind_in = "restart" if self.args.restart else "start"
            self._step({"kind": kind_in}, None, self.node.on_start)
            self.send_ctl({"ctl": "started", "id": self.id})
        elif kind == "start":
            self.send_ctl({"ctl": "started", "id": self.id})
        elif kind == "peers":
            self.ports = {int(k): v for k, v in obj["ports"].items()}
        elif kind == "hold":
            self.held = True
            self.send_ctl({"ctl": "held", "op": obj["op"], "id": self.id, "clock": self.clock})
        elif kind == "apply":
            if obj["op"] <= self.applied:  # a resent apply that crossed our ack
                self.send_ctl({"ctl": "applied", "op": obj["op"], "id": self.id})
                return
            self.applied = obj["op"]
            self.sides = obj.get("sides")
            self.clock = max(self.clock, int(obj["clock"]))
            self.held = False
            self.send_ctl({"ctl": "applied", "op": obj["op"], "id": self.id})
            backlog, self.backlog = self.backlog, []
            for fn in backlog:
                self._input(fn)
        elif kind == "stop":
            self.shutdown()

    def shutdown(self) -> None:
        for handle in self.timers.values():
            handle.cancel()
        self.timers.clear()
        if not self.trace.closed:
            self.trace.close()
        if self.transport is not None:
            self.transport.close()
        self.done.set()

    # ------------------------------------------------------------------ steps
    def _input(self, fn: Callable[[], None]) -> None:
        if self.held:
            self.backlog.append(fn)
        elif not self.done.is_set():
            fn()

    def _receive(self, src: int, clock: int, msg: dict) -> None:
        if self._cut(src, self.id):
            self.clock = max(self.clock, clock) + 1
            self._write(None, {"kind": "drop", "from": src, "to": self.id, "msg": msg,
                               "reason": "partition"}, None, [])
            return
        try:
            self._step({"kind": "receive", "from": src, "msg": msg}, clock,
                       lambda: self.node.on_message(src, msg))
        except ValueError as e:
            _warn(f"node {self.id}: ignored a message the node refused: {e}")

    def _due(self, name: str, token: int) -> None:
        self._input(lambda: self._timer(name, token))

    def _timer(self, name: str, token: int) -> None:
        if self.timer_token.get(name) != token or name not in self.timers:
            return  # cancelled or re-armed since
        del self.timers[name]
        self._step({"kind": "timer", "name": name}, None, lambda: self.node.on_timer(name))

    def _step(self, inp: dict, recv_clock: int | None, fn: Callable[[], list[Effect]]) -> None:
        effects = fn()
        self.clock = (max(self.clock, recv_clock) if recv_clock is not None else self.clock) + 1
        out: list[dict] = []
        sends: list[Send] = []
        outputs: list[dict] = []
        for e in effects:
            if isinstance(e, Persist):
                _write_atomic(self.durable_path, dumps(e.durable))
                out.append(effect_json(e))
            elif isinstance(e, SetTimer):
                after = self.rng.randint(e.lo, e.hi)
                old = self.timers.pop(e.name, None)
                if old is not None:
                    old.cancel()
                self.tokens += 1
                self.timers[e.name] = asyncio.get_running_loop().call_later(
                    after / 1000, self._due, e.name, self.tokens)
                self.timer_token[e.name] = self.tokens
                out.append(effect_json(e, after))
            elif isinstance(e, CancelTimer):
                old = self.timers.pop(e.name, None)
                if old is not None:
                    old.cancel()
                out.append(effect_json(e))
            elif isinstance(e, Send):
                sends.append(e)
                out.append(effect_json(e))
            elif isinstance(e, Output):
                outputs.append(e.event)
                out.append(effect_json(e))
        wall = self._write(self.id, inp, self.node.observed_state(), out)
        clock = self.clock
        for s in sends:
            if self._cut(self.id, s.to):
                self.clock += 1
                self._write(None, {"kind": "drop", "from": self.id, "to": s.to, "msg": s.msg,
                                   "reason": "partition"}, None, [])
                continue
            port = self.ports.get(s.to)
            if port is not None and self.transport is not None:
                packet = {"src": self.id, "clock": clock, "msg": s.msg}
                self.transport.sendto(dumps(packet).encode(), (HOST, port))
        for event in outputs:
            self.send_ctl({"ctl": "output", "id": self.id, "event": event, "wall": wall,
                           "clock": self.clock})

    def _write(self, node: int | None, inp: dict, state: dict | None,
               effects: list[dict]) -> float:
        self.seq += 1
        wall = round(time.time() - self.t0, 4)
        record = make_record(self.seq, self.clock, wall, node, inp, state, effects)
        self.trace.write(dumps(record) + "\n")
        return wall

    def _cut(self, a: int, b: int) -> bool:
        if not self.sides:
            return False
        return not any(a in s and b in s for s in self.sides)


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _warn(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (best effort)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


async def serve(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    proto = NodeProcess(args, done)
    try:
        transport, _ = await loop.create_datagram_endpoint(lambda: proto,
                                                           local_addr=(HOST, args.port))
    except OSError:
        if args.port == 0:
            raise
        transport, _ = await loop.create_datagram_endpoint(lambda: proto, local_addr=(HOST, 0))
    port = transport.get_extra_info("sockname")[1]
    loop.add_signal_handler(signal.SIGTERM, proto.shutdown)
    parent = os.getppid()
    deadline = time.monotonic() + args.lifetime
    try:
        while not done.is_set():
            if proto.node is None:
                proto.send_ctl({"ctl": "hello", "id": args.id, "port": port, "pid": os.getpid()})
            try:
                await asyncio.wait_for(done.wait(), timeout=0.2)
            except asyncio.TimeoutError:
                pass
            if os.getppid() != parent or time.monotonic() > deadline:
                proto.shutdown()
    finally:
        proto.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m reference.drivers.net",
                                description="one reference node over UDP on 127.0.0.1")
    p.add_argument("--algo", required=True)
    p.add_argument("--id", type=int, required=True)
    p.add_argument("--nodes", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--control", type=int, required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--restart", action="store_true")
    p.add_argument("--clock", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lifetime", type=float, default=600.0)
    args = p.parse_args(argv)
    _die_with_parent()
    return asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
