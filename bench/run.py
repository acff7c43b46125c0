"""Benchmarks (`make bench`): Elect against the hand-written explorer, TLC and itself.

    python bench/run.py [--quick] [--only NAME[,NAME]] [--repeat K (3)] [--json FILE]

Every row is one process run to completion: `elect check ... --json` (or `elect
simulate`), the hand-written Raft explorer of ../shared/bench (found beside the repo, or
in $ELECT_SHARED), or TLC when $TLC_JAR names its jar. For each: distinct states,
transitions, wall seconds, CPU seconds (user + system of the process and the workers it
started), distinct states per second of search (as the tool reports it), and peak memory (the most the process tree
held resident at once, sampled every 20 ms, and never less than the kernel's peak for
the process itself). The hand-written explorer runs in the same invocation, right before
the Elect run it is compared with, on the same Python; `x hand` is Elect's states per
second over its, both from whole-process times (start-up and compiling included), by
wall time and by CPU time (on a machine shared with other work the CPU ratio is the
steadier one); `mem` is Elect's peak memory over its. The counts must match
exactly; a row whose counts differ from the known ones is marked `COUNT MISMATCH`.

Rows: the Raft yardstick at N=4 MAX_TERM=1 (701,064 states) and N=3 MAX_TERM=2
(2,336,288), without symmetry, beside the hand-written explorer; N=4 with symmetry (30,026
orbits); N=3 MAX_TERM=2 with 2 workers (speed-up over 1); random simulation finding
the volatile-vote violation at N=5; the default model of every spec in spec/; TLC on
RaftElection.tla and on every bench/tla/*.tla twin (a `\\* elect: ARGS` line in its .cfg
names the Elect run it mirrors). bench/symbolic.py, when present, runs last.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

KNOWN = {(4, 1): (701_064, 5_229_760), (3, 2): (2_336_288, 17_326_662), (3, 1): (1_111, 3_900)}
ORBITS_N4 = 30_026


def shared_bench() -> Path | None:
    env = os.environ.get("ELECT_SHARED")
    for cand in ([Path(env) / "bench", Path(env)] if env else []) + [ROOT.parent / "shared" / "bench"]:
        if (cand / "raft_election_handwritten.py").exists():
            return cand
    return None


@dataclass
class Row:
    name: str
    tool: str                        # elect | hand | tlc | elect-simulate
    distinct: int | None = None
    transitions: int | None = None
    seconds: float | None = None
    cpu: float | None = None
    peak_mib: float | None = None
    verdict: str | None = None
    note: str = ""
    vs_wall: float | None = None     # states/s over the hand-written explorer's (wall time)
    vs_cpu: float | None = None      # the same with CPU time
    vs_mem: float | None = None      # peak memory over the hand-written explorer's
    extra: dict = field(default_factory=dict)

    search_seconds: float | None = None   # the search alone, as the tool reports it

    @property
    def rate(self) -> float | None:
        """Distinct states per second of search (what the tool itself reports)."""
        secs = self.search_seconds or self.seconds
        if self.distinct is None or not secs:
            return None
        return self.distinct / secs


# ---------------------------------------------------------------------------- measuring
def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo.extend(int(x) for x in f.read().split())
        except OSError:
            pass
    return out


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(cmd: list[str], cwd: Path = ROOT, env: dict | None = None, timeout: float | None = None) -> dict:
    """Run cmd; its stdout, exit code, wall and CPU seconds, peak resident MiB of its tree."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, env=env)
        peak = [0]
        done = threading.Event()

        def poll():
            while not done.is_set():
                total = sum(_rss_kib(q) for q in _tree(p.pid))
                peak[0] = max(peak[0], total)
                done.wait(0.02)
        th = threading.Thread(target=poll, daemon=True)
        th.start()
        deadline = None if timeout is None else time.time() + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if deadline and time.time() > deadline:
                p.kill()
            time.sleep(0.01)
        wall = time.perf_counter() - t0
        done.set()
        th.join()
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"stdout": out.read().decode(), "stderr": err.read().decode(), "code": p.returncode,
                "wall": wall, "cpu": ru.ru_utime + ru.ru_stime,
                "peak_mib": max(peak[0], ru.ru_maxrss) / 1024}


