"""Breadth-first search in N processes (`elect check --workers N`).

Each worker is an OS process that compiles the model itself (from the spec's path, the
model's name and the -D overrides; or, forked, inherits it). The states of a level stay
with the worker that generated them (no state is copied between processes except to
even out the levels' sizes), and parent links are global ids (local index * N + worker),
so a run back to any state crosses workers freely. Two designs of the visited set:

The shared visited set (sharedset.py; used wherever its C code builds and the workers are
forked, except under --max-states). One table of fingerprints in shared memory that
every worker probes and fills with compare-and-swap, at the cost of a set lookup. One
level, in lockstep (the coordinator, this process, routes every message):
1. expand: each worker generates the successors of its states and claims each in the
   table; it keeps a successor whose claim it wins. Within a level the parent first in
   the level (by its index in its worker's frontier, then by worker) wins a state two
   workers reach (a later claim by an earlier parent takes it over), so the outcome does
   not depend on timing. When the table reaches its load
   limit, the workers pause after the state in hand, the coordinator copies the table
   into one twice as big (also done between levels, ahead of need), and they go on.
2. settle: each worker drops the states whose claim another took over, and checks the
   rest (invariants and `reachable` properties), in order.
3. balance: as below, states spread over the level (so each worker gets a like mix).

The partitioned visited set (otherwise): worker `owner(h)` decides whether the state with
fingerprint h is new, so no fingerprint is ever held twice. One level:
1. expand: each worker generates the successors of its states. A successor it owns is
   checked against its own visited set at once; one owned by another worker is kept
   aside and its fingerprint proposed to the owner, unless this worker proposed it
   before (one set holds both what a worker owns and has seen and what it proposed) or
   the shared table shows the owner has it already.
   The shared table (where the workers are forked) is a direct-mapped array of 2^22
   fingerprints in shared memory: an owner writes each fingerprint it decides is new to
   slot h & mask; a proposer reads the slot. A hit is exact (the slot holds h itself,
   written by h's owner), so skipping the proposal changes nothing but the work; a miss
   (overwritten, or not written yet: the owner may be expanding the same level at that
   moment) only costs a proposal. About half the proposals are saved this way: most
   proposed states are ones the owner finds itself in the same level.
2. decide: each owner takes the proposals in worker order and answers new/seen.
3. accept: each worker queues the states its proposals won; invariants and `reachable`
   properties are checked on every new state, where it is queued.
4. balance: when the next level is uneven, the worker with more states sends some to
   the one with fewer (pickled, with their parent ids and fingerprints).
Under `--max-states`, each worker stops expanding once the new states it owns reach its
share of what is left; the level's proposals are still decided, and the search ends there.

Either way the set of fingerprints, and so `distinct` and `transitions`, is the one a
single process finds (on a violation too: as there, the level is finished first); a
violation is reported at the least depth any worker saw one (ties: the lowest worker),
and its run is rebuilt here from the parent links: a shortest one, the same from run to
run.
"""
from __future__ import annotations

import mmap
import multiprocessing as mp
import os
import pickle
import resource
import sys
import time
import traceback
from array import array
from itertools import compress
from typing import Any, Callable

from ..diagnostics import EvalError
from ..model import Model
from .bfs import (BY_STEP, Checks, Found, Progress, SearchResult, Stats, finish, peak_rss_mib, property_code,
                  replay_fingerprints, rss_mib)
from . import sharedset
from .visited import fingerprint_fn, safe_hash, scanner

TABLE_MASK = (1 << 22) - 1  # slots of the shared table of decided fingerprints (8 bytes each)
_FLIP = bytes([1, 0]) + bytes(254)      # seen (1) -> answer 0, not seen (0) -> answer 1
BALANCE_SLACK = 0.05        # even out a level when a worker holds 5% more than its share


def owner(h: int, workers: int) -> int:
    """The worker that decides fingerprint h: high bits, so each worker's set still spreads
    its entries over all its slots."""
    return (h >> 48) % workers


# ---------------------------------------------------------------------------- the worker side
# the start of both worker loops' body: take state k off the frontier and generate its
# successors; one with none may be a deadlock or a violated `final` property
_STATE_HEAD = """\
            s = frontier[k]
            frontier[k] = None
            gid = gbase + k * W
            ts = succ(s)
            ntr += len(ts)
            if not ts:
                r = stuck(s)
                if r is not None and (found is None or found[0] in BY_STEP):
                    found = (r[0], r[1], gid, None, None)
                continue
"""

