"""`elect run zookeeper|etcd[:VARIANT]`: real servers, real election clients, faults, a trace.

    elect run zookeeper --servers 1 --clients 3 --duration 12 \\
        --faults "4s pause leader for 4s" --trace traces/recorded/zookeeper/pause.jsonl

How a run goes (every process it starts is killed by process group in `finally`, also
on Ctrl-C, and dies with it if it is itself killed; see procs.py):
1. start the servers (servers.py) with data under a temporary directory;
2. start the guarded resource (resource.py), fencing unless the variant is no-fencing;
3. start the clients, one OS process each; the moment they are started is time 0;
4. run the fault script (faults.py), recording each fault in the lane of its victim;
5. at --duration, stop the clients (they resign), read the servers' history (the
   ZooKeeper transaction logs, the etcd watch), stop the servers;
6. merge every process's records into one causally ordered trace (merge.py), write it,
   print the leadership timeline and a summary (summary.py).

Variants: `default` (fencing, and for etcd a read-back of the leader key after the
campaign answers), `no-fencing` (the resource accepts every write), `trust-campaign`
(etcd only: lead on the campaign's answer without reading the key back).

Exit codes: 0 the resource never accepted a stale write; 10 it did (the safety property
fencing exists for was broken); 2 a usage error or a missing server binary (one line,
with the install command); 3 a server or process that would not start; 130 interrupted.
"""
from __future__ import annotations

import argparse
import itertools
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, TextIO

from . import faults as faultscript
from .faults import Fault, FaultScriptError
from .merge import MergeError, merge
from .procs import Proc, Processes
from .recorder import Recorder, dumps, read_jsonl
from .servers import Cluster, ServerError, make_cluster, missing
from .summary import render, summarize

VARIANTS = {"zookeeper": ("default", "no-fencing"),
            "etcd": ("default", "no-fencing", "trust-campaign")}
REPO = Path(__file__).resolve().parents[2]


class RunError(Exception):
    """A run that could not go on: a one-line reason and an exit code."""

    def __init__(self, msg: str, code: int = 3):
        super().__init__(msg)
        self.code = code


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise RunError(message, 2)


def parser() -> argparse.ArgumentParser:
    ap = _Parser(
        prog="elect run", description="Run real ZooKeeper or etcd leader elections under faults and record a trace.")
    ap.add_argument("system", metavar="zookeeper|etcd[:VARIANT]",
                    help="zookeeper, zookeeper:no-fencing, etcd, etcd:no-fencing, etcd:trust-campaign")
    ap.add_argument("--servers", type=int, default=1, choices=(1, 3), help="servers in the ensemble (1 or 3)")
    ap.add_argument("--clients", type=int, default=3, help="election clients, one process each (default 3)")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds from the clients' start (default 10)")
    ap.add_argument("--faults", default="", metavar="SCRIPT",
                    help="e.g. '5s pause leader for 4s; 12s kill server leader' (or a file holding one)")
    ap.add_argument("--trace", metavar="FILE",
                    help="where to write the merged JSONL trace (default traces/recorded/SYSTEM/RUN.jsonl)")
    ap.add_argument("--session-timeout", type=float, default=2.0, metavar="S",
                    help="ZooKeeper session timeout / etcd lease TTL in seconds (default 2)")
    ap.add_argument("--write-interval", type=float, default=0.1, metavar="S",
                    help="seconds between a leader's writes (default 0.1)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (raw records, server logs)")
    ap.add_argument("--quiet", action="store_true", help="print only the summary")
    return ap


def parse_system(text: str) -> tuple[str, str]:
    system, _, variant = text.partition(":")
    variant = variant or "default"
    if system not in VARIANTS:
        raise RunError(f"unknown system '{system}' (expected zookeeper or etcd)", 2)
    if variant not in VARIANTS[system]:
        raise RunError(f"unknown variant '{variant}' for {system} (expected one of {', '.join(VARIANTS[system])})", 2)
    return system, variant


