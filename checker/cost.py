"""The cost of an election: exact best and worst case over every run, and measured.

A measure asks "how much COUNTER has been spent at the first state where CONDITION
holds?" (`measure Election: messages until any n in Node: n.role == Leader`). Its best
and worst case over every run are a shortest and a longest path problem on the state
graph, so this module explores once, in a pass of its own (nothing is added to the state:
verdicts and state counts of `elect check` cannot change), and then solves both:

1. Explore breadth-first from the initial states (one state per symmetry orbit, as the
   checker does) and store every edge between distinct states with its weights: the
   counter's increment on that step and 1 (steps). A state where the condition of every
   measure holds is not expanded: a run's cost is taken at its first such state.
2. Best case: Dijkstra from the initial states over states where the condition has not
   held yet, on (counter, steps) pairs, so the run shown is the shortest of the cheapest.
3. Worst case: Tarjan's strongly connected components (iterative) of the same subgraph,
   then the longest path to a goal state over the condensation, which is a DAG. An edge
   of positive weight inside a component from which the condition can still be reached
   is a cycle that spends without end before the condition: the worst case is unbounded,
   and the cycle is shown as a lasso trace.
4. Each extreme is replayed through the model into a `Trace` (ITF JSON), matching each
   stored edge's target orbit and weight among the concrete successors.

Counters: `messages` (envelopes a step puts in flight, as `Model.sent_envelopes` counts
them, the messages of the step that reaches the condition included; a message to a
crashed node is lost as it is sent and does not count; in a `set` network a message
identical to one already in flight merges with it), `deliveries`, `steps`, `ticks`. A
global-style spec has no network: there a message is an element added to a variable that
holds the messages (named msgs, messages, network, net, inbox, mailbox or channels; a
set, or a map to sets or sequences), and a delivery an element removed from one.

Which measures: the spec's own `measure` declarations, or, when it declares none, the
built-in election question: messages until its first `reachable` property (e.g.
SomeoneWins); then any given in code (`until=["[NAME:] COUNTER until CONDITION"]`,
parsed and type-checked as if written at the end of the spec; `cmd_cost` reads them from
`args.measure` when the command line offers it).

Implementations are measured by the seeded timed simulator (`reference.drivers.sim`, no
faults): per run, the messages up to the step where the first node outputs Elected (held
to the spec's election measure), and the simulator's own count of the first election,
until every live node names the leader (held to a "known" measure where the spec can
state one, see IMPLS); min, median, p99 and max over the runs. CLOSED_FORMS holds the
literature's formulas for the specs' assumptions; tests/checker/test_cost.py pins them.

This file is bigger than most because the parts (measure resolution, graph, path
problems, traces, known closed forms, simulator statistics, table, chart, README section)
exist only for `elect cost` and make sense only together.
"""
from __future__ import annotations

import heapq
import itertools
import json
import math
import re
import sys
import time
from array import array
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .diagnostics import Diagnostic, SpecError, span_text
from .model import Model

COUNTERS = ("messages", "deliveries", "steps", "ticks")
MESSAGE_VARS = ("msgs", "messages", "network", "net", "inbox", "mailbox", "channels")
UNBOUNDED = "unbounded"


# --------------------------------------------------------------------------- measures
@dataclass
class Measure:
    name: str
    counter: str
    cond: Callable[[tuple], bool]
    text: str                      # the condition as written
    origin: str                    # "spec" | "given" | "reachable <Name>"


_UNTIL = re.compile(r"^\s*(?:(?P<name>[A-Za-z_]\w*)\s*:\s*)?(?P<counter>\w+)\s+until\s+(?P<cond>.+?)\s*$", re.S)


def parse_until(text: str, index: int = 0) -> tuple[str, str, str]:
    """'[NAME:] COUNTER until CONDITION' -> (name, counter, condition)."""
    m = _UNTIL.match(text)
    if not m:
        raise SpecError(Diagnostic("E421", f"cannot read measure '{text}'", None,
                                   ["write it as 'messages until any n in Node: n.role == Leader'"]))
    name = m.group("name") or ("Given" if index == 0 else f"Given{index + 1}")
    return name, m.group("counter"), m.group("cond")


def load_with_measures(spec_path: str | Path, model: str | None, defines: list[str] | None,
                       until: list[str] | None = None) -> tuple[Model, int]:
    """Load a model; measures given as text are added as if declared at the end of the spec
    (so they are parsed and type-checked like the spec's own). Returns (model, how many
    measures were given)."""
    from .api import load_spec
    from .compile import compile_model
    from .dsl.parse import parse, parse_file
    from .modelconfig import resolve_model
    from .typecheck import typecheck
    path = Path(spec_path)
    extra = []
    if until:
        load_spec(path)                   # the spec's own errors first, with its own lines
        for i, u in enumerate(until):
            name, counter, cond = parse_until(u, i)
            extra.append(f"measure {name}: {counter} until {cond}")
        text = path.read_text().rstrip("\n") + "\n\n# measures given on the command line\n" + "\n".join(extra) + "\n"
        ast = parse(text, str(path))
    else:
        ast = parse_file(path)
    ts = typecheck(ast)
    return compile_model(ts, resolve_model(ts, model, defines)), len(extra)


def measures_for(model: Model, given: int = 0) -> list[Measure]:
    """The measures to compute: the spec's own `measure` declarations (or, when it declares
    none, messages until its first `reachable` property: the built-in election question),
    then the `given` ones that `load_with_measures` appended."""
    src = model.spec.source
    own = model.measures[:len(model.measures) - given]
    out = [Measure(mf.name, mf.counter, mf.cond, span_text(src, mf.decl.cond.span), "spec") for mf in own]
    if not own:
        reach = model.of_kind("reachable")
        if reach:
            p = reach[0]
            text = " and ".join(span_text(src, c.span) for c in p.decl.conjuncts)
            out.append(Measure("Election", "messages", p.check, text, f"reachable {p.name}"))
    out += [Measure(mf.name, mf.counter, mf.cond, span_text(src, mf.decl.cond.span), "given")
            for mf in model.measures[len(model.measures) - given:] if given]
    if not out:
        raise SpecError(Diagnostic("E420", f"{model.spec.file}: no measure to compute", None,
                                   ["declare one in the spec: `measure Election: messages until CONDITION`",
                                    "or give one: cost(..., until=['messages until CONDITION'])"]))
    names = [m.name for m in out]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise SpecError(Diagnostic("E422", f"measure '{dup}' is named twice", None,
                                   ["give the measure another name: 'NAME: messages until CONDITION'"]))
    return out


# --------------------------------------------------------------------------- counters
def _message_slots(model: Model) -> list[int]:
    return [k for k, sl in enumerate(model.layout.slots)
            if sl.kind == "var" and sl.name.lower() in MESSAGE_VARS]


def _added_removed(a, b) -> tuple[int, int]:
    """Elements added to / removed from a message variable between values a and b."""
    if isinstance(a, frozenset):
        return len(b - a), len(a - b)
    if isinstance(a, tuple):
        if a and isinstance(a[0], (frozenset, tuple)) or b and isinstance(b[0], (frozenset, tuple)):
            if all(isinstance(x, frozenset) for x in a):
                add = rem = 0
                for x, y in zip(a, b):
                    if x is not y:
                        add += len(y - x)
                        rem += len(x - y)
                return add, rem
            if all(isinstance(x, tuple) for x in a):       # map to sequences: FIFO queues
                add = rem = 0
                for x, y in zip(a, b):
                    if x != y:
                        k = next(k for k in range(len(x) + 1) if y[:len(x) - k] == x[k:])
                        rem += k
                        add += len(y) - (len(x) - k)
                return add, rem
    return 0, 0


