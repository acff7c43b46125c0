"""Breadth-first exploration: every reachable state, level by level.

The loop is TLC's: take a state, generate its successors, skip the ones whose fingerprint
was seen, check the invariants on the new ones, queue them. The visited set holds
fingerprints (64-bit hashes of the state, or of its orbit under symmetry), not states; a
state's parent is kept as an index in a flat array, so a run to any state is rebuilt
exactly by walking the indices back and then replaying forward, matching each step's
fingerprint among the labelled successors. Because levels are explored in order, the
first violation found is at the least depth: the counterexample is a shortest one.
A violation does not stop the search at once: the level it is found in is finished (the
first finding is kept; a deadlock, a run one step shorter, takes the place of a violation
on a step). So `distinct` and `transitions` are those of whole levels, whatever the order
of a level's states, and `--workers N` reports the same numbers as one process.

Only the current and the next level are kept as states. States get consecutive ids in
the order they are found: level L holds ids base..base+len-1, in queue order.

The level loop is the hot path, so it is generated per model (`make_expander`): the
model's invariants and transition properties are called by name rather than from a list,
and a transition property is skipped on a step that leaves every slot it reads the same
object (then it has the value it has on the pair (s, s), computed once per state). All
of the search's data lives in a `Search`, which is what a checkpoint saves and restores.
"""
from __future__ import annotations

import ast
import gc
import os
import resource
import signal
import sys
import threading
import time
from array import array
from dataclasses import dataclass, field
from typing import Any, Callable

from ..diagnostics import EvalError
from ..model import Model
from .visited import fingerprint_fn, safe_hash, scanner


@dataclass
class Found:
    kind: str                 # invariant | transition | deadlock | final | error
    prop: str | None
    state_id: int             # the violating state (for transition: the source state)
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

    def __init__(self, enabled: bool, stream=None, every: float = 2.0):
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()
        self.last = self.start
        self.every = every
        self.printed = False

    def tick(self, st: Stats, queue: int, force: bool = False, extra: str = ""):
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and (now - self.last < self.every or now - self.start < self.every):
            return
        self.last = now
        el = now - self.start
        rate = st.distinct / el if el > 0 else 0
        print(f"progress: {el:6.1f}s  states {st.transitions:,}  distinct {st.distinct:,}  queue {queue:,}  "
              f"depth {st.depth}  {rate:,.0f} states/s  {rss_mib():,.0f} MiB{extra}", file=self.stream, flush=True)
        self.printed = True


# ---------------------------------------------------------------------------- properties
def slots_read(model: Model, fn: Callable) -> tuple[int, ...] | None:
    """The state slots a generated property reads, when every read is `s[k]`/`o[k]` with a
    constant k (else None: the property is then checked on every step)."""
    name = getattr(fn, "__name__", None)
    src = getattr(model, "source", None)
    if not name or not src:
        return None
    tree = getattr(model, "_elect_ast", None)
    if tree is None:
        try:
            tree = ast.parse(src)
        except SyntaxError:  # pragma: no cover
            return None
        try:
            model._elect_ast = tree
        except AttributeError:  # pragma: no cover
            pass
    fdef = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
    if fdef is None:
        return None
    params = {a.arg for a in fdef.args.args}
    ok_names: set[int] = set()
    ks: set[int] = set()
    for node in ast.walk(fdef):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in params:
            sl = node.slice
            if isinstance(sl, ast.Constant) and isinstance(sl.value, int) and not isinstance(sl.value, bool):
                ks.add(sl.value)
                ok_names.add(id(node.value))
            else:
                return None
    for node in ast.walk(fdef):
        if isinstance(node, ast.Name) and node.id in params and id(node) not in ok_names:
            return None
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            return None
    return tuple(sorted(ks))