_TEMPLATE = '''
def expand(frontier, gbase, W, me, seen, nxt, nxt_par, nxt_fp, props, prop_states, prop_par,
           reach, pend, stuck, tab, cap):
    """Expand frontier; returns (transitions, finding or None, capped). With cap > 0, stop
    after the state whose successors bring this worker's new states to cap. A finding does
    not end the level (see bfs.py): the first one is kept."""
    found = None
    seen_add = seen.add
    nxt_app = nxt.append
    par_app = nxt_par.append
    fp_app = nxt_fp.append
    ntr = 0
    gid = gbase
    try:
        for k in range(len(frontier)):
{head}{pre}            for t in ts:
{edge}                h = fp(t)
                if h in seen:
                    continue
                seen_add(h)
                o = (h >> 48) % W
                if o == me:
{publish}                    nxt_app(t)
                    par_app(gid)
                    fp_app(h)
{neg}{inv}                    if pend:
                        reach(t)
{filter}                else:
                    props[o].append(h)
                    prop_states[o].append(t)
                    prop_par[o].append(gid)
            if cap and len(nxt) >= cap:
                return ntr, found, k + 1 < len(frontier)
    except EvalError as e:
        e.state_id = gid
        raise
    return ntr, found, False
'''


def make_worker_expander(checks: Checks, succ: Callable, fp: Callable, neg: Callable | None,
                         shared: bool) -> Callable:
    ns: dict[str, Any] = {"succ": succ, "fp": fp, "EvalError": EvalError, "neg": neg, "BY_STEP": BY_STEP}
    pre, edge, inv, negc = property_code(checks, ns, 20, transition="('transition', TN{i}, gid, fp(t), t)",
                                         invariant="('invariant', IN{i}, gid, h, None)",
                                         negative="ntr, ('negative', None, gid, h, None), False" if neg is not None
                                         else None)
    src = _TEMPLATE.format(head=_STATE_HEAD, pre=pre, edge=edge, inv=inv, neg=negc,
                           publish=" " * 20 + f"tab[h & {TABLE_MASK}] = h\n" if shared else "",
                           filter=(" " * 16 + f"elif tab[h & {TABLE_MASK}] == h:\n" + " " * 20 + "continue\n"
                                   if shared else ""))
    exec(compile(src, "<elect worker loop>", "exec"), ns)
    return ns["expand"]


_SHARED_TEMPLATE = """
def expand(frontier, k0, gbase, W, first, nxt, nxt_par, nxt_fp, stuck, ntr, found):
    \"\"\"Expand frontier[k0:], claiming each successor in the shared visited set; returns
    (next index, transitions, finding, paused). Paused: the set must grow first.\"\"\"
    nxt_app = nxt.append
    par_app = nxt_par.append
    fp_app = nxt_fp.append
    n = len(frontier)
    gid = gbase + k0 * W
    try:
        for k in range(k0, n):
{head}            mine = first + k * W
{pre}            for t in ts:
{edge}                h = fp(t)
                if claim(h, mine):
                    nxt_app(t)
                    par_app(gid)
                    fp_app(h)
            if full():
                return k + 1, ntr, found, True
    except EvalError as e:
        e.state_id = gid
        raise
    return n, ntr, found, False
"""


def make_shared_expander(checks: Checks, succ: Callable, fp: Callable, lib) -> Callable:
    """The level loop of a worker using the shared visited set (sharedset.py): a successor
    is kept when this worker wins its claim; which claims hold, and the checks on new
    states, are settled when every worker is done with the level."""
    ns: dict[str, Any] = {"succ": succ, "fp": fp, "EvalError": EvalError, "BY_STEP": BY_STEP,
                          "claim": lib.claim, "full": lib.full}
    pre, edge, _, _ = property_code(checks, ns, 20, transition="('transition', TN{i}, gid, fp(t), t)",
                                    invariant="None", negative=None)
    src = _SHARED_TEMPLATE.format(head=_STATE_HEAD, pre=pre, edge=edge)
    exec(compile(src, "<elect shared worker loop>", "exec"), ns)
    return ns["expand"]


_CHECK_TEMPLATE = """
def check_new(nxt, par, fps, i, pend, reach):
    \"\"\"Check the new states nxt[i:] in order; the first finding (a negative int: at once).\"\"\"
    found = None
    n = len(nxt)
    while i < n:
        t = nxt[i]
        try:
{neg}{inv}            if pend:
                reach(t)
        except EvalError:
            if found is None:
                found = ('error', None, par[i], None, None)
        i += 1
    return found
"""


