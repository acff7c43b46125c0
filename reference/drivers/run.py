"""`elect run`: run a reference protocol on a real cluster (or the simulator) and report.

    elect run ALGO[:VARIANT] --nodes N [--duration S] [--faults SCRIPT] [--seed S]
                             [--trace FILE] [--sim]

Without --sim, N node processes talk UDP on 127.0.0.1 (drivers/cluster.py); with --sim
the deterministic simulator runs the same nodes in simulated time (drivers/sim.py). The
fault script is the format of drivers/faults.py. While the run goes, each election and
each fault is printed with its time; at the end a summary shows the leaders per term (or
ballot), each election with its trigger, duration and message count, the faults injected
and the verdict of the protocol's safety property, and the merged trace is written to
FILE (default traces/recorded/ALGO/RUN.jsonl).

`run_main(argv)` is the whole command (argv is everything after `run`). It returns 0 when
the run kept the protocol's safety property, 10 when it did not (e.g. a broken variant,
or Bully under a partition), 2 for a bad command line (one line on stderr), 3 when the
cluster could not be brought up, and 130 when interrupted.
"""
from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from reference.drivers import faults as faultlib
from reference.drivers.faults import FaultEvent
from reference.node import Node, load, parse_algo

EXIT_OK, EXIT_USAGE, EXIT_ENV, EXIT_VIOLATION, EXIT_INTERRUPTED = 0, 2, 3, 10, 130
MAX_NODES = 64


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="elect run", description=(
        "Run a reference leader-election protocol on a local cluster (one process per node, "
        "UDP on 127.0.0.1) or on the simulator, inject faults, print the elections."))
    p.add_argument("algo", metavar="ALGO[:VARIANT]",
                   help="bully, paxos, raft or ring, optionally with a variant, e.g. raft:double-vote")
    p.add_argument("--nodes", type=int, default=5, metavar="N", help="number of nodes (default 5)")
    p.add_argument("--duration", type=float, default=10.0, metavar="S",
                   help="seconds to run (default 10)")
    p.add_argument("--faults", default=None, metavar="SCRIPT",
                   help="e.g. '3s kill leader; 6s partition 1,2|3,4,5; 8s heal; 9s pause 2 for 1s'")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="seeds timer durations (and the whole run with --sim); default 0")
    p.add_argument("--trace", default=None, metavar="FILE",
                   help="where to write the JSONL trace (default traces/recorded/ALGO/RUN.jsonl)")
    p.add_argument("--sim", action="store_true",
                   help="run on the deterministic simulator instead of real processes")
    return p