@dataclass
class Checks:
    """A model's properties, split by kind, as the explorers use them."""
    invariants: list[tuple[str, Callable]]
    transitions: list[tuple[str, Callable, tuple[int, ...] | None]]
    reachables: list[tuple[str, Callable]]
    finals: list[tuple[str, Callable]]
    check_deadlock: bool

    @classmethod
    def of(cls, model: Model) -> "Checks":
        return cls([(p.name, p.check) for p in model.of_kind("invariant")],
                   [(p.name, p.check, slots_read(model, p.check)) for p in model.of_kind("transition")],
                   [(p.name, p.check) for p in model.of_kind("reachable")],
                   [(p.name, p.check) for p in model.of_kind("final")],
                   bool(model.config.check_deadlock))

    def stuck(self, s: tuple) -> tuple[str, str | None] | None:
        """The finding for a state with no successor, if any: ('final', name) or ('deadlock', None)."""
        for name, fn in self.finals:
            if not fn(s):
                return ("final", name)
        if self.check_deadlock:
            return ("deadlock", None)
        return None

    def first_false_invariant(self, s: tuple) -> str | None:
        for name, fn in self.invariants:
            if not fn(s):
                return name
        return None


_TEMPLATE = '''
def expand(frontier, j, ntr, nxt, base, seen, parent, fparr, pend, reach, stuck, tick, hook):
    """Expand frontier[j:] into nxt; returns (j, transitions of the level, finding or None).
    A finding does not end the level: the first one is kept and the level finished."""
    found = None
    seen_add = seen.add
    par_app = parent.append
    fp_app = fparr.append
    nxt_app = nxt.append
    n = len(frontier)
    sid = base + j
    try:
        while j < n:
            s = frontier[j]
            frontier[j] = None      # expanded states are not kept: the level's memory drains as it goes
            sid = base + j
            j += 1
            ts = succ(s)
            ntr += len(ts)
            if not ts:
                r = stuck(s)
                if r is not None and (found is None or found[0] in BY_STEP):
                    found = (r[0], r[1], sid, None)
                continue
{pre}            for t in ts:
{edge}                h = fp(t)
                if h in seen:
                    continue
                seen_add(h)
                par_app(sid)
                fp_app(h)
                nxt_app(t)
{neg}{inv}                if pend:
                    reach(t)
            if not (j & {mask}):
                r = tick(j, ntr, found)
                if r is not None:
                    return j, ntr, r if found is None else found
    except EvalError as e:
        # raised by a property of a new state: charge it to that state (the last one
        # queued), not to the state expanded, so the run shown ends where it raises
        tb = e.__traceback__.tb_next
        e.state_id = len(parent) - 1 if tb is not None and tb.tb_frame.f_code in ON_NEW else sid
        raise
    return j, ntr, found
'''

TICK_MASK = 1023
# findings on a step (one level down from the state expanded); a deadlock or a final
# state found later in the same level is a shorter run and takes their place
BY_STEP = ("transition", "invariant")