def make_new_state_checker(checks: Checks, neg: Callable | None) -> Callable:
    """The checks on a worker's new states once they are decided (invariants, the scan for
    negative ints, `reachable` properties), generated like the level loops."""
    ns: dict[str, Any] = {"EvalError": EvalError, "neg": neg}
    _, _, inv, negc = property_code(checks, ns, 12, transition="None",
                                    invariant="('invariant', IN{i}, par[i], fps[i], None)",
                                    negative="('negative', None, par[i], fps[i], None)" if neg is not None else None)
    exec(compile(_CHECK_TEMPLATE.format(neg=negc, inv=inv), "<elect new-state checks>", "exec"), ns)
    return ns["check_new"]


def _load(spec_path: str, model_name: str | None, defines: list[str] | None) -> Model:
    from ..compile import compile_model
    from ..dsl.parse import parse_file
    from ..modelconfig import resolve_model
    from ..typecheck import typecheck
    ts = typecheck(parse_file(spec_path))
    return compile_model(ts, resolve_model(ts, model_name, defines))


class Worker:
    def __init__(self, me: int, W: int, spec_path: str, model_name, defines, symmetry: bool, safe: bool = False,
                 model: Model | None = None, table: mmap.mmap | None = None, visited: sharedset.Table | None = None):
        self.me, self.W = me, W
        self.model = model if model is not None else _load(spec_path, model_name, defines)
        canon = None
        if symmetry:
            from .symmetry import canonicalizer
            canon = canonicalizer(self.model)
        self.neg = None if safe else scanner(self.model)
        self.fp = fingerprint_fn(canon, safe_hash(self.model) if safe else None)
        self.checks = Checks.of(self.model)
        # the table of decided fingerprints, shared by all workers (inherited through fork)
        self.tab = memoryview(table).cast("q") if table is not None else None
        self.expand_fn = make_worker_expander(self.checks, self.model.successors, self.fp, self.neg,
                                              self.tab is not None)
        self.check_new = make_new_state_checker(self.checks, self.neg)
        self.must_check = bool(self.checks.invariants) or self.neg is not None
        self.seen: set[int] = set()       # fingerprints this worker owns and has seen, and those it proposed
        self.parent = array("q")
        self.fparr = array("q")
        self.frontier: list[tuple] = []
        self.nxt: list[tuple] = []
        self.nxt_par = array("q")
        self.nxt_fp = array("q")
        self.pending = [n for n, _ in self.checks.reachables]
        self.witnessed: dict[str, int] = {}
        self.n_proposed = self.n_accepted = self.n_shipped = self.n_received = self.n_lost = 0
        self.phase: dict[str, float] = {}      # CPU seconds per command (ELECT_WORKER_STATS)
        self._reset_props()
        # the shared visited set (see sharedset.py): where the level's expansion stands, and
        # what it found so far (a worker pauses when the set must grow)
        self.lib = sharedset.library() if visited is not None else None
        self.visited = visited
        if visited is not None:
            self.lib.attach(visited.addr, me, W, visited.limit)
            self.sexpand_fn = make_shared_expander(self.checks, self.model.successors, self.fp, self.lib)
        self.k = 0
        self.level_ntr = 0
        self.level_found = None

    def _reset_props(self):
        W = self.W
        self.props = [array("q") for _ in range(W)]
        self.prop_states: list[list] = [[] for _ in range(W)]
        self.prop_par = [array("q") for _ in range(W)]

    def _reach(self, depth: int):
        fns = dict(self.checks.reachables)
        pend, wit = self.pending, self.witnessed

        def reach(t):
            for name in list(pend):
                if fns[name](t):
                    wit[name] = depth
                    pend.remove(name)
        return reach

    def gbase(self) -> int:
        """Global id of frontier[0]: local index * W + me."""
        return (len(self.parent) - len(self.frontier)) * self.W + self.me

    # ---- commands ----
    def init(self):
        reach = self._reach(0)
        found = None
        try:
            init = self.model.init_states()
        except EvalError:
            return {"found": ("error", None, -1, None, None), "new": 0, "witnessed": self.witnessed}
        for s in init:
            h = self.fp(s)
            if owner(h, self.W) != self.me or h in self.seen:
                continue
            if self.neg is not None and self.neg(s):
                return {"found": ("negative", None, -1, h, None), "new": 0, "witnessed": self.witnessed}
            self.seen.add(h)
            self._publish((h,))
            self.nxt.append(s)
            self.nxt_par.append(-1)
            self.nxt_fp.append(h)
            bad = self.checks.first_false_invariant(s)
            if bad is not None and found is None:
                found = ("invariant", bad, -1, h, None)
            if self.pending:
                reach(s)
        return {"found": found, "new": len(self.nxt), "witnessed": self.witnessed}

    # ---- commands of the shared visited set ----
    def init_shared(self):
        """Initial states: each worker takes those it owns (by fingerprint) and claims them
        in the shared set (the coordinator made it big enough for all of them)."""
        head = self.init()
        base = sharedset.claim_base(0)
        for h in self.nxt_fp:
            self.lib.claim(h, base)
        return head

    def sexpand(self, depth: int):
        """Expand this worker's share of the level into the shared set, or go on with it
        after the set grew. {'paused': True} until the whole share is done."""
        if self.k == 0:
            self.level_ntr, self.level_found = 0, None
        try:
            # the claim of frontier[k]'s successors: their level, and k's rank in this one
            first = sharedset.claim_base(depth + 1) | (self.me + 1)
            k, ntr, found, paused = self.sexpand_fn(self.frontier, self.k, self.gbase(), self.W, first, self.nxt,
                                                    self.nxt_par, self.nxt_fp, self.checks.stuck, self.level_ntr,
                                                    self.level_found)
        except EvalError as e:
            self.k = 0
            return {"paused": False, "transitions": 0,
                    "found": ("error", None, getattr(e, "state_id", self.gbase()), None, None)}
        if paused:
            self.k, self.level_ntr, self.level_found = k, ntr, found
            return {"paused": True}
        self.k = 0
        return {"paused": False, "transitions": ntr, "found": found}

    def retable(self, table: sharedset.Table):
        """Go on with a bigger shared set (the coordinator copied the old one into it)."""
        self.lib.attach(table.addr, self.me, self.W, table.limit)
        self.visited.close()
        self.visited = table

    def settle(self, depth: int):
        """After every worker has expanded the level: keep the states whose claim this
        worker still holds (within a level the parent first in the level wins, so this does
        not depend on which worker got there first) and check them, in order."""
        n = len(self.nxt)
        mask = self.lib.kept(self.nxt_fp.buffer_info()[0], self.nxt_par.buffer_info()[0], n, depth + 1,
                             self.gbase() - self.me)
        kept = n - mask.count(0)
        if kept < n:
            self.nxt = list(compress(self.nxt, mask))
            self.nxt_par = array("q", compress(self.nxt_par, mask))
            self.nxt_fp = array("q", compress(self.nxt_fp, mask))
        self.n_lost += n - kept              # copies another worker kept instead
        return self._checked(0, depth)

    def _checked(self, start: int, depth: int) -> dict:
        """The head a worker answers once its new states from nxt[start:] on are decided:
        they are checked here, in order."""
        found = None
        if self.must_check or self.pending:
            found = self.check_new(self.nxt, self.nxt_par, self.nxt_fp, start, self.pending, self._reach(depth + 1))
        return {"found": found, "new": len(self.nxt), "witnessed": self.witnessed, "rss_mib": rss_mib()}

    def expand(self, depth: int, cap: int = 0):
        """Expand this worker's share of the level; with cap > 0, stop once the new states it
        owns reach cap (`--max-states`: the search then ends with this level). The states its
        proposals win come on top, so the search stops a little past the limit."""
        reach = self._reach(depth + 1)
        capped = False
        try:
            ntr, found, capped = self.expand_fn(self.frontier, self.gbase(), self.W, self.me, self.seen,
                                                self.nxt, self.nxt_par, self.nxt_fp, self.props, self.prop_states,
                                                self.prop_par, reach, self.pending, self.checks.stuck, self.tab, cap)
        except EvalError as e:
            ntr, found = 0, ("error", None, getattr(e, "state_id", self.gbase()), None, None)
        return {"transitions": ntr, "found": found, "capped": capped}, [p.tobytes() for p in self.props]

    def decide(self, proposals: list[bytes]) -> list[bytes]:
        """Answers to each worker's proposals, in worker order: 1 new (and now seen), 0 seen."""
        out = []
        seen = self.seen
        for data in proposals:
            a = array("q")
            a.frombytes(data)
            # a worker proposes a fingerprint once; most were seen already
            ans = bytes(map(seen.__contains__, a)).translate(_FLIP)
            seen.update(compress(a, ans))
            self._publish(compress(a, ans))
            out.append(ans)
        return out

    def _publish(self, fps):
        """Write fingerprints this worker decided are new into the shared table (the level
        loop does the same inline for the states it finds itself)."""
        tab = self.tab
        if tab is not None:
            for h in fps:
                tab[h & TABLE_MASK] = h

    def accept(self, answers: list[bytes], depth: int):
        """Queue the states this worker's proposals won, and check them."""
        start = len(self.nxt)
        for o, ans in enumerate(answers):
            if o != self.me:
                self.nxt.extend(compress(self.prop_states[o], ans))
                self.nxt_par.extend(compress(self.prop_par[o], ans))
                self.nxt_fp.extend(compress(self.props[o], ans))
        self.n_proposed += sum(len(p) for p in self.props)
        self.n_accepted += len(self.nxt) - start
        self._reset_props()
        return self._checked(start, depth)

    def ship(self, k: int, spread: bool = False) -> bytes:
        """k states of the next level, to another worker: the last k, or (spread) k spread
        evenly over the level, so that each worker gets a like mix (states found late in a
        level tend to be of one kind, with more or fewer successors than the rest, and so
        do their successors)."""
        n = len(self.nxt)
        self.n_shipped += k
        step = n // k if spread else 1
        part = slice(n - k * step, n, step)         # every step-th state, ending with the last
        states = self.nxt[part]
        par = self.nxt_par[part]
        fps = self.nxt_fp[part]
        del self.nxt[part]
        del self.nxt_par[part]
        del self.nxt_fp[part]
        return pickle.dumps((states, par.tobytes(), fps.tobytes()), protocol=pickle.HIGHEST_PROTOCOL)

    def receive(self, data: bytes):
        states, par, fps = pickle.loads(data)
        self.n_received += len(states)
        self.nxt.extend(states)
        self.nxt_par.frombytes(par)
        self.nxt_fp.frombytes(fps)

    def counters(self):
        import resource as _r
        ru = _r.getrusage(_r.RUSAGE_SELF)
        return {"proposed": self.n_proposed, "accepted": self.n_accepted, "lost": self.n_lost, "shipped": self.n_shipped,
                "received": self.n_received, "seen": len(self.seen),
                "cpu": ru.ru_utime + ru.ru_stime,
                "phases": {k: round(v, 2) for k, v in sorted(self.phase.items())}}

    def commit(self):
        self.parent.extend(self.nxt_par)
        self.fparr.extend(self.nxt_fp)
        self.frontier = self.nxt
        self.nxt = []
        self.nxt_par = array("q")
        self.nxt_fp = array("q")
        return len(self.frontier)

    def link(self, gid: int):
        i = gid // self.W
        return self.parent[i], self.fparr[i]