def run_main(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = _parser().parse_args(argv)
        cls, variant = load(args.algo)
        if not 1 <= args.nodes <= MAX_NODES:
            raise _UsageError(f"--nodes must be between 1 and {MAX_NODES}, got {args.nodes}")
        if not 0 < args.duration <= 24 * 3600:
            raise _UsageError(f"--duration must be positive seconds, got {args.duration:g}")
        events = faultlib.parse(args.faults, args.nodes)
        late = [e for e in events if e.at > args.duration]
        if late:
            raise _UsageError(f"fault {late[0].describe()!r} comes after the end of the run "
                              f"(--duration {args.duration:g})")
    except SystemExit as e:  # --help
        return int(e.code or 0)
    except (_UsageError, ValueError) as e:
        print(f"elect run: error: {e}", file=err)
        return EXIT_USAGE
    algo = parse_algo(args.algo)[0]
    trace = Path(args.trace) if args.trace else _default_trace(algo, variant, args)
    report = _Report(out, cls)
    where = "the simulator" if args.sim else "127.0.0.1, one process per node"
    print(f"elect run {args.algo}: {args.nodes} nodes on {where}, {args.duration:g} s, "
          f"seed {args.seed}", file=out)
    if events:
        print("faults: " + "; ".join(e.describe() for e in events), file=out)
    if args.sim:
        return _run_sim(args, trace, report, err)
    return _run_net(args, events, trace, report, err)


# ---------------------------------------------------------------------------- sim


def _run_sim(args: argparse.Namespace, trace: Path, report: "_Report", err: TextIO) -> int:
    from reference.drivers.sim import Sim
    sim = Sim(args.algo, args.nodes, seed=args.seed, timed=True, faults=args.faults)
    sim.run(int(round(args.duration * 1000)))
    timeline: list[tuple[float, int, str]] = []
    timeline += [(t, 0, report.fault_line(t, what)) for t, what in sim.fault_log]
    timeline += [(t, 1, report.output_line(t, n, e)) for t, n, e in sim.outputs]
    for _, _, line in sorted(timeline, key=lambda x: (x[0], x[1])):
        report.print(line)
    try:
        sim.write_trace(trace)
    except OSError as e:
        print(f"elect run: error: cannot write the trace {str(trace)!r}: {e.strerror}",
              file=err)
        return EXIT_USAGE
    return report.summary(sim.elections(), sim.outputs, sim.fault_log, sim.safety,
                          trace, len(sim.lines))


# ---------------------------------------------------------------------------- net


def _run_net(args: argparse.Namespace, events: list[FaultEvent], trace: Path,
             report: "_Report", err: TextIO) -> int:
    from reference.drivers.cluster import Cluster, ClusterError
    from reference.drivers.sim import ElectionMeter

    cls = report.cls
    fault_log: list[tuple[float, str]] = []
    lock = threading.Lock()
    pending: list[str] = []

    def on_output(wall: float, n: int, event: dict) -> None:
        with lock:
            pending.append(report.output_line(wall, n, event))

    def flush() -> None:
        with lock:
            lines, pending[:] = list(pending), []
        for line in lines:
            report.print(line)

    def note(t: float, what: str) -> None:
        flush()
        fault_log.append((t, what))
        report.print(report.fault_line(t, what))

    old_term = _sigterm_to_exit()
    status = EXIT_OK
    with tempfile.TemporaryDirectory(prefix="elect-run-") as run_dir:
        cluster = Cluster(args.algo, args.nodes, run_dir, seed=args.seed, on_output=on_output,
                          lifetime=args.duration + 120)
        try:
            with cluster:
                try:
                    cluster.start()
                except ClusterError as e:
                    print(f"elect run: error: the cluster did not come up: {e}", file=err)
                    return EXIT_ENV
                resumes: list[tuple[float, int]] = []
                todo = list(events)
                while True:
                    now = cluster.now()
                    flush()
                    for at, n in [r for r in resumes if r[0] <= now]:
                        resumes.remove((at, n))
                        if n in cluster.paused:
                            cluster.resume(n)
                            note(cluster.now(), f"resume {n}")
                    if now >= args.duration:
                        break
                    while todo and todo[0].at <= now:
                        _net_fault(cluster, todo.pop(0), resumes, note)
                    time.sleep(0.01)
                flush()
        except ClusterError as e:
            flush()
            print(f"elect run: error: {e}", file=err)
            status = EXIT_ENV
        except KeyboardInterrupt:
            flush()
            report.print("interrupted: every node process stopped")
            status = EXIT_INTERRUPTED
        finally:
            _restore_sigterm(old_term)
        try:
            header, records = cluster.merge(trace, duration=args.duration,
                                            faults=args.faults or "")
        except OSError as e:
            print(f"elect run: error: cannot write the trace {str(trace)!r}: {e.strerror}",
                  file=err)
            return EXIT_USAGE
    meter = ElectionMeter(cls, cluster.ids)
    safety = cls.safety(cluster.variant, cluster.ids)
    for rec in sorted(records, key=lambda r: r["wall"]):
        meter.observe(rec)
        safety.observe(rec)
    outputs = sorted(cluster.outputs, key=lambda o: o[0])
    code = report.summary(meter.elections(), outputs, fault_log, safety, trace, len(records))
    return status or code


def _net_fault(cluster: Any, e: FaultEvent, resumes: list[tuple[float, int]], note: Any) -> None:
    t = cluster.now()
    target = e.target
    if target == "leader":
        target = cluster.current_leader()
        if target is None:
            note(t, f"{e.action} leader: no leader, skipped")
            return
    shown = f"{e.action} {e.target}" + (f" (node {target})" if e.target == "leader" else "")
    if e.action == "kill":
        if target in cluster.down:
            note(t, f"kill {target}: already down, skipped")
            return
        cluster.kill(target)
    elif e.action == "restart":
        down = sorted(cluster.down)
        todo = down if target == "all" else [target] if target in down else []
        if not todo:
            note(t, f"restart {target}: not down, skipped")
            return
        for n in todo:
            cluster.restart(n)
        shown = f"restart {','.join(map(str, todo))}"
    elif e.action == "pause":
        if target in cluster.down:
            note(t, f"pause {target}: down, skipped")
            return
        cluster.pause(target)
        resumes.append((t + (e.duration or 0), target))
        shown += f" for {e.duration:g}s"
    elif e.action == "partition":
        cluster.partition([list(s) for s in e.sides or ()])
        shown = "partition " + "|".join(",".join(map(str, s)) for s in e.sides or ())
    elif e.action == "isolate":
        sides = [[target], [n for n in cluster.ids if n != target]]
        cluster.partition(sides)
        shown += f": {target}|{','.join(map(str, sides[1]))}"
    elif e.action == "heal":
        if cluster.sides is None:
            note(t, "heal: no partition, skipped")
            return
        cluster.heal()
        shown = "heal"
    note(t, shown)


def _sigterm_to_exit() -> Any:
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)
    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:
        return None