def counter_fn(model: Model, counter: str) -> Callable[[tuple, tuple, Any], int]:
    """f(before, after, label) -> the counter's increment on that step."""
    if counter == "steps":
        return lambda a, b, lab: 1
    if counter == "ticks":
        return lambda a, b, lab: 1 if lab[0] == "tick" else 0
    n = model.layout.net
    if n is None:
        slots = _message_slots(model)
        pick = 0 if counter == "messages" else 1

        def via_vars(a, b, lab):
            total = 0
            for k in slots:
                if a[k] is not b[k]:
                    total += _added_removed(a[k], b[k])[pick]
            return total
        return via_vars
    if counter == "deliveries":
        return lambda a, b, lab: 1 if lab[0] in ("deliver", "duplicate") else 0
    net = model.config.network
    if net == "unordered":
        def counts(v):
            c: dict = {}
            for e in v:
                k = e[:-1]
                c[k] = c.get(k, 0) + 1
            return c
    elif net == "fifo":
        keys = model.ns["FIFO_KEYS"]

        def counts(v):
            c: dict = {}
            for (src, dst), q in zip(keys, v):
                for m in q:
                    k = (m[0], src, dst) + m[1:]
                    c[k] = c.get(k, 0) + 1
            return c
    else:
        def counts(v):
            return dict.fromkeys(v, 1)

    if net == "fifo":
        def size(v):
            return sum(len(q) for q in v)
    else:
        size = len
    removes = {"deliver": 1, "duplicate": 0, "timeout": 0, "action": 0}

    def sent(a, b, lab):
        x, y = a[n], b[n]
        r = removes.get(lab[0])
        if r is not None:
            # a delivery takes out one envelope (a duplicate none), then the handler adds
            # what it sends: exact for every network kind (checked against sent_envelopes)
            return size(y) - size(x) + r
        if x == y:
            return 0
        ca, cb = counts(x), counts(y)
        if lab[0] == "deliver":
            env = lab[1]
            ca[env] = ca.get(env, 0) - 1
        total = 0
        for env, c in cb.items():
            d = c - max(ca.get(env, 0), 0)
            if d > 0:
                total += d
        return total
    return sent


# --------------------------------------------------------------------------- the graph
@dataclass
class Graph:
    """States (ids in BFS order) and weighted edges in CSR form. `goal[k][i]`: measure k's
    condition holds in state i. Edges are stored only for expanded states."""
    fps: list[int]
    init: list[int]
    goal: list[bytearray]
    off: array                  # edges of i: off[i] .. off[i+1] (off has len(fps)+1 entries)
    dst: array
    w: list[array]              # one weight array per counter in `counters`
    counters: list[str]
    seconds: float = 0.0
    stopped: str | None = None

    def edges(self, i: int) -> range:
        if i + 1 < len(self.off):
            return range(self.off[i], self.off[i + 1])
        return range(0)


def build_graph(model: Model, measures: list[Measure], canon: Callable | None,
                max_states: int | None = None, max_seconds: float | None = None) -> Graph:
    t0 = time.perf_counter()
    counters = ["steps"] + sorted({m.counter for m in measures} - {"steps"})
    fns = [counter_fn(model, c) for c in counters]
    conds = [m.cond for m in measures]
    fp = (lambda s: hash(canon(s))) if canon else hash
    ids: dict[int, int] = {}
    fps: list[int] = []
    goal = [bytearray() for _ in measures]
    queue: deque = deque()
    init: list[int] = []

    def add(s) -> tuple[int, bool]:
        h = fp(s)
        i = ids.get(h)
        if i is not None:
            return i, False
        i = len(fps)
        ids[h] = i
        fps.append(h)
        all_goal = True
        for k, c in enumerate(conds):
            g = bool(c(s))
            goal[k].append(g)
            all_goal = all_goal and g
        if not all_goal:
            queue.append((i, s))
        return i, True

    for s in model.init_states():
        i, new = add(s)
        if new:
            init.append(i)
    off = array("q", [0])
    dst = array("q")
    ws = [array("q") for _ in counters]
    expanded = 0
    stopped = None
    succ = model.successors_labeled
    while queue:
        i, s = queue.popleft()
        while len(off) <= i:                 # states not expanded (goal for every measure)
            off.append(len(dst))
        seen_e: set = set()
        for lab, t in succ(s):
            j, _ = add(t)
            wt = tuple(f(s, t, lab) for f in fns)
            key = (j, wt)
            if key in seen_e:
                continue
            seen_e.add(key)
            dst.append(j)
            for arr, x in zip(ws, wt):
                arr.append(x)
        off.append(len(dst))
        expanded += 1
        if max_states is not None and len(fps) >= max_states and queue:
            stopped = "max-states"
            break
        if max_seconds is not None and (expanded & 1023) == 0 and time.perf_counter() - t0 > max_seconds and queue:
            stopped = "max-seconds"
            break
    while len(off) <= len(fps):
        off.append(len(dst))
    return Graph(fps, init, goal, off, dst, ws, counters, time.perf_counter() - t0, stopped)


# --------------------------------------------------------------------------- path problems
@dataclass
class Extreme:
    value: int | str | None                # an int, UNBOUNDED, or None (never reached)
    path: list[int] = field(default_factory=list)      # state ids from an initial state
    loop: int | None = None                # for UNBOUNDED: index in path where the cycle starts
    steps: int | None = None


def _reach(g: Graph, k: int) -> bytearray:
    """States reachable from an initial state without passing a goal state of measure k."""
    seen = bytearray(len(g.fps))
    goal = g.goal[k]
    q = deque(g.init)
    for i in g.init:
        seen[i] = 1
    while q:
        u = q.popleft()
        if goal[u]:
            continue
        for e in g.edges(u):
            v = g.dst[e]
            if not seen[v]:
                seen[v] = 1
                q.append(v)
    return seen


def best_case(g: Graph, k: int, wi: int) -> Extreme:
    """Least (counter, steps) over runs to a first goal state: Dijkstra."""
    goal, W, S = g.goal[k], g.w[wi], g.w[0]
    dist: dict[int, tuple[int, int]] = {}
    parent: dict[int, int] = {}
    heap = []
    for i in g.init:
        dist[i] = (0, 0)
        parent[i] = -1
        heap.append((0, 0, i))
    heapq.heapify(heap)
    done = set()
    while heap:
        c, st, u = heapq.heappop(heap)
        if u in done:
            continue
        done.add(u)
        if goal[u]:
            path = [u]
            while parent[path[-1]] >= 0:
                path.append(parent[path[-1]])
            path.reverse()
            return Extreme(c, path, steps=st)
        for e in g.edges(u):
            v = g.dst[e]
            nd = (c + W[e], st + S[e])
            if v not in dist or nd < dist[v]:
                dist[v] = nd
                parent[v] = u
                heapq.heappush(heap, (nd[0], nd[1], v))
    return Extreme(None)