def _worker_main(conn, me, W, spec_path, model_name, defines, symmetry, safe, model=None, table=None, visited=None):
    import gc
    gc.disable()
    try:
        w = Worker(me, W, spec_path, model_name, defines, symmetry, safe, model, table, visited)
        conn.send(("ready", None))
    except BaseException as e:  # noqa: BLE001 - reported to the coordinator
        conn.send(("failed", "".join(traceback.format_exception(e))))
        return
    phase = w.phase
    while True:
        try:
            cmd, *args = conn.recv()
        except EOFError:
            return
        c0 = time.process_time()
        try:
            if cmd == "stop":
                conn.send(("ok", {"peak_rss_mib": peak_rss_mib()}))
                return
            if cmd == "expand":
                head, props = w.expand(*args)
                conn.send(("ok", head))
                for p in props:
                    conn.send_bytes(p)
            elif cmd == "decide":
                proposals = [conn.recv_bytes() for _ in range(W)]
                for ans in w.decide(proposals):
                    conn.send_bytes(ans)
            elif cmd == "accept":
                answers = [conn.recv_bytes() for _ in range(W)]
                conn.send(("ok", w.accept(answers, *args)))
            elif cmd == "ship":
                conn.send_bytes(w.ship(*args))
            elif cmd == "retable":
                from multiprocessing.reduction import recv_handle
                w.retable(sharedset.Table(recv_handle(conn)))
                conn.send(("ok", None))
            elif cmd == "receive":
                w.receive(conn.recv_bytes())
                conn.send(("ok", None))
            else:
                conn.send(("ok", getattr(w, cmd)(*args)))
            phase[cmd] = phase.get(cmd, 0.0) + time.process_time() - c0
        except BaseException as e:  # noqa: BLE001
            conn.send(("failed", "".join(traceback.format_exception(e))))
            return