def _restore_sigterm(old: Any) -> None:
    if old is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, old)


# ---------------------------------------------------------------------------- report


def _default_trace(algo: str, variant: str, args: argparse.Namespace) -> Path:
    name = variant or "default"
    if args.sim:
        run = f"sim-{name}-n{args.nodes}-seed{args.seed}"
    else:
        run = f"net-{name}-n{args.nodes}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    return Path("traces") / "recorded" / algo / f"{run}.jsonl"


def epoch_text(cls: type[Node], event: dict) -> str:
    if cls.EPOCH == "term":
        return f"term {event['term']}"
    if cls.EPOCH == "ballot":
        r, i = event["ballot"]
        return f"ballot ({r}, {i})"
    return ""


class _Report:
    def __init__(self, out: TextIO, cls: type[Node]) -> None:
        self.out = out
        self.cls = cls

    def print(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def output_line(self, t: float, n: int, event: dict) -> str:
        kind = event.get("event")
        epoch = f"{epoch_text(self.cls, event):<16} " if self.cls.EPOCH else ""
        if kind == "Elected":
            return f"{t:8.3f}s  elected       {epoch}leader {n}"
        if kind == "SteppedDown":
            return f"{t:8.3f}s  stepped down  {epoch}node {n}"
        return f"{t:8.3f}s  {kind}  node {n}  {event}"

    def fault_line(self, t: float, what: str) -> str:
        return f"{t:8.3f}s  fault         {what}"

    def summary(self, elections: list, outputs: list, fault_log: list, safety: Any,
                trace: Path, n_records: int) -> int:
        p = self.print
        p("summary")
        elected = [(t, n, e) for t, n, e in outputs if e.get("event") == "Elected"]
        if self.cls.EPOCH:
            per: dict[str, list[int]] = {}
            order: list[tuple[Any, str]] = []
            for _, n, e in elected:
                key = epoch_text(self.cls, e)
                if key not in per:
                    per[key] = []
                    order.append((e[self.cls.EPOCH], key))
                if n not in per[key]:
                    per[key].append(n)
            order.sort()
            shown = "; ".join(f"{k}: node {', '.join(map(str, per[k]))}" for _, k in order)
            p(f"  leaders per {self.cls.EPOCH}: {shown or 'none'}")
        else:
            shown = "; ".join(f"node {n} at {t:.3f}s" for t, n, _ in elected)
            p(f"  elected: {shown or 'nobody'}")
        if elections:
            p("  elections (trigger -> a leader known by every live node on the largest side):")
            p(f"    {'trigger':<34} {'took':>8} {'messages':>9}  leader")
            for el in elections:
                took = f"{el.took:.3f}s" if el.took is not None else "-"
                if el.leader is None:
                    who = "none by the end"
                else:
                    who = f"node {el.leader}"
                    if self.cls.EPOCH and el.epoch is not None:
                        who += f" ({epoch_text(self.cls, {self.cls.EPOCH: el.epoch})})"
                p(f"    {el.trigger[:34]:<34} {took:>8} {el.messages:>9}  {who}")
        faults = "; ".join(f"{t:.3f}s {w}" for t, w in fault_log)
        p(f"  faults injected: {faults or 'none'}")
        code = EXIT_OK
        if safety.violation:
            p(f"  safety: {safety.violation}")
            if self.cls.ASSUMES:
                p(f"  note: {self.cls.ASSUMES}")
            code = EXIT_VIOLATION
        else:
            p(f"  safety: {safety.name} held over {n_records} steps")
        p(f"  trace: {trace} ({n_records} records)")
        return code