def server_version(system: str) -> str:
    if system == "zookeeper":
        try:
            with zipfile.ZipFile("/usr/share/java/zookeeper.jar") as z:
                props = z.read("META-INF/maven/org.apache.zookeeper/zookeeper/pom.properties").decode()
            return next(line.split("=", 1)[1].strip() for line in props.splitlines() if line.startswith("version="))
        except (OSError, KeyError, StopIteration, zipfile.BadZipFile):
            return "?"
    try:
        out = subprocess.run(["etcd", "--version"], capture_output=True, text=True, timeout=5).stdout
        return out.split("\n")[0].split(":")[-1].strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


class Run:
    """One run; `execute` returns (header, merged records, notes)."""

    def __init__(self, args: argparse.Namespace, system: str, variant: str, script: list[Fault],
                 say: Callable[[str], None]):
        self.args = args
        self.system = system
        self.variant = variant
        self.fencing = variant != "no-fencing"
        self.trust = variant == "trust-campaign"
        self.script = script
        self.say = say
        self.procs = Processes()
        self.workdir = Path(tempfile.mkdtemp(prefix=f"elect-run-{system}-"))
        self.clients: dict[int, Proc | None] = {}
        self.incarnation: dict[int, int] = {}
        self.paused: set[int] = set()
        self.notes: list[str] = []
        self.cluster: Cluster | None = None
        self.watcher = None
        self.timings: dict[str, float] = {}
        self.ticket = itertools.count()  # orders resumes due at the same time

    # -- processes --
    def client_trace(self, i: int, inc: int) -> Path:
        return self.workdir / f"client-{i}.{inc}.jsonl"

    def spawn_client(self, i: int) -> None:
        inc = self.incarnation.get(i, -1) + 1
        self.incarnation[i] = inc
        argv = [sys.executable, "-m", f"reference.services.{self.system}", "--id", str(i),
                "--incarnation", str(inc), "--hosts", ",".join(self.cluster.endpoints()),
                "--resource-port", str(self.resource_port), "--trace", str(self.client_trace(i, inc)),
                "--epoch", repr(self.epoch), "--timeout", repr(self.args.session_timeout),
                "--write-interval", repr(self.args.write_interval)]
        if not self.fencing:
            argv.append("--no-fencing")
        if self.trust:
            argv.append("--trust-campaign")
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.clients[i] = self.procs.spawn(f"client-{i}.{inc}", argv, log=self.workdir / f"client-{i}.{inc}.log",
                                           env=env, cwd=str(REPO))

    def start_resource(self) -> None:
        argv = [sys.executable, "-m", "reference.services.resource", "--trace", str(self.workdir / "resource.jsonl"),
                "--epoch", repr(self.epoch)] + ([] if self.fencing else ["--no-fencing"])
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        p = self.procs.spawn("resource", argv, env=env, cwd=str(REPO), stdout_pipe=True)
        ready, _, _ = select.select([p.popen.stdout], [], [], 10.0)
        line = p.popen.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            raise RunError("the guarded resource did not start (no port announced)")
        self.resource_port = int(line)

    # -- what the clients believe now (for 'leader' and 'candidate' targets) --
    def client_states(self) -> dict[int, dict[str, Any]]:
        out = {}
        for i, p in sorted(self.clients.items()):
            if p is None or not p.alive() or i in self.paused:
                continue
            _h, recs = read_jsonl(str(self.client_trace(i, self.incarnation[i])))
            states = [r["state"] for r in recs if r.get("state")]
            if states:
                out[i] = states[-1]
        return out

    def resolve_client(self, which: str | int) -> int | None:
        if isinstance(which, int):
            return which
        deadline = time.monotonic() + 5.0
        while True:
            st = self.client_states()
            if which == "leader":
                leaders = [(s["token"], i) for i, s in st.items() if s.get("role") == "leader"]
                if leaders:
                    return max(leaders)[1]
            else:
                c = self.next_in_line(st)
                if c is not None:
                    return c
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)

    def next_in_line(self, st: dict[int, dict[str, Any]]) -> int | None:
        if self.system == "zookeeper":
            cands = [(s["token"], i) for i, s in st.items() if s.get("role") == "candidate" and s.get("token") is not None]
            return min(cands)[1] if cands else None
        from .etcd import PREFIX, Etcd, Unavailable, b64, prefix_end
        api = Etcd(self.cluster.endpoints(), timeout=0.5)
        try:
            r = api.post("/v3/kv/range", {"key": b64(PREFIX), "range_end": prefix_end(PREFIX),
                                          "sort_order": "ASCEND", "sort_target": "CREATE"})
        except Unavailable:
            return None
        finally:
            api.close()
        owner = {s.get("session"): i for i, s in st.items() if s.get("role") == "candidate"}
        for kv in r.get("kvs", [])[1:]:
            if kv.get("lease") in owner:
                return owner[kv["lease"]]
        return None

    # -- faults --
    def do_fault(self, f: Fault, rec: Recorder, later: list[tuple[float, int, Callable[[], None]]]) -> None:
        now = time.monotonic() - self.epoch
        if f.target == "server":
            i = self.cluster.leader() if f.which == "leader" else f.which
            if f.which == "leader":
                deadline = time.monotonic() + 5.0
                while i is None and time.monotonic() < deadline:
                    time.sleep(0.05)
                    i = self.cluster.leader()
            if i is None:
                self.skip(f, "no server-side leader")
                return
            was_leader = (f.which == "leader") or (self.cluster.leader() == i)
            p = self.cluster.servers.get(i)
            if f.action == "kill":
                # stamped first: clients see the connections drop at once
                rec.record({"kind": "kill_server", "server": i, "was_leader": was_leader}, {}, node="service")
                self.cluster.kill(i)
            elif f.action == "restart":
                if p is not None and p.alive():
                    self.skip(f, f"server {i} is running")
                    return
                rec.record({"kind": "restart_server", "server": i}, {}, node="service")
                self.cluster.restart(i)
            elif f.action == "pause":
                if p is None or not p.stop():
                    self.skip(f, f"server {i} is not running")
                    return
                rec.record({"kind": "pause_server", "server": i, "for": f.duration, "was_leader": was_leader},
                           {}, node="service")
                now = time.monotonic() - self.epoch

                def resume_server(p=p, i=i):
                    rec.record({"kind": "resume_server", "server": i}, {}, node="service")
                    p.resume()
                later.append((now + f.duration, next(self.ticket), resume_server))
            return
        c = self.resolve_client(f.which)
        if c is None:
            self.skip(f, f"no client is {f.which} at {now:.1f}s")
            return
        p = self.clients.get(c)
        if f.action == "restart":
            if p is not None and p.alive():
                self.skip(f, f"client {c} is running")
                return
            rec.record({"kind": "restart", "incarnation": self.incarnation[c] + 1}, {}, node=c)
            self.spawn_client(c)
            return
        if p is None or not p.alive():
            self.skip(f, f"client {c} is not running")
            return
        if f.action == "kill":
            self.kill_client(c, p, rec)
            self.paused.discard(c)
            self.clients[c] = None
        elif f.action == "pause":
            if c in self.paused or not p.stop():
                self.skip(f, f"client {c} is already paused or gone")
                return
            self.paused.add(c)
            rec.record({"kind": "pause", "for": f.duration}, {}, node=c)
            now = time.monotonic() - self.epoch

            def resume(p=p, c=c):
                if self.clients.get(c) is p and p.alive():
                    rec.record({"kind": "resume"}, {}, node=c)
                    p.resume()
                self.paused.discard(c)
            later.append((now + f.duration, next(self.ticket), resume))

    def skip(self, f: Fault, why: str) -> None:
        self.notes.append(f"fault step '{f.describe()}' skipped: {why}")

    # -- the run --
    def execute(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        a = self.args
        try:
            self.cluster = make_cluster(self.system, a.servers, self.workdir, self.procs)
            self.timings["servers_ready"] = round(self.cluster.start(), 3)
            self.epoch = time.monotonic()
            self.unix_epoch = time.time() - (time.monotonic() - self.epoch)
            self.start_resource()
            rec = Recorder(str(self.workdir / "harness.jsonl"), "harness", self.epoch, {"source": "harness"})
            if self.system == "etcd":
                from .etcd import Watcher
                self.watcher = Watcher(self.cluster.endpoints(), self.epoch)
                self.watcher.start()
            for i in range(1, a.clients + 1):
                self.spawn_client(i)
            later: list[tuple[float, int, Callable[[], None]]] = []
            pending = list(self.script)
            while True:
                now = time.monotonic() - self.epoch
                due = sorted(later)
                if due and due[0][0] <= now:
                    later.remove(due[0])
                    due[0][2]()
                    continue
                if pending and pending[0].at <= now:
                    self.do_fault(pending.pop(0), rec, later)
                    continue
                if now >= a.duration and not due:
                    break
                nxt = min([a.duration] + [d[0] for d in due[:1]] + [f.at for f in pending[:1]])
                time.sleep(min(0.05, max(0.0, nxt - now)))
            self.stop_clients(rec)
            service, notes = self.service_history()
            self.notes += notes
        finally:
            if self.watcher is not None:
                self.watcher.stop()
            self.procs.kill_all()
        return self.build(service)

    @staticmethod
    def kill_client(c: int, p, rec: Recorder | None) -> None:
        """SIGKILL client c, stamped as soon as the signal is sent, before the process is
        reaped: the service sees its connections drop (an etcd campaign cancelled, say) at
        once, and the client can write nothing after SIGKILL."""
        p.signal(signal.SIGKILL)
        if rec is not None:
            rec.record({"kind": "kill"}, {}, node=c)
        p.kill()

    def stop_clients(self, rec: Recorder | None = None) -> None:
        """Stop the clients (they resign): the ones not leading first, so that the end of
        the run does not hand leadership around. One that does not stop within 5 s is
        killed, and the kill recorded (its session then ends as a killed client's does)."""
        states = self.client_states()
        live = [(states.get(i, {}).get("role") == "leader", i, p) for i, p in sorted(self.clients.items())
                if p is not None and p.alive()]
        deadline = time.monotonic() + 5.0
        for group in (False, True):
            batch = [(i, p) for leading, i, p in live if leading == group]
            for _i, p in batch:
                p.signal(signal.SIGCONT)
                p.signal(signal.SIGTERM)
            for i, p in batch:
                try:
                    p.popen.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    self.notes.append(f"{p.name} did not stop within 5s; killed")
                    self.kill_client(i, p, rec)
        self.paused.clear()

    def raw_client_records(self) -> list[dict[str, Any]]:
        out = []
        for src, path in enumerate(sorted(self.workdir.glob("client-*.jsonl"), key=_natural)):
            _h, recs = read_jsonl(str(path))
            for idx, r in enumerate(recs):
                r["_src"], r["_idx"] = src, idx
                out.append(r)
        return out

    def service_history(self) -> tuple[list[dict[str, Any]], list[str]]:
        self._clients_raw = self.raw_client_records()
        if self.system == "zookeeper":
            from .zookeeper import service_records
            return service_records(self.cluster.txn_logs(), self.cluster.server_logs(), self._clients_raw,
                                   self.unix_epoch)
        from .etcd import service_records
        notes = []
        if not self.watcher.catch_up():
            notes.append("the etcd watch may have missed the last events (cluster unreachable at the end)")
        recs, more = service_records(self.watcher, self._clients_raw)
        return recs, notes + more

    def build(self, service: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        records = list(self._clients_raw)
        base = 1000
        for k, name in enumerate(("resource.jsonl", "harness.jsonl")):
            _h, recs = read_jsonl(str(self.workdir / name))
            for idx, r in enumerate(recs):
                r["_src"], r["_idx"] = base + k, idx
                records.append(r)
        # the server's own records: in the server's order, with walls that never go back
        service.sort(key=lambda r: (r["pos"]["write"], r["wall"]))
        last = float("-inf")
        for idx, r in enumerate(service):
            r["wall"] = last = max(r["wall"], last)
            r["_src"], r["_idx"] = base + 2, idx
            r["_wall_estimate"] = True
        records += service
        merged = merge(records)
        a = self.args
        nodes = [{"id": i, "kind": "client"} for i in range(1, a.clients + 1)]
        nodes += [{"id": "resource", "kind": "resource"}, {"id": "service", "kind": "service"}]
        header = {"header": True, "format": "elect-services-trace", "version": 1, "protocol": self.system,
                  "variant": self.variant, "fencing": self.fencing,
                  "verify_campaign": (not self.trust) if self.system == "etcd" else None,
                  "nodes": nodes, "servers": a.servers, "clients": a.clients,
                  "server_version": server_version(self.system),
                  "session_timeout": a.session_timeout, "write_interval": a.write_interval,
                  "duration": a.duration, "faults": [f.describe() for f in self.script],
                  "election_path": "/elect/election",
                  "pos": "zxid" if self.system == "zookeeper" else "revision",
                  "order": "causal", "notes": self.notes}
        if header["verify_campaign"] is None:
            del header["verify_campaign"]
        return header, merged

    def cleanup(self) -> None:
        if self.args.keep:
            self.say(f"kept {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _natural(p: Path) -> tuple:
    parts = p.stem.split("-", 1)[1].split(".")
    return tuple(int(x) for x in parts if x.isdigit())


def write_trace(path: str, header: dict[str, Any], records: list[dict[str, Any]]) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(dumps(header) + "\n")
        for r in records:
            f.write(dumps(r) + "\n")
    tmp.replace(p)


def default_trace(system: str, variant: str, args: argparse.Namespace) -> str:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return str(Path("traces") / "recorded" / system / f"{variant}-s{args.servers}-c{args.clients}-{stamp}.jsonl")


def run_main(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """`elect run zookeeper|etcd[:VARIANT] ...`; argv is everything after `run`.

    Returns 0 when the resource never accepted a stale write, 10 when it did, 2 for a
    usage error or a missing server binary, 3 when the run could not be carried out,
    130 when interrupted."""
    out = out or sys.stdout
    err = err or sys.stderr

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    try:
        args = parser().parse_args(argv)
        system, variant = parse_system(args.system)
        if args.clients < 1:
            raise RunError("--clients must be at least 1", 2)
        if args.duration <= 0 or args.session_timeout <= 0 or args.write_interval <= 0:
            raise RunError("--duration, --session-timeout and --write-interval must be positive", 2)
        script = faultscript.parse(args.faults, args.clients, args.servers, args.duration)
        why = missing(system)
        if why:
            raise RunError(why, 2)
        try:
            import httpx  # noqa: F401
            if system == "zookeeper":
                import kazoo  # noqa: F401
        except ImportError as e:
            raise RunError(f"the Python package '{e.name}' is missing; install it with: "
                           f"pip install -e '.[services]'", 2) from None
    except SystemExit as e:  # --help
        return int(e.code or 0)
    except (RunError, FaultScriptError) as e:
        print(f"elect run: error: {e}", file=err)
        return e.code if isinstance(e, RunError) else 2
    if not args.trace:
        args.trace = default_trace(system, variant, args)

    run = Run(args, system, variant, script, say)
    old_term = signal.getsignal(signal.SIGTERM)
    if old_term == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        say(f"elect run {system}:{variant}: {args.servers} server(s), {args.clients} client(s), "
            f"{args.duration:g}s, session timeout {args.session_timeout:g}s, faults: "
            f"{'; '.join(f.describe() for f in script) or 'none'}")
        header, records = run.execute()
        write_trace(args.trace, header, records)
        lines = render(records)
        if args.quiet:
            lines = lines[lines.index("leaders:"):]
        for line in lines:
            say(line)
        for n in run.notes:
            say(f"note: {n}")
        stale = summarize(records).stale_accepted
        say(f"servers ready in {run.timings.get('servers_ready', 0):.2f}s; trace: {args.trace} "
            f"({len(records)} records)")
        if stale:
            say(f"violated: the resource accepted {len(stale)} stale write(s); first at record seq "
                f"{stale[0]['seq']}")
            return 10
        return 0
    except KeyboardInterrupt:
        print("elect run: interrupted; every process it started has been stopped", file=err)
        return 130
    except (ServerError, RunError, MergeError) as e:
        print(f"elect run: error: {e}", file=err)
        args.keep = True
        return 3
    except Exception:
        print("elect run: internal error, please report it with this traceback:", file=err)
        traceback.print_exc(file=err)
        args.keep = True
        return 3
    finally:
        if old_term == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        run.cleanup()
        LAST_RUN[0] = run


LAST_RUN: list[Run | None] = [None]


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def main() -> int:
    return run_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