# ---------------------------------------------------------------------------- the coordinator
class WorkerFailed(RuntimeError):
    pass


def _shared_table() -> mmap.mmap:
    """The table of decided fingerprints: anonymous shared memory, inherited by the forked
    workers. An empty slot holds 0, which no fingerprint of another slot can equal; slot 0
    holds 1 instead, so that a fingerprint 0 is not taken for a decided one."""
    table = mmap.mmap(-1, (TABLE_MASK + 1) * 8)
    table[:8] = (1).to_bytes(8, sys.byteorder)
    return table


class _Pool:
    def __init__(self, W: int, spec_path: str, model_name, defines, symmetry: bool, safe: bool,
                 model: Model | None = None, shared_set: bool = True):
        # fork where there is one: the worker starts with the modules imported and the
        # model compiled (inherited, not pickled); elsewhere it compiles the model itself
        # from the spec's path, model name and overrides
        fork = "fork" in mp.get_all_start_methods()
        # the shared visited set where it can be built (with fork: the workers inherit it);
        # otherwise the visited set is partitioned, with the table of decided fingerprints
        self.lib = sharedset.library() if fork and shared_set and W <= sharedset.MAX_WORKERS else None
        self.visited = None
        self.grows = self.pauses = 0       # tables made bigger, and levels paused for one
        if self.lib is not None:
            try:
                n_init = len(model.init_states()) if model is not None else 0
            except EvalError:
                n_init = 0                     # the workers report it
            self.visited = sharedset.Table.new(sharedset.slots_for(n_init))
        table = _shared_table() if fork and self.visited is None else None
        ctx = mp.get_context("fork" if fork else "spawn")
        self.conns = []
        self.procs = []
        for me in range(W):
            a, b = ctx.Pipe()
            p = ctx.Process(target=_worker_main, args=(b, me, W, str(spec_path), model_name, list(defines or []),
                                                       symmetry, safe, model if fork else None, table, self.visited),
                            daemon=True)
            p.start()
            b.close()
            self.conns.append(a)
            self.procs.append(p)
        for c in self.conns:
            self._reply(c)

    def _reply(self, c):
        try:
            tag, val = c.recv()
        except EOFError:
            raise WorkerFailed("a worker process ended unexpectedly") from None
        if tag == "failed":
            raise WorkerFailed(f"a worker failed:\n{val}")
        return val

    def call(self, w: int, cmd: str, *args):
        self.conns[w].send((cmd, *args))
        return self._reply(self.conns[w])

    def all(self, cmd: str, *args) -> list:
        for c in self.conns:
            c.send((cmd, *args))
        return [self._reply(c) for c in self.conns]

    def expand_shared(self, depth: int) -> list[dict]:
        """Every worker expands its share of the level into the shared set; a worker that
        finds the set full pauses, and goes on once every worker has stopped and the set
        has grown."""
        heads: list[dict] = [{}] * len(self.conns)
        todo = list(range(len(self.conns)))
        while todo:
            for w in todo:
                self.conns[w].send(("sexpand", depth))
            paused = []
            for w in todo:
                h = self._reply(self.conns[w])
                if h["paused"]:
                    paused.append(w)
                else:
                    heads[w] = h
            if paused:
                self.pauses += 1
                self.grow(2 * self.lib.filled(self.visited.addr))
            todo = paused
        return heads

    def grow(self, need: int):
        """Move the shared set to a table with room for `need` entries (no worker running)."""
        from multiprocessing.reduction import send_handle
        if need <= self.visited.limit:
            return
        new = self.visited.grown(self.lib, need)
        self.grows += 1
        for c, p in zip(self.conns, self.procs):
            c.send(("retable",))
            send_handle(c, new.fd, p.pid)
            self._reply(c)
        self.visited.close()
        self.visited = new

    def close(self) -> float:
        peak = 0.0
        for c in self.conns:
            try:
                c.send(("stop",))
                peak += self._reply(c)["peak_rss_mib"]
            except Exception:  # noqa: BLE001
                pass
        for p in self.procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
        if self.visited is not None:
            self.visited.close()
            self.visited = None
        return peak