def tick_mask(max_states: int | None) -> int:
    """How often (every mask+1 expanded states) the level loop stops to look at limits:
    every 1024 states, but often enough under --max-states that the search stops within
    about 1/256 of the limit (a limit of 100 stops after the state that reaches it)."""
    if max_states is None:
        return TICK_MASK
    k = 1
    while k * 2 <= min(max_states // 256, TICK_MASK + 1):
        k *= 2
    return k - 1


def property_code(checks: Checks, ns: dict[str, Any], inv_pad: int, *, transition: str, invariant: str,
                  negative: str | None) -> tuple[str, str, str, str]:
    """The checks a generated level loop makes, as source (pre, edge, inv, neg): `pre` per
    expanded state s, `edge` per successor t (transition properties, tested only when t
    changed what they read), `inv` and `neg` per new state, indented by `inv_pad`. A
    violated property becomes the loop's `found` (the given finding; {i} is the property's
    index) unless it has one already, and the loop goes on: the level is finished. A
    negative int returns the given value at once. The functions and names they refer to
    are put in `ns`."""
    pre: list[str] = []
    edge: list[str] = []
    p12, p16, pi = " " * 12, " " * 16, " " * inv_pad
    for i, (name, fn, ks) in enumerate(checks.transitions):
        ns[f"T{i}"] = fn
        ns[f"TN{i}"] = name
        ret = transition.format(i=i)
        if ks is None:
            edge.append(f"{p16}if not T{i}(s, t) and found is None:\n{p16}    found = {ret}\n")
            continue
        pre.append(f"{p12}ok{i} = T{i}(s, s)\n")
        conds = [f"not ok{i}"]
        for k in ks:
            pre.append(f"{p12}s{i}_{k} = s[{k}]\n")
            conds.append(f"t[{k}] is not s{i}_{k}")
        edge.append(f"{p16}if ({' or '.join(conds)}) and not T{i}(s, t) and found is None:\n{p16}    found = {ret}\n")
    inv = []
    for i, (name, fn) in enumerate(checks.invariants):
        ns[f"I{i}"] = fn
        ns[f"IN{i}"] = name
        inv.append(f"{pi}if not I{i}(t) and found is None:\n{pi}    found = {invariant.format(i=i)}\n")
    negc = f"{pi}if neg(t):\n{pi}    return {negative}\n" if negative is not None else ""
    return "".join(pre), "".join(edge), "".join(inv), negc


def make_expander(checks: Checks, succ: Callable, fp: Callable, edge_hook: Callable | None = None,
                  mask: int = TICK_MASK, neg: Callable | None = None) -> Callable:
    """The level loop, generated for this model's properties (see the module docstring).
    With `neg`, every new state is scanned for negative ints (see visited.py): the loop
    stops with 'negative' at the first, for the search to restart with safe fingerprints."""
    ns: dict[str, Any] = {"succ": succ, "fp": fp, "EvalError": EvalError, "neg": neg, "BY_STEP": BY_STEP,
                          "ON_NEW": frozenset(getattr(fn, "__code__", None) for _, fn in checks.invariants)}
    pre, edge, inv, negc = property_code(checks, ns, 16, transition="('transition', TN{i}, sid, t)",
                                         invariant="('invariant', IN{i}, len(parent) - 1, None)",
                                         negative="j, ntr, 'negative'" if neg is not None else None)
    if edge_hook is not None:
        edge += " " * 16 + "hook(s, t)\n"
    src = _TEMPLATE.format(pre=pre, edge=edge, inv=inv, mask=mask, neg=negc)
    exec(compile(src, "<elect level loop>", "exec"), ns)
    return ns["expand"]


# ---------------------------------------------------------------------------- the search
class Search:
    """Everything one breadth-first search knows; `run()` explores until done or stopped.

    Checkpoints save and restore exactly these fields (see checkpoint.py)."""

    def __init__(self, model: Model, *, canon: Callable | None = None, max_states: int | None = None,
                 max_depth: int | None = None, max_memory_mib: float | None = None, progress: bool = False,
                 edge_hook: Callable | None = None, on_tick: Callable | None = None):
        self.model = model
        self.canon = canon
        self.neg = scanner(model)          # None: no state can hold a negative int
        self.safe = False
        self.fp = fingerprint_fn(canon)
        self.checks = Checks.of(model)
        self.max_states = max_states
        self.max_depth = max_depth
        self.max_memory_mib = max_memory_mib
        self.progress = Progress(progress)
        self.edge_hook = edge_hook
        self.on_tick = on_tick            # f(search, level_end) at every tick: checkpoints
        self.t0 = time.perf_counter()
        self.elapsed_before = 0.0         # seconds spent before a resume
        self.reset()

    def make_safe(self):
        """Fingerprints that tell -1 from -2 (see visited.py), from now on."""
        self.safe = True
        self.fp = fingerprint_fn(self.canon, safe_hash(self.model))

    def reset(self):
        """Forget everything found (to start again, e.g. with safe fingerprints)."""
        self.seen: set[int] = set()
        self.parent = array("q")
        self.fparr = array("q")
        self.frontier: list[tuple] = []
        self.pos = 0                      # frontier[:pos] are expanded
        self.nxt: list[tuple] = []
        self.base = 0                     # id of frontier[0]
        self.depth = 0
        self.transitions = 0
        self.level_transitions = 0        # transitions from frontier[:pos]
        self.witnessed: dict[str, int] = {}
        self.pending = [name for name, _ in self.checks.reachables]
        self.found: Found | None = None
        self.stopped: str | None = None
        self.started = False
        self.interrupt = False            # Ctrl-C seen: stop at the next consistent point
        self.consistent = True            # False after a second Ctrl-C broke off a state mid-way

    # ---- pieces the generated loop calls ----
    def _reach_fn(self, depth: int) -> Callable:
        fns = dict(self.checks.reachables)
        pend = self.pending
        witnessed = self.witnessed

        def reach(t):
            for name in list(pend):
                if fns[name](t):
                    witnessed[name] = depth
                    pend.remove(name)
        return reach

    def _tick(self, j: int, ntr: int, found=None):
        self.pos = j
        self.level_transitions = ntr
        if self.interrupt:
            return "interrupted"
        st = self.stats()
        self.progress.tick(st, len(self.frontier) - j + len(self.nxt))
        if self.max_states is not None and len(self.parent) >= self.max_states:
            return "max-states"
        if self.max_memory_mib is not None and (j & 16383) == 0 and rss_mib() > self.max_memory_mib:
            return "max-memory"
        if self.on_tick is not None and found is None:   # no checkpoint past a finding not yet reported
            self.on_tick(self, False)
        return None

    def stats(self) -> Stats:
        return Stats(distinct=len(self.parent), transitions=self.transitions + self.level_transitions,
                     depth=self.depth, seconds=self.elapsed(), queue=len(self.frontier) - self.pos + len(self.nxt))

    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.t0

    # ---- the loop ----
    def start(self):
        """Add the initial states (level 0)."""
        self.started = True
        fp = self.fp
        reach = self._reach_fn(0)
        try:
            for s in self.model.init_states():
                h = fp(s)
                if h in self.seen:
                    continue
                if not self.safe and self.neg is not None and self.neg(s):
                    self._restart_safe()
                    return self.start()
                self.seen.add(h)
                self.parent.append(-1)
                self.fparr.append(h)
                self.frontier.append(s)
                bad = self.checks.first_false_invariant(s)
                if bad is not None and self.found is None:
                    self.found = Found("invariant", bad, len(self.parent) - 1)
                if self.pending:
                    reach(s)
        except EvalError as e:
            e.trace_states = []
            self.found = Found("error", None, -1, error=e)

    def _restart_safe(self):
        self.reset()
        self.make_safe()

    def run(self) -> None:
        if not self.started:
            self.start()
        if self.found is not None:
            return
        mask = tick_mask(self.max_states)
        expand = make_expander(self.checks, self.model.successors, self.fp, self.edge_hook, mask=mask,
                               neg=None if self.safe else self.neg)
        stuck = self.checks.stuck
        gc_was = gc.isenabled()
        gc.disable()     # states are immutable tuples: no cycles to collect, only time to lose
        old_handler = self._catch_sigint()
        try:
            while self.frontier and self.found is None:
                if self.pos == 0 and self.max_depth is not None and self.depth >= self.max_depth:
                    self.stopped = "max-depth"
                    break
                nbase = self.base + len(self.frontier)
                reach = self._reach_fn(self.depth + 1)
                try:
                    j, ntr, r = expand(self.frontier, self.pos, self.level_transitions, self.nxt, self.base,
                                       self.seen, self.parent,
                                       self.fparr, self.pending, reach, stuck, self._tick, self.edge_hook)
                except EvalError as e:
                    self.found = Found("error", None, getattr(e, "state_id", self.base), error=e)
                    break
                self.pos = j
                self.level_transitions = ntr
                if r == "negative":
                    # a state holds a negative int: -1 and -2 would share hashes; start again
                    self._restart_safe()
                    self.start()
                    if self.found is not None:
                        break
                    expand = make_expander(self.checks, self.model.successors, self.fp, self.edge_hook, mask=mask)
                    continue
                if isinstance(r, str):
                    self.stopped = r
                    break
                if r is not None:
                    kind, prop, sid, target = r
                    self.found = Found(kind, prop, sid, sid if kind == "transition" else None, target)
                    break
                # the level is done
                self.transitions += ntr
                self.level_transitions = 0
                if self.max_states is not None and len(self.parent) >= self.max_states and self.nxt:
                    self.stopped = "max-states"
                    self._next_level(nbase)
                    break
                self._next_level(nbase)
                if self.max_memory_mib is not None and rss_mib() > self.max_memory_mib:
                    self.stopped = "max-memory"
                    break
                if self.on_tick is not None:
                    self.on_tick(self, True)
                if self.interrupt:
                    self.stopped = "interrupted"
                    break
        except KeyboardInterrupt:
            self.stopped = "interrupted"
            self.consistent = False
        finally:
            if old_handler is not None:
                signal.signal(signal.SIGINT, old_handler)
            if gc_was:
                gc.enable()

    def _catch_sigint(self):
        """Ctrl-C stops the search at the next tick (every 1024 states), where everything
        before `pos` is expanded and a checkpoint can be saved; a second Ctrl-C stops at once."""
        if threading.current_thread() is not threading.main_thread():
            return None

        def on_sigint(signum, frame):
            if self.interrupt:
                raise KeyboardInterrupt
            self.interrupt = True
        try:
            return signal.signal(signal.SIGINT, on_sigint)
        except (ValueError, OSError):  # pragma: no cover - not the main interpreter
            return None

    def _next_level(self, nbase: int):
        self.base = nbase
        self.frontier = self.nxt
        self.nxt = []
        self.pos = 0
        if self.frontier:
            self.depth += 1

    def result(self) -> SearchResult:
        st = self.stats()
        st.transitions = self.transitions + self.level_transitions
        st.peak_rss_mib = peak_rss_mib()
        if self.progress.printed:
            self.progress.tick(st, 0, force=True)
        return finish(self.model, self.fp, st, self.found, self.witnessed, self.pending, self.stopped,
                      self.parent, self.fparr, self.checks)


def finish(model: Model, fp, st: Stats, found: Found | None, witnessed: dict, pending: list[str],
           stopped: str | None, parent, fparr, checks: Checks | None = None, run=None) -> SearchResult:
    """The verdict, and for a finding the shortest run to it rebuilt from the parent links
    (or given as `run` = (states, labels) by a worker that rebuilt it)."""
    res = SearchResult("holds", st, found, dict(witnessed), list(pending), stopped)
    if found is not None:
        res.verdict = {"invariant": "violated", "transition": "violated", "final": "deadlock",
                       "deadlock": "deadlock", "error": "error"}[found.kind]
        if found.kind == "error" and found.state_id < 0:
            return res
        if run is None:
            run = rebuild_finding(model, parent, fparr, found, fp, checks)
        res.states, res.labels = run
        st.depth = len(res.states) - 1
    elif stopped:
        res.verdict = "limit"
    elif res.unreached:
        res.verdict = "unreached"
    return res


def rebuild_finding(model: Model, parent, fparr, found: Found, fp, checks: Checks | None = None):
    states, labels = rebuild(model, parent, fparr, found.state_id, fp)
    if found.kind == "transition":
        # under symmetry the rebuilt source may be another state of the recorded one's orbit:
        # take the step to the target's orbit that breaks the property from there
        fn = next((p.check for p in model.of_kind("transition") if p.name == found.prop), None)
        want = fp(found.target)
        lab = tgt = None
        for l, x in model.successors_labeled(states[-1]):
            if fp(x) == want and (fn is None or not fn(states[-1], x)):
                lab, tgt = l, x
                break
        if tgt is None:  # pragma: no cover - a fingerprint collision
            tgt = found.target
        states.append(tgt)
        labels.append(lab)
    return states, labels


def bfs(model: Model, *, max_states: int | None = None, max_depth: int | None = None,
        max_memory_mib: float | None = None, canon: Callable | None = None, progress: bool = False,
        stop_on_first: bool = True, edge_hook: Callable | None = None) -> SearchResult:
    search = Search(model, canon=canon, max_states=max_states, max_depth=max_depth,
                    max_memory_mib=max_memory_mib, progress=progress, edge_hook=edge_hook)
    search.run()
    return search.result()


def chain(parent: array, sid: int) -> list[int]:
    ids = []
    while sid >= 0:
        ids.append(sid)
        sid = parent[sid]
    ids.reverse()
    return ids


def rebuild(model: Model, parent: array, fparr: array, sid: int, fp=hash) -> tuple[list[tuple], list]:
    """The run from an initial state to state `sid`: replay forward, matching fingerprints."""
    return replay_fingerprints(model, [fparr[i] for i in chain(parent, sid)], fp)


def replay_fingerprints(model: Model, want: list[int], fp=hash) -> tuple[list[tuple], list]:
    """The run whose states have the fingerprints `want`, from an initial state on."""
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