def _tarjan(g: Graph, nodes: bytearray, goal: bytearray) -> tuple[list[int], list[list[int]]]:
    """SCCs of the subgraph of non-goal `nodes` (iterative Tarjan). Returns (comp id per
    state, components in the order found: every component after all it can reach)."""
    n = len(g.fps)
    index = array("q", [-1]) * n
    low = array("q", [0]) * n
    comp = array("q", [-1]) * n
    onstack = bytearray(n)
    stack: list[int] = []
    comps: list[list[int]] = []
    counter = 0
    for root in range(n):
        if not nodes[root] or goal[root] or index[root] >= 0:
            continue
        work = [(root, g.off[root] if root + 1 < len(g.off) else 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        onstack[root] = 1
        while work:
            u, e = work[-1]
            end = g.off[u + 1] if u + 1 < len(g.off) else 0
            pushed = False
            while e < end:
                v = g.dst[e]
                e += 1
                if goal[v]:
                    continue
                if index[v] < 0:
                    work[-1] = (u, e)
                    index[v] = low[v] = counter
                    counter += 1
                    stack.append(v)
                    onstack[v] = 1
                    work.append((v, g.off[v] if v + 1 < len(g.off) else 0))
                    pushed = True
                    break
                if onstack[v] and index[v] < low[u]:
                    low[u] = index[v]
            if pushed:
                continue
            work.pop()
            if work:
                p = work[-1][0]
                if low[u] < low[p]:
                    low[p] = low[u]
            if low[u] == index[u]:
                members = []
                while True:
                    x = stack.pop()
                    onstack[x] = 0
                    comp[x] = len(comps)
                    members.append(x)
                    if x == u:
                        break
                comps.append(members)
    return list(comp), comps


def _bfs_path(g: Graph, sources: list[int], target: Callable[[int], bool],
              allowed: Callable[[int, int], bool]) -> list[int]:
    """Shortest path (in edges) from any source to a state where `target` holds, over
    edges e = (u -> v) with allowed(u, e)."""
    parent = {s: -1 for s in sources}
    q = deque(sources)
    while q:
        u = q.popleft()
        if target(u):
            path = [u]
            while parent[path[-1]] >= 0:
                path.append(parent[path[-1]])
            return path[::-1]
        for e in g.edges(u):
            v = g.dst[e]
            if v not in parent and allowed(u, e):
                parent[v] = u
                q.append(v)
    return []


def components(g: Graph, k: int) -> tuple[bytearray, list[int], list[list[int]]]:
    """(states reachable before measure k's condition, component per state, components
    in Tarjan's order): shared by the worst cases of every counter of measure k."""
    reach = _reach(g, k)
    comp, comps = _tarjan(g, reach, g.goal[k])
    return reach, comp, comps


def worst_case(g: Graph, k: int, wi: int, scc=None) -> Extreme:
    """Greatest counter over runs to a first goal state: longest path over the SCC DAG."""
    goal, W = g.goal[k], g.w[wi]
    reach, comp, comps = scc or components(g, k)
    if not any(goal[i] for i in range(len(g.fps)) if reach[i]):
        return Extreme(None)
    NEG = None
    best_c: list[int | None] = [NEG] * len(comps)         # longest to a goal from the component
    for ci, members in enumerate(comps):                    # sinks first
        val = NEG
        for u in members:
            for e in g.edges(u):
                v = g.dst[e]
                if goal[v]:
                    x = W[e]
                elif comp[v] == ci:
                    continue
                else:
                    lv = best_c[comp[v]]
                    if lv is None:
                        continue
                    x = W[e] + lv
                if val is None or x > val:
                    val = x
        best_c[ci] = val
    # a positive edge inside a component from which a goal is reachable: unbounded
    for ci, members in enumerate(comps):
        if best_c[ci] is None:
            continue
        mset = set(members) if len(members) > 1 else {members[0]}
        for u in members:
            for e in g.edges(u):
                v = g.dst[e]
                if W[e] > 0 and not goal[v] and comp[v] == ci:
                    return _lasso(g, k, u, e, mset)

    def L(i: int) -> int | None:
        return 0 if goal[i] else best_c[comp[i]]

    starts = [i for i in g.init if reach[i] and L(i) is not None]
    top = max(L(i) for i in starts)
    sources = [i for i in starts if L(i) == top]
    path = _bfs_path(g, sources, lambda u: bool(goal[u]),
                     lambda u, e: not goal[u] and L(g.dst[e]) is not None and W[e] + L(g.dst[e]) == L(u))
    return Extreme(top, path, steps=len(path) - 1)


def _lasso(g: Graph, k: int, u: int, e: int, members: set[int]) -> Extreme:
    goal = g.goal[k]
    v = g.dst[e]
    prefix = _bfs_path(g, list(g.init), lambda x: x == u, lambda x, _e: not goal[x])
    back = _bfs_path(g, [v], lambda x: x == u, lambda x, ee: g.dst[ee] in members)
    path = prefix + back                      # ... u, v, ..., u
    return Extreme(UNBOUNDED, path, loop=len(prefix) - 1)


# --------------------------------------------------------------------------- traces
def replay(model: Model, g: Graph, canon: Callable | None, path: list[int],
           start: tuple | None = None) -> tuple[list[tuple], list]:
    """Concrete states and labels of a path of state ids (matching orbit and weights),
    from an initial state, or from `start` (a concrete state in the orbit of path[0])."""
    fp = (lambda s: hash(canon(s))) if canon else hash
    fns = [counter_fn(model, c) for c in g.counters]
    cur = start if start is not None else next(s for s in model.init_states() if fp(s) == g.fps[path[0]])
    states, labels = [cur], [None]
    for a, b in zip(path, path[1:]):
        want = {tuple(g.w[c][e] for c in range(len(g.counters)))
                for e in g.edges(a) if g.dst[e] == b}
        for lab, t in model.successors_labeled(cur):
            if fp(t) == g.fps[b] and tuple(f(cur, t, lab) for f in fns) in want:
                states.append(t)
                labels.append(lab)
                cur = t
                break
        else:  # pragma: no cover - a fingerprint collision or a nondeterministic model
            raise RuntimeError("could not replay the run: no successor matches the stored edge")
    return states, labels


def replay_lasso(model: Model, g: Graph, canon: Callable | None, path: list[int],
                 loop: int) -> tuple[list[tuple], list]:
    """A lasso's concrete run: with symmetry the stored cycle closes only up to a renaming
    of ids, so go round it again until the concrete state repeats (at most n! rounds)."""
    states, labels = replay(model, g, canon, path)
    cycle = path[loop:]
    rounds = 1
    while states[-1] != states[loop] and rounds < 720:
        more, more_labels = replay(model, g, canon, cycle, start=states[-1])
        states += more[1:]
        labels += more_labels[1:]
        rounds += 1
    return states, labels


def short_action(a: dict) -> str:
    kind, name = a.get("kind"), a.get("name")
    if kind in ("deliver", "duplicate", "drop"):
        return f"{kind} {name} {a['src']}->{a['dst']}"
    if kind in ("crash", "restart"):
        return f"{kind} {a['proc']}"
    if kind == "partition":
        return "partition " + "|".join(",".join(map(str, s)) for s in a["sides"])
    params = a.get("params")
    if params:
        args = ", ".join(f"{v}" if not isinstance(v, dict) else json.dumps(v) for v in params.values())
        return f"{name}({args})" + (f" at {a['proc']}" if "proc" in a else "")
    if "proc" in a:
        return f"{name} at {a['proc']}"
    return str(name)


# --------------------------------------------------------------------------- results
@dataclass
class MeasureCost:
    name: str
    counter: str
    condition: str
    origin: str
    best: int | None
    worst: int | str | None
    steps_best: int | None
    steps_worst: int | str | None
    best_trace: Any = None          # Trace
    worst_trace: Any = None         # Trace (a lasso with `loop` when unbounded)
    never: int = 0                  # stuck states where the condition does not hold

    def to_json(self) -> dict[str, Any]:
        def run(tr):
            if tr is None:
                return None
            acts = [short_action(s.action) for s in tr.steps[1:]]
            out: dict[str, Any] = {"steps": acts}
            if tr.loop is not None:
                out["loop"] = tr.loop
            return out
        return {"measure": self.name, "counter": self.counter, "condition": self.condition,
                "origin": self.origin, "best": self.best, "worst": self.worst,
                "steps_best": self.steps_best, "steps_worst": self.steps_worst,
                "stuck_without": self.never,
                "best_run": run(self.best_trace), "worst_run": run(self.worst_trace)}


@dataclass
class CostRow:
    spec: str
    spec_name: str
    model: str
    consts: dict[str, Any]
    varied: dict[str, Any]          # the constants set by this row's -D (e.g. {"N": 4})
    measures: list[MeasureCost]
    distinct: int
    edges: int
    seconds: float
    symmetry: bool
    stopped: str | None = None
    closed_form: "ClosedForm | None" = None

    @property
    def n(self) -> int | None:
        v = self.consts.get("N")
        return v if isinstance(v, int) else None

    @property
    def main(self) -> MeasureCost:
        return next((m for m in self.measures if m.counter == "messages"), self.measures[0])

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "spec": self.spec, "name": self.spec_name, "model": self.model, "constants": self.consts,
            "size": self.varied, "distinct": self.distinct, "edges": self.edges,
            "seconds": round(self.seconds, 3), "symmetry": self.symmetry, "stopped": self.stopped,
            "measures": [m.to_json() for m in self.measures]}
        cf = self.closed_form
        if cf is not None and self.n is not None:
            out["closed_form"] = {"best": cf.best_text, "worst": cf.worst_text,
                                  "best_value": cf.best(self.n), "worst_value": cf.worst(self.n),
                                  "assumptions": cf.assumptions}
        return out


def cost_model(model: Model, spec_path: str, *, symmetry: bool = True, traces: bool = True,
               max_states: int | None = None, max_seconds: float | None = None,
               varied: dict[str, Any] | None = None, given: int = 0) -> CostRow:
    t0 = time.perf_counter()
    measures = measures_for(model, given)
    canon = None
    if symmetry:
        from .explore.symmetry import canonicalizer
        canon = canonicalizer(model)
    g = build_graph(model, measures, canon, max_states, max_seconds)
    results = []
    for k, m in enumerate(measures):
        wi = g.counters.index(m.counter)
        scc = components(g, k)
        b, w = best_case(g, k, wi), worst_case(g, k, wi, scc)
        sb, sw = best_case(g, k, 0), worst_case(g, k, 0, scc)
        never = sum(1 for i in range(len(g.fps)) if not g.goal[k][i] and i + 1 < len(g.off)
                    and g.off[i] == g.off[i + 1])
        mc = MeasureCost(m.name, m.counter, m.text, m.origin, b.value, w.value, sb.value, sw.value,
                         never=never)
        if traces:
            for ext, attr, label in ((b, "best_trace", "best"), (w, "worst_trace", "worst")):
                if ext.path:
                    loop = ext.loop
                    states, labels = (replay(model, g, canon, ext.path) if loop is None else
                                      replay_lasso(model, g, canon, ext.path, loop))
                    meta = {"measure": m.name, "counter": m.counter, "condition": m.text,
                            "extreme": label, "value": ext.value}
                    if loop is not None:
                        meta["note"] = (f"the run spends without end: its last state is state {loop}, "
                                        f"and the steps from there repeat for ever")
                    tr = model.trace(states, labels, meta)
                    tr.loop = loop
                    setattr(mc, attr, tr)
        results.append(mc)
    return CostRow(spec_path, model.spec.name, model.config.name, dict(model.config.consts),
                   dict(varied or {}), results, len(g.fps), len(g.dst), time.perf_counter() - t0,
                   canon is not None, g.stopped, closed_form_for(spec_path, model))


def cost(spec_path: str, model: str | None = None, defines: list[str] | None = None, *,
         until: list[str] | None = None, symmetry: bool = True, traces: bool = True,
         max_states: int | None = None, max_seconds: float | None = None,
         varied: dict[str, Any] | None = None) -> CostRow:
    """The exact cost of the measures of one spec at one size (see the module docstring).
    A run stopped by `max_states`/`max_seconds` says so in `stopped`; its numbers are then
    bounds of the explored part only, not of the spec."""
    m, given = load_with_measures(spec_path, model, defines, until)
    return cost_model(m, str(spec_path), symmetry=symmetry, traces=traces, max_states=max_states,
                      max_seconds=max_seconds, varied=varied, given=given)


# --------------------------------------------------------------------------- closed forms
@dataclass
class ClosedForm:
    """Best and worst case from the literature, for the assumptions the spec makes."""
    protocol: str                   # label in tables and the chart
    best: Callable[[int], int]
    worst: Callable[[int], int]
    best_text: str
    worst_text: str
    assumptions: str
    source: str
    models: tuple[str, ...] = ("default",)     # the spec's models the formulas are derived for


# Keyed by the spec file's stem. Each formula is derived for the spec as written (see the
# assumptions) and pinned against the exact numbers by tests/checker/test_cost.py. A
# message counts when it is put in flight, including those sent in the step that reaches
# the condition; a message to a crashed node is lost as it is sent and does not count.
CLOSED_FORMS: dict[str, ClosedForm] = {
    "chang_roberts": ClosedForm(
        "Chang-Roberts", lambda n: n, lambda n: n * (n + 1) // 2, "N", "N(N+1)/2",
        "Ids 1..N in ring order, the smallest initiator wins; initiators are chosen "
        "nondeterministically; messages until a node has won (the spec has no "
        "announcement). Best: a single initiator, whose id goes once round the ring (N; "
        "2N-1 when every node initiates, since each sends its id before it passes others "
        "on). Worst: every node initiates and ids increase along the ring, so id 1 travels "
        "N hops and id i > 1 travels N-i+1 hops before node 1 swallows it: N + (N-1) + ... + 1",
        "Chang & Roberts, CACM 22(5), 1979"),
    "lcr": ClosedForm(
        "LCR", lambda n: n + 1, lambda n: n * (n + 1) // 2 + 1, "N+1", "N(N+1)/2+1",
        "Every node initiates when its timer fires, which may be after ids reached it (it "
        "passes them on meanwhile); ids 1..N in ring order, the smallest wins; messages until "
        "a node has won, counting the Elected announcement the winner sends in that step "
        "(the +1). Best: node 1's id goes round the ring before any other timer fires (N; the "
        "textbook's 2N-1 assumes every node sends its own id before passing others on). "
        "Worst: ids increase along the ring, LCR's worst arrangement: every id travels until "
        "node 1 swallows it, N(N+1)/2 (Lynch, Distributed Algorithms, 3.3: O(N^2))",
        "LeLann 1977; Chang & Roberts 1979"),
    "bully": ClosedForm(
        "Bully", lambda n: n - 2, lambda n: n * n - n + 1, "N-2", "N^2-N+1",
        "The model `default`: synchronous, at most one crash, no partitions; the first "
        "election from the start; messages until a node is coordinator, counting the Answer "
        "and Coordinator messages of that step. Best: one node has crashed and the highest "
        "live node's timer fires first: it announces itself to the N-2 other live nodes "
        "(the textbook best case, N-1 without a crash). Worst: node 1 starts and every node "
        "below N holds an election before N hears of any: N(N-1)/2 Election messages, an "
        "Answer from every higher node below N to each, (N-1)(N-2)/2, then N answers the first "
        "Election to reach it and announces itself to the N-1 others: N(N-1)/2 + "
        "(N-1)(N-2)/2 + 1 + (N-1) = N^2-N+1, O(N^2)",
        "Garcia-Molina, IEEE Trans. Computers C-31(1), 1982"),
}


def closed_form_for(spec_path: str | Path, model: Model | None = None) -> ClosedForm | None:
    """The closed form for a spec file (by its stem), if derived for the model checked."""
    cf = CLOSED_FORMS.get(Path(spec_path).stem)
    if cf is None or model is None:
        return cf
    if model.config.name not in cf.models or set(model.config.overrides) - {"N"}:
        return None                  # another model, or other constants changed: no formula
    return cf


# --------------------------------------------------------------------------- implementations
@dataclass
class ImplMap:
    """How a reference implementation's runs are counted against a spec's measures.

    `elected`: the messages (of `types`, None for all) sent from the start up to and
    including the step where the first node outputs Elected; compared with the spec's
    election measure. `known`: a measure, in `until` form, meaning "every node names the
    leader"; when set, the simulator's election (ElectionMeter: from the start to the step
    after which every live node names the same leader, every message) is compared with it.
    """
    algo: str
    types: tuple[str, ...] | None
    known: str | None
    note: str


IMPLS: dict[str, ImplMap] = {
    "chang_roberts": ImplMap("ring", ("Election",), None,
                             "ring: Election messages up to the step where the first node wins "
                             "(the spec has no announcement)"),
    "lcr": ImplMap("lcr", None,
                   "Known: messages until any w in Node: w.state == won and (all n in Node: n.leader == w)",
                   "lcr: every message up to the step where a node wins; Known: every message until "
                   "every node names the leader"),
    "bully": ImplMap("bully", None, None,
                     "bully: every message up to the step where the first node becomes coordinator"),
}
DEFAULT_IMPL = {"ring": "chang_roberts", "lcr": "lcr", "ring:lcr": "lcr", "bully": "bully",
                "raft": "raft", "paxos": "paxos"}


@dataclass
class ImplCost:
    """Messages of the first election over seeded simulator runs of one size."""
    algo: str
    n: int
    runs: int
    elected: list[int]              # per run: up to the step where the first node is elected
    known: list[int]                # per run: the simulator's election (until every node knows)
    unfinished: int                 # runs without an agreed leader by the deadline
    seconds: float
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"impl": self.algo, "N": self.n, "runs": self.runs, "unfinished": self.unfinished,
                "elected": stats(self.elected), "known": stats(self.known),
                "seconds": round(self.seconds, 3), "counted": self.note}