def parallel_bfs(model: Model, *, workers: int, spec_path: str, model_name: str | None = None,
                 defines: list[str] | None = None, symmetry: bool = False, max_states: int | None = None,
                 max_depth: int | None = None, progress: bool = False,
                 max_memory_mib: float | None = None, safe: bool = False) -> SearchResult:
    """A breadth-first search by `workers` processes (see the module docstring)."""
    t0 = time.perf_counter()
    W = workers
    prog = Progress(progress)
    canon = None
    if symmetry:
        from .symmetry import canonicalizer
        canon = canonicalizer(model)
    fp = fingerprint_fn(canon, safe_hash(model) if safe else None)
    names = [n for n, _ in Checks.of(model).reachables]
    # the shared visited set settles a level's new states only when the level is done, so
    # a worker cannot stop at a share of --max-states: the partitioned set serves that
    pool = _Pool(W, spec_path, model_name, defines, symmetry, safe, model, shared_set=max_states is None)
    shared = pool.visited is not None
    st = Stats()
    clock = _PhaseClock()
    witnessed: dict[str, int] = {}
    found_raw = None
    stopped = None
    depth = 0
    peak_children = 0.0
    restart = False
    try:
        try:
            heads = pool.all("init_shared" if shared else "init")
            found_raw = _first_found(heads)
            _merge_witnessed(witnessed, heads)
            sizes = pool.all("commit")
            st.distinct = sum(sizes)
            clock("start")
            while any(sizes) and found_raw is None:
                if max_depth is not None and depth >= max_depth:
                    stopped = "max-depth"
                    break
                if shared:
                    # expand into the shared set, then settle: each worker keeps the states
                    # it holds the claim of, and checks them
                    expanded = pool.expand_shared(depth)
                    st.transitions += sum(h["transitions"] for h in expanded)
                    capped = False
                    clock("expand")
                    heads = pool.all("settle", depth)
                else:
                    expanded, heads, capped = _level_partitioned(pool, st, depth, max_states, clock)
                _merge_witnessed(witnessed, heads)
                new = [h["new"] for h in heads]
                st.distinct += sum(new)
                # a negative int found when the new states are checked comes first (the
                # search restarts); otherwise what the expansion found, then the checks
                level_found = _first_found(expanded + heads)
                if level_found is not None:
                    found_raw = level_found
                    break
                clock("accept")
                # 4. balance
                _balance(pool, new, spread=shared)
                clock("balance")
                sizes = pool.all("commit")
                clock("commit")
                if shared:
                    pool.grow(st.distinct + 2 * sum(sizes))     # room for a next level twice this one
                if any(sizes) and not capped:       # a capped level's successors are not all found
                    depth += 1
                st.depth = depth
                prog.tick(st, sum(sizes), extra=f"  {W} workers")
                if capped or max_states is not None and st.distinct >= max_states and any(sizes):
                    stopped = "max-states"
                    break
                if max_memory_mib is not None and rss_mib() + sum(h["rss_mib"] for h in heads) > max_memory_mib:
                    stopped = "max-memory"
                    break
        except KeyboardInterrupt:
            stopped = "interrupted"
        st.depth = depth
        found = None
        run = None
        if found_raw is not None and found_raw[0] == "negative":
            restart = True
        elif found_raw is not None:
            found, run = _rebuild(model, pool, W, fp, found_raw)
        if os.environ.get("ELECT_WORKER_STATS"):
            print(f"coordinator wall seconds: { {k: round(v, 2) for k, v in clock.seconds.items()} }", file=sys.stderr)
            print("visited set: " + (f"shared, {pool.visited.slots:,} slots (grown {pool.grows} times, "
                                     f"{pool.pauses} levels paused for it)" if shared else
                                     f"partitioned ({sharedset.why_not or 'by --max-states, or not forked'})"),
                  file=sys.stderr)
            for w in range(W):
                print(f"worker {w}: {pool.call(w, 'counters')}", file=sys.stderr)
    finally:
        peak_children = pool.close()
    if restart:
        # a state holds a negative int: -1 and -2 would share hashes; start again
        return parallel_bfs(model, workers=workers, spec_path=spec_path, model_name=model_name, defines=defines,
                            symmetry=symmetry, max_states=max_states, max_depth=max_depth, progress=progress,
                            max_memory_mib=max_memory_mib, safe=True)
    st.seconds = time.perf_counter() - t0
    st.peak_rss_mib = peak_rss_mib() + peak_children
    if prog.printed:
        prog.tick(st, 0, force=True)
    pending = [n for n in names if n not in witnessed]
    return finish(model, fp, st, found, witnessed, pending, stopped, None, None, run=run)


