"""Breadth-first exploration: every reachable state, level by level.

The loop is TLC's: take a state, generate its successors, skip the ones whose fingerprint
was seen, check the invariants on the new ones, queue them. The visited set holds
fingerprints (64-bit hashes of the canonical state), not states; a state's parent is
kept as an index in a flat array, so a run to any state is rebuilt exactly by walking
the indices back and then replaying forward, matching each step's fingerprint among the
labelled successors. Because levels are explored in order, the first violation found is
at the least depth: the counterexample is a shortest one.

Only the current and the next level are kept as states. Fingerprints of states of the
current level are consecutive ids: level L holds ids base..base+len-1, in queue order.
"""
from __future__ import annotations

import os
import resource
import sys
import time
from array import array
from dataclasses import dataclass, field
from typing import Any, Callable

from ..diagnostics import EvalError
from ..model import Model


@dataclass
class Found:
    kind: str                 # invariant | transition | deadlock | final | error
    prop: str | None
    state_id: int             # the violating state (for transition: the target state)
    from_id: int | None = None
    target: tuple | None = None
    error: EvalError | None = None


@dataclass
class Stats:
    distinct: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    queue: int = 0
    peak_rss_mib: float = 0.0


@dataclass
class SearchResult:
    verdict: str              # holds | violated | deadlock | unreached | limit | error
    stats: Stats
    found: Found | None = None
    witnessed: dict[str, int] = field(default_factory=dict)
    unreached: list[str] = field(default_factory=list)
    stopped: str | None = None
    states: list[tuple] | None = None      # the run to `found`, when rebuilt
    labels: list | None = None
    max_depth_seen: int = 0


def rss_mib() -> float:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1 << 20)
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Progress:
    """Progress lines on stderr for runs longer than a couple of seconds."""

    def __init__(self, enabled: bool, stream=None):
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()
        self.last = self.start
        self.printed = False

    def tick(self, st: Stats, queue: int, force: bool = False):
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and (now - self.last < 2.0 or now - self.start < 2.0):
            return
        self.last = now
        el = now - self.start
        rate = st.distinct / el if el > 0 else 0
        print(f"progress: {el:6.1f}s  states {st.transitions:,}  distinct {st.distinct:,}  queue {queue:,}  "
              f"depth {st.depth}  {rate:,.0f} states/s  {rss_mib():,.0f} MiB", file=self.stream, flush=True)
        self.printed = True


def bfs(model: Model, *, max_states: int | None = None, max_depth: int | None = None,
        max_memory_mib: float | None = None, canon: Callable | None = None, progress: bool = False,
        stop_on_first: bool = True, edge_hook: Callable | None = None) -> SearchResult:
    t0 = time.perf_counter()
    st = Stats()
    succ = model.successors
    invariants = [(p.name, p.check) for p in model.of_kind("invariant")]
    transitions = [(p.name, p.check) for p in model.of_kind("transition")]
    reachables = [(p.name, p.check) for p in model.of_kind("reachable")]
    finals = [(p.name, p.check) for p in model.of_kind("final")]
    check_deadlock = model.config.check_deadlock
    prog = Progress(progress)
    witnessed: dict[str, int] = {}
    pending_reach = list(reachables)
    fp = (lambda s: hash(canon(s))) if canon else hash

    seen: set[int] = set()
    parent = array("q")
    fparr = array("q")
    found: Found | None = None
    stopped = None

    def add(s, pid) -> int:
        h = fp(s)
        seen.add(h)
        parent.append(pid)
        fparr.append(h)
        return len(parent) - 1

    def check_state(s, sid, depth) -> Found | None:
        for name, fn in invariants:
            if not fn(s):
                return Found("invariant", name, sid)
        if pending_reach:
            for item in list(pending_reach):
                if item[1](s):
                    witnessed[item[0]] = depth
                    pending_reach.remove(item)
        return None

    frontier: list[tuple] = []
    depth = 0
    try:
        try:
            for s in model.init_states():
                if fp(s) in seen:
                    continue
                sid = add(s, -1)
                frontier.append(s)
                f = check_state(s, sid, 0)
                if f and found is None:
                    found = f
            st.distinct = len(parent)
        except EvalError as e:
            e.trace_states = []
            return SearchResult("error", st, Found("error", None, -1, error=e))
        base = 0
        while frontier and found is None:
            if max_depth is not None and depth >= max_depth:
                stopped = "max-depth"
                break
            nxt: list[tuple] = []
            nbase = len(parent)
            try:
                found, stopped = _level(frontier, base, nxt, succ, st, finals, check_deadlock, transitions,
                                        edge_hook, fp, seen, parent, fparr, invariants, pending_reach,
                                        witnessed, depth, prog, max_states, max_memory_mib)
            except EvalError as e:
                found = Found("error", None, getattr(e, "state_id", base), error=e)
            st.distinct = len(parent)
            if stopped or found:
                break
            if max_states is not None and len(parent) >= max_states and nxt:
                stopped = "max-states"
                depth += 1
                break
            base = nbase
            frontier = nxt
            if frontier:
                depth += 1
            if max_memory_mib is not None and rss_mib() > max_memory_mib:
                stopped = "max-memory"
                break
    except KeyboardInterrupt:
        stopped = "interrupted"
    st.distinct = len(parent)
    st.depth = depth
    st.seconds = time.perf_counter() - t0
    st.queue = len(frontier)
    st.peak_rss_mib = peak_rss_mib()
    if prog.printed:
        prog.tick(st, 0, force=True)
    res = SearchResult("holds", st, found, witnessed, [n for n, _ in pending_reach], stopped)
    if found is not None:
        res.verdict = {"invariant": "violated", "transition": "violated", "final": "deadlock",
                       "deadlock": "deadlock", "error": "error"}[found.kind]
        states, labels = rebuild(model, parent, fparr, found.state_id, fp)
        if found.kind == "transition":
            lab = next((l for l, x in model.successors_labeled(states[-1]) if x == found.target), None)
            states.append(found.target)
            labels.append(lab)
        res.states, res.labels = states, labels
        st.depth = len(states) - 1
    elif stopped:
        res.verdict = "limit"
    elif res.unreached:
        res.verdict = "unreached"
    return res