def elect(args: list[str]) -> list[str]:
    return [PY, "-m", "checker.cli", *args]


def run_elect_check(name: str, spec: str, model: str | None, defines: list[str], *, symmetry: bool = True,
                    workers: int = 1, expect: tuple[int, int] | None = None) -> Row:
    args = ["check", spec, "--json", "--out", tempfile.mkdtemp(prefix="elect-bench-")]
    if model:
        args += ["--model", model]
    for d in defines:
        args += ["-D", d]
    if not symmetry:
        args.append("--no-symmetry")
    if workers > 1:
        args += ["--workers", str(workers)]
    r = measure(elect(args))
    row = Row(name, "elect", seconds=r["wall"], cpu=r["cpu"], peak_mib=r["peak_mib"])
    try:
        d = json.loads(r["stdout"].strip().splitlines()[-1])
    except (ValueError, IndexError):
        row.note = f"failed (exit {r['code']}): {r['stderr'].strip().splitlines()[-1:] or ''}"
        return row
    row.distinct, row.transitions, row.verdict = d["distinct"], d["transitions"], d["verdict"]
    row.search_seconds = d.get("seconds")
    row.extra = {"depth": d.get("depth"), "symmetry": d.get("symmetry")}
    if expect is not None and (row.distinct, row.transitions) != expect:
        row.note = f"COUNT MISMATCH: expected {expect[0]:,} / {expect[1]:,}"
    return row


def run_hand(bench: Path, n: int, t: int) -> Row:
    r = measure([PY, str(bench / "raft_election_handwritten.py"), str(n), str(t)])
    row = Row(f"raft yardstick N={n} MAX_TERM={t}", "hand", seconds=r["wall"], cpu=r["cpu"], peak_mib=r["peak_mib"])
    m = re.search(r"distinct=(\d+) transitions=(\d+) seconds=([\d.]+)", r["stdout"])
    if not m:
        row.note = f"failed (exit {r['code']})"
        return row
    row.distinct, row.transitions = int(m.group(1)), int(m.group(2))
    row.search_seconds = float(m.group(3))
    row.verdict = "holds"
    return row