def _level_partitioned(pool: _Pool, st: Stats, depth: int, max_states: int | None,
                       clock) -> tuple[list, list, bool]:
    """One level with the partitioned visited set: expand, decide, accept (see the module
    docstring). Returns the workers' expand heads and accept heads, and whether a worker
    stopped at its share of --max-states."""
    W = len(pool.conns)
    # 1. expand (under --max-states, each worker stops at its share of what is left)
    cap = max(1, -(-(max_states - st.distinct) // W)) if max_states is not None else 0
    for c in pool.conns:
        c.send(("expand", depth, cap))
    heads, props = [], []
    for c in pool.conns:
        heads.append(pool._reply(c))
        props.append([c.recv_bytes() for _ in range(W)])
    st.transitions += sum(h["transitions"] for h in heads)
    capped = any(h["capped"] for h in heads)
    clock("expand")
    # 2. decide: owner o gets every worker's proposals to o
    for o, c in enumerate(pool.conns):
        c.send(("decide",))
        for w in range(W):
            c.send_bytes(props[w][o])
    answers = [[c.recv_bytes() for _ in range(W)] for c in pool.conns]   # answers[o][w]
    clock("decide")
    # 3. accept: worker w gets the owners' answers to its proposals
    for w, c in enumerate(pool.conns):
        c.send(("accept", depth))
        for o in range(W):
            c.send_bytes(answers[o][w])
    return heads, [pool._reply(c) for c in pool.conns], capped


class _PhaseClock:
    """Wall seconds per phase of the coordinator's level loop (ELECT_WORKER_STATS)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.last = time.perf_counter()

    def __call__(self, phase: str):
        now = time.perf_counter()
        if phase != "start":
            self.seconds[phase] = self.seconds.get(phase, 0.0) + now - self.last
        self.last = now


def _first_found(heads: list[dict]):
    """The finding of the least depth: deadlocks and finals (a state of this level) before
    violations by a step (one level down); then the lowest worker."""
    best = None
    for h in heads:
        f = h.get("found")
        if f is None:
            continue
        rank = -1 if f[0] == "negative" else 0 if f[0] in ("deadlock", "final", "error") else 1
        if best is None or rank < best[0]:
            best = (rank, f)
    return best[1] if best else None


def _merge_witnessed(witnessed: dict, heads: list[dict]):
    for h in heads:
        for name, d in h["witnessed"].items():
            if name not in witnessed or d < witnessed[name]:
                witnessed[name] = d


def _balance(pool: _Pool, new: list[int], spread: bool = False):
    """Move states from workers above their share of the next level to those below it,
    once a worker holds 5% more than its share and 1000 states more than another. With
    `spread` (the shared set's workers) small levels are evened out too, and the states
    given away are spread over the level (see Worker.ship): otherwise what one worker
    holds stays of one kind (with more successors, say) level after level."""
    least = 2 if spread else 1000
    W = len(new)
    share = sum(new) / W
    sizes = list(new)
    if max(sizes) - min(sizes) < least or max(sizes) <= share * (1 + BALANCE_SLACK):
        return
    moves = []
    while True:
        hi = max(range(W), key=lambda i: sizes[i])
        lo = min(range(W), key=lambda i: sizes[i])
        k = int(min(sizes[hi] - share, share - sizes[lo]))
        if k < min(least, 100):
            break
        moves.append((hi, lo, k))
        sizes[hi] -= k
        sizes[lo] += k
    for hi, lo, k in moves:
        pool.conns[hi].send(("ship", k, spread))
        data = pool.conns[hi].recv_bytes()
        pool.conns[lo].send(("receive",))
        pool.conns[lo].send_bytes(data)
        pool._reply(pool.conns[lo])


def _rebuild(model: Model, pool: _Pool, W: int, fp, raw) -> tuple[Found, tuple]:
    """The run to a worker's finding: walk the parent links back across workers, replay."""
    kind, prop, gid, h, target = raw
    chain_fps = []
    g = gid
    while g >= 0:
        par, f = pool.call(g % W, "link", g)
        chain_fps.append(f)
        g = par
    chain_fps.reverse()
    if kind == "invariant" and gid < 0:        # an initial state
        chain_fps = [h]
    elif kind == "invariant":
        chain_fps.append(h)
    states, labels = replay_fingerprints(model, chain_fps, fp) if chain_fps else ([], [])
    if kind == "transition":
        fn = next((p.check for p in model.of_kind("transition") if p.name == prop), None)
        lab = tgt = None
        for l, x in model.successors_labeled(states[-1]):
            if fp(x) == h and (fn is None or not fn(states[-1], x)):
                lab, tgt = l, x
                break
        states.append(tgt if tgt is not None else target)
        labels.append(lab)
    found = Found(kind, prop, gid)
    if kind == "error" and gid < 0:
        try:
            model.init_states()
        except EvalError as e:
            e.trace_states = []
            found.error = e
        return found, ([], [])
    if kind == "error":
        # evaluate the failing state's steps here, to get the error with its span; one
        # raised by an invariant of a successor ends the run at that successor, as in bfs.py
        checks = Checks.of(model)
        try:
            for lab, t in model.successors_labeled(states[-1]):
                for name, fn, _ in checks.transitions:
                    fn(states[-1], t)
                try:
                    for name, fn in checks.invariants:
                        fn(t)
                except EvalError:
                    states.append(t)
                    labels.append(lab)
                    raise
                for name, fn in checks.reachables:
                    fn(t)
        except EvalError as e:
            found.error = e
    return found, (states, labels)