def _level(frontier, base, nxt, succ, st, finals, check_deadlock, transitions, edge_hook, fp, seen, parent,
           fparr, invariants, pending_reach, witnessed, depth, prog, max_states, max_memory_mib):
    """Expand one BFS level into `nxt`. Returns (found, stopped)."""
    sid = base
    try:
        for j, s in enumerate(frontier):
            sid = base + j
            ts = succ(s)
            st.transitions += len(ts)
            if not ts:
                if finals:
                    bad = next((n for n, fn in finals if not fn(s)), None)
                    if bad is not None:
                        return Found("final", bad, sid), None
                if check_deadlock:
                    return Found("deadlock", None, sid), None
                continue
            for t in ts:
                if transitions:
                    for name, fn in transitions:
                        if not fn(s, t):
                            return Found("transition", name, sid, sid, t), None
                if edge_hook is not None:
                    edge_hook(s, t)
                h = fp(t)
                if h in seen:
                    continue
                seen.add(h)
                parent.append(sid)
                fparr.append(h)
                nxt.append(t)
                if invariants:
                    for name, fn in invariants:
                        if not fn(t):
                            return Found("invariant", name, len(parent) - 1), None
                if pending_reach:
                    for item in list(pending_reach):
                        if item[1](t):
                            witnessed[item[0]] = depth + 1
                            pending_reach.remove(item)
            if (j & 1023) == 0:
                st.distinct = len(parent)
                st.depth = depth
                prog.tick(st, len(frontier) - j + len(nxt))
                if max_states is not None and len(parent) >= max_states:
                    return None, "max-states"
                if max_memory_mib is not None and (j & 16383) == 0 and rss_mib() > max_memory_mib:
                    return None, "max-memory"
    except EvalError as e:
        e.state_id = sid
        raise
    return None, None


def chain(parent: array, sid: int) -> list[int]:
    ids = []
    while sid >= 0:
        ids.append(sid)
        sid = parent[sid]
    ids.reverse()
    return ids


def rebuild(model: Model, parent: array, fparr: array, sid: int, fp=hash) -> tuple[list[tuple], list]:
    """The run from an initial state to state `sid`: replay forward, matching fingerprints."""
    ids = chain(parent, sid)
    want = [fparr[i] for i in ids]
    cur = next(s for s in model.init_states() if fp(s) == want[0])
    states = [cur]
    labels: list = [None]
    for h in want[1:]:
        for lab, t in model.successors_labeled(cur):
            if fp(t) == h:
                states.append(t)
                labels.append(lab)
                cur = t
                break
        else:  # pragma: no cover - a fingerprint collision or a nondeterministic model
            raise RuntimeError("could not rebuild the run: no successor has the recorded fingerprint")
    return states, labels


def run_to(model: Model, parent: array, fparr: array, sid: int, fp=hash):
    return rebuild(model, parent, fparr, sid, fp)
