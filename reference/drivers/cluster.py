"""Launch N node processes on 127.0.0.1, inject faults, collect and merge their traces.

    with Cluster("raft", 5, run_dir) as c:      # stop() runs on exit, also on errors
        c.start()                               # every node up, "start" sent
        c.wait_for(lambda: c.current_leader() is not None, 2.0)
        c.kill(c.current_leader())              # SIGKILL; durable file stays on disk
        c.partition([[1, 2], [3, 4, 5]]); c.heal()
        c.pause(3); c.resume(3)                 # SIGSTOP / SIGCONT
        c.restart(4)                            # new process, reads its durable file back
    header, records = c.merge(out_path)         # one JSONL, ordered by (clock, node, seq)

Each node is `python -m reference.drivers.net` (see net.py for the wire and control
protocol). The cluster talks to the nodes over its own UDP control socket, from a
receiver thread that collects hellos, acknowledgements and Output events (`outputs`,
and the optional `on_output` callback, which is how `elect run` prints elections as they
happen). Faults the nodes cannot record themselves go to RUN_DIR/cluster.jsonl: a crash
record (clock one past the node's last record, with its last observed state), and the
partition and heal records (node null) with the clock agreed by the hold/apply exchange.

Cleanup is by PID only, and always: `stop()` asks every node to exit, SIGCONTs paused
ones, SIGKILLs whatever is left after a grace period and reaps every process it started;
it is idempotent and runs from `__exit__` (so Ctrl-C, which raises KeyboardInterrupt,
unwinds through it) and from `atexit`; `elect run` also turns SIGTERM into SystemExit.
The nodes themselves die with the thread that started them (parent death signal, see
net.py) as a second line of defence, so start a cluster from a thread that outlives it.
"""
from __future__ import annotations

import atexit
import json
import os
import queue
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

import reference
from reference.node import dumps, load, make_record, parse_algo

HOST = "127.0.0.1"


class ClusterError(RuntimeError):
    """A node did not come up or did not answer the cluster in time."""