def median(rs: list[Row]) -> Row | None:
    """The run of median wall time (K runs of one benchmark)."""
    if not rs:
        return None
    rs = sorted(rs, key=lambda r: r.seconds or 0)
    r = rs[(len(rs) - 1) // 2]
    if len(rs) > 1:
        r.note = (r.note + " " if r.note else "") + f"median of {len(rs)}"
    return r


def compare(e: Row, h: Row):
    """Ratios from whole-process times (start-up and compiling included)."""
    if e.distinct and e.seconds and h.distinct and h.seconds:
        e.vs_wall = (e.distinct / e.seconds) / (h.distinct / h.seconds)
    if e.distinct and e.cpu and h.distinct and h.cpu:
        e.vs_cpu = (e.distinct / e.cpu) / (h.distinct / h.cpu)
    if e.peak_mib and h.peak_mib:
        e.vs_mem = e.peak_mib / h.peak_mib


def run_tlc(jar: str, tla: Path, cfg_text: str, name: str) -> Row:
    work = Path(tempfile.mkdtemp(prefix="elect-tlc-"))
    shutil.copy(tla, work / tla.name)
    (work / (tla.stem + ".cfg")).write_text(cfg_text)
    r = measure(["java", "-XX:+UseParallelGC", "-jar", jar, "-workers", "1", "-deadlock",
                 "-config", tla.stem + ".cfg", tla.name], cwd=work)
    row = Row(name, "tlc", seconds=r["wall"], cpu=r["cpu"], peak_mib=r["peak_mib"])
    m = re.search(r"([\d,]+) states generated, ([\d,]+) distinct states found", r["stdout"])
    if m:
        row.transitions = int(m.group(1).replace(",", ""))
        row.distinct = int(m.group(2).replace(",", ""))
        row.verdict = "violated" if "is violated" in r["stdout"] else "holds"
    else:
        row.note = f"TLC failed (exit {r['code']})"
    shutil.rmtree(work, ignore_errors=True)
    return row


def raft_cfg(text: str, n: int, t: int) -> str:
    text = re.sub(r"N\s*=\s*\d+", f"N = {n}", text)
    return re.sub(r"MaxTerm\s*=\s*\d+", f"MaxTerm = {t}", text)


def run_simulate() -> Row:
    args = ["simulate", "spec/raft.elect", "--model", "volatile_vote", "-D", "N=5", "--runs", "100000",
            "--depth", "60", "--seed", "1", "--json", "--out", tempfile.mkdtemp(prefix="elect-bench-")]
    r = measure(elect(args))
    row = Row("simulate raft volatile_vote N=5", "elect-simulate", seconds=r["wall"], cpu=r["cpu"],
              peak_mib=r["peak_mib"])
    try:
        d = json.loads(r["stdout"].strip().splitlines()[-1])
        row.verdict = d["verdict"]
        row.note = (f"found after {d['runs']:,} runs ({d['steps']:,} steps), shrunk "
                    f"{d.get('steps_found')} -> {d.get('steps_shrunk')} steps" if d.get("property") else
                    "no violation found")
    except (ValueError, IndexError, KeyError):
        row.note = f"failed (exit {r['code']})"
    return row


# ---------------------------------------------------------------------------- the table
def fmt(v, f="{:,.0f}"):
    return "" if v is None else f.format(v)


def table(rows: list[Row]) -> str:
    head = ["benchmark", "tool", "distinct", "transitions", "seconds", "cpu s", "states/s", "peak MiB",
            "x hand (wall)", "x hand (cpu)", "mem", "note"]
    body = []
    for r in rows:
        body.append([r.name, r.tool, fmt(r.distinct), fmt(r.transitions), fmt(r.seconds, "{:.1f}"),
                     fmt(r.cpu, "{:.1f}"), fmt(r.rate), fmt(r.peak_mib), fmt(r.vs_wall, "{:.2f}"),
                     fmt(r.vs_cpu, "{:.2f}"), fmt(r.vs_mem, "{:.2f}"), r.note])
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    right = {2, 3, 4, 5, 6, 7, 8, 9, 10}

    def line(cells):
        return "| " + " | ".join(c.rjust(w) if i in right else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths))) + " |"
    sep = "|" + "|".join(("-" * (w + 1) + ":") if i in right else ("-" * (w + 2)) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(head), sep] + [line(b) for b in body])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="skip the N=3 MAX_TERM=2 rows (minutes each)")
    ap.add_argument("--only", help="comma-separated: n4, n3t2, sym, workers, simulate, specs, tlc, symbolic")
    ap.add_argument("--repeat", type=int, default=3,
                    help="run the side-by-side yardstick rows K times, alternately, and keep the median (3)")
    ap.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    a = ap.parse_args(argv)
    only = set(a.only.split(",")) if a.only else None

    def want(k: str) -> bool:
        return (only is None or k in only) and not (a.quick and k in ("n3t2", "workers"))

    bench = shared_bench()
    jar = os.environ.get("TLC_JAR")
    rows: list[Row] = []
    print(f"elect bench on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, python {sys.version.split()[0]}",
          flush=True)
    if bench is None and (want("n4") or want("n3t2")):
        print("note: ../shared/bench/raft_election_handwritten.py not found (set ELECT_SHARED): no ratios",
              file=sys.stderr)

    def show(r: Row, i: int | None = None):
        print(f"  {r.tool:>6} {r.name}{'' if i is None else f' (run {i + 1})'}: {fmt(r.distinct)} distinct, "
              f"{fmt(r.seconds, '{:.1f}')} s, cpu {fmt(r.cpu, '{:.1f}')} s, {fmt(r.peak_mib)} MiB {r.note}",
              flush=True)

    def progress(r: Row):
        rows.append(r)
        show(r)

    for key, n, t in (("n4", 4, 1), ("n3t2", 3, 2)):
        if not want(key):
            continue
        hs, es, ws = [], [], []
        for i in range(a.repeat):      # alternately: hand-written, Elect, Elect with 2 workers
            if bench:
                hs.append(run_hand(bench, n, t))
                show(hs[-1], i)
            es.append(run_elect_check(f"raft yardstick N={n} MAX_TERM={t}", "spec/raft.elect", "yardstick",
                                      [f"N={n}", f"MAX_TERM={t}"], symmetry=False, expect=KNOWN[(n, t)]))
            show(es[-1], i)
            if key == "n3t2" and want("workers"):
                ws.append(run_elect_check(f"raft yardstick N={n} MAX_TERM={t}, 2 workers", "spec/raft.elect",
                                          "yardstick", [f"N={n}", f"MAX_TERM={t}"], symmetry=False, workers=2,
                                          expect=KNOWN[(n, t)]))
                show(ws[-1], i)
        h, e, w = median(hs), median(es), median(ws)
        if h:
            compare(e, h)
            rows.append(h)
        rows.append(e)
        if w:
            # each 2-worker run is compared with the 1-worker run just before it (the
            # machine's speed drifts over minutes), and the median of those ratios shown
            pairs = sorted(x.seconds / y.seconds for x, y in zip(es, ws) if x.seconds and y.seconds)
            if pairs:
                each = ", ".join(f"{p:.2f}" for p in pairs)
                w.note = (w.note + " " if w.note else "") + (
                    f"{pairs[(len(pairs) - 1) // 2]:.2f}x faster than 1 worker"
                    + (f" (median of run pairs {each})" if len(pairs) > 1 else ""))
                if e.cpu and w.cpu:
                    w.note += f" (cpu {w.cpu / e.cpu:.2f}x of 1 worker's)"
            rows.append(w)
    if want("sym"):
        s = run_elect_check("raft yardstick N=4 MAX_TERM=1, symmetry", "spec/raft.elect", "yardstick",
                            ["N=4", "MAX_TERM=1"], symmetry=True)
        if s.distinct != ORBITS_N4:
            s.note = f"COUNT MISMATCH: expected {ORBITS_N4:,} orbits"
        progress(s)
    if want("simulate"):
        progress(run_simulate())
    if want("specs"):
        for spec in sorted((ROOT / "spec").glob("*.elect")):
            r = run_elect_check(f"{spec.stem} default", f"spec/{spec.name}", None, [])
            r.note = (r.note + " " if r.note else "") + (r.verdict or "")
            progress(r)
    if jar and want("tlc"):
        if bench and (bench / "RaftElection.tla").exists():
            cfg = (bench / "RaftElection.cfg").read_text()
            for n, t in ((4, 1),) + (((3, 2),) if want("n3t2") else ()):
                r = run_tlc(jar, bench / "RaftElection.tla", raft_cfg(cfg, n, t), f"raft yardstick N={n} MAX_TERM={t}")
                if r.distinct is not None and (r.distinct, r.transitions) != KNOWN[(n, t)]:
                    r.note = f"counts differ from Elect's {KNOWN[(n, t)][0]:,}"
                progress(r)
        for tla in sorted((ROOT / "bench" / "tla").glob("*.tla")):
            cfgp = tla.with_suffix(".cfg")
            if not cfgp.exists():
                continue
            cfg = cfgp.read_text()
            r = run_tlc(jar, tla, cfg, f"{tla.stem} (TLA+)")
            progress(r)
            m = re.search(r"\\\*\s*elect:\s*(.+)", cfg)
            if m:
                args = m.group(1).split()
                spec, rest = args[0], args[1:]
                model = rest[rest.index("--model") + 1] if "--model" in rest else None
                defines = [rest[i + 1] for i, x in enumerate(rest) if x == "-D"]
                e = run_elect_check(f"{tla.stem} (Elect)", spec, model, defines, symmetry="--no-symmetry" not in rest)
                if r.distinct is not None and e.distinct != r.distinct:
                    e.note = f"COUNT MISMATCH with TLC's {r.distinct:,}"
                progress(e)
    print()
    print(table(rows))
    if a.json:
        Path(a.json).write_text(json.dumps([dict(asdict(r), rate=r.rate) for r in rows], indent=1) + "\n")
    sym = ROOT / "bench" / "symbolic.py"
    if sym.exists() and want("symbolic"):
        print()
        print("bench/symbolic.py:", flush=True)
        subprocess.run([PY, str(sym)], cwd=ROOT)
    bad = [r for r in rows if "MISMATCH" in r.note or r.note.startswith("failed")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