def stats(xs: list[int]) -> dict[str, Any]:
    """min, median, p99 (nearest rank) and max."""
    xs = sorted(xs)
    if not xs:
        return {"min": None, "median": None, "p99": None, "max": None}
    k = len(xs)
    med = xs[k // 2] if k % 2 else (xs[k // 2 - 1] + xs[k // 2]) / 2
    if isinstance(med, float) and med.is_integer():
        med = int(med)
    return {"min": xs[0], "median": med, "p99": xs[max(0, math.ceil(0.99 * k) - 1)], "max": xs[-1]}


def impl_costs(algo: str, n: int, runs: int, *, types: tuple[str, ...] | None = None,
               seed0: int = 0, deadline_ms: int = 20_000, note: str = "") -> ImplCost:
    """Seeded timed simulator runs (`Sim(algo, nodes=n, seed=k)`, no faults, no loss),
    k = seed0 .. seed0+runs-1: per run, the messages (of `types`, None for every type)
    sent from the start up to and including the step where the first node outputs
    Elected, and the first election's messages as the simulator's meter counts them."""
    from reference.drivers.sim import Sim
    t0 = time.perf_counter()
    elected, known = [], []
    unfinished = 0
    for seed in range(seed0, seed0 + runs):
        box: dict[str, Any] = {"sent": 0, "at": None}

        def on_record(r, box=box):
            if box["at"] is not None:
                return
            effects = r.get("effects") or ()
            box["sent"] += sum(1 for e in effects if e["kind"] == "send"
                               and (types is None or e["msg"].get("type") in types))
            if any(e["kind"] == "output" and e["event"].get("event") == "Elected" for e in effects):
                box["at"] = box["sent"]
        sim = Sim(algo, nodes=n, seed=seed, on_record=on_record)
        t = 0
        els = []
        while t < deadline_ms:
            t += 250
            sim.run(t)
            els = sim.elections()
            if els and els[0].end is not None and box["at"] is not None:
                break
        if not els or els[0].end is None or box["at"] is None:
            unfinished += 1
            continue
        elected.append(box["at"])
        known.append(els[0].messages)
    return ImplCost(algo, n, runs, elected, known, unfinished, time.perf_counter() - t0, note)


# --------------------------------------------------------------------------- sizes
_RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$")


def expand_defines(defines: list[str] | None) -> list[tuple[list[str], dict[str, Any]]]:
    """-D values with ranges (`N=3..7`) or lists (`N=3,5`) -> one list of plain -D per
    combination, with the varied constants. A malformed range is a usage error."""
    fixed: list[str] = []
    axes: list[tuple[str, list[int]]] = []
    given: set[str] = set()
    for d in defines or []:
        name, eq, value = d.partition("=")
        name = name.strip()
        if eq and name in given:
            raise CostUsageError(f"-D {name} is given twice: give each constant once (a range such as "
                                 f"{name}=3..7 or a list such as {name}=3,5 for several sizes)")
        given.add(name)
        m = _RANGE.match(value)
        if eq and m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if lo > hi:
                raise CostUsageError(f"-D {d}: empty range (write LOW..HIGH, e.g. {name}=3..7)")
            axes.append((name, list(range(lo, hi + 1))))
        elif eq and "," in value:
            try:
                axes.append((name, [int(x) for x in value.split(",")]))
            except ValueError:
                raise CostUsageError(f"-D {d}: expected integers separated by ',' (e.g. {name}=3,5,7)") from None
        elif eq and ".." in value:
            raise CostUsageError(f"-D {d}: expected a range LOW..HIGH of integers, e.g. {name}=3..7")
        else:
            fixed.append(d)
    out = []
    for combo in itertools.product(*[vals for _, vals in axes]):
        varied = {name: v for (name, _), v in zip(axes, combo)}
        out.append((fixed + [f"{k}={v}" for k, v in varied.items()], varied))
    return out


class CostUsageError(Exception):
    pass


# --------------------------------------------------------------------------- rendering
def _fmt(v) -> str:
    if v is None:
        return "never"
    if v == UNBOUNDED:
        return "unbounded"
    return str(v)


def _size(row: CostRow) -> str:
    if row.varied:
        return " ".join(f"{k}={v}" for k, v in row.varied.items())
    return f"N={row.n}" if row.n is not None else "-"


def _wrap(text: str, indent: str) -> str:
    import textwrap
    return textwrap.fill(text, width=100, initial_indent=indent, subsequent_indent=indent + "    ",
                         break_on_hyphens=False, break_long_words=False)


def render_table(rows: list[CostRow]) -> str:
    head = ["spec", "size", "measure", "counter", "best", "worst", "steps", "distinct", "seconds", "closed form"]
    body = []
    for r in rows:
        for m in r.measures:
            cf = r.closed_form if m is r.main else None
            formula = ""
            if cf is not None and r.n is not None and m.counter == "messages":
                ok = cf.best(r.n) == m.best and cf.worst(r.n) == m.worst
                formula = (f"{cf.best_text}={cf.best(r.n)}, {cf.worst_text}={cf.worst(r.n)} "
                           + ("(equal)" if ok else "(DIFFERS)"))
            body.append([Path(r.spec).stem, _size(r), m.name, m.counter,
                         _fmt(m.best), _fmt(m.worst), f"{_fmt(m.steps_best)}..{_fmt(m.steps_worst)}",
                         f"{r.distinct:,}" + (" (stopped)" if r.stopped else ""), f"{r.seconds:.2f}", formula])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    right = {4, 5, 6, 7, 8}

    def line(cells):
        return "  ".join((c.rjust(w) if i in right else c.ljust(w)) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    out = [line(head)] + [line(b) for b in body]
    notes = []
    seen = set()
    for r in rows:
        for m in r.measures:
            key = (r.spec, m.name)
            if key in seen:
                continue
            seen.add(key)
            src = {"spec": "declared in the spec", "given": "given"}.get(m.origin, f"the spec's {m.origin}")
            notes.append(f"{Path(r.spec).stem}: {m.name} = {m.counter} until {m.condition} ({src}); "
                         f"model {r.model}")
        cf = r.closed_form
        if cf is not None and ("cf", r.spec) not in seen:
            seen.add(("cf", r.spec))
            notes.append(f"{Path(r.spec).stem}: best {cf.best_text}, worst {cf.worst_text} "
                         f"[{cf.source}]: {cf.assumptions}")
    out.append("")
    out.append(_wrap("best/worst: the counter at the first state where the condition holds, least and "
                     "greatest over every run; steps: the same for the number of steps; distinct: "
                     "states explored (up to the condition, one per symmetry orbit)", ""))
    out += [_wrap(n, "  ") for n in notes]
    stuck: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        for m in r.measures:
            if m.worst == UNBOUNDED and m.worst_trace is not None:
                tr = m.worst_trace
                acts = [short_action(s.action) for s in tr.steps[1:]]
                lp = tr.loop or 0
                out.append(_wrap(f"{Path(r.spec).stem} {_size(r)}: {m.name} is unbounded: a cycle spends "
                                 f"{m.counter} before the condition holds; after "
                                 f"{'; '.join(acts[:lp]) or 'the start'}, repeat: {'; '.join(acts[lp:])}", ""))
            if m.never:
                stuck.setdefault((Path(r.spec).stem, m.name), []).append(f"{_size(r)}: {m.never}")
    for (stem, name), where in stuck.items():
        out.append(_wrap(f"{stem}: reachable stuck states where {name}'s condition does not hold (runs "
                         f"that end without it), by size: {', '.join(where)}", ""))
    return "\n".join(out)


@dataclass
class ImplCheck:
    """One implementation metric at one size against the spec's exact bounds."""
    impl: ImplCost
    metric: str                     # "elected" | "known"
    measure: MeasureCost | None     # the spec's measure it is held to (None: no spec row)

    @property
    def values(self) -> list[int]:
        return self.impl.elected if self.metric == "elected" else self.impl.known

    @property
    def within(self) -> bool | None:
        m = self.measure
        if m is None:
            return None
        xs = self.values
        if not xs or self.impl.unfinished or m.best is None:
            return False
        return min(xs) >= m.best and (m.worst == UNBOUNDED or max(xs) <= m.worst)

    def to_json(self) -> dict[str, Any]:
        m = self.measure
        return {"impl": self.impl.algo, "N": self.impl.n, "runs": self.impl.runs,
                "unfinished": self.impl.unfinished, "metric": self.metric, **stats(self.values),
                "measure": m.name if m else None, "spec_best": m.best if m else None,
                "spec_worst": m.worst if m else None, "within": self.within,
                "seconds": round(self.impl.seconds, 3)}


def impl_checks(ic: ImplCost, row: CostRow | None, mp: ImplMap | None) -> list[ImplCheck]:
    out = [ImplCheck(ic, "elected", row.main if row is not None else None)]
    if mp is not None and mp.known and row is not None:
        name = parse_until(mp.known)[0]
        m = next((x for x in row.measures if x.name == name), None)
        out.append(ImplCheck(ic, "known", m))
    return out


def render_impl(checks: list[ImplCheck]) -> str:
    head = ["impl", "N", "runs", "counted until", "min", "median", "p99", "max", "spec measure",
            "spec best..worst", "within"]
    body = []
    for c in checks:
        st = stats(c.values)
        m = c.measure
        ic = c.impl
        body.append([ic.algo, str(ic.n), f"{len(c.values)}" + (f" ({ic.unfinished} unfinished)" if ic.unfinished else ""),
                     "first Elected" if c.metric == "elected" else "all know (meter)",
                     *(str(st[k]) for k in ("min", "median", "p99", "max")),
                     m.name if m else "-", f"{_fmt(m.best)}..{_fmt(m.worst)}" if m else "-",
                     {True: "yes", False: "NO", None: "-"}[c.within]])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    right = {1, 2, 4, 5, 6, 7}

    def line(cells):
        return "  ".join((c.rjust(w) if i in right else c.ljust(w))
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    out = [line(head)] + [line(b) for b in body]
    notes = sorted({c.impl.note for c in checks if c.impl.note})
    out += ["", _wrap("seeded timed simulator runs (seeds 0..runs-1, no faults, no loss); counted: "
                      + "; ".join(notes), "")] if notes else []
    return "\n".join(out)


# --------------------------------------------------------------------------- chart
@dataclass
class Series:
    """One protocol's line in the chart: (N, best, worst) points, and the sizes left out."""
    name: str
    closed_form: "ClosedForm | None"
    points: list[tuple[int, int | str, int | str]]
    missing: list[int] = field(default_factory=list)
    model: str = "default"


def series_of_rows(rows: list[CostRow]) -> list[Series]:
    """The chart's lines for `elect cost` rows: one per spec, its messages measure."""
    out: dict[str, Series] = {}
    for r in rows:
        if r.n is None or r.main.counter != "messages":
            continue
        cf = r.closed_form
        sr = out.setdefault(r.spec, Series(cf.protocol if cf else r.spec_name, cf, [], [], r.model))
        if r.stopped or r.main.best is None:
            sr.missing.append(r.n)
        else:
            sr.points.append((r.n, r.main.best, r.main.worst))
    return list(out.values())


def _label_points(fig, axes, labels: dict[tuple[int, int], list[tuple[int, str]]]) -> None:
    """Write each point's value to its right, in its line's colour. Values of one N that
    would overlap (close or equal numbers) are spread apart vertically, in the order of
    the values, so that each stays readable; equal values share one label per colour."""
    gap = 9.0                                        # points between label centres
    for ax in axes:
        ax.set_ylim(ax.get_ylim())                   # freeze the limits before measuring
        for (panel, x), items in labels.items():
            if panel != id(ax):
                continue
            items = sorted(set(items), key=lambda t: (t[0], t[1]))
            to_pt = 72.0 / fig.dpi
            ys = [ax.transData.transform((x, y))[1] * to_pt for y, _ in items]
            placed: list[float] = []
            for y in ys:
                placed.append(max(y, placed[-1] + gap) if placed else y)
            shift = (sum(ys) - sum(placed)) / len(ys)        # keep the column centred on the points
            for (y, c), y0, yp in zip(items, ys, placed):
                ax.annotate(str(y), (x, y), textcoords="offset points", xytext=(8, yp + shift - y0),
                            va="center", fontsize=7.5, color=c, zorder=5,
                            bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85})


def plot(rows: list[CostRow], path: str | Path) -> Path:
    """The chart of `elect cost --plot`: see plot_series."""
    return plot_series(series_of_rows(rows), path)


def plot_series(series: list[Series], path: str | Path) -> Path:
    """Two panels, best and worst messages against N, one colour per protocol: the exact
    numbers as points joined by lines, the closed forms as wide pale bands behind them (a
    point on its band: the two agree). Sizes that were not computed are named in the
    legend."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise CostUsageError(f"--plot {path}: the chart is written as PNG or SVG; name the file *.png or *.svg")
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.2), dpi=120, sharex=True)
    labels: dict[tuple[int, int], list[tuple[int, str]]] = {}    # (panel, N) -> (value, colour)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    markers = "osD^v<>p"
    handles = []
    allx: set[int] = set()
    for i, sr in enumerate(series):
        pts_all = sorted(sr.points)
        c, mk = colors[i % len(colors)], markers[i % len(markers)]
        cf = sr.closed_form
        xs = [n for n, _, _ in pts_all] + list(sr.missing)
        allx.update(xs)
        for ax, col, which in zip(axes, (1, 2), ("best", "worst")):
            if cf is not None and pts_all:
                f = cf.best if which == "best" else cf.worst
                fx = list(range(min(xs), max(xs) + 1))
                ax.plot(fx, [f(n) for n in fx], color=c, alpha=0.25, lw=9, solid_capstyle="round", zorder=1)
            pts = [(p[0], p[col]) for p in pts_all if isinstance(p[col], int)]
            if pts:
                ax.plot([x for x, _ in pts], [y for _, y in pts], color=c, marker=mk, ms=6, lw=1.5, zorder=3)
                for x, y in pts:
                    labels.setdefault((id(ax), x), []).append((y, c))
            unb = [p[0] for p in pts_all if p[col] == UNBOUNDED]
            if unb:
                top = max([y for _, y in pts] or [1])
                ax.plot(unb, [top] * len(unb), color=c, marker="^", ls="none", zorder=3)
                ax.annotate("unbounded", (unb[0], top), textcoords="offset points", xytext=(6, 4),
                            fontsize=7, color=c)
        label = sr.name + ("" if sr.model == "default" else f" (model {sr.model})")
        label += f": best {cf.best_text}, worst {cf.worst_text}" if cf else ", no closed form"
        if sr.missing:
            label += f"; N={', '.join(map(str, sorted(sr.missing)))} not computed" if sr.points else \
                "; not computed"
        label = label.replace("^2", "\u00b2")
        handles.append(Line2D([], [], color=c, marker=mk, lw=1.5, label=label))
    for ax, which in zip(axes, ("best", "worst")):
        ax.set_title(f"{which} case over every run", fontsize=10)
        ax.set_xlabel("N (nodes)")
        if allx:
            ax.set_xticks(sorted(allx))
            ax.set_xlim(min(allx) - 0.3, max(allx) + 0.6)
        ax.set_ylim(bottom=0)
        ax.margins(y=0.12)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("messages until a leader is elected")
    if any(sr.closed_form for sr in series):
        handles.append(Line2D([], [], color="grey", alpha=0.35, lw=9, label="closed form (pale band)"))
    fig.suptitle("Messages to elect a leader: exact best and worst case (elect cost)", fontsize=11)
    ncol = 1 if any(len(h.get_label()) > 80 for h in handles) else 2
    fig.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=8.5, frameon=False)
    rows_of_legend = (len(handles) + ncol - 1) // ncol
    fig.tight_layout(rect=(0, 0.04 * rows_of_legend + 0.01, 1, 1))
    _label_points(fig, axes, labels)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None} if path.suffix.lower() == ".png" else {"Date": None})
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- spec/README.md
SECTION_SPECS = ("bully", "chang_roberts", "lcr", "paxos", "raft")
SECTION_SIZES = (3, 4, 5, 6)
SECTION_MODELS = {"raft": "yardstick"}        # a fault-free model of the spec, if not `default`
SECTION_MAX_SECONDS = 600.0                   # per row, when refreshing the cache
CACHE = "cost.json"


def cost_section(spec_dir: str | Path = "spec") -> str:
    """The Markdown section of spec/README.md (appended by `elect table`): exact best and
    worst messages to elect a leader for the shipped specs at N = 3..6, what is counted
    and under which model, the closed forms with their assumptions, and the chart
    (spec/cost.png). Empty when the directory has none of SECTION_SPECS.

    The numbers come from `spec_dir/cost.json` (`python -m checker.cost spec` refreshes it
    and draws the chart), so that generating the README stays fast and deterministic; a
    row whose spec changed since (other than in comments and properties that cannot change
    a cost) is shown as out of date rather than with stale numbers, and a size whose search
    did not finish in time is shown with the reason."""
    d = Path(spec_dir)
    stems = [s for s in SECTION_SPECS if (d / f"{s}.elect").exists()]
    if not stems:
        return ""
    cache = _read_cache(d / CACHE)
    lines = ["## The cost of an election", "",
             "Messages sent until some node is leader, least and greatest over every run of the "
             "model: exact, every interleaving explored by `elect cost` (a shortest and a longest "
             "path problem on the state graph). A message counts when it is put in flight, "
             "including those sent in the step that elects the leader; a message to a crashed "
             "node is lost as it is sent and does not count. *Steps* are the same run's length. "
             "Where a closed form is known for the spec's assumptions (listed below the table) it "
             "is shown next to the numbers; tests/checker/test_cost.py checks that the two agree.",
             "",
             "| spec | model | N | best | worst | steps (best..worst) | distinct states | closed form (best, worst) |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    notes = []
    for stem in stems:
        path = d / f"{stem}.elect"
        model = SECTION_MODELS.get(stem, "default")
        digest = _digest(path, model)
        cf = CLOSED_FORMS.get(stem)
        cf = cf if cf is not None and model in cf.models else None
        condition = None
        for n in SECTION_SIZES:
            row = cache.get((stem, model, n))
            lead = f"| {stem} | {model} | {n} |"
            if row is None:
                lines.append(f"{lead} | | | | not computed: no row in {CACHE} |")
                continue
            if row.get("digest") != digest:
                lines.append(f"{lead} | | | | out of date: the spec changed since {CACHE} was written |")
                continue
            if row.get("stopped"):
                why = row["stopped"]
                if why.startswith("stopped after"):
                    why = (f"the search had not finished after {why[len('stopped after '):]} "
                           f"({row['distinct']:,} states)")
                elif why.startswith("not tried: "):
                    why = why[len("not tried: "):] + ", so not tried"
                states = f" > {row['distinct']:,} " if row["distinct"] else " "
                lines.append(f"{lead} | | |{states}| not computed: {why} |")
                continue
            m = row["measures"][0]
            condition = condition or m["condition"]
            formula = "none known"
            if cf is not None:
                ok = cf.best(n) == m["best"] and cf.worst(n) == m["worst"]
                formula = f"{cf.best_text} = {cf.best(n)}, {cf.worst_text} = {cf.worst(n)}" + \
                    ("" if ok else " **differs**")
            lines.append(f"{lead} {_fmt(m['best'])} | {_fmt(m['worst'])} | "
                         f"{_fmt(m['steps_best'])}..{_fmt(m['steps_worst'])} | {row['distinct']:,} | {formula} |")
        name = cf.protocol if cf is not None else _SECTION_NAMES.get(stem, stem)
        note = (f"- **{name}** (`{stem}.elect`, model `{model}`: {_model_text(path, model)}): "
                f"messages until `{condition or '?'}`.")
        if cf is not None:
            note += f" Closed form ({cf.source}): best {cf.best_text}, worst {cf.worst_text}. {cf.assumptions}."
        else:
            note += " No closed form is derived for this model; the numbers are the exact answer."
        notes.append(note)
    lines += ["", "What is counted, under which model, and the closed forms:", "", *notes, "",
              "![Best and worst messages to elect a leader against N](cost.png)", "",
              "`python -m checker.cost spec` computes the rows missing from spec/cost.json (at most "
              f"{SECTION_MAX_SECONDS:g} s of search per size; a size that does not finish is recorded "
              "with the reason and larger sizes of that spec are not tried) and draws this chart "
              "from it. One row: `elect cost spec/lcr.elect -D N=5`. The implementations are held "
              "to these bounds: `elect cost spec/lcr.elect -D N=3..6 --impl lcr --runs 1000`.", ""]
    return "\n".join(lines)


_SECTION_NAMES = {"paxos": "Paxos", "raft": "Raft"}


def _model_text(path: Path, model: str) -> str:
    """The model's configuration over SECTION_SIZES: constants that follow N are listed per
    size (e.g. QUORUM=2/3/3/4 for N=3/4/5/6)."""
    from .api import load_spec
    from .modelconfig import fmt_const, resolve_model
    ts = load_spec(path)
    cfgs = [resolve_model(ts, model, [f"N={n}"]) for n in SECTION_SIZES]
    consts = []
    for k in cfgs[0].consts:
        if k == "N":
            continue
        vals = [fmt_const(c.consts.get(k)) for c in cfgs]
        consts.append(f"{k}={vals[0]}" if len(set(vals)) == 1 else f"{k}={'/'.join(vals)}")
    sizes = "/".join(str(n) for n in SECTION_SIZES)
    text = cfgs[0].describe().split("; ", 1)[1]
    return (f"N={sizes}" + "".join(f", {c}" for c in consts) + "; " + text).replace("|", "\\|")


def _section_specs(d: Path):
    """(stem, path, model, digest) of each spec of the section that is in d."""
    for stem in SECTION_SPECS:
        path = d / f"{stem}.elect"
        if path.exists():
            model = SECTION_MODELS.get(stem, "default")
            yield stem, path, model, _digest(path, model)


def series_of_cache(spec_dir: str | Path = "spec") -> list[Series]:
    """The chart's lines for the section: current rows of spec_dir/cost.json."""
    d = Path(spec_dir)
    cache = _read_cache(d / CACHE)
    out = []
    for stem, path, model, digest in _section_specs(d):
        cf = CLOSED_FORMS.get(stem)
        cf = cf if cf is not None and model in cf.models else None
        sr = Series(cf.protocol if cf else _SECTION_NAMES.get(stem, stem), cf, [], [], model)
        for n in SECTION_SIZES:
            row = cache.get((stem, model, n))
            if row is None or row.get("digest") != digest or row.get("stopped") or not row["measures"]:
                sr.missing.append(n)
            else:
                m = row["measures"][0]
                sr.points.append((n, m["best"], m["worst"]))
        out.append(sr)
    return out


def plot_cache(spec_dir: str | Path = "spec", path: str | Path | None = None) -> Path:
    """Draw spec_dir/cost.png (the section's chart) from spec_dir/cost.json."""
    return plot_series(series_of_cache(spec_dir), path or Path(spec_dir) / "cost.png")


NO_COST_KINDS = ("invariant", "transition", "final")   # properties that cannot change a cost


def _digest(path: Path, model: str = "default") -> str:
    """A fingerprint of the parts of a spec that decide the costs of one of its models: its
    text without comments, blank lines, `invariant`, `transition` and `final` declarations
    (they neither change the state graph nor name a measure; a `reachable` property may be
    the election measure, so it stays) and the other models (the model and those it
    extends stay). A model's `check P, Q` (the properties it checks) is left out too: it
    can change a cost only by changing which `reachable` property is the election measure
    of a spec that declares none, and that property's name is fingerprinted instead.
    Editing prose, adding an invariant or changing another model does not put the cached
    numbers out of date. A spec that does not parse is fingerprinted whole."""
    import hashlib
    from .dsl import ast as A
    from .dsl.parse import parse
    text = path.read_text()
    lines = text.splitlines()
    drop: set[int] = set()
    try:
        ast = parse(text, str(path))
    except SpecError:
        ast = None
    decls = ast.decls if ast is not None else []
    models = {d.name: d for d in decls if isinstance(d, A.Model)}
    keep, name = set(), model
    while name in models and name not in keep:
        keep.add(name)
        name = models[name].extends
    only: set[str] = set()
    for d in decls:
        if (isinstance(d, A.Property) and d.kind in NO_COST_KINDS) or \
                (isinstance(d, A.Model) and d.name not in keep):
            sp = d.span                       # ends at column 1 of the next declaration's line
            last = sp.end_line if sp.end_col > 1 else sp.end_line - 1
            drop.update(range(sp.line, last + 1))
        elif isinstance(d, A.Model):
            for it in d.items or []:
                names = [o[0] for o in it.options] if it.kind == "check" else []
                if names and "deadlock" not in names:
                    only.update(names)        # `check P, Q`: counts only through the measure
                    drop.update(range(it.span.line, it.span.end_line + 1))
    kept = [line.split("#", 1)[0].rstrip() for k, line in enumerate(lines, 1) if k not in drop]
    reach = [d.name for d in decls if isinstance(d, A.Property) and d.kind == "reachable"
             and (not only or d.name in only)]
    kept.append(f"election measure if none declared: {reach[0] if reach else None}")
    body = "\n".join(line for line in kept if line.strip())
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def _cache_row(r: CostRow, digest: str) -> dict[str, Any]:
    j = r.to_json()
    return {"spec": Path(r.spec).stem, "model": r.model, "N": r.n, "digest": digest,
            "distinct": r.distinct, "stopped": r.stopped,
            "measures": [{k: m[k] for k in ("measure", "counter", "condition", "best", "worst",
                                             "steps_best", "steps_worst")} for m in j["measures"]]}


def _read_cache(path: Path) -> dict[tuple, dict]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    out = {}
    for row in data.get("rows", []) if isinstance(data, dict) else []:
        try:
            out[(row["spec"], row["model"], row["N"])] = row
        except (KeyError, TypeError):
            continue
    return out


def write_cost_cache(rows: list[CostRow], spec_dir: str | Path = "spec") -> Path:
    """Merge rows of specs in `spec_dir` into spec_dir/cost.json (read by cost_section)."""
    d = Path(spec_dir)
    path = d / CACHE
    cache = _read_cache(path)
    for r in rows:
        p = Path(r.spec)
        if p.parent.resolve() != d.resolve() or r.n is None:
            continue
        row = _cache_row(r, _digest(p, r.model))
        cache[(row["spec"], row["model"], row["N"])] = row
    ordered = [cache[k] for k in sorted(cache, key=lambda k: (k[0], k[1], k[2]))]
    path.write_text(json.dumps({"generated by": "python -m checker.cost (checker/cost.py)",
                                "rows": ordered}, indent=1) + "\n")
    return path


def refresh_cost_cache(spec_dir: str | Path = "spec", *, force: bool = False,
                       max_seconds: float = SECTION_MAX_SECONDS, log=None) -> Path:
    """Compute the rows of cost_section that are missing or out of date and write them to
    spec_dir/cost.json. A row that takes longer than `max_seconds` is stored as stopped,
    and the larger sizes of that spec are not tried; `force` computes every row again."""
    d = Path(spec_dir)
    cache = _read_cache(d / CACHE)
    for stem, path, model, digest in _section_specs(d):
        too_big = None
        for n in SECTION_SIZES:
            old = cache.get((stem, model, n))
            if not force and old is not None and old.get("digest") == digest:
                if old.get("stopped"):
                    too_big = too_big or n
                continue
            if too_big is not None:
                row = {"spec": stem, "model": model, "N": n, "digest": digest, "distinct": 0,
                       "stopped": f"not tried: N={too_big} did not finish", "measures": []}
            else:
                r = cost(str(path), None if model == "default" else model, [f"N={n}"], traces=False,
                         max_seconds=max_seconds, varied={"N": n})
                row = _cache_row(r, digest)
                if r.stopped:
                    row["stopped"] = f"stopped after {max_seconds:g} s"
                    too_big = n
            if log:
                log(f"{stem} N={n}: {row['stopped'] or [(m['best'], m['worst']) for m in row['measures']]}")
            cache[(stem, model, n)] = row
            ordered = [cache[k] for k in sorted(cache)]
            (d / CACHE).write_text(json.dumps({"generated by": "python -m checker.cost (checker/cost.py)",
                                               "rows": ordered}, indent=1) + "\n")
    return d / CACHE


# --------------------------------------------------------------------------- command
def cmd_cost(args) -> int:
    """`elect cost SPEC... [--model M] [-D N=3..7] [--json] [--plot FILE] [--impl ALGO --runs R]`.

    Exit 0; 2 for a usage error; 13 when an implementation's measured messages fall
    outside the spec's exact bounds."""
    try:
        sizes = expand_defines(args.defines)
    except CostUsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.plot and Path(args.plot).suffix.lower() not in (".png", ".svg"):
        print(f"error: --plot {args.plot}: the chart is written as PNG or SVG; name the file *.png or *.svg",
              file=sys.stderr)
        return 2
    if args.runs is not None and args.runs < 1:
        print(f"error: --runs {args.runs}: give at least 1 run", file=sys.stderr)
        return 2
    mp = None
    if args.impl:
        from reference.node import load as load_algo, parse_algo
        try:
            load_algo(args.impl)
        except ValueError as e:
            print(f"error: --impl {args.impl}: {e}", file=sys.stderr)
            return 2
        stem = DEFAULT_IMPL.get(args.impl) or DEFAULT_IMPL.get(parse_algo(args.impl)[0])
        mp = IMPLS.get(stem or "")
        shipped = set(DEFAULT_IMPL.values())
        for spec in args.specs:
            other = Path(spec).stem
            if stem and other in shipped and other != stem:
                print(f"error: --impl {args.impl} implements the protocol of spec/{stem}.elect, not {spec}; "
                      f"compare it with its own spec", file=sys.stderr)
                return 2
    until = list(getattr(args, "measure", None) or [])
    rows: list[CostRow] = []
    for spec in args.specs:
        extra = list(until)
        m_for_spec = IMPLS.get(Path(spec).stem) if args.impl else None
        if m_for_spec is not None and m_for_spec.known:
            from .api import load_spec
            declared = {m.name for m in load_spec(spec).measures}
            if parse_until(m_for_spec.known)[0] not in declared:     # the spec's own wins
                extra.append(m_for_spec.known)
        for defines, varied in sizes:
            rows.append(cost(spec, args.model, defines, until=extra or None, varied=varied))
    out_dir = getattr(args, "out", None)
    if out_dir:
        for r in rows:
            for m in r.measures:
                for tr, label in ((m.best_trace, "best"), (m.worst_trace, "worst")):
                    if tr is not None:
                        p = Path(out_dir) / Path(r.spec).stem / f"{m.name}-{_size(r).replace(' ', '_')}-{label}.itf.json"
                        tr.path = str(p)
                        tr.write(p)
    checks: list[ImplCheck] = []
    if args.impl:
        ns = sorted({r.n for r in rows if r.n is not None}) or [3]
        for n in ns:
            same = [r for r in rows if r.n == n]
            row = next((r for r in same if IMPLS.get(Path(r.spec).stem) is mp), None) or \
                (same[0] if len(same) == 1 else None)
            rmap = IMPLS.get(Path(row.spec).stem) if row is not None else mp
            ic = impl_costs(args.impl, n, args.runs, types=rmap.types if rmap else None,
                            note=rmap.note if rmap else f"{args.impl}: every message up to the step where "
                                                        f"the first node is elected")
            checks += impl_checks(ic, row, rmap)
    if args.plot:
        plot(rows, args.plot)
    if args.json:
        print(json.dumps({"rows": [r.to_json() for r in rows], "impl": [c.to_json() for c in checks],
                          "plot": args.plot}, indent=1))
    else:
        print(render_table(rows))
        if checks:
            print()
            print(render_impl(checks))
        if args.plot:
            print(f"\nchart written to {args.plot}")
    if any(c.within is False for c in checks):
        return 13
    return 0


if __name__ == "__main__":   # python -m checker.cost [SPEC_DIR] [--force]: refresh SPEC_DIR/cost.json, draw the chart
    _args = [a for a in sys.argv[1:] if not a.startswith("--")]
    _dir = _args[0] if _args else "spec"
    print(refresh_cost_cache(_dir, force="--force" in sys.argv,
                             log=lambda line: print(line, file=sys.stderr, flush=True)))
    print(plot_cache(_dir))