class Cluster:
    def __init__(self, algo: str, nodes: int, run_dir: str | Path | None = None, *,
                 seed: int = 0, options: dict[int, dict] | None = None,
                 on_output: Callable[[float, int, dict], None] | None = None,
                 lifetime: float = 600.0, python: str | None = None) -> None:
        self.cls, self.variant = load(algo)
        self.algo = algo
        self.protocol = parse_algo(algo)[0]
        if nodes < 1:
            raise ValueError(f"need at least 1 node, got {nodes}")
        self.ids = list(range(1, nodes + 1))
        self.seed = seed
        self.options = options if options is not None else \
            self.cls.choose_options(self.variant, self.ids, random.Random(seed))
        self.dir = Path(run_dir) if run_dir is not None else Path(tempfile.mkdtemp(prefix="elect-run-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.on_output = on_output
        self.lifetime = lifetime
        self.python = python or sys.executable
        self.procs: dict[int, subprocess.Popen] = {}
        self.all_procs: list[subprocess.Popen] = []
        self.ports: dict[int, int] = {}
        self.paused: set[int] = set()
        self.down: set[int] = set()
        self.sides: list[list[int]] | None = None
        self.crash_clock: dict[int, int] = {}
        self.outputs: list[tuple[float, int, dict]] = []
        self.faults: list[tuple[float, str]] = []
        self.t0: float | None = None
        self.clock = 0
        self._seq = 0
        self._op = 0
        self._leading: dict[int, float] = {}
        self._lock = threading.Lock()
        self._acks: queue.Queue = queue.Queue()
        self._stopping = threading.Event()
        self._stopped = False
        self._cluster_trace = open(self.dir / "cluster.jsonl", "a", buffering=1)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.settimeout(0.05)
        self.control_port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._receive_loop, daemon=True,
                                        name="elect-cluster-control")
        self._thread.start()
        atexit.register(self.stop)

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self, timeout: float = 10.0) -> None:
        """Start every node and wait until all have started."""
        for n in self.ids:
            self._spawn(n, restart=False)
        hellos = self._collect("hello", set(self.ids), timeout)
        for n, msg in hellos.items():
            self.ports[n] = msg["port"]
        self.t0 = time.time()
        self._request("started", set(self.ids), lambda n: self._start_msg(), timeout)

    def stop(self, grace: float = 1.5) -> None:
        """Stop every process this cluster started (by PID); idempotent."""
        if self._stopped:
            return
        self._stopped = True
        try:
            for proc in self.all_procs:
                if proc.poll() is None:
                    try:
                        os.kill(proc.pid, signal.SIGCONT)
                    except ProcessLookupError:
                        pass
            for n, proc in self.procs.items():
                if proc.poll() is None and n in self.ports:
                    self._send(n, {"ctl": "stop"})
            deadline = time.monotonic() + grace
            for proc in self.all_procs:
                left = max(0.0, deadline - time.monotonic())
                try:
                    proc.wait(timeout=left)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            for proc in self.all_procs:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
                for f in (proc.stderr, proc.stdout):
                    if f is not None:
                        f.close()
            self._stopping.set()
            self._thread.join(timeout=2.0)
            self.sock.close()
            self._cluster_trace.close()
            atexit.unregister(self.stop)

    def pids(self) -> list[int]:
        return [p.pid for p in self.all_procs]

    def alive(self) -> list[int]:
        return [n for n in self.ids if n not in self.down and self.procs[n].poll() is None]

    # ------------------------------------------------------------------ faults
    def kill(self, n: int) -> None:
        """SIGKILL node n; its durable file stays on disk. Records the crash."""
        self._check_node(n)
        if n in self.down:
            raise ValueError(f"node {n} is already down")
        proc = self.procs[n]
        wall = self.now()
        proc.kill()
        proc.wait()
        self.down.add(n)
        self.paused.discard(n)
        with self._lock:
            self._leading.pop(n, None)
        last = _last_record(self.dir / f"node-{n}.jsonl")
        clock = (last["clock"] if last else 0) + 1
        self.crash_clock[n] = clock
        self._record(clock, wall, n, {"kind": "crash"}, last["state"] if last else None)
        self.faults.append((wall, f"kill {n}"))

    def restart(self, n: int, timeout: float = 10.0) -> None:
        """Start a killed node again; it reads its durable state back from disk."""
        self._check_node(n)
        if n not in self.down:
            raise ValueError(f"node {n} is not down")
        self._spawn(n, restart=True)
        hello = self._collect("hello", {n}, timeout)[n]
        moved = hello["port"] != self.ports.get(n)
        self.ports[n] = hello["port"]
        self.down.discard(n)
        self._request("started", {n}, lambda m: self._start_msg(), timeout)
        if moved:
            for m in self.alive():
                if m != n:
                    self._send(m, {"ctl": "peers", "ports": self._ports_json()})
        self.faults.append((self.now(), f"restart {n}"))

    def pause(self, n: int) -> None:
        self._check_node(n)
        if n in self.down:
            raise ValueError(f"node {n} is down")
        os.kill(self.procs[n].pid, signal.SIGSTOP)
        self.paused.add(n)
        self.faults.append((self.now(), f"pause {n}"))

    def resume(self, n: int) -> None:
        self._check_node(n)
        if n in self.paused and n not in self.down:
            os.kill(self.procs[n].pid, signal.SIGCONT)
            self.faults.append((self.now(), f"resume {n}"))
        self.paused.discard(n)

    def partition(self, sides: list[list[int]]) -> None:
        flat = sorted(n for s in sides for n in s)
        if flat != self.ids or len(sides) < 2 or not all(sides):
            raise ValueError(f"bad partition {sides!r}: every node 1..{len(self.ids)} must be "
                             f"on exactly one of two or more sides")
        sides = [sorted(s) for s in sides]
        self._cut(sides, {"kind": "partition", "sides": sides})
        self.faults.append((self.now(), "partition " + "|".join(",".join(map(str, s)) for s in sides)))

    def heal(self) -> None:
        self._cut(None, {"kind": "heal"})
        self.faults.append((self.now(), "heal"))

    # ------------------------------------------------------------------ views
    def now(self) -> float:
        return round(time.time() - (self.t0 or time.time()), 4)

    def current_leader(self) -> int | None:
        """The live node that announced Elected most recently and has not stepped down."""
        with self._lock:
            live = {n: t for n, t in self._leading.items() if n not in self.down}
        return max(live, key=lambda n: live[n]) if live else None

    def leaders(self) -> list[int]:
        with self._lock:
            return sorted(n for n in self._leading if n not in self.down)

    def wait_for(self, predicate: Callable[[], bool], timeout: float, poll: float = 0.02) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(poll)
        return predicate()

    def elected_since(self, wall: float) -> list[tuple[float, int, dict]]:
        with self._lock:
            return [o for o in self.outputs if o[0] >= wall and o[2].get("event") == "Elected"]

    def header(self, **extra: Any) -> dict:
        return {"header": True, "protocol": self.protocol, "variant": self.variant,
                "nodes": self.ids, "driver": "net", "seed": self.seed,
                "options": {str(n): self.options.get(n, {}) for n in self.ids}, **extra}

    def merge(self, out: str | Path | None = None, **header: Any) -> tuple[dict, list[dict]]:
        """Merge the per-node traces and the cluster's records into one list ordered by
        (clock, node, origin, seq), renumbering seq; write it as JSONL to `out` if given."""
        rows: list[tuple[tuple, dict]] = []
        files = sorted(self.dir.glob("node-*.jsonl")) + [self.dir / "cluster.jsonl"]
        for path in files:
            origin = 0 if path.name == "cluster.jsonl" else int(path.stem.split("-")[1])
            if not path.exists():
                continue
            for line in path.read_text().splitlines():
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a line cut short by SIGKILL
                node = rec.get("node")
                rows.append(((rec["clock"], node if node is not None else 0, origin,
                              rec["seq"]), rec))
        rows.sort(key=lambda r: r[0])
        records = []
        for i, (_, rec) in enumerate(rows, start=1):
            rec["seq"] = i
            records.append(rec)
        head = self.header(**header)
        if out is not None:
            out = Path(out)
            out.parent.mkdir(parents=True, exist_ok=True)
            with open(out, "w") as f:
                f.write(dumps(head) + "\n")
                for rec in records:
                    f.write(dumps(rec) + "\n")
        return head, records

    # ------------------------------------------------------------------ internals
    def _check_node(self, n: int) -> None:
        if n not in self.ids:
            raise ValueError(f"no node {n!r} (nodes are 1..{len(self.ids)})")

    def _spawn(self, n: int, restart: bool) -> None:
        env = dict(os.environ)
        root = str(Path(reference.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        cmd = [self.python, "-m", "reference.drivers.net", "--algo", self.algo,
               "--id", str(n), "--nodes", str(len(self.ids)), "--dir", str(self.dir),
               "--control", str(self.control_port), "--seed", str(self.seed),
               "--lifetime", str(self.lifetime)]
        if restart:
            cmd += ["--restart", "--clock", str(self.crash_clock.get(n, 0)),
                    "--port", str(self.ports.get(n, 0))]
        err = open(self.dir / f"node-{n}.err", "ab")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, env=env)
        err.close()
        self.procs[n] = proc
        self.all_procs.append(proc)

    def _start_msg(self) -> dict:
        return {"ctl": "start", "ports": self._ports_json(), "sides": self.sides,
                "clock": self.clock, "t0": self.t0,
                "options": {str(n): self.options.get(n, {}) for n in self.ids}}

    def _ports_json(self) -> dict:
        return {str(n): p for n, p in sorted(self.ports.items())}

    def _send(self, n: int, obj: dict) -> None:
        port = self.ports.get(n)
        if port is not None:
            try:
                self.sock.sendto(dumps(obj).encode(), (HOST, port))
            except OSError:
                pass

    def _receive_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                data, _ = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                msg = json.loads(data)
            except ValueError:
                continue
            if not isinstance(msg, dict):
                continue
            if msg.get("ctl") == "output":
                self._on_output(msg)
            else:
                self._acks.put(msg)

    def _on_output(self, msg: dict) -> None:
        n, event, wall = msg["id"], msg["event"], msg["wall"]
        with self._lock:
            self.outputs.append((wall, n, event))
            if event.get("event") == "Elected":
                self._leading[n] = wall
            elif event.get("event") == "SteppedDown":
                self._leading.pop(n, None)
        if self.on_output is not None:
            self.on_output(wall, n, event)

    def _collect(self, kind: str, wanted: set[int], timeout: float,
                 op: int | None = None, resend: Callable[[], None] | None = None) -> dict[int, dict]:
        got: dict[int, dict] = {}
        deadline = time.monotonic() + timeout
        next_resend = time.monotonic() + 0.2
        while set(got) < wanted:
            left = deadline - time.monotonic()
            if left <= 0:
                missing = sorted(wanted - set(got))
                dead = [n for n in missing if self.procs[n].poll() is not None]
                why = f" (exited: {dead}; see {self.dir}/node-N.err)" if dead else ""
                raise ClusterError(f"no {kind!r} from node(s) {missing} within {timeout:g}s{why}")
            if resend is not None and time.monotonic() >= next_resend:
                resend()
                next_resend = time.monotonic() + 0.2
            try:
                msg = self._acks.get(timeout=min(left, 0.05))
            except queue.Empty:
                continue
            if msg.get("ctl") == kind and msg.get("id") in wanted and \
                    (op is None or msg.get("op") == op):
                got[msg["id"]] = msg
        return got

    def _request(self, kind: str, nodes: set[int], make: Callable[[int], dict],
                 timeout: float, op: int | None = None) -> dict[int, dict]:
        def send_all() -> None:
            for n in sorted(nodes):
                self._send(n, make(n))
        send_all()
        return self._collect(kind, nodes, timeout, op=op, resend=send_all)

    def _cut(self, sides: list[list[int]] | None, inp: dict, timeout: float = 5.0) -> None:
        self._op += 1
        op = self._op
        active = {n for n in self.alive() if n not in self.paused}
        held = self._request("held", active, lambda n: {"ctl": "hold", "op": op}, timeout, op)
        clock = max([self.clock] + [m["clock"] for m in held.values()]) + 1
        self.clock = clock
        self.sides = sides
        apply = {"ctl": "apply", "op": op, "sides": sides, "clock": clock}
        for n in self.alive():
            if n in self.paused:
                self._send(n, apply)
        self._request("applied", active, lambda n: apply, timeout, op)
        self._record(clock, self.now(), None, inp, None)

    def _record(self, clock: int, wall: float, node: int | None, inp: dict,
                state: dict | None) -> None:
        self._seq += 1
        self.clock = max(self.clock, clock)
        rec = make_record(self._seq, clock, wall, node, inp, state, [])
        self._cluster_trace.write(dumps(rec) + "\n")


def _last_record(path: Path) -> dict | None:
    if not path.exists():
        return None
    last = None
    for line in path.read_text().splitlines():
        try:
            last = json.loads(line)
        except ValueError:
            continue
    return last
