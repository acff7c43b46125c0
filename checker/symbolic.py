"""Symbolic checking with z3: bounded model checking (`elect bmc`) and inductive invariants
(`elect prove`). The only module that imports z3.

This file is big because it is one job from end to end (a typed spec and a model in, a
verdict out) and its parts share one set of conventions: the encoding of values, of
states and of steps. It is laid out in that order: range analysis, symbolic values, the
encoder (expressions, statements, actions), then BMC, prove and their commands.

How it works:
- The state is the explicit model's state (see compile.py), slot by slot. Bools are z3
  Bools; ints, enums and ids are z3 Ints (enums and ids with range constraints); an
  optional is a presence bit and a value; tuples and records are their components; a
  set is one Bool per element of its (finite) element type; a map is one value per
  key; the network is one Bool (`set` networks) or one count (`unordered`) per
  possible envelope; the fault status is down bits, the crash count, the partition
  side as bits (the side with the lowest id, all false when healed), the partition
  count and the tick clock.
- Possible envelopes are enumerated from the message field types. An int field has no
  finite type, so a range analysis (`Ranges`) first computes, for every int in the
  state and in messages, an interval that holds in every reachable state (an abstract
  interpretation with intervals, guards narrowing them, widening to the spec's
  constants). A message field it cannot bound is refused (E602). The encoding never
  trusts the analysis: a send whose value falls outside the enumerated envelopes is an
  error the checker reports, and `prove` checks the ranges as part of the invariant.
- Every step instance of the explicit model is one action: the delivery of each
  possible envelope to its handler (and its duplicate and drop), each process's
  timeouts and local actions, each global action for each parameter value, each value
  of a `choose`, crash and restart of each process, each partition split, heal, tick.
  An action is executed symbolically (if/else merged into if-then-else terms, for
  loops unrolled, definitions inlined) into a guard, an error condition (the E5xx
  problems the explicit model raises) and the new value of every state leaf. The step
  relation picks one action with a selector and sets every leaf to an if-then-else over
  the actions that change it: the else branch is the frame condition.
- BMC unrolls the step relation depth by depth on one incremental solver and asks, at
  each depth, whether an invariant, a transition property, a final property (deadlock)
  or an evaluation error can fail there; the first depth that answers yes is the
  length of a shortest counterexample. The run is decoded into explicit states and
  replayed through the explicit model (each state must be one of the successors of the
  one before) before it is reported and written as ITF JSON.
- prove asks two questions: can an initial state break the invariant (and its
  helpers), and can a step from a state where all of them (and the ranges and the
  model's structural facts) hold reach a state where one breaks. A yes to the second
  is a counterexample to induction, shown as the state before, the step, the state
  after and the broken conjunct.

Unsupported constructs (sequences, fifo networks, sets of collections, domains too
large to enumerate) are refused up front with E601..E603, naming the construct and its
line: never a wrong answer.
"""
from __future__ import annotations

import itertools
import json
import os
import re
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import z3
from z3.z3 import _to_expr_ref

from .diagnostics import Diagnostic, Span, SpecError, span_text
from .dsl import ast as A
from .typecheck import ProcessInfo, TypedSpec, tuple_item_type, walk_expr, walk_stmts
from .types import (AnyT, BoolT, EmptyT, EnumT, IdT, IntT, MapT, OptT, RecordT, SeqT, SetT, TupleT,
                    Ty)

DOMAIN_LIMIT = 4096          # most values a finite type may have when it is enumerated
WIDEN_AFTER = 6              # rounds of the range analysis before widening
MAX_ROUNDS = 200
SOLVER_LOGIC = "QF_FD"       # bmc: incremental SAT over bit-vectors
NETWORK_LINES = 40           # in-flight messages listed in a counterexample to induction


def refuse(code: str, message: str, span: Span | None, source: str | None, hint: str | None = None) -> SpecError:
    return SpecError(Diagnostic(code, message, span, [hint] if hint else []), source)


# ======================================================================================
# Range analysis: an interval for every int the model can hold or send
# ======================================================================================

class Iv:
    """An interval of ints; None is unbounded on that side."""
    __slots__ = ("lo", "hi")

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def __eq__(self, o):
        return isinstance(o, Iv) and o.lo == self.lo and o.hi == self.hi

    def __hash__(self):
        return hash((self.lo, self.hi))

    def __repr__(self):
        return f"[{'-inf' if self.lo is None else self.lo}, {'inf' if self.hi is None else self.hi}]"

    @property
    def finite(self) -> bool:
        return self.lo is not None and self.hi is not None

    @property
    def empty(self) -> bool:
        return self.lo is not None and self.hi is not None and self.lo > self.hi


class _Mark:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


BOT = _Mark("BOT")       # no value yet (a message never sent, an empty set)
TOP = _Mark("TOP")       # a value whose ints are not tracked (bools, ids, enums)
IV_ANY = Iv(None, None)


def ajoin(a, b):
    if a is BOT:
        return b
    if b is BOT:
        return a
    if isinstance(a, Iv) and isinstance(b, Iv):
        lo = None if a.lo is None or b.lo is None else min(a.lo, b.lo)
        hi = None if a.hi is None or b.hi is None else max(a.hi, b.hi)
        return Iv(lo, hi)
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return tuple(ajoin(x, y) for x, y in zip(a, b))
    if isinstance(a, Iv) or isinstance(b, Iv):
        return IV_ANY
    return TOP


def _add(a, b):
    return None if a is None or b is None else a + b


def iv_arith(op: str, a, b):
    if not isinstance(a, Iv) or not isinstance(b, Iv):
        return IV_ANY
    if a.empty or b.empty:
        return BOT
    if op == "+":
        return Iv(_add(a.lo, b.lo), _add(a.hi, b.hi))
    if op == "-":
        return Iv(None if a.lo is None or b.hi is None else a.lo - b.hi,
                  None if a.hi is None or b.lo is None else a.hi - b.lo)
    if op == "*":
        if not (a.finite and b.finite):
            return IV_ANY
        ps = [x * y for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
        return Iv(min(ps), max(ps))
    if op == "/":
        if not a.finite:
            return IV_ANY
        m = max(abs(a.lo), abs(a.hi))
        return Iv(-m, m)
    if op == "%":
        if not b.finite:
            return a if a.finite and a.lo >= 0 else IV_ANY
        m = max(abs(b.lo), abs(b.hi))
        return Iv(-m, m)
    return IV_ANY


def constrain(x: Iv, op: str, y: Iv) -> Iv:
    """x narrowed by `x op y`."""
    lo, hi = x.lo, x.hi

    def mx(a, b):
        return b if a is None else a if b is None else max(a, b)

    def mn(a, b):
        return b if a is None else a if b is None else min(a, b)
    if op == "<" and y.hi is not None:
        hi = mn(hi, y.hi - 1)
    elif op == "<=" and y.hi is not None:
        hi = mn(hi, y.hi)
    elif op == ">" and y.lo is not None:
        lo = mx(lo, y.lo + 1)
    elif op == ">=" and y.lo is not None:
        lo = mx(lo, y.lo)
    elif op == "==":
        if y.lo is not None:
            lo = mx(lo, y.lo)
        if y.hi is not None:
            hi = mn(hi, y.hi)
    elif op == "!=" and y.lo is not None and y.lo == y.hi:
        if lo == y.lo:
            lo += 1
        if hi == y.lo:
            hi -= 1
    return Iv(lo, hi)


NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


class AEnv:
    """The abstract state inside one action: locals, this process's fields, the vars."""

    def __init__(self, locals_, own, vars_, self_iv, proc):
        self.locals = locals_
        self.own = own
        self.vars = vars_
        self.self_iv = self_iv
        self.proc = proc

    def copy(self) -> "AEnv":
        return AEnv(dict(self.locals), dict(self.own), dict(self.vars), self.self_iv, self.proc)


def env_join(a: AEnv | None, b: AEnv | None) -> AEnv | None:
    if a is None:
        return b
    if b is None:
        return a
    out = a.copy()
    for d, e in ((out.locals, b.locals), (out.own, b.own), (out.vars, b.vars)):
        for k in list(d):
            if k in e:
                d[k] = ajoin(d[k], e[k])
    return out


class Ranges:
    """Intervals for the ints of a model, valid in every reachable state.

    `G` maps ('var', name), ('fld', kind, field) and ('msg', name) to an abstract value
    shaped like the type: an `Iv` for an int, a tuple for a tuple or record, the element's
    abstract value for a set, sequence, optional or map (its values), TOP for what holds
    no int. Each round runs every action (and the initial and restart values) over the
    abstract state and joins what it writes and sends; after WIDEN_AFTER rounds a bound
    still moving jumps to the next constant of the spec, then to infinity.
    """

    def __init__(self, ts: TypedSpec, cfg, enc: "Encoder"):
        self.ts = ts
        self.cfg = cfg
        self.enc = enc
        self.G: dict[tuple, Any] = {}
        th = {0, 1, -1}
        for v in cfg.consts.values():
            if isinstance(v, int) and not isinstance(v, bool):
                th.update((v - 1, v, v + 1))
        for d in ts.ast.decls:
            for e in _decl_exprs(d):
                for n in walk_expr(e):
                    if isinstance(n, A.IntLit):
                        th.update((n.value - 1, n.value, n.value + 1))
        self.thresholds = sorted(th)

    # ---- shapes ----
    def top(self, ty: Ty):
        if isinstance(ty, IntT):
            return Iv(*self.enc.bounds(ty)) if ty.lo is not None else IV_ANY
        if isinstance(ty, (IdT, EnumT)):
            return Iv(*self.enc.bounds(ty))
        if isinstance(ty, OptT):
            return self.top(ty.inner)
        if isinstance(ty, (SetT, SeqT)):
            return self.top(ty.elem)
        if isinstance(ty, MapT):
            return self.top(ty.val)
        if isinstance(ty, TupleT):
            return tuple(self.top(t) for t in ty.items)
        if isinstance(ty, RecordT):
            return tuple(self.top(t) for _, t in ty.fields)
        return TOP

    def store(self, ty: Ty, a):
        """`a` as held by a location of type ty (declared ranges are the range)."""
        if a is BOT:
            return BOT
        if isinstance(ty, IntT):
            if ty.lo is not None:
                return Iv(*self.enc.bounds(ty))
            return a if isinstance(a, Iv) else IV_ANY
        if isinstance(ty, OptT):
            return self.store(ty.inner, a)
        if isinstance(ty, (SetT, SeqT)):
            return self.store(ty.elem, a)
        if isinstance(ty, MapT):
            return self.store(ty.val, a)
        if isinstance(ty, (TupleT, RecordT)):
            items = ty.items if isinstance(ty, TupleT) else [t for _, t in ty.fields]
            ok = isinstance(a, tuple) and len(a) == len(items)
            return tuple(self.store(t, a[i] if ok else TOP) for i, t in enumerate(items))
        return TOP

    def of_const(self, c, ty: Ty):
        """The abstract value of a concrete value (in the explicit model's representation)."""
        if isinstance(ty, (IntT, IdT, EnumT)):
            return Iv(c, c)
        if isinstance(ty, OptT):
            return BOT if c == () else self.of_const(c, ty.inner)
        if isinstance(ty, (TupleT, RecordT)):
            items = ty.items if isinstance(ty, TupleT) else [t for _, t in ty.fields]
            return tuple(self.of_const(x, t) for x, t in zip(c, items))
        if isinstance(ty, (SetT, SeqT)):
            r = BOT
            for x in c:
                r = ajoin(r, self.of_const(x, ty.elem))
            return r
        if isinstance(ty, MapT):
            r = BOT
            for x in c:
                r = ajoin(r, self.of_const(x, ty.val))
            return r
        return TOP

    def gjoin(self, key, v):
        self.G[key] = ajoin(self.G.get(key, BOT), v)

    def widen(self, old, new):
        if old is BOT or new is BOT:
            return new
        if isinstance(old, Iv) and isinstance(new, Iv):
            lo, hi = new.lo, new.hi
            if old.lo is not None and (lo is None or lo < old.lo):
                lo = None if lo is None else max((t for t in self.thresholds if t <= lo), default=None)
            if old.hi is not None and (hi is None or hi > old.hi):
                hi = None if hi is None else min((t for t in self.thresholds if t >= hi), default=None)
            return Iv(lo, hi)
        if isinstance(old, tuple) and isinstance(new, tuple) and len(old) == len(new):
            return tuple(self.widen(x, y) for x, y in zip(old, new))
        return new

    # ---- the fixpoint ----
    def run(self, steps: int | None = None) -> "Ranges":
        """Iterate to a fixpoint (valid in every reachable state), or with `steps` for that
        many rounds without widening: every round applies every action to what the rounds
        before found, so the result holds in every state reachable in that many steps."""
        ts = self.ts
        if steps is not None:
            for _ in range(steps + 1):
                before = dict(self.G)
                self.round()
                if self.G == before:
                    break
            return self
        for rnd in range(MAX_ROUNDS):
            before = dict(self.G)
            self.round()
            if self.G == before:
                return self
            if rnd >= WIDEN_AFTER:
                self.G = {k: self.widen(before.get(k, BOT), v) for k, v in self.G.items()}
        raise RuntimeError(f"range analysis of {ts.name} did not converge")  # pragma: no cover

    def round(self):
        ts = self.ts
        # initial values (and the values a restart gives back)
        venv = AEnv({}, {}, {}, TOP, None)
        for v in ts.vars.values():
            self.gjoin(("var", v.name), self.init_value(v.decl.init, v.ty, venv))
            venv.vars[v.name] = self.G[("var", v.name)]
        for p in ts.processes.values():
            env = AEnv({}, {}, {n: self.G.get(("var", n), BOT) for n in ts.vars}, Iv(*self.enc.ids[p.name]), p)
            for f in p.fields.values():
                self.gjoin(("fld", p.name, f.name), self.init_value(f.decl.init, f.ty, env))
                env.own[f.name] = self.G[("fld", p.name, f.name)]
        for p in ts.processes.values():
            for h in p.handlers:
                env = self.handler_env(p)
                if h.kind == "message":
                    m = ts.messages[h.name]
                    mv = self.G.get(("msg", h.name), BOT)
                    if mv is BOT:
                        continue
                    for i, pn in enumerate(h.params):
                        env.locals[pn] = mv[i] if isinstance(mv, tuple) else TOP
                    if h.sender:
                        sk = m.sender or p.name
                        env.locals[h.sender] = Iv(*self.enc.ids[sk]) if sk in self.enc.ids else TOP
                self.action(env, h.bindings, h.guard, h.body)
        for a in ts.actions:
            env = AEnv({}, {}, {n: self.G.get(("var", n), BOT) for n in ts.vars}, TOP, None)
            self.action(env, a.bindings, a.guard, a.body)

    def handler_env(self, p: ProcessInfo) -> AEnv:
        return AEnv({}, {f: self.G.get(("fld", p.name, f), BOT) for f in p.fields},
                    {n: self.G.get(("var", n), BOT) for n in self.ts.vars}, Iv(*self.enc.ids[p.name]), p)

    def init_value(self, init: A.Init | None, ty: Ty, env: AEnv):
        if init is None:
            return self.store(ty, self.of_const(self.enc.default_c(ty), ty))
        if init.kind == "value":
            return self.store(ty, self.eval(init.expr, env))
        if init.kind == "in":
            return self.store(ty, self.eval(init.expr, env))
        return self.store(ty, self.top(ty))

    def action(self, env: AEnv, bindings, guard, body):
        for b in bindings:
            env.locals[b.name] = self.eval(b.src, env)
        if guard is not None and not self.refine(env, guard, True):
            return
        out = self.block(body, env)
        if out is None:
            return
        if out.proc is not None:
            for f, v in out.own.items():
                self.gjoin(("fld", out.proc.name, f), self.store(out.proc.fields[f].ty, v))
        for n, v in out.vars.items():
            self.gjoin(("var", n), self.store(self.ts.vars[n].ty, v))

    # ---- statements ----
    def block(self, stmts, env: AEnv | None) -> AEnv | None:
        for st in stmts:
            if env is None:
                return None
            env = self.stmt(st, env)
        return env

    def stmt(self, st, env: AEnv) -> AEnv | None:
        if isinstance(st, A.Let):
            env.locals[st.name] = self.eval(st.value, env)
            return env
        if isinstance(st, A.Choose):
            env.locals[st.name] = self.eval(st.src, env)
            if st.where is not None and not self.refine(env, st.where, True):
                return None
            return env
        if isinstance(st, A.Require):
            return env if self.refine(env, st.cond, True) else None
        if isinstance(st, A.Pass):
            return env
        if isinstance(st, A.If):
            outs = []
            rest: AEnv | None = env
            for cond, body in st.branches:
                e1 = rest.copy()
                if self.refine(e1, cond, True):
                    outs.append(self.block(body, e1))
                e2 = rest.copy()
                if not self.refine(e2, cond, False):
                    rest = None
                    break
                rest = e2
            if rest is not None:
                outs.append(self.block(st.orelse or [], rest))
            res = None
            for o in outs:
                res = env_join(res, o)
            if res is not None:      # locals bound inside a branch do not outlive it
                res.locals = {k: v for k, v in res.locals.items() if k in env.locals}
            return res
        if isinstance(st, A.For):
            src = self.eval(st.src, env)
            cur = env
            for i in range(20):
                e1 = cur.copy()
                e1.locals[st.name] = src
                out = self.block(st.body, e1)
                nxt = env_join(cur, out)
                nxt.locals.pop(st.name, None)
                if _env_eq(nxt, cur):
                    return cur
                if i >= 3:
                    nxt = _env_widen(self, cur, nxt)
                cur = nxt
            return cur
        if isinstance(st, A.Assign):
            self.assign(st, env)
            return env
        if isinstance(st, (A.Send, A.Broadcast)):
            msg = st.msg
            mt = self.ts.messages[msg.func.id].ty
            vals: list[Any] = [TOP] * len(mt.fields)
            for a, i in zip(msg.args, msg.ref[2]):
                vals[i] = self.store(mt.fields[i][1], self.eval(a.value, env))
            self.gjoin(("msg", msg.func.id), tuple(vals))
            return env
        return env

    def assign(self, st: A.Assign, env: AEnv):
        t = st.target
        v = self.eval(st.value, env)
        if st.op != "=":
            cur = self.eval(t, env)
            if isinstance(t.ty, IntT) or isinstance(cur, Iv):
                v = iv_arith(st.op[0], cur, v)
            elif st.op == "+=":
                v = ajoin(cur, v)
            else:
                v = cur
        self.write(t, v, env, strong=True)

    def write(self, t: A.Expr, v, env: AEnv, strong: bool):
        root = t
        while isinstance(root, (A.Index, A.FieldAccess)) and not (
                isinstance(root, A.FieldAccess) and isinstance(root.obj, A.SelfRef)):
            root = root.obj
        name = root.id if isinstance(root, A.Name) else root.name if isinstance(root, A.FieldAccess) else None
        if name is not None:            # forget narrowed elements of what is written (or keyed by it)
            for k in [k for k in env.locals if isinstance(k, tuple) and name in k[1:]]:
                del env.locals[k]
        if isinstance(t, A.Name):
            kind = t.ref[0]
            if kind == "local":
                env.locals[t.id] = v if strong else ajoin(env.locals.get(t.id, BOT), v)
            elif kind == "field":
                ty = env.proc.fields[t.id].ty
                env.own[t.id] = self.store(ty, v) if strong else ajoin(env.own.get(t.id, BOT), self.store(ty, v))
            elif kind == "var":
                ty = self.ts.vars[t.id].ty
                env.vars[t.id] = self.store(ty, v) if strong else ajoin(env.vars.get(t.id, BOT), self.store(ty, v))
            return
        if isinstance(t, A.FieldAccess) and t.ref and t.ref[0] == "pfield":
            pname, fname = t.ref[1], t.ref[2]
            ty = self.ts.processes[pname].fields[fname].ty
            if isinstance(t.obj, A.SelfRef) and env.proc is not None:
                env.own[fname] = self.store(ty, v) if strong else ajoin(env.own[fname], self.store(ty, v))
            else:
                self.gjoin(("fld", pname, fname), self.store(ty, v))
            return
        if isinstance(t, A.Index):
            # an element of a map: the map's abstract value is its values' join
            self.write(t.obj, ajoin(self.eval(t.obj, env), v), env, strong=False)

    # ---- conditions ----
    def place(self, e: A.Expr, env: AEnv):
        """(get, put) for an expression whose abstract value a condition may narrow: a
        local, this process's field, a var, or a component of one of those."""
        d = None
        if isinstance(e, A.Name) and e.ref:
            k = e.ref[0]
            d = {"local": env.locals, "field": env.own, "var": env.vars}.get(k)
            key = e.id
        elif isinstance(e, A.FieldAccess) and isinstance(e.obj, A.SelfRef) and e.ref and e.ref[0] == "pfield":
            d, key = env.own, e.name
        elif _index_key(e) is not None:
            # m[k] for a local k: narrowed for the rest of the action, until m or k is written
            d, key = env.locals, _index_key(e)
            if key not in d:
                d[key] = self.eval(e, env)
        elif (isinstance(e, A.FieldAccess) and e.ref and e.ref[0] == "rfield") or \
                (isinstance(e, A.Index) and isinstance(e.obj.ty, TupleT) and isinstance(e.indices[0], A.IntLit)):
            i = e.ref[1] if isinstance(e, A.FieldAccess) else e.indices[0].value
            outer = self.place(e.obj, env)
            if outer is None:
                return None
            get, put = outer

            def cget():
                t = get()
                return t[i] if isinstance(t, tuple) and i < len(t) else None

            def cput(v):
                t = get()
                put(t[:i] + (v,) + t[i + 1:])
            return (cget, cput) if isinstance(get(), tuple) else None
        if d is None or key not in d:
            return None
        return (lambda: d[key]), (lambda v: d.__setitem__(key, v))

    def narrow(self, env: AEnv, e: A.Expr, op: str, other: Iv) -> bool:
        """Narrow e's places by `e op other`; False when that cannot hold."""
        pl = self.place(e, env)
        if pl is not None:
            cur = pl[0]()
            if isinstance(cur, Iv):
                nv = constrain(cur, op, other)
                if nv.empty:
                    return False
                pl[1](nv)
            return True
        if isinstance(e, A.Call) and e.ref in (("builtin", "max"), ("builtin", "min")) and e.args and \
                isinstance(e.args[0].value, A.SetLit):
            # max(S) < c: every element is; min(S) > c: every element is
            if (e.ref[1] == "max" and op in ("<", "<=")) or (e.ref[1] == "min" and op in (">", ">=")):
                return all(self.narrow(env, it, op, other) for it in e.args[0].value.items)
        return True

    def refine(self, env: AEnv, c: A.Expr, positive: bool) -> bool:
        """Narrow env by c (or by not c); False when that cannot hold."""
        if isinstance(c, A.BoolLit):
            return c.value == positive
        if isinstance(c, A.Unary) and c.op == "not":
            return self.refine(env, c.operand, not positive)
        if isinstance(c, A.BoolChain):
            if (c.op == "and") == positive:
                return all(self.refine(env, x, positive) for x in c.items)
            outs = []
            for x in c.items:
                e1 = env.copy()
                if self.refine(e1, x, positive):
                    outs.append(e1)
            if not outs:
                return False
            j = None
            for o in outs:
                j = env_join(j, o)
            env.locals, env.own, env.vars = j.locals, j.own, j.vars
            return True
        if isinstance(c, A.Binary) and c.op == "implies":
            if positive:
                e1, e2 = env.copy(), env.copy()
                ok1 = self.refine(e1, c.left, False)
                ok2 = self.refine(e2, c.right, True)
                if not ok1 and not ok2:
                    return False
                j = env_join(e1 if ok1 else None, e2 if ok2 else None)
                env.locals, env.own, env.vars = j.locals, j.own, j.vars
                return True
            return self.refine(env, c.left, True) and self.refine(env, c.right, False)
        if isinstance(c, A.Compare) and c.op in NEGATE:
            op = c.op if positive else NEGATE[c.op]
            lv, rv = self.eval(c.left, env), self.eval(c.right, env)
            if not isinstance(lv, Iv) or not isinstance(rv, Iv):
                return True
            if lv.empty or rv.empty:
                return False
            if constrain(lv, op, rv).empty or constrain(rv, FLIP[op], lv).empty:
                return False
            return self.narrow(env, c.left, op, rv) and self.narrow(env, c.right, FLIP[op], lv)
        return True

    # ---- expressions ----
    def eval(self, e: A.Expr, env: AEnv):
        t = e.ty
        if isinstance(e, A.IntLit):
            return Iv(e.value, e.value)
        if isinstance(e, A.NoneLit):
            return BOT
        if isinstance(e, A.SelfRef):
            return env.self_iv
        if isinstance(e, A.Name):
            k = e.ref[0] if e.ref else None
            if k == "local":
                return env.locals.get(e.id, self.top(t) if t is not None else TOP)
            if k == "field":
                if e.id in env.own:
                    return env.own[e.id]
                return self.G.get(("fld", e.ref[1], e.id), BOT)
            if k == "var":
                return env.vars[e.id] if e.id in env.vars else self.G.get(("var", e.id), BOT)
            if k == "const":
                v = self.cfg.consts[e.id]
                return TOP if isinstance(v, bool) else Iv(v, v)
            if k == "enum":
                return Iv(e.ref[2], e.ref[2])
            if k == "typeset":
                n = e.ref[1]
                if n == "bool":
                    return TOP
                if n in self.enc.ids:
                    return Iv(*self.enc.ids[n])
                return Iv(0, len(self.ts.enums[n].members) - 1)
            if k == "now":
                return Iv(0, self.cfg.tick or 0)
            return self.top(t) if t is not None else TOP
        if isinstance(e, A.FieldAccess):
            if e.ref and e.ref[0] == "enum":
                return Iv(e.ref[2], e.ref[2])
            if e.ref and e.ref[0] == "pfield":
                pname, fname = e.ref[1], e.ref[2]
                g = self.G.get(("fld", pname, fname), BOT)
                if env.proc is not None and env.proc.name == pname and fname in env.own:
                    if isinstance(e.obj, A.SelfRef):
                        return env.own[fname]
                    return ajoin(g, env.own[fname])
                return g
            if e.ref and e.ref[0] == "rfield":
                o = self.eval(e.obj, env)
                if o is BOT:                # a part of no value is no value
                    return BOT
                return o[e.ref[1]] if isinstance(o, tuple) and e.ref[1] < len(o) else self.top(t)
            return self.top(t)
        if isinstance(e, A.Index):
            ik = _index_key(e)
            if ik is not None and ik in env.locals:
                return env.locals[ik]
            o = self.eval(e.obj, env)
            if o is BOT:
                return BOT
            if isinstance(e.obj.ty, TupleT):
                i = e.indices[0]
                if isinstance(i, A.IntLit) and isinstance(o, tuple) and i.value < len(o):
                    return o[i.value]
                return self.top(t)
            return o
        if isinstance(e, A.Unary):
            if e.op == "-":
                v = self.eval(e.operand, env)
                if isinstance(v, Iv):
                    return Iv(None if v.hi is None else -v.hi, None if v.lo is None else -v.lo)
                return IV_ANY
            return TOP
        if isinstance(e, A.Binary):
            if e.op == "implies":
                return TOP
            a, b = self.eval(e.left, env), self.eval(e.right, env)
            if isinstance(t, (SetT, EmptyT)):
                return ajoin(a, b) if e.op == "+" else a
            return iv_arith(e.op, a, b)
        if isinstance(e, A.RangeExpr):
            lo, hi = self.eval(e.lo, env), self.eval(e.hi, env)
            if isinstance(lo, Iv) and isinstance(hi, Iv):
                return Iv(lo.lo, hi.hi)
            return IV_ANY
        if isinstance(e, A.CondExpr):
            return ajoin(self.eval(e.then, env), self.eval(e.orelse, env))
        if isinstance(e, A.TupleLit):
            return tuple(self.eval(x, env) for x in e.items)
        if isinstance(e, (A.SetLit, A.SeqLit)):
            r = BOT
            for x in e.items:
                r = ajoin(r, self.eval(x, env))
            return r
        if isinstance(e, A.MapLit):
            r = BOT
            for _, v in e.pairs:
                r = ajoin(r, self.eval(v, env))
            return r
        if isinstance(e, (A.SetComp, A.MapComp)):
            inner = env.copy()
            for f in e.fors:
                inner.locals[f.var] = self.eval(f.src, inner)
                if inner.locals[f.var] is BOT and isinstance(f.src.ty, SetT) and _bot_is_empty(f.src.ty.elem):
                    return BOT              # a set that never has an element: nothing to collect
            if e.cond is not None and not self.refine(inner, e.cond, True):
                return BOT
            return self.eval(e.elem if isinstance(e, A.SetComp) else e.value, inner)
        if isinstance(e, A.Call):
            return self.call(e, env)
        return self.top(t) if t is not None else TOP

    def call(self, e: A.Call, env: AEnv):
        ref = e.ref
        t = e.ty
        if ref is None:
            return self.top(t)
        if ref[0] == "construct":
            vals: list[Any] = [TOP] * len(e.args)
            for a, i in zip(e.args, ref[2]):
                vals[i] = self.eval(a.value, env)
            return tuple(vals)
        if ref[0] == "def":
            d = self.ts.defs[ref[1]]
            inner = AEnv({p.name: self.eval(a.value, env) for p, a in zip(d.params, e.args)}, {}, env.vars,
                         TOP, None)
            return self.eval(d.body, inner)
        fn = ref[1]
        args = [a.value for a in e.args]
        if fn in ("size", "len"):
            at = args[0].ty
            n = self.enc.dom_size(at.elem) if isinstance(at, SetT) else \
                self.enc.dom_size(at.key) if isinstance(at, MapT) else None
            return Iv(0, n)
        if fn in ("pending", "pending_all"):
            return Iv(0, None)
        if fn in ("min", "max", "head", "last", "tail", "values", "old"):
            return self.eval(args[0], env)
        if fn == "keys":
            return self.top(args[0].ty.key) if isinstance(args[0].ty, MapT) else TOP
        if fn == "abs":
            v = self.eval(args[0], env)
            if isinstance(v, Iv) and v.finite:
                m = max(abs(v.lo), abs(v.hi))
                lo = 0 if v.lo <= 0 <= v.hi else min(abs(v.lo), abs(v.hi))
                return Iv(lo, m)
            return Iv(0, None)
        return self.top(t) if t is not None else TOP


def _bot_is_empty(ty: Ty) -> bool:
    """Does BOT as the abstract value of a set of ty mean the set is always empty? (Not
    when an element may be none, whose abstract value is BOT too.)"""
    return not isinstance(ty, OptT) and all(_bot_is_empty(t) for t in _children(ty))


def _index_key(e: A.Expr):
    """The local key under which the range analysis keeps a narrowed m[k]."""
    if isinstance(e, A.Index) and isinstance(e.obj.ty, MapT) and len(e.indices) == 1:
        o, k = e.obj, e.indices[0]
        if isinstance(k, A.Name) and k.ref and k.ref[0] == "local":
            if isinstance(o, A.Name) and o.ref and o.ref[0] in ("var", "field", "local"):
                return ("@index", o.id, k.id)
            if isinstance(o, A.FieldAccess) and isinstance(o.obj, A.SelfRef):
                return ("@index", o.name, k.id)
    return None


def _env_eq(a: AEnv, b: AEnv) -> bool:
    return a.locals == b.locals and a.own == b.own and a.vars == b.vars


def _env_widen(r: Ranges, a: AEnv, b: AEnv) -> AEnv:
    out = b.copy()
    for d, o in ((out.locals, a.locals), (out.own, a.own), (out.vars, a.vars)):
        for k in d:
            if k in o:
                d[k] = r.widen(o[k], d[k])
    return out


def _decl_exprs(d) -> list[A.Expr]:
    """Every top-level expression of a declaration (for constants and refusal scans)."""
    out: list[A.Expr] = []

    def stmts(body):
        for st in walk_stmts(body):
            for attr in ("value", "cond", "msg", "to", "src", "where", "target"):
                x = getattr(st, attr, None)
                if isinstance(x, A.Expr):
                    out.append(x)
            if isinstance(st, A.If):
                out.extend(c for c, _ in st.branches)
    if isinstance(d, A.Process):
        for f in d.fields:
            if f.init is not None and f.init.expr is not None:
                out.append(f.init.expr)
        for h in d.handlers:
            if h.guard is not None:
                out.append(h.guard)
            out.extend(b.src for b in h.bindings)
            stmts(h.body)
    elif isinstance(d, A.VarDecl):
        if d.init is not None and d.init.expr is not None:
            out.append(d.init.expr)
    elif isinstance(d, A.Action):
        if d.guard is not None:
            out.append(d.guard)
        out.extend(b.src for b in d.bindings)
        stmts(d.body)
    elif isinstance(d, A.Property):
        out.extend(d.conjuncts)
    elif isinstance(d, A.Def):
        out.append(d.body)
    elif isinstance(d, A.Const) and d.default is not None:
        out.append(d.default)
    return out


# ======================================================================================
# Symbolic values
# ======================================================================================

TRUE = z3.BoolVal(True)
FALSE = z3.BoolVal(False)


TRUE_ID, FALSE_ID = TRUE.get_id(), FALSE.get_id()


def is_t(x) -> bool:
    return x.get_id() == TRUE_ID


def is_f(x) -> bool:
    return x.get_id() == FALSE_ID


def _mk(op, args: list):
    """And/Or of Bool terms without z3py's per-argument coercion."""
    arr = (z3.Ast * len(args))()
    for i, a in enumerate(args):
        arr[i] = a.as_ast()
    ctx = args[0].ctx
    return z3.BoolRef(op(ctx.ref(), len(args), arr), ctx)


def _ite(c, a, b):
    """z3.If without z3py's coercions (both branches already have one sort)."""
    ctx = c.ctx
    return _to_expr_ref(z3.Z3_mk_ite(ctx.ref(), c.as_ast(), a.as_ast(), b.as_ast()), ctx)


def _eqz(a, b) -> z3.BoolRef:
    ctx = a.ctx
    return z3.BoolRef(z3.Z3_mk_eq(ctx.ref(), a.as_ast(), b.as_ast()), ctx)


def conj(xs) -> z3.BoolRef:
    out = []
    for x in xs:
        i = x.get_id()
        if i == TRUE_ID:
            continue
        if i == FALSE_ID:
            return FALSE
        out.append(x)
    return TRUE if not out else out[0] if len(out) == 1 else _mk(z3.Z3_mk_and, out)


def disj(xs) -> z3.BoolRef:
    out = []
    for x in xs:
        i = x.get_id()
        if i == FALSE_ID:
            continue
        if i == TRUE_ID:
            return TRUE
        out.append(x)
    return FALSE if not out else out[0] if len(out) == 1 else _mk(z3.Z3_mk_or, out)


def neg(x) -> z3.BoolRef:
    i = x.get_id()
    if i == TRUE_ID:
        return FALSE
    if i == FALSE_ID:
        return TRUE
    if z3.is_not(x):
        return x.arg(0)
    return z3.Not(x)


def implies(a, b) -> z3.BoolRef:
    if is_t(a):
        return b
    if is_f(a) or is_t(b):
        return TRUE
    return z3.Implies(a, b)


class Opt:
    """An optional: a presence bit and a value (meaningless when absent)."""
    __slots__ = ("some", "val")

    def __init__(self, some, val):
        self.some, self.val = some, val


class Tup:
    __slots__ = ("items",)

    def __init__(self, items):
        self.items = tuple(items)


class SetV:
    """A set over a finite domain: element (in the explicit model's notation) -> Bool.
    Elements not listed are not members."""
    __slots__ = ("mem",)

    def __init__(self, mem):
        self.mem = mem


class MapV:
    __slots__ = ("keys", "vals")

    def __init__(self, keys, vals):
        self.keys, self.vals = tuple(keys), list(vals)


NONE = _Mark("none")        # the literal `none` before its type is known
NC = _Mark("not-concrete")


def num(x):
    """The value of an int literal (z3py builds literals as these classes), else None."""
    if isinstance(x, z3.IntNumRef):
        return x.as_long()
    if isinstance(x, z3.BitVecNumRef):
        return x.as_signed_long()
    return None


def zbool(b) -> z3.BoolRef:
    return TRUE if b else FALSE


def concrete(v):
    """The Python value of v when every part of it is a literal, else NC."""
    if isinstance(v, z3.ExprRef):
        n = num(v)
        if n is not None:
            return n
        if is_t(v):
            return True
        if is_f(v):
            return False
        return NC
    if v is NONE:
        return ()
    if isinstance(v, Opt):
        s = concrete(v.some)
        if s is NC:
            return NC
        return concrete(v.val) if s else ()
    if isinstance(v, Tup):
        items = tuple(concrete(x) for x in v.items)
        return NC if any(x is NC for x in items) else items
    if isinstance(v, SetV):
        out = []
        for d, m in v.mem.items():
            c = concrete(m)
            if c is NC:
                return NC
            if c:
                out.append(d)
        return frozenset(out)
    if isinstance(v, MapV):
        vals = tuple(concrete(x) for x in v.vals)
        return NC if any(x is NC for x in vals) else vals
    return NC


def eq(a, b) -> z3.BoolRef:
    if a is b:
        return TRUE
    if a is NONE:
        a, b = b, a
    if b is NONE:
        if a is NONE:
            return TRUE
        return neg(a.some) if isinstance(a, Opt) else FALSE
    if isinstance(b, Opt) and not isinstance(a, Opt):
        a, b = b, a
    if isinstance(a, Opt):
        if isinstance(b, Opt):
            return conj([eq(a.some, b.some), implies(a.some, eq(a.val, b.val))])
        return conj([a.some, eq(a.val, b)])
    if isinstance(a, Tup):
        return conj([eq(x, y) for x, y in zip(a.items, b.items)])
    if isinstance(a, SetV):
        keys = list(a.mem) + [k for k in b.mem if k not in a.mem]
        return conj([eq(a.mem.get(k, FALSE), b.mem.get(k, FALSE)) for k in keys])
    if isinstance(a, MapV):
        return conj([eq(x, y) for x, y in zip(a.vals, b.vals)])
    if a.eq(b):
        return TRUE
    ca, cb = concrete(a), concrete(b)
    if ca is not NC and cb is not NC:
        return zbool(ca == cb)
    return a == b


def eq_const(x, d) -> z3.BoolRef:
    """x == d for a concrete d in the explicit model's notation (none is ())."""
    if x is NONE:
        return zbool(d == ())
    if isinstance(x, Opt):
        if d == ():
            return neg(x.some)
        return conj([x.some, eq_const(x.val, d)])
    if isinstance(x, Tup):
        if not isinstance(d, tuple) or len(d) != len(x.items):
            return FALSE
        return conj([eq_const(a, b) for a, b in zip(x.items, d)])
    if isinstance(x, SetV):
        keys = list(x.mem) + [k for k in d if k not in x.mem]
        return conj([x.mem.get(k, FALSE) if k in d else neg(x.mem.get(k, FALSE)) for k in keys])
    if isinstance(x, MapV):
        return conj([eq_const(a, b) for a, b in zip(x.vals, d)])
    if d == () and not isinstance(d, bool):
        return FALSE
    if z3.is_bool(x):
        return x if d else neg(x)
    c = num(x)
    if c is not None:
        return zbool(c == d)
    return x == d


def ite(c, a, b):
    if a is b:
        return a
    if is_t(c):
        return a
    if is_f(c):
        return b
    if a is NONE and b is NONE:
        return NONE
    if a is NONE or b is NONE or isinstance(a, Opt) or isinstance(b, Opt):
        oa = a if isinstance(a, Opt) else None
        ob = b if isinstance(b, Opt) else None
        pa = oa if oa else Opt(FALSE, (ob.val if ob else b)) if a is NONE else Opt(TRUE, a)
        pb = ob if ob else Opt(FALSE, (oa.val if oa else a)) if b is NONE else Opt(TRUE, b)
        return Opt(ite(c, pa.some, pb.some), ite(c, pa.val, pb.val))
    if isinstance(a, Tup):
        return Tup(ite(c, x, y) for x, y in zip(a.items, b.items))
    if isinstance(a, SetV):
        keys = list(a.mem) + [k for k in b.mem if k not in a.mem]
        return SetV({k: ite(c, a.mem.get(k, FALSE), b.mem.get(k, FALSE)) for k in keys})
    if isinstance(a, MapV):
        return MapV(a.keys, [ite(c, x, y) for x, y in zip(a.vals, b.vals)])
    if a.eq(b):
        return a
    if z3.is_bool(a):
        if is_t(a) and is_f(b):
            return c
        if is_f(a) and is_t(b):
            return neg(c)
    return _ite(c, a, b)


def leaves(v) -> list:
    if isinstance(v, z3.ExprRef):
        return [v]
    if isinstance(v, Opt):
        return [v.some, *leaves(v.val)]
    if isinstance(v, Tup):
        return [x for i in v.items for x in leaves(i)]
    if isinstance(v, SetV):
        return list(v.mem.values())
    if isinstance(v, MapV):
        return [x for i in v.vals for x in leaves(i)]
    raise TypeError(f"not a state value: {v!r}")  # pragma: no cover


def zval(v, model: z3.ModelRef):
    r = model.eval(v, model_completion=True)
    n = num(r)
    if n is not None:
        return n
    return is_t(r)


def has_free_int(ty: Ty) -> bool:
    """Does ty hold an int without a declared range (enumerated over the universe)?"""
    if isinstance(ty, IntT):
        return ty.lo is None
    return any(has_free_int(t) for t in _children(ty))


def _children(ty: Ty) -> list[Ty]:
    if isinstance(ty, OptT):
        return [ty.inner]
    if isinstance(ty, TupleT):
        return list(ty.items)
    if isinstance(ty, RecordT):
        return [t for _, t in ty.fields]
    if isinstance(ty, (SetT, SeqT)):
        return [ty.elem]
    if isinstance(ty, MapT):
        return [ty.key, ty.val]
    return []


def _sorted_keys(keys):
    from .runtime import ordered_iter
    return ordered_iter(list(keys))


# ======================================================================================
# The encoder: expressions, statements, actions
# ======================================================================================

class Overlay:
    """A state inside an action: the state it starts from (shared, never written) and the
    values it has changed (so that thousands of actions do not copy the whole state)."""
    __slots__ = ("base", "mod", "reads")

    def __init__(self, base, mod=None, reads=None):
        self.base = base
        self.mod = {} if mod is None else mod
        self.reads: set = set() if reads is None else reads     # keys read from base

    def __getitem__(self, k):
        try:
            return self.mod[k]
        except KeyError:
            self.reads.add(k)
            return self.base[k]

    def __setitem__(self, k, v):
        self.mod[k] = v

    def copy(self, share_reads: bool = True) -> "Overlay":
        return Overlay(self.base, dict(self.mod), self.reads if share_reads else set(self.reads))


class Ctx:
    """Where an expression or statement is encoded: the state (keys -> values, changed in
    place by statements), locals, this process, the path condition, and the action's
    guards (`ok`) and error conditions (`errs`), shared by the branches of one action."""
    __slots__ = ("st", "dirty", "locals", "self_id", "proc", "mode", "old", "init_fields", "init_vars", "pc",
                 "ok", "errs", "chosen")

    def __init__(self, st, mode, self_id=None, proc=None, old=None):
        self.st = st
        self.dirty: set = set()
        self.locals: dict[str, Any] = {}
        self.self_id = self_id
        self.proc = proc
        self.mode = mode
        self.old = old
        self.init_fields: dict[str, Any] | None = None
        self.init_vars: dict[str, Any] | None = None
        self.pc = TRUE
        self.ok: list = []
        self.errs: list = []
        self.chosen: tuple = ()

    def fork(self, pc, share: bool = True) -> "Ctx":
        c = Ctx(self.st.copy(share) if isinstance(self.st, Overlay) else dict(self.st), self.mode, self.self_id,
                self.proc, self.old)
        c.dirty = set() if share else set(self.dirty)
        c.locals = dict(self.locals)
        c.init_fields, c.init_vars = self.init_fields, self.init_vars
        c.pc = pc
        c.ok = self.ok if share else list(self.ok)
        c.errs = self.errs if share else list(self.errs)
        c.chosen = self.chosen
        return c

    def sub(self, **kw) -> "Ctx":
        """The same state and action, other locals or path condition (expressions only)."""
        c = Ctx(self.st, self.mode, self.self_id, self.proc, self.old)
        c.dirty = self.dirty
        c.locals = dict(self.locals)
        c.init_fields, c.init_vars = self.init_fields, self.init_vars
        c.pc, c.ok, c.errs, c.chosen = self.pc, self.ok, self.errs, self.chosen
        for k, v in kw.items():
            setattr(c, k, v)
        return c

    def set(self, key, v):
        self.st[key] = v
        self.dirty.add(key)


@dataclass
class Act:
    """One action instance: what it is, when it may run, when it raises, what it leaves."""
    desc: dict
    guard: Any
    errs: list
    st: Any
    dirty: set
    chosen: tuple = ()
    reads: set = field(default_factory=set)


NET, COUNTER, BIT = "net", "counter", "bit"


class Encoder:
    def __init__(self, ts: TypedSpec, cfg, model, bitvec_depth: int | None = None, prove: bool = False,
                 build: bool = True):
        """Ints are bit-vectors wide enough for every value of the model, so that the
        solver works on pure SAT (an operation that overflows is an error the checker
        reports, never a silent wrap): for bmc to `bitvec_depth`, and for prove when every
        int of a state is bounded (by its type or the range analysis). Otherwise they are
        unbounded z3 Ints. With build=False only the ranges, envelopes and layout are
        computed (enough for `estimated_actions`)."""
        self.width: int | None = None
        self._iv_cache: dict[int, Any] = {}
        self.ts = ts
        self.cfg = cfg
        self.model = model
        self.gen = model.gen
        self.ids: dict[str, tuple[int, int]] = dict(self.gen.ids)
        self.all_ids: list[int] = list(self.gen.all_ids)
        self.tags: dict[str, int] = dict(self.gen.tags)
        self.tag_names = {v: k for k, v in self.tags.items()}
        self.source = ts.source
        self._dom_cache: dict[int, list] = {}
        self.U: tuple[int, int] | None = None
        self.scan()
        self.ranges = Ranges(ts, cfg, self).run()
        self.depth_ranges = False
        try:
            self.universe()
            self.envelopes()
        except SpecError as e:
            if e.code != "E602" or bitvec_depth is None:
                raise
            # no bound for every reachable state, but bmc needs one only to its depth
            self.ranges = Ranges(ts, cfg, self).run(steps=bitvec_depth)
            self.depth_ranges = True
            self._dom_cache, self.U = {}, None
            self.universe()
            self.envelopes()
        if bitvec_depth is not None:
            self.width = self.choose_width(bitvec_depth)
        elif prove and self.all_bounded():
            self.width = self.choose_width(0)
        self.zero, self.one = self.iv(0), self.iv(1)
        self.layout()
        if not build:
            return
        self.cur = self.fresh_state("s")
        self.nxt = self.fresh_state("t")
        self.build_actions()

    def estimated_actions(self) -> int:
        """About how many actions the step relation will have (before building it)."""
        cfg = self.cfg
        n = sum(len(self.receiver.get((self.tag_names[e[0]], e[2]), ())) for e in self.envs) * \
            (2 if cfg.duplicating else 1)
        n += len(self.envs) if cfg.lossy else 0
        for p in self.ts.processes.values():
            lo, hi = self.ids[p.name]
            n += (hi - lo + 1) * sum(1 for h in p.handlers if h.kind != "message")
        n += len(self.ts.actions) * max(1, len(self.all_ids))
        n += len(self.all_ids) * (2 if cfg.crash else 0) + (2 ** max(len(self.all_ids) - 1, 0) if cfg.partition else 0)
        return n

    # ---- the int sort ----
    def iv(self, v: int):
        got = self._iv_cache.get(v)
        if got is not None:
            return got
        if self.width is None:
            got = z3.IntVal(v)
        else:
            if not -(1 << (self.width - 1)) <= v < (1 << (self.width - 1)):
                raise OverflowError(f"{v} does not fit in {self.width} bits")
            got = z3.BitVecVal(v, self.width)
        self._iv_cache[v] = got
        return got

    def ivar(self, name: str):
        return z3.Int(name) if self.width is None else z3.BitVec(name, self.width)

    def choose_width(self, depth: int) -> int:
        vals = [abs(t) for t in self.ranges.thresholds] + [abs(x) for x in self.U] + [abs(i) for i in self.all_ids]
        vals += [self.cfg.crash, self.cfg.partition, self.cfg.tick or 0, (depth + 1) * 2]
        vals += [len(e.members) for e in self.ts.enums.values()]
        for p in self.ts.processes.values():
            for f in p.fields.values():
                if isinstance(f.ty, SetT):
                    vals.append(self.dom_size(f.ty.elem) or 0)
        for v in self.ts.vars.values():
            if isinstance(v.ty, SetT):
                vals.append(self.dom_size(v.ty.elem) or 0)
        # pending(M, ...) sums the counts of M's envelopes: in a set network at most one
        # of each, in a multiset one more per step at most (bmc's depth)
        per_env = 1 if self.cfg.network == "set" else depth + 1
        vals += [len(envs) * per_env for envs in self.by_msg.values()]
        m = max(vals) + 1
        return max(6, m.bit_length() + 3)

    def all_bounded(self) -> bool:
        """Is every int of a state bounded (so that prove may use bit-vectors)?"""
        if self.cfg.network == "unordered" and self.envs:
            return False                  # message counts have no bound
        for key, ab in self.ranges.G.items():
            if key[0] == "msg":
                continue
            ty = self.loc_type(key)[0]
            if not _bounded(ty, ab):
                return False
        return True

    def selector(self, name: str, n: int):
        """A variable choosing one of n actions, and its range constraint."""
        if self.width is None:
            v = z3.Int(name)
            return v, conj([v >= 0, v < n])
        w = max(1, (max(n - 1, 1)).bit_length())
        v = z3.BitVec(name, w)
        return v, (z3.ULT(v, n) if n < (1 << w) else TRUE)

    def overflow(self, op: str, a, b, cx, span):
        if self.width is None:
            return
        if op == "+":
            ok = [z3.BVAddNoOverflow(a, b, True), z3.BVAddNoUnderflow(a, b)]
        elif op == "-":
            ok = [z3.BVSubNoOverflow(a, b), z3.BVSubNoUnderflow(a, b, True)]
        elif op == "*":
            ok = [z3.BVMulNoOverflow(a, b, True), z3.BVMulNoUnderflow(a, b)]
        else:
            return
        self.error(cx, neg(conj(ok)), "E605", f"an int outside the {self.width} bits bmc chose (please report)",
                   span)

    # ---- refusals, up front ----
    def refuse(self, code, message, span, hint=None):
        return refuse(code, message, span, self.source, hint)

    def scan(self):
        ts = self.ts
        if self.cfg.network == "fifo" and ts.messages:
            span = None
            for m in self._model_chain():
                for it in m.items:
                    if it.kind == "network" and any(o == "fifo" for o, _, _ in it.options):
                        span = it.span
            raise self.refuse("E601", "a fifo network is not supported by the symbolic encoding", span,
                              "check this model with `elect check`, or use `network unordered` for bmc and prove")
        for d in ts.ast.decls:
            tys: list[tuple[Ty, Span]] = []
            if isinstance(d, A.Process) and d.name in ts.processes:
                tys = [(f.ty, f.decl.span) for f in ts.processes[d.name].fields.values()]
            elif isinstance(d, A.VarDecl) and d.name in ts.vars:
                tys = [(ts.vars[d.name].ty, d.span)]
            elif isinstance(d, A.MessageDecl) and d.name in ts.messages:
                tys = [(t, d.span) for _, t in ts.messages[d.name].ty.fields]
            for ty, sp in tys:
                self.check_type(ty, sp)
            if isinstance(d, A.Property) and d.kind not in ("invariant", "transition", "reachable", "final"):
                raise self.refuse("E601", f"a '{d.kind}' property is not supported by the symbolic encoding", d.span)
            for e in _decl_exprs(d):
                for n in walk_expr(e):
                    self.check_expr(n)

    def _model_chain(self):
        out = []
        m = self.ts.models.get(self.cfg.name)
        while m is not None and m not in out:
            out.append(m)
            m = self.ts.models.get(m.extends) if m.extends else None
        return out

    def check_type(self, ty: Ty, span: Span):
        if isinstance(ty, SeqT):
            raise self.refuse("E601", f"a sequence ({ty}) is not supported by the symbolic encoding", span,
                              "bmc and prove handle bools, ints, enums, ids, optionals, tuples, records, sets "
                              "and maps")
        if isinstance(ty, SetT) and isinstance(ty.elem, (SetT, MapT, SeqT)):
            raise self.refuse("E601", f"a set of collections ({ty}) is not supported by the symbolic encoding",
                              span)
        for t in _children(ty):
            self.check_type(t, span)

    def check_expr(self, n: A.Expr):
        if isinstance(n, A.SeqLit):
            raise self.refuse("E601", "a sequence literal is not supported by the symbolic encoding", n.span)
        if isinstance(n, A.Call) and n.ref and n.ref[0] == "builtin" and n.ref[1] in ("head", "tail", "last"):
            raise self.refuse("E601", f"'{n.ref[1]}' (sequences) is not supported by the symbolic encoding",
                              n.span)
        if isinstance(n, A.Name) and n.ref and n.ref[0] == "down":
            raise self.refuse("E601", "'down' is not supported by the symbolic encoding", n.span,
                              "write alive(p) for a process p")
        if isinstance(n, A.Index) and isinstance(n.obj.ty, SeqT):
            raise self.refuse("E601", "indexing a sequence is not supported by the symbolic encoding", n.span)
        if isinstance(n.ty, SeqT):
            raise self.refuse("E601", f"a sequence value ({n.ty}) is not supported by the symbolic encoding",
                              n.span)

    # ---- finite domains ----
    def bounds(self, ty: Ty) -> tuple[int, int]:
        return self.gen.bounds(ty)

    def default_c(self, ty: Ty):
        return self.gen.default_value(ty)

    def dom(self, ty: Ty, span: Span | None = None) -> list:
        """Every value of a finite type, sorted, in the explicit model's notation."""
        got = self._dom_cache.get(id(ty))
        if got is not None:
            return got[1]
        if isinstance(ty, BoolT):
            out = [False, True]
        elif isinstance(ty, (EnumT, IdT)):
            lo, hi = self.bounds(ty)
            out = list(range(lo, hi + 1))
        elif isinstance(ty, IntT):
            if ty.lo is not None:
                lo, hi = self.bounds(ty)
            elif self.U is not None:
                lo, hi = self.U
            else:
                raise self.refuse("E602", "an int with no declared range where the symbolic encoding must "
                                  "enumerate its values", span,
                                  "declare a range, e.g. `0..MAX_TERM`, where this value is declared")
            out = list(range(lo, hi + 1))
        elif isinstance(ty, OptT):
            out = [()] + self.dom(ty.inner, span)
        elif isinstance(ty, (TupleT, RecordT)):
            items = ty.items if isinstance(ty, TupleT) else [t for _, t in ty.fields]
            doms = [self.dom(t, span) for t in items]
            size = 1
            for d in doms:
                size *= len(d)
            if size > DOMAIN_LIMIT:
                raise self.refuse("E603", f"{ty} has {size} values, too many to enumerate symbolically "
                                  f"(at most {DOMAIN_LIMIT})", span)
            out = [tuple(c) for c in itertools.product(*doms)]
        else:
            raise self.refuse("E601", f"the values of {ty} cannot be enumerated by the symbolic encoding", span)
        if len(out) > DOMAIN_LIMIT:
            raise self.refuse("E603", f"{ty} has {len(out)} values, too many to enumerate symbolically "
                              f"(at most {DOMAIN_LIMIT})", span)
        self._dom_cache[id(ty)] = (ty, out)     # the type is kept alive: its id is never reused
        return out

    def dom_ab(self, ty: Ty, ab, span, what: str) -> list:
        """The values of ty that the range analysis allows (ab: its abstract value)."""
        if isinstance(ty, IntT) and ty.lo is None:
            if ab is BOT:
                return []
            if not isinstance(ab, Iv) or not ab.finite:
                raise self.refuse("E602", f"the ints in {what} have no bound the symbolic encoding can find", span,
                                  "declare a range (e.g. `0..MAX`) or guard the steps that send growing values "
                                  "with a bound constant")
            return list(range(ab.lo, ab.hi + 1))
        if isinstance(ty, OptT):
            return [()] + self.dom_ab(ty.inner, ab, span, what)
        if isinstance(ty, (TupleT, RecordT)) and has_free_int(ty):
            items = ty.items if isinstance(ty, TupleT) else [t for _, t in ty.fields]
            doms = [self.dom_ab(t, ab[i] if isinstance(ab, tuple) and i < len(ab) else TOP, span, what)
                    for i, t in enumerate(items)]
            size = 1
            for d in doms:
                size *= len(d)
            if size > DOMAIN_LIMIT:
                raise self.refuse("E603", f"{what} has {size} possible values, too many to enumerate symbolically "
                                  f"(at most {DOMAIN_LIMIT})", span)
            return [tuple(c) for c in itertools.product(*doms)]
        return self.dom(ty, span)

    def dom_size(self, ty: Ty) -> int | None:
        try:
            return len(self.dom(ty))
        except SpecError:
            return None

    def universe(self):
        """U: the ints a set element of a free int type may take (the hull of the ranges)."""
        G = self.ranges.G
        lo, hi = 0, 0
        need: list[tuple[str, Ty, Any, Span]] = []
        for key, val in G.items():
            ty, span, what = self.loc_type(key)
            self._collect(ty, val, False, need, what, span)
        for what, ty, iv, span in need:
            if iv is BOT:
                continue
            if not isinstance(iv, Iv) or not iv.finite:
                raise self.refuse("E602", f"the ints in {what} have no bound the symbolic encoding can find", span,
                                  "declare a range (e.g. `0..MAX`) or guard the steps that grow them with a "
                                  "bound constant")
            lo, hi = min(lo, iv.lo), max(hi, iv.hi)
        for key, val in G.items():      # scalars and message fields widen U where they are finite
            for iv in _ivs(val):
                if iv.finite:
                    lo, hi = min(lo, iv.lo), max(hi, iv.hi)
        self.U = (lo, hi)

    def loc_type(self, key):
        if key[0] == "var":
            v = self.ts.vars[key[1]]
            return v.ty, v.decl.span, f"var '{key[1]}'"
        if key[0] == "fld":
            f = self.ts.processes[key[1]].fields[key[2]]
            return f.ty, f.decl.span, f"field '{key[1]}.{key[2]}'"
        m = self.ts.messages[key[1]]
        return m.ty, m.decl.span, f"message '{key[1]}'"

    def _collect(self, ty, val, in_set, need, what, span):
        if isinstance(ty, IntT) and ty.lo is None:
            if in_set:
                need.append((what, ty, val, span))
            return
        if isinstance(ty, (TupleT, RecordT)):
            items = ty.items if isinstance(ty, TupleT) else [t for _, t in ty.fields]
            for i, t in enumerate(items):
                self._collect(t, val[i] if isinstance(val, tuple) and i < len(val) else val, in_set, need, what,
                              span)
        elif isinstance(ty, OptT):
            self._collect(ty.inner, val, in_set, need, what, span)
        elif isinstance(ty, (SetT, SeqT)):
            self._collect(ty.elem, val, True, need, what, span)
        elif isinstance(ty, MapT):
            self._collect(ty.val, val, in_set, need, what, span)

    # ---- envelopes ----
    def envelopes(self):
        """Every envelope (tag, src, dst, fields...) that may be in flight."""
        ts = self.ts
        self.envs: list[tuple] = []
        self.env_fields: dict[str, list[list]] = {}
        self.self_send = self.self_sends()
        # (message, receiver id) -> its handlers (a process may have several for one message)
        self.receiver: dict[tuple[str, int], list[tuple[ProcessInfo, A.Handler]]] = {}
        for p in ts.processes.values():
            for h in p.handlers:
                if h.kind == "message":
                    for i in range(self.ids[p.name][0], self.ids[p.name][1] + 1):
                        self.receiver.setdefault((h.name, i), []).append((p, h))
        for name in sorted(ts.messages, key=lambda n: self.tags[n]):
            m = ts.messages[name]
            mv = self.ranges.G.get(("msg", name), BOT)
            if mv is BOT or m.sender is None:
                continue
            doms = []
            for i, (fname, fty) in enumerate(m.ty.fields):
                ab = mv[i] if isinstance(mv, tuple) else TOP
                doms.append(self.dom_ab(fty, ab, m.decl.fields[i].span, f"field '{fname}' of message '{name}'"))
            self.env_fields[name] = doms
            slo, shi = self.ids[m.sender]
            dkinds = self.dst_kinds(name)
            tag = self.tags[name]
            for src in range(slo, shi + 1):
                for k in dkinds:
                    for dst in range(self.ids[k][0], self.ids[k][1] + 1):
                        if dst == src and not self.self_send.get(name, False):
                            continue
                        for fv in itertools.product(*doms):
                            self.envs.append((tag, src, dst, *fv))
        self.env_set = set(self.envs)
        self.by_msg: dict[str, list[tuple]] = {}
        for e in self.envs:
            self.by_msg.setdefault(self.tag_names[e[0]], []).append(e)

    def sends(self):
        for p in self.ts.processes.values():
            for h in p.handlers:
                for st in walk_stmts(h.body):
                    if isinstance(st, (A.Send, A.Broadcast)):
                        yield p, h, st

    def dst_kinds(self, name: str) -> list[str]:
        kinds = []
        for p, h, st in self.sends():
            if st.msg.func.id != name:
                continue
            k = p.name if isinstance(st, A.Broadcast) else \
                self.ts.messages[name].receiver if isinstance(st.to.ty, IntT) else getattr(st.to.ty, "name", None)
            if k in self.ids and k not in kinds:
                kinds.append(k)
        return sorted(kinds, key=lambda k: self.ids[k][0])

    def self_sends(self) -> dict[str, bool]:
        """May a message be sent by a process to itself? Broadcasts never are; a reply to
        the sender of a message that is never self-sent is not either."""
        out = {m: False for m in self.ts.messages}
        changed = True
        while changed:
            changed = False
            for p, h, st in self.sends():
                name = st.msg.func.id
                if out[name] or isinstance(st, A.Broadcast):
                    continue
                to = st.to
                reply = (h.kind == "message" and h.sender and isinstance(to, A.Name) and to.id == h.sender
                         and to.ref and to.ref[0] == "local" and not out.get(h.name, True)
                         and not any(isinstance(s, A.Assign) and isinstance(s.target, A.Name)
                                     and s.target.id == h.sender for s in walk_stmts(h.body)))
                if not reply:
                    out[name] = True
                    changed = True
        return out

    # ---- the state ----
    def layout(self):
        self.keys: list[tuple[tuple, Any]] = []
        self.first = self.all_ids[0] if self.all_ids else None
        for sl in self.model.layout.slots:
            if sl.kind == "var":
                self.keys.append((("var", sl.name), sl.ty))
            elif sl.kind == "field":
                lo, hi = self.ids[sl.proc]
                for i in range(lo, hi + 1):
                    self.keys.append((("fld", sl.proc, sl.field, i), sl.ty))
            elif sl.kind == "network":
                for e in self.envs:
                    self.keys.append((("net", e), NET))
            elif sl.kind in ("down", "partition"):
                k = "down" if sl.kind == "down" else "part"
                for i in self.all_ids:
                    self.keys.append(((k, i), BIT))
            elif sl.kind in ("crashes", "partitions", "now"):
                self.keys.append((({"crashes": "crashes", "partitions": "parts", "now": "now"}[sl.kind],), COUNTER))
        self.key_ty = dict(self.keys)

    def fresh(self, ty, name: str):
        if ty == BIT or isinstance(ty, BoolT):
            return z3.Bool(name)
        if ty == COUNTER or isinstance(ty, (IntT, IdT, EnumT)):
            return self.ivar(name)
        if ty == NET:
            return z3.Bool(name) if self.cfg.network == "set" else self.ivar(name)
        if isinstance(ty, OptT):
            return Opt(z3.Bool(name + "?"), self.fresh(ty.inner, name + "!"))
        if isinstance(ty, TupleT):
            return Tup(self.fresh(t, f"{name}.{i}") for i, t in enumerate(ty.items))
        if isinstance(ty, RecordT):
            return Tup(self.fresh(t, f"{name}.{n}") for n, t in ty.fields)
        if isinstance(ty, SetT):
            return SetV({d: z3.Bool(f"{name}{{{d!r}}}") for d in self.dom(ty.elem)})
        if isinstance(ty, MapT):
            keys = self.dom(ty.key)
            return MapV(keys, [self.fresh(ty.val, f"{name}[{k!r}]") for k in keys])
        raise self.refuse("E601", f"{ty} is not supported by the symbolic encoding", None)

    def key_name(self, key) -> str:
        if key[0] == "var":
            return key[1]
        if key[0] == "fld":
            return f"{key[1]}.{key[2]}@{key[3]}"
        if key[0] == "net":
            e = key[1]
            return f"net:{self.tag_names[e[0]]}{e[3:]}:{e[1]}->{e[2]}"
        return ":".join(str(x) for x in key)

    def fresh_state(self, tag: str) -> dict:
        return {k: self.fresh(ty, f"{tag}|{self.key_name(k)}") for k, ty in self.keys}

    def state_leaves(self, s: dict) -> list:
        return [x for k, _ in self.keys for x in leaves(s[k])]

    def wf(self, ty, v) -> list:
        if ty == BIT:
            return []
        if ty == NET:
            return [] if self.cfg.network == "set" else [v >= 0]
        if isinstance(ty, (IntT, IdT, EnumT)):
            if isinstance(ty, IntT) and ty.lo is None:
                return []
            lo, hi = self.bounds(ty)
            return [v >= lo, v <= hi]
        if isinstance(ty, OptT):
            return self.wf(ty.inner, v.val)
        if isinstance(ty, TupleT):
            return [c for t, x in zip(ty.items, v.items) for c in self.wf(t, x)]
        if isinstance(ty, RecordT):
            return [c for (_, t), x in zip(ty.fields, v.items) for c in self.wf(t, x)]
        if isinstance(ty, MapT):
            return [c for x in v.vals for c in self.wf(ty.val, x)]
        return []

    def state_wf(self, s: dict) -> list:
        """Type constraints and the model's structural facts (true in every reachable state)."""
        out = []
        for k, ty in self.keys:
            if ty == COUNTER:
                hi = {"crashes": self.cfg.crash, "parts": self.cfg.partition, "now": self.cfg.tick}[k[0]]
                out += [s[k] >= 0, s[k] <= hi]
            else:
                out += self.wf(ty, s[k])
        if self.cfg.crash and self.envs:
            for e in self.envs:       # nothing is in flight to a process that is down
                out.append(implies(s[("down", e[2])], neg(self.present(s, e))))
        if self.cfg.crash:
            down = [_ite(s[("down", i)], self.one, self.zero) for i in self.all_ids]
            out.append(z3.Sum(down) <= s[("crashes",)])
        if self.cfg.partition:
            first = s[("part", self.first)]
            out.append(implies(first, neg(conj([s[("part", i)] for i in self.all_ids]))))
            out.append(implies(neg(first), conj([neg(s[("part", i)]) for i in self.all_ids])))
            out.append(implies(first, s[("parts",)] >= 1))
        return out

    def present(self, s: dict, e) -> z3.BoolRef:
        v = s[("net", e)]
        return v if self.cfg.network == "set" else v >= 1

    # ---- values from constants ----
    def const_sv(self, c, ty: Ty):
        if isinstance(ty, BoolT):
            return zbool(c)
        if isinstance(ty, (IntT, IdT, EnumT)):
            return self.iv(c)
        if isinstance(ty, OptT):
            if c == ():
                return Opt(FALSE, self.const_sv(self.default_c(ty.inner), ty.inner))
            return Opt(TRUE, self.const_sv(c, ty.inner))
        if isinstance(ty, TupleT):
            return Tup(self.const_sv(x, t) for x, t in zip(c, ty.items))
        if isinstance(ty, RecordT):
            return Tup(self.const_sv(x, t) for x, (_, t) in zip(c, ty.fields))
        if isinstance(ty, SetT):
            return SetV({d: zbool(d in c) for d in self.dom(ty.elem)})
        if isinstance(ty, MapT):
            keys = self.dom(ty.key)
            return MapV(keys, [self.const_sv(x, ty.val) for x in c])
        if isinstance(ty, (EmptyT, AnyT)):
            return SetV({})
        raise self.refuse("E601", f"{ty} is not supported by the symbolic encoding", None)

    def coerce(self, v, ty: Ty, cx: Ctx | None = None, span=None):
        """v in the canonical shape of a location of type ty."""
        if isinstance(ty, OptT):
            if v is NONE:
                return Opt(FALSE, self.const_sv(self.default_c(ty.inner), ty.inner))
            if isinstance(v, Opt):
                return Opt(v.some, self.coerce(v.val, ty.inner, cx, span))
            return Opt(TRUE, self.coerce(v, ty.inner, cx, span))
        if isinstance(ty, TupleT):
            return Tup(self.coerce(x, t, cx, span) for x, t in zip(v.items, ty.items))
        if isinstance(ty, RecordT):
            return Tup(self.coerce(x, t, cx, span) for x, (_, t) in zip(v.items, ty.fields))
        if isinstance(ty, SetT):
            d = self.dom(ty.elem, span)
            dset = set(d)
            outside = [m for k, m in v.mem.items() if k not in dset]
            if outside and cx is not None:
                self.error(cx, disj(outside), "E605", f"a value outside the {ty} values the symbolic encoding "
                           "enumerates", span)
            return SetV({k: v.mem.get(k, FALSE) for k in d})
        if isinstance(ty, MapT):
            if isinstance(v, SetV):        # `{}` typed as a set by an earlier pass
                return self.const_sv(self.default_c(ty), ty)
            return MapV(v.keys, [self.coerce(x, ty.val, cx, span) for x in v.vals])
        return v

    def error(self, cx: Ctx, cond, code: str, msg: str, span):
        c = conj([cx.pc, cond])
        if not is_f(c):
            cx.errs.append((c, code, msg, span))

    # ---- expressions ----
    def ev(self, e: A.Expr, cx: Ctx):
        m = getattr(self, "ev_" + type(e).__name__, None)
        if m is None:
            raise self.refuse("E601", f"this expression ({type(e).__name__}) is not supported by the symbolic "
                              "encoding", e.span)
        v = m(e, cx)
        if getattr(e, "unwrap", False) and isinstance(v, Opt):
            return v.val                # an optional tested `!= none` on the way here
        return v

    def ev_IntLit(self, e, cx):
        return self.iv(e.value)

    def ev_BoolLit(self, e, cx):
        return zbool(e.value)

    def ev_NoneLit(self, e, cx):
        return NONE

    def ev_SelfRef(self, e, cx):
        return self.iv(cx.self_id)

    def ev_Name(self, e: A.Name, cx: Ctx):
        ref = e.ref
        k = ref[0]
        if k == "local":
            return cx.locals[e.id]
        if k == "field":
            if cx.mode == "init":
                return cx.init_fields[e.id]
            return cx.st[("fld", ref[1], e.id, cx.self_id)]
        if k == "var":
            if cx.mode == "init":
                return cx.init_vars[e.id]
            return cx.st[("var", e.id)]
        if k == "const":
            v = self.cfg.consts[e.id]
            return zbool(v) if isinstance(v, bool) else self.iv(v)
        if k == "enum":
            return self.iv(ref[2])
        if k == "typeset":
            return SetV({d: TRUE for d in self.dom(e.ty.elem)})
        if k == "now":
            if self.cfg.tick is None:      # a property the model does not check (prove --invariant, --with)
                raise self.refuse("E414", "'now' needs a tick clock in the model", e.span, "add `faults tick <= k`")
            return cx.st[("now",)]
        raise self.refuse("E601", f"'{e.id}' is not supported by the symbolic encoding", e.span)

    def select(self, idx, pairs, cx: Ctx, span, check: bool):
        """The value paired with idx among (key, value) pairs (ite over the keys)."""
        n = concrete(idx)
        if n is not NC:
            for k, v in pairs:
                if k == n:
                    return v
            if check:
                self.error(cx, TRUE, "E503", f"key {n} is not in the domain", span)
            return pairs[0][1]
        out = pairs[-1][1]
        for k, v in reversed(pairs[:-1]):
            out = ite(eq_const(idx, k), v, out)
        if check:
            self.error(cx, neg(disj([eq_const(idx, k) for k, _ in pairs])), "E503", "a key outside the domain",
                       span)
        return out

    def ev_FieldAccess(self, e: A.FieldAccess, cx: Ctx):
        ref = e.ref
        if ref[0] == "enum":
            return self.iv(ref[2])
        if ref[0] == "pfield":
            pname, fname = ref[1], ref[2]
            obj = self.ev(e.obj, cx)
            if cx.mode == "init":
                return cx.init_fields[fname]
            lo, hi = self.ids[pname]
            return self.select(obj, [(i, cx.st[("fld", pname, fname, i)]) for i in range(lo, hi + 1)], cx, e.span,
                               False)
        if ref[0] == "rfield":
            return self.ev(e.obj, cx).items[ref[1]]
        raise self.refuse("E601", "this field access is not supported by the symbolic encoding", e.span)

    def key_checked(self, key_expr: A.Expr, kt: Ty) -> bool:
        if isinstance(kt, (BoolT, EnumT)):
            return False
        if isinstance(kt, IdT) and isinstance(key_expr.ty, IdT):
            return False
        return True

    def ev_Index(self, e: A.Index, cx: Ctx):
        t = e.obj.ty
        obj = self.ev(e.obj, cx)
        if isinstance(t, MapT):
            k = self.ev(e.indices[0], cx)
            return self.select(k, list(zip(obj.keys, obj.vals)), cx, e.span, self.key_checked(e.indices[0], t.key))
        if isinstance(t, TupleT):
            return obj.items[e.indices[0].value]
        raise self.refuse("E601", "this index is not supported by the symbolic encoding", e.span)

    def ev_Unary(self, e, cx):
        v = self.ev(e.operand, cx)
        if e.op == "not":
            return neg(v)
        n = num(v)
        return self.iv(-n) if n is not None else -v

    def ev_BoolChain(self, e, cx):
        parts = []
        pc = cx.pc
        for x in e.items:
            v = self.ev(x, cx.sub(pc=conj([pc] + [p if e.op == "and" else neg(p) for p in parts])))
            parts.append(v)
            if e.op == "and" and is_f(v):
                break
            if e.op == "or" and is_t(v):
                break
        return conj(parts) if e.op == "and" else disj(parts)

    def arith(self, op, a, b, cx, span):
        na, nb = num(a), num(b)
        if op in ("/", "%"):
            if nb == 0:
                self.error(cx, TRUE, "E502", "division by zero", span)
                return self.zero
            if nb is None:
                self.error(cx, b == 0, "E502", "division by zero", span)
            if na is not None and nb is not None:
                q = abs(na) // abs(nb)
                q = q if (na >= 0) == (nb >= 0) else -q
                return self.iv(q if op == "/" else na - nb * q)
            aa = z3.If(a >= 0, a, -a)
            ab = z3.If(b >= 0, b, -b)
            q = aa / ab
            q = z3.If((a >= 0) == (b >= 0), q, -q)
            return q if op == "/" else a - b * q
        if na is not None and nb is not None:
            return self.iv({"+": na + nb, "-": na - nb, "*": na * nb}[op])
        self.overflow(op, a, b, cx, span)
        if op == "+":
            return b if na == 0 else a if nb == 0 else a + b
        if op == "-":
            return a if nb == 0 else a - b
        return a * b

    def ev_Binary(self, e: A.Binary, cx):
        if e.op == "implies":
            a = self.ev(e.left, cx)
            if is_f(a):
                return TRUE
            b = self.ev(e.right, cx.sub(pc=conj([cx.pc, a])))
            return implies(a, b)
        a = self.ev(e.left, cx)
        b = self.ev(e.right, cx)
        if isinstance(e.ty, (SetT, EmptyT)):
            return self.set_op(e.op, a, b)
        return self.arith(e.op, a, b, cx, e.span)

    def set_op(self, op, a: SetV, b: SetV) -> SetV:
        keys = list(a.mem) + [k for k in b.mem if k not in a.mem]
        if op == "+":
            return SetV({k: disj([a.mem.get(k, FALSE), b.mem.get(k, FALSE)]) for k in keys})
        if op == "-":
            return SetV({k: conj([m, neg(b.mem.get(k, FALSE))]) for k, m in a.mem.items()})
        return SetV({k: conj([m, b.mem.get(k, FALSE)]) for k, m in a.mem.items()})

    def member(self, s: SetV, x) -> z3.BoolRef:
        c = concrete(x)
        if c is not NC:
            return s.mem.get(c, FALSE)
        return disj([conj([m, eq_const(x, d)]) for d, m in s.mem.items() if not is_f(m)])

    def lt(self, a, b, strict: bool):
        if isinstance(a, Tup):
            out = TRUE if not strict else FALSE
            for x, y in reversed(list(zip(a.items, b.items))):
                out = disj([self.lt(x, y, True), conj([eq(x, y), out])])
            return out
        na, nb = num(a), num(b)
        if na is not None and nb is not None:
            return zbool(na < nb if strict else na <= nb)
        return a < b if strict else a <= b

    def ev_Compare(self, e: A.Compare, cx):
        if e.op in ("in", "notin"):
            l = self.ev(e.left, cx)
            rt = e.right.ty
            if isinstance(e.right, A.SetLit) and not isinstance(rt, MapT):
                r = disj([eq(l, self.ev(x, cx)) for x in e.right.items])
            elif isinstance(rt, MapT):
                r = disj([eq_const(l, k) for k in self.dom(rt.key)])
            elif isinstance(rt, EmptyT):
                r = FALSE
            else:
                r = self.member(self.ev(e.right, cx), l)
            return r if e.op == "in" else neg(r)
        a = self.ev(e.left, cx)
        b = self.ev(e.right, cx)
        if e.op == "==":
            return eq(a, b)
        if e.op == "!=":
            return neg(eq(a, b))
        if isinstance(a, SetV) or isinstance(b, SetV):
            if e.op in (">=", ">"):
                a, b = b, a
            sub = conj([implies(m, b.mem.get(k, FALSE)) for k, m in a.mem.items()])
            return sub if e.op in ("<=", ">=") else conj([sub, neg(eq(a, b))])
        if e.op == "<":
            return self.lt(a, b, True)
        if e.op == "<=":
            return self.lt(a, b, False)
        if e.op == ">":
            return self.lt(b, a, True)
        return self.lt(b, a, False)

    def int_set(self, lo, hi, cx, span) -> SetV:
        nl, nh = num(lo), num(hi)
        if nl is not None and nh is not None:
            return SetV({d: TRUE for d in range(nl, nh + 1)})
        ulo, uhi = self.U
        self.error(cx, conj([lo <= hi, disj([lo < ulo, hi > uhi])]), "E605",
                   f"a range reaching outside the ints the symbolic encoding enumerates ({ulo}..{uhi})", span)
        return SetV({d: conj([lo <= d, self.iv(d) <= hi]) for d in range(ulo, uhi + 1)})

    def ev_RangeExpr(self, e, cx):
        return self.int_set(self.ev(e.lo, cx), self.ev(e.hi, cx), cx, e.span)

    def ev_CondExpr(self, e, cx):
        c = self.ev(e.cond, cx)
        if is_t(c):
            return self.ev(e.then, cx)
        if is_f(c):
            return self.ev(e.orelse, cx)
        return ite(c, self.ev(e.then, cx.sub(pc=conj([cx.pc, c]))), self.ev(e.orelse, cx.sub(pc=conj([cx.pc, neg(c)]))))

    def ev_TupleLit(self, e, cx):
        return Tup(self.ev(x, cx) for x in e.items)

    def build_set(self, vals: list[tuple[Any, Any]], elem_ty: Ty, cx: Ctx, span) -> SetV:
        """The set of the values v (each a member when its condition holds)."""
        mem: dict = {}
        sym = []
        for v, c in vals:
            d = concrete(v)
            if d is not NC:
                mem[d] = disj([mem.get(d, FALSE), c])
            else:
                sym.append((v, c))
        if sym:
            dom = self.dom(elem_ty, span)
            for d in dom:
                mem[d] = disj([mem.get(d, FALSE)] + [conj([c, eq_const(v, d)]) for v, c in sym])
            if has_free_int(elem_ty):
                dset = set(dom)
                for v, c in sym:
                    self.error(cx, conj([c, neg(disj([eq_const(v, d) for d in dset]))]), "E605",
                               f"a value outside the {elem_ty} values the symbolic encoding enumerates", span)
        return SetV(mem)

    def ev_SetLit(self, e, cx):
        if isinstance(e.ty, MapT):
            return self.const_sv(self.default_c(e.ty), e.ty)
        if not e.items:
            return SetV({})
        vals = [(self.ev(x, cx), TRUE) for x in e.items]
        elem = e.ty.elem if isinstance(e.ty, SetT) else e.items[0].ty
        return self.build_set(vals, elem, cx, e.span)

    def ev_MapLit(self, e, cx):
        t = e.ty
        m = self.const_sv(self.default_c(t), t)
        for k, v in e.pairs:
            m = self.map_set(m, self.ev(k, cx), self.coerce(self.ev(v, cx), t.val, cx, e.span), cx, k.span,
                             self.key_checked(k, t.key))
        return m

    def map_set(self, m: MapV, k, v, cx, span, check: bool) -> MapV:
        n = concrete(k)
        if n is not NC:
            if n not in m.keys:
                if check:
                    self.error(cx, TRUE, "E503", f"key {n} is not in the map's domain", span)
                return m
            i = m.keys.index(n)
            vals = list(m.vals)
            vals[i] = v
            return MapV(m.keys, vals)
        if check:
            self.error(cx, neg(disj([eq_const(k, x) for x in m.keys])), "E503", "a key outside the map's domain",
                       span)
        return MapV(m.keys, [ite(eq_const(k, x), v, old) for x, old in zip(m.keys, m.vals)])

    def bind_iter(self, binds: list[tuple[str, A.Expr]], cx: Ctx):
        """(locals, condition) for each combination of values of the bindings."""
        if not binds:
            yield {}, TRUE
            return
        (name, src), rest = binds[0], binds[1:]
        s = self.ev(src, cx)
        ety = src.ty.elem if isinstance(src.ty, SetT) else None
        for d in _sorted_keys(s.mem):
            m = s.mem[d]
            if is_f(m):
                continue
            val = self.const_sv(d, ety) if ety is not None else self.iv(d)
            inner = cx.sub(pc=conj([cx.pc, m]))
            inner.locals[name] = val
            for more, c in self.bind_iter(rest, inner):
                loc = {name: val}
                loc.update(more)
                yield loc, conj([m, c])

    def _with(self, cx: Ctx, loc: dict, c) -> Ctx:
        inner = cx.sub(pc=conj([cx.pc, c]))
        inner.locals.update(loc)
        return inner

    def ev_SetComp(self, e: A.SetComp, cx):
        vals = []
        for loc, c in self.bind_iter([(f.var, f.src) for f in e.fors], cx):
            inner = self._with(cx, loc, c)
            if e.cond is not None:
                c = conj([c, self.ev(e.cond, inner)])
                inner = self._with(cx, loc, c)
            if is_f(c):
                continue
            vals.append((self.ev(e.elem, inner), c))
        return self.build_set(vals, e.ty.elem, cx, e.span)

    def ev_MapComp(self, e: A.MapComp, cx):
        t = e.ty
        m = self.const_sv(self.default_c(t), t)
        for loc, c in self.bind_iter([(f.var, f.src) for f in e.fors], cx):
            inner = self._with(cx, loc, c)
            if e.cond is not None:
                c = conj([c, self.ev(e.cond, inner)])
                inner = self._with(cx, loc, c)
            if is_f(c):
                continue
            k = self.ev(e.key, inner)
            v = self.coerce(self.ev(e.value, inner), t.val, cx, e.span)
            upd = self.map_set(m, k, v, inner, e.key.span, self.key_checked(e.key, t.key))
            m = MapV(m.keys, [ite(c, x, y) for x, y in zip(upd.vals, m.vals)])
        return m

    def ev_Quant(self, e: A.Quant, cx):
        parts = []
        for loc, c in self.bind_iter(list(e.bindings), cx):
            body = self.ev(e.body, self._with(cx, loc, c))
            parts.append(implies(c, body) if e.kind == "all" else conj([c, body]))
            if e.kind == "all" and is_f(parts[-1]):
                return FALSE
            if e.kind == "any" and is_t(parts[-1]):
                return TRUE
        return conj(parts) if e.kind == "all" else disj(parts)

    def ev_Call(self, e: A.Call, cx: Ctx):
        ref = e.ref
        if ref[0] == "construct":
            rt = self.ts.records.get(ref[1])
            if rt is None:
                raise self.refuse("E601", "a message value outside send is not supported", e.span)
            vals: list = [None] * len(e.args)
            for a, i in zip(e.args, ref[2]):
                vals[i] = self.coerce(self.field_value(a.value, rt.fields[i][1], cx), rt.fields[i][1], cx, a.span)
            return Tup(vals)
        if ref[0] == "def":
            d = self.ts.defs[ref[1]]
            args = [self.coerce(self.ev(a.value, cx), pt, cx, a.span) for a, pt in zip(e.args, d.param_types)]
            inner = cx.sub()
            inner.locals = {p.name: v for p, v in zip(d.params, args)}
            return self.ev(d.body, inner)
        fn = ref[1]
        args = [a.value for a in e.args]
        if fn == "old":
            if cx.old is None:
                raise self.refuse("E601", "old(...) outside a transition property", e.span)
            return self.ev(args[0], cx.sub(st=cx.old, old=None))
        if fn in ("size", "len"):
            v = self.ev(args[0], cx)
            if isinstance(v, MapV):
                return self.iv(len(v.keys))
            terms = [_ite(m, self.one, self.zero) for m in v.mem.values() if not is_f(m)]
            consts = sum(1 for m in v.mem.values() if is_t(m))
            if consts == len(terms):
                return self.iv(consts)
            return z3.Sum(terms)
        if fn in ("min", "max"):
            s = self.ev(args[0], cx)
            keys = _sorted_keys(s.mem)
            if fn == "max":
                keys = list(reversed(keys))
            ety = args[0].ty.elem
            self.error(cx, neg(disj(list(s.mem.values()))), "E504", f"{fn} of an empty set", e.span)
            out = self.const_sv(keys[-1], ety) if keys else self.const_sv(self.default_c(ety), ety)
            for k in reversed(keys[:-1]):
                out = ite(s.mem[k], self.const_sv(k, ety), out)
            return out
        if fn == "abs":
            v = self.ev(args[0], cx)
            n = num(v)
            return self.iv(abs(n)) if n is not None else z3.If(v >= 0, v, -v)
        if fn == "keys":
            return SetV({k: TRUE for k in self.dom(args[0].ty.key)})
        if fn == "values":
            m = self.ev(args[0], cx)
            return self.build_set([(v, TRUE) for v in m.vals], args[0].ty.val, cx, e.span)
        if fn == "alive":
            p = self.ev(args[0], cx)
            if not self.cfg.crash:
                return TRUE
            return neg(self.select(p, [(i, cx.st[("down", i)]) for i in self.all_ids], cx, e.span, False))
        if fn == "connected":
            if not self.cfg.partition:
                return TRUE
            a, b = self.ev(args[0], cx), self.ev(args[1], cx)
            pairs = [(i, cx.st[("part", i)]) for i in self.all_ids]
            sa = self.select(a, pairs, cx, e.span, False)
            sb = self.select(b, pairs, cx, e.span, False)
            return disj([neg(cx.st[("part", self.first)]), eq(sa, sb)])
        if fn in ("pending", "pending_all"):
            return self.pending(e, cx, fn)
        raise self.refuse("E601", f"'{fn}' is not supported by the symbolic encoding", e.span)

    def pending(self, e: A.Call, cx: Ctx, fn: str):
        name = e.args[0].value.id
        mt = self.ts.messages[name].ty
        src = dst = None
        fields: list[tuple[int, Any]] = []
        for a in e.args[1:]:
            if a.name == "src":
                src = self.ev(a.value, cx)
            elif a.name == "dst":
                dst = self.ev(a.value, cx)
            elif a.name is not None and mt.field_index(a.name) is not None:
                fields.append((mt.field_index(a.name), self.ev(a.value, cx)))
        if dst is None and fn == "pending" and cx.self_id is not None:
            dst = self.iv(cx.self_id)
        terms = []
        for env in self.by_msg.get(name, []):
            c = conj([eq_const(src, env[1]) if src is not None else TRUE,
                      eq_const(dst, env[2]) if dst is not None else TRUE] +
                     [eq_const(v, env[3 + i]) for i, v in fields])
            if is_f(c):
                continue
            v = cx.st[("net", env)]
            if self.cfg.network == "set":
                terms.append(_ite(conj([c, v]), self.one, self.zero))
            else:
                terms.append(v if is_t(c) else _ite(c, v, self.zero))
        return z3.Sum(terms) if terms else self.zero

    # ---- statements ----
    def run_body(self, stmts, cx: Ctx) -> list[Ctx]:
        """Execute a body; a top-level `choose` splits the action into one per value."""
        for i, st in enumerate(stmts):
            if isinstance(st, A.Choose):
                s = self.ev(st.src, cx)
                ety = st.src.ty.elem if isinstance(st.src.ty, SetT) else None
                outs = []
                for d in _sorted_keys(s.mem):
                    m = s.mem[d]
                    if is_f(m):
                        continue
                    c = cx.fork(conj([cx.pc, m]), share=False)
                    c.ok.append(m)
                    c.locals[st.name] = self.const_sv(d, ety) if ety is not None else self.iv(d)
                    c.chosen = cx.chosen + (d,)
                    if st.where is not None:
                        w = self.ev(st.where, c)
                        c.ok.append(w)
                        c.pc = conj([c.pc, w])
                    outs.extend(self.run_body(stmts[i + 1:], c))
                return outs
            self.stmt(st, cx)
        return [cx]

    def block(self, stmts, cx: Ctx):
        for st in stmts:
            if isinstance(st, A.Choose):
                raise self.refuse("E601", "choose inside a block is not supported", st.span,
                                  "choose at the top level of the body")
            self.stmt(st, cx)

    def stmt(self, st: A.Stmt, cx: Ctx):
        stop_if_interrupted()    # Ctrl-C while encoding: stop here, in Python, not inside z3
        if isinstance(st, A.Let):
            cx.locals[st.name] = self.ev(st.value, cx)
        elif isinstance(st, A.Require):
            c = self.ev(st.cond, cx)
            cx.ok.append(implies(cx.pc, c))
            cx.pc = conj([cx.pc, c])
        elif isinstance(st, A.Pass):
            pass
        elif isinstance(st, A.If):
            self.exec_if(st.branches, st.orelse, cx)
        elif isinstance(st, A.For):
            self.exec_for(st, cx)
        elif isinstance(st, A.Assign):
            self.assign(st, cx)
        elif isinstance(st, (A.Send, A.Broadcast)):
            self.send(st, cx)
        else:
            raise self.refuse("E601", f"this statement ({type(st).__name__}) is not supported by the symbolic "
                              "encoding", st.span)

    def _order(self, keys):
        return sorted(keys, key=self.key_index.__getitem__)

    def merge(self, cx: Ctx, c, a: Ctx, b: Ctx, skip: str | None = None):
        for k in self._order(a.dirty | b.dirty):
            cx.set(k, ite(c, a.st[k], b.st[k]))
        for n in list(cx.locals):
            if n != skip and a.locals.get(n) is not b.locals.get(n):
                cx.locals[n] = ite(c, a.locals[n], b.locals[n])

    def exec_if(self, branches, orelse, cx: Ctx):
        c = self.ev(branches[0][0], cx)
        body = branches[0][1]

        def rest(ctx):
            if len(branches) > 1:
                self.exec_if(branches[1:], orelse, ctx)
            else:
                self.block(orelse or [], ctx)
        if is_t(c):
            self.block(body, cx)
            return
        if is_f(c):
            rest(cx)
            return
        pa, pb = conj([cx.pc, c]), conj([cx.pc, neg(c)])
        a = cx.fork(pa)
        self.block(body, a)
        b = cx.fork(pb)
        rest(b)
        self.merge(cx, c, a, b)
        if a.pc is not pa or b.pc is not pb:
            cx.pc = disj([a.pc, b.pc])

    def exec_for(self, st: A.For, cx: Ctx):
        s = self.ev(st.src, cx)
        ety = st.src.ty.elem if isinstance(st.src.ty, SetT) else None
        for d in _sorted_keys(s.mem):
            m = s.mem[d]
            if is_f(m):
                continue
            a = cx.fork(conj([cx.pc, m]))
            a.locals[st.name] = self.const_sv(d, ety) if ety is not None else self.iv(d)
            self.block(st.body, a)
            if is_t(m):
                for k in self._order(a.dirty):
                    cx.set(k, a.st[k])
                for n in list(cx.locals):
                    if n != st.name:
                        cx.locals[n] = a.locals[n]
            else:
                self.merge(cx, m, a, cx, skip=st.name)

    def field_value(self, e: A.Expr, ty: Ty, cx: Ctx):
        """A message's or record's field value: E501 outside the field's range, as the
        explicit model checks it (compile.store_check)."""
        v = self.ev(e, cx)
        base = ty.inner if isinstance(ty, OptT) else ty
        if isinstance(base, IntT) and base.lo is not None or isinstance(base, IdT) and isinstance(e.ty, IntT):
            self.range_check(v, base, cx, e.span)
        self.tuple_check(v, ty, e, cx, e.span)
        return v

    def tuple_check(self, v, ty: Ty, e: A.Expr, cx: Ctx, span):
        """E501 where a ranged component of tuple value v (of expression e) is outside its
        range, as the explicit model checks it (compile.component_may_leave)."""
        base = ty.inner if isinstance(ty, OptT) else ty
        if not isinstance(base, TupleT) or not isinstance(v, Tup):
            return
        for i, (x, it) in enumerate(zip(v.items, base.items)):
            src = tuple_item_type(e, i)
            if isinstance(it, IntT) and it.lo is not None or isinstance(it, IdT) and isinstance(src, IntT):
                self.range_check(x, it, cx, span)

    def range_check(self, v, ty: Ty, cx: Ctx, span):
        if v is NONE or isinstance(v, Opt):
            return
        lo, hi = self.bounds(ty)
        self.check_in(v, lo, hi, cx, span, "E501", lambda n: f"value {n} is outside its declared range {lo}..{hi}",
                      f"a value outside its declared range {lo}..{hi}")

    def check_in(self, v, lo: int, hi: int, cx: Ctx, span, code: str, known, unknown: str):
        """An evaluation error `code` where v is outside lo..hi (`known(n)` names a constant v)."""
        n = num(v)
        if n is None:
            self.error(cx, disj([v < lo, v > hi]), code, unknown, span)
        elif not lo <= n <= hi:
            self.error(cx, TRUE, code, known(n), span)

    def assign(self, st: A.Assign, cx: Ctx):
        t = st.target
        ty = t.ty
        if ty is None and isinstance(t, A.Index) and isinstance(getattr(t.obj, "ty", None), MapT):
            ty = t.obj.ty.val             # `m[k] = v`: checked against the map's value range
        v = self.ev(st.value, cx)
        if st.op != "=":
            cur = self.ev(t, cx)
            if isinstance(cur, SetV):
                v = self.set_op("+" if st.op == "+=" else "-", cur, v)
            else:
                v = self.arith(st.op[0], cur, v, cx, st.span)
        base = ty.inner if isinstance(ty, OptT) else ty
        if isinstance(base, SetT) and isinstance(v, SetV) and (
                isinstance(base.elem, IdT) or isinstance(base.elem, IntT) and base.elem.lo is not None):
            # members outside the element type: E501, as the explicit model checks them
            lo, hi = self.bounds(base.elem)
            outside = [m for k, m in v.mem.items() if isinstance(k, int) and not lo <= k <= hi]
            if outside:
                self.error(cx, disj(outside), "E501", f"a value outside its declared range {lo}..{hi}",
                           st.value.span)
            if isinstance(st.value, A.SetLit):     # a literal takes its context's type: look at its items
                for x in st.value.items:
                    if isinstance(base.elem, IntT) or isinstance(getattr(x, "ty", None), IntT):
                        self.range_check(self.ev(x, cx), base.elem, cx, st.value.span)
        if isinstance(base, IntT) and base.lo is not None:
            self.range_check(v, base, cx, st.value.span if st.op == "=" else st.span)
        elif isinstance(base, IdT) and isinstance(st.value.ty, IntT) and st.op == "=":
            self.range_check(v, base, cx, st.value.span)
        elif st.op == "=":
            self.tuple_check(v, ty, st.value, cx, st.value.span)
        self.store(t, v, cx, st.span)

    def store(self, t: A.Expr, v, cx: Ctx, span):
        if isinstance(t, A.Name):
            k = t.ref[0]
            if k == "local":
                cx.locals[t.id] = self.coerce(v, t.ty, cx, span)
            elif k == "field":
                f = cx.proc.fields[t.id]
                cx.set(("fld", cx.proc.name, t.id, cx.self_id), self.coerce(v, f.ty, cx, span))
            elif k == "var":
                cx.set(("var", t.id), self.coerce(v, self.ts.vars[t.id].ty, cx, span))
            return
        if isinstance(t, A.FieldAccess) and t.ref and t.ref[0] == "pfield":
            pname, fname = t.ref[1], t.ref[2]
            fty = self.ts.processes[pname].fields[fname].ty
            val = self.coerce(v, fty, cx, span)
            obj = self.ev(t.obj, cx)
            n = concrete(obj)
            lo, hi = self.ids[pname]
            if n is not NC:
                if lo <= n <= hi:
                    cx.set(("fld", pname, fname, n), val)
                else:
                    self.error(cx, TRUE, "E503", f"key {n} is not a '{pname}' id", span)
                return
            self.error(cx, disj([obj < lo, obj > hi]), "E503", f"not a '{pname}' id", span)
            for i in range(lo, hi + 1):
                key = ("fld", pname, fname, i)
                cx.set(key, ite(eq_const(obj, i), val, cx.st[key]))
            return
        if isinstance(t, A.Index) and isinstance(t.obj.ty, MapT):
            mt = t.obj.ty
            m = self.ev(t.obj, cx)
            k = self.ev(t.indices[0], cx)
            new = self.map_set(m, k, self.coerce(v, mt.val, cx, span), cx, t.span,
                               self.key_checked(t.indices[0], mt.key))
            self.store(t.obj, new, cx, span)
            return
        raise self.refuse("E601", "this assignment is not supported by the symbolic encoding", t.span)

    def send(self, st, cx: Ctx):
        msg = st.msg
        name = msg.func.id
        mt = self.ts.messages[name].ty
        vals: list = [None] * len(mt.fields)
        for a, i in zip(msg.args, msg.ref[2]):
            vals[i] = self.coerce(self.field_value(a.value, mt.fields[i][1], cx), mt.fields[i][1], cx, a.span)
        src = cx.self_id
        if isinstance(st, A.Broadcast):
            lo, hi = self.ids[cx.proc.name]
            dsts = [self.iv(j) for j in range(lo, hi + 1) if j != src]
        else:
            d = self.ev(st.to, cx)
            if isinstance(getattr(st.to, "ty", None), IntT):
                # a number names a process of an ordered id type: it must be one
                kind = self.ts.messages[name].receiver
                lo, hi = self.ids[kind]
                self.check_in(d, lo, hi, cx, st.to.span, "E506",
                              lambda n: f"there is no {kind} {n}: {kind} ids are {lo}..{hi}",
                              f"no {kind} has this id: {kind} ids are {lo}..{hi}")
            dsts = [d]
        for d in dsts:
            self.put(cx, name, src, d, vals, st.span)

    def put(self, cx: Ctx, name: str, src: int, d, vals: list, span):
        doms = self.env_fields.get(name)
        outside = "a value the symbolic encoding did not enumerate (the range analysis missed it: please report)"
        if doms is None:
            self.error(cx, TRUE, "E605", f"message '{name}' sent with {outside}", span)
            return
        mt = self.ts.messages[name].ty
        cvals = [concrete(v) for v in vals]
        for i, (v, c) in enumerate(zip(vals, cvals)):
            if c is not NC:
                if c not in doms[i]:
                    self.error(cx, TRUE, "E605", f"field '{mt.fields[i][0]}' of '{name}' sent with {outside}", span)
            elif has_free_int(mt.fields[i][1]):
                self.error(cx, neg(disj([eq_const(v, x) for x in doms[i]])), "E605",
                           f"field '{mt.fields[i][0]}' of '{name}' sent with {outside}", span)
        dn = concrete(d)
        if not self.self_send.get(name, True):
            self.error(cx, eq_const(d, src), "E605", f"'{name}' sent by a process to itself, which the symbolic "
                       "encoding did not expect (please report)", span)
        cands = [e for e in self.by_msg.get(name, ()) if e[1] == src and (dn is NC or e[2] == dn)
                 and all(c is NC or c == e[3 + i] for i, c in enumerate(cvals))]
        for e in cands:
            c = conj([eq_const(d, e[2]) if dn is NC else TRUE] +
                     [eq_const(v, e[3 + i]) for i, v in enumerate(vals) if cvals[i] is NC])
            if is_f(c):
                continue
            if self.cfg.crash:
                c = conj([c, neg(cx.st[("down", e[2])])])
            key = ("net", e)
            old = cx.st[key]
            if self.cfg.network == "set":
                cx.set(key, disj([old, c]))
            else:
                if self.width is not None:
                    self.error(cx, conj([c, old == (1 << (self.width - 1)) - 1]), "E605",
                               f"more copies of a message than {self.width} bits hold (please report)", span)
                cx.set(key, old + (self.one if is_t(c) else _ite(c, self.one, self.zero)))

    # ---- actions ----
    def build_actions(self):
        self.key_index = {k: i for i, (k, _) in enumerate(self.keys)}
        self.acts: list[Act] = []
        cfg = self.cfg
        cur = Overlay(self.cur)       # records what the enabling conditions below read

        def base(mode, pre, self_id=None, proc=None) -> Ctx:
            cx = Ctx(Overlay(self.cur, reads=set(cur.reads)), mode, self_id, proc)
            cur.reads = set()
            cx.ok = list(pre)
            cx.pc = conj(pre)
            return cx

        for p in self.gen.procs:
            lo, hi = self.ids[p.name]
            for i in range(lo, hi + 1):
                for h in p.handlers:
                    if h.kind == "message":
                        continue
                    pre = [neg(cur[("down", i)])] if cfg.crash else []
                    kind = "timeout" if h.kind == "timeout" else "action"
                    for cx, params in self.expand(h.bindings, base("handler", pre, i, p)):
                        desc = {"kind": kind, "name": h.name, "proc": i}
                        if params:
                            desc["params"] = params
                        self.run_action(h.guard, h.body, cx, desc)
        for a in self.ts.actions:
            for cx, params in self.expand(a.bindings, base("action", [])):
                self.run_action(a.guard, a.body, cx, {"kind": "action", "name": a.name, "params": params})
        first = self.first
        for e in self.envs:
            tag, src, dst = e[0], e[1], e[2]
            name = self.tag_names[tag]
            key = ("net", e)
            pre = [self.present(cur, e)]
            if cfg.partition:
                pre.append(disj([neg(cur[("part", first)]), eq(cur[("part", src)], cur[("part", dst)])]))
            removed = FALSE if cfg.network == "set" else cur[key] - 1
            pre_reads = set(cur.reads)
            msg = self.model.msg_itf(tag, e[3:])
            for p, h in self.receiver.get((name, dst), ()):
                mt = self.ts.messages[name].ty
                for kind in ("deliver", "duplicate") if cfg.duplicating else ("deliver",):
                    cur.reads = set(pre_reads)
                    cx = base("handler", pre, dst, p)
                    if kind == "deliver":
                        cx.set(key, removed)
                    for j, pn in enumerate(h.params):
                        cx.locals[pn] = self.const_sv(e[3 + j], mt.fields[j][1])
                    if h.sender:
                        cx.locals[h.sender] = self.iv(src)
                    desc = {"kind": kind, "name": name, "proc": dst, "src": src, "dst": dst, "msg": msg}
                    self.run_action(h.guard, h.body, cx, desc)
            if cfg.lossy:
                cur.reads = set(pre_reads)
                cx = base("action", pre)
                cx.set(key, removed)
                self.add(cx, {"kind": "drop", "name": name, "proc": dst, "src": src, "dst": dst, "msg": msg})
        if cfg.crash:
            for i in self.all_ids:
                cx = base("action", [neg(cur[("down", i)]), cur[("crashes",)] < cfg.crash])
                cx.set(("down", i), TRUE)
                cx.set(("crashes",), cx.st[("crashes",)] + 1)
                for e in self.envs:
                    if e[2] == i:
                        cx.set(("net", e), FALSE if cfg.network == "set" else self.zero)
                self.add(cx, {"kind": "crash", "name": "crash", "proc": i})
            if cfg.restart:
                for p in self.gen.procs:
                    lo, hi = self.ids[p.name]
                    for i in range(lo, hi + 1):
                        self.restart_actions(p, i, base("action", [cur[("down", i)]]))
        if cfg.partition and len(self.all_ids) > 1:
            rest = self.all_ids[1:]
            for r in range(0, len(rest)):
                for combo in itertools.combinations(rest, r):
                    side = {first, *combo}
                    cx = base("action", [neg(cur[("part", first)]), cur[("parts",)] < cfg.partition])
                    for i in self.all_ids:
                        cx.set(("part", i), zbool(i in side))
                    cx.set(("parts",), cx.st[("parts",)] + 1)
                    other = [i for i in self.all_ids if i not in side]
                    self.add(cx, {"kind": "partition", "name": "partition", "sides": [sorted(side), other]})
            cx = base("action", [cur[("part", first)]])
            for i in self.all_ids:
                cx.set(("part", i), FALSE)
            self.add(cx, {"kind": "heal", "name": "heal"})
        if cfg.tick is not None:
            cx = base("action", [cur[("now",)] < cfg.tick])
            cx.set(("now",), cx.st[("now",)] + 1)
            self.add(cx, {"kind": "tick", "name": "tick"})
        # actions without an actor first, then by actor: the order the reductions use
        self.acts.sort(key=lambda a: (-1 if actor(a) is None else actor(a)))

    # ---- reductions for bmc ----
    def independence(self) -> list[int]:
        """For each action, the bitmask of the actions independent of it: they commute and
        never enable or disable each other (neither writes a state variable the other
        reads or writes). Reads are what the action's overlay read; writes are the
        variables whose value it changes."""
        cur_leaves = {k: leaves(self.cur[k]) for k, _ in self.keys}
        readers: dict = {}
        writers: dict = {}
        rw = []
        for i, a in enumerate(self.acts):
            bit = 1 << i
            writes = [k for k in a.dirty
                      if any(not v.eq(o) for o, v in zip(cur_leaves[k], leaves(a.st[k])))]
            for k in a.reads:
                readers[k] = readers.get(k, 0) | bit
            for k in writes:
                writers[k] = writers.get(k, 0) | bit
            rw.append((a.reads, writes))
        full = (1 << len(self.acts)) - 1
        out = []
        for i, (reads, writes) in enumerate(rw):
            dep = 1 << i
            for k in writes:
                dep |= readers.get(k, 0) | writers.get(k, 0)
            for k in reads:
                dep |= writers.get(k, 0)
            out.append(full & ~dep)
        return out

    def symmetric_kinds(self) -> list[tuple[str, list[tuple[int, int, int]]]]:
        """Process kinds whose ids may be relabelled so that they act for the first time in
        id order: for each, [(id, first action, last action)] (actions sorted by actor).
        Only where no step names an id other than its actor's and the senders' (no
        partitions, no global actions, no ids in messages or parameters)."""
        from .types import mentions_symmetric
        if self.cfg.partition or self.ts.actions:
            return []
        out = []
        for p in self.ts.processes.values():
            if not p.idty.symmetric:
                continue
            name = p.idty.name
            if any(mentions_symmetric(m.ty) == name for m in self.ts.messages.values()):
                continue
            if any(h.bindings or any(isinstance(st, A.Choose) for st in walk_stmts(h.body))
                   for q in self.ts.processes.values() for h in q.handlers):
                continue
            lo, hi = self.ids[p.name]
            ranges = []
            for i in range(lo, hi + 1):
                ks = [k for k, a in enumerate(self.acts) if actor(a) == i]
                if ks:
                    ranges.append((i, ks[0], ks[-1]))
            out.append((name, ranges))
        return out

    def expand(self, bindings, cx: Ctx, params=None):
        """One context per value of an action's parameters (each a member of its set)."""
        params = params or {}
        if not bindings:
            yield cx, params
            return
        b, rest = bindings[0], bindings[1:]
        s = self.ev(b.src, cx)
        ety = b.src.ty.elem if isinstance(b.src.ty, SetT) else None
        for d in _sorted_keys(s.mem):
            m = s.mem[d]
            if is_f(m):
                continue
            c = cx.fork(conj([cx.pc, m]), share=False)
            c.ok.append(m)
            c.locals[b.name] = self.const_sv(d, ety) if ety is not None else self.iv(d)
            yield from self.expand(rest, c, {**params, b.name: self.model.plain(d)})

    def run_action(self, guard, body, cx: Ctx, desc: dict):
        if guard is not None:
            g = self.ev(guard, cx)
            cx.ok.append(g)
            cx.pc = conj([cx.pc, g])
        if is_f(cx.pc):
            return
        for out in self.run_body(body, cx):
            d = dict(desc)
            if out.chosen:
                d["chosen"] = [self.model.plain(x) for x in out.chosen]
            self.add(out, d)

    def add(self, cx: Ctx, desc: dict):
        g = conj(cx.ok)
        if is_f(g):
            return
        self.acts.append(Act(desc, g, cx.errs, cx.st, cx.dirty, cx.chosen, set(cx.st.reads)))

    def init_alternatives(self, init, ty: Ty, cx: Ctx, span) -> list[tuple[Any, Any]]:
        if init is None:
            return [(self.const_sv(self.default_c(ty), ty), TRUE)]
        if init.kind == "value":
            return [(self.coerce(self.checked_init_value(init, ty, cx), ty, cx, span), TRUE)]
        if init.kind == "in":
            s = self.checked_init_set(init, ty, cx)
            return [(self.coerce(self.const_sv(d, ty), ty), s.mem[d]) for d in _sorted_keys(s.mem)
                    if not is_f(s.mem[d])]
        return [(self.const_sv(d, ty), TRUE) for d in self.dom(ty, span)]

    def init_bounds(self, init, ty: Ty) -> tuple[int, int] | None:
        """The range an initial value is checked against (E501), as the explicit model's
        store_check: an int with a declared range, or an id given by an int."""
        base = ty.inner if isinstance(ty, OptT) else ty
        if isinstance(base, IntT) and base.lo is not None:
            return self.bounds(base)
        if isinstance(base, IdT) and isinstance(init.expr.ty, IntT):
            return self.bounds(base)
        return None

    def checked_init_value(self, init, ty: Ty, cx: Ctx):
        """The value of `= expr`: E501 where it is outside the declared range."""
        v = self.ev(init.expr, cx)
        b = self.init_bounds(init, ty)
        if b is not None and v is not NONE and not isinstance(v, Opt):
            lo, hi = b
            self.check_in(v, lo, hi, cx, init.expr.span, "E501",
                          lambda n: f"value {n} is outside its declared range {lo}..{hi}",
                          f"a value outside its declared range {lo}..{hi}")
        self.tuple_check(v, ty, init.expr, cx, init.expr.span)
        return v

    def checked_init_set(self, init, ty: Ty, cx: Ctx) -> SetV:
        """The set of `in expr`: E501 where one of its members is outside the declared
        range (the explicit model raises on such a member as it enumerates the set). A set
        written out (`{a, b}`, `a..b`) is checked member by member before it is encoded:
        its encoding enumerates only the values of its element type, which may be the
        declared range itself."""
        e = init.expr
        b = self.init_bounds(init, ty)
        if b is None:
            return self.ev(e, cx)
        lo, hi = b
        span = e.span
        unknown = f"a value outside its declared range {lo}..{hi}"
        late: list = []                   # symbolic members, checked after the constant ones
        if isinstance(e, A.SetLit) and e.items and not isinstance(e.ty, MapT):
            vals = [(self.ev(x, cx), TRUE) for x in e.items]
            late = [disj([v < lo, v > hi]) for v, _ in vals
                    if isinstance(v, (z3.ArithRef, z3.BitVecRef)) and num(v) is None]
            s = self.build_set(vals, e.ty.elem if isinstance(e.ty, SetT) else e.items[0].ty, cx, span)
        elif isinstance(e, A.RangeExpr):
            a, z = self.ev(e.lo, cx), self.ev(e.hi, cx)
            if num(a) is None or num(z) is None:
                late = [conj([a <= z, disj([a < lo, z > hi])])]
            s = self.int_set(a, z, cx, span)
        else:
            s = self.ev(e, cx)
        for d in _sorted_keys(s.mem):
            m = s.mem[d]
            if isinstance(d, int) and not isinstance(d, bool) and not lo <= d <= hi and not is_f(m):
                self.error(cx, m, "E501", f"value {d} is outside its declared range {lo}..{hi}", span)
        for c in late:
            self.error(cx, c, "E501", unknown, span)
        return s

    def restart_actions(self, p: ProcessInfo, i: int, cx: Ctx):
        """restart i: durable fields kept, volatile ones back to their initial values (one
        action per combination of nondeterministic initial values)."""
        cx.set(("down", i), FALSE)
        alts = [(cx, {})]
        for f in p.fields.values():
            key = ("fld", p.name, f.name, i)
            volatile = not f.durable or (p.name, f.name) in self.cfg.volatile
            nxt = []
            for c, fl in alts:
                if not volatile:
                    nxt.append((c, {**fl, f.name: c.st[key]}))
                    continue
                ic = Ctx(c.st, "init", i, p)
                ic.init_fields, ic.init_vars = fl, {}
                ic.errs, ic.pc = c.errs, c.pc
                opts = self.init_alternatives(f.decl.init, f.ty, ic, f.decl.span)
                for v, m in opts:
                    c2 = c.fork(conj([c.pc, m]), share=False) if len(opts) > 1 else c
                    if len(opts) > 1:
                        c2.ok.append(m)
                    c2.set(key, v)
                    nxt.append((c2, {**fl, f.name: v}))
            alts = nxt
            if len(alts) > 256:
                raise self.refuse("E603", f"restart of '{p.name}' has more than 256 combinations of initial "
                                  "values", f.decl.span)
        for c, _ in alts:
            self.add(c, {"kind": "restart", "name": "restart", "proc": i})

    # ---- initial states, properties, the step relation ----
    def init_constraints(self, s: dict) -> tuple[list, list]:
        """Constraints that make s an initial state, and the errors evaluating them may raise.
        Each error's condition carries the constraints on the values chosen before it: the
        explicit model enumerates initial values in this order and raises at the first
        error, whether or not later values can be chosen (so ask about the errors alone)."""
        cons: list = []
        errs: list = []
        ivars: dict[str, Any] = {}

        def one(init, ty, x, cx, span):
            before, n = list(cons), len(errs)
            cx.errs = errs
            cons.extend(self.init_constraint(init, ty, x, cx, span))
            for k in range(n, len(errs)):
                errs[k] = (conj(before + [errs[k][0]]),) + tuple(errs[k][1:])

        for v in self.ts.vars.values():
            key = ("var", v.name)
            cx = Ctx(s, "init")
            cx.init_vars, cx.init_fields = dict(ivars), {}
            one(v.decl.init, v.ty, s[key], cx, v.decl.span)
            ivars[v.name] = s[key]
        for p in self.gen.procs:
            lo, hi = self.ids[p.name]
            for i in range(lo, hi + 1):
                fl: dict[str, Any] = {}
                for f in p.fields.values():
                    key = ("fld", p.name, f.name, i)
                    cx = Ctx(s, "init", i, p)
                    cx.init_vars, cx.init_fields = dict(ivars), dict(fl)
                    one(f.decl.init, f.ty, s[key], cx, f.decl.span)
                    fl[f.name] = s[key]
        for k, ty in self.keys:
            if k[0] == "net":
                cons.append(neg(s[k]) if self.cfg.network == "set" else s[k] == 0)
            elif ty == BIT:
                cons.append(neg(s[k]))
            elif ty == COUNTER:
                cons.append(s[k] == 0)
        return cons, errs

    def init_constraint(self, init, ty: Ty, x, cx: Ctx, span) -> list:
        if init is None:
            return [eq(x, self.const_sv(self.default_c(ty), ty))] + self.wf(ty, x)
        if init.kind == "value":
            return [eq(x, self.coerce(self.checked_init_value(init, ty, cx), ty, cx, span))] + self.wf(ty, x)
        if init.kind == "in":
            return [self.member(self.checked_init_set(init, ty, cx), x)] + self.wf(ty, x)
        return self.wf(ty, x)

    def prop_terms(self, prop: A.Property, s: dict, old: dict | None = None) -> list:
        return self.prop_terms_errs(prop, s, old)[0]

    def prop_terms_errs(self, prop: A.Property, s: dict, old: dict | None = None) -> tuple[list, list]:
        """The property's conjuncts on s, and the conditions under which evaluating them
        raises (max of an empty set, a division by zero, a key outside a map's domain):
        as (condition, code, message, span), like an action's errors."""
        cx = Ctx(s, "prop", old=old)
        return [self.ev(c, cx) for c in prop.conjuncts], cx.errs

    def step_formula(self, sel) -> tuple[Any, Any, Any]:
        """(the step relation cur -> nxt with selector sel, enabled(cur), error(cur))."""
        cur, nxt = self.cur, self.nxt
        sels = [sel == k for k in range(len(self.acts))]
        cons = []
        chains: dict[tuple, list] = {}
        cur_leaves = {k: leaves(cur[k]) for k, _ in self.keys}
        enabled, errors = [], []
        for n, a in enumerate(self.acts):
            err = disj([e[0] for e in a.errs])
            cons.append(implies(sels[n], conj([a.guard, neg(err)])))
            enabled.append(conj([a.guard, neg(err)]))
            errors.append(err)
            for k in self._order(a.dirty):
                new = leaves(a.st[k])
                old = cur_leaves[k]
                assert len(new) == len(old), k
                for j, (o, v) in enumerate(zip(old, new)):
                    if not v.eq(o):
                        chains.setdefault((k, j), []).append((n, v))
        for k, _ in self.keys:
            for j, (o, t) in enumerate(zip(cur_leaves[k], leaves(nxt[k]))):
                expr = o
                for n, v in reversed(chains.get((k, j), [])):
                    expr = _ite(sels[n], v, expr)
                cons.append(_eqz(t, expr))
        return conj(cons), disj(enabled), disj(errors)

    def range_facts(self, s: dict) -> list:
        """The range analysis' intervals, as constraints on a state."""
        out = []
        for key, ab in self.ranges.G.items():
            if key[0] == "var":
                self._facts(self.ts.vars[key[1]].ty, ab, s[key], out)
            elif key[0] == "fld":
                lo, hi = self.ids[key[1]]
                ty = self.ts.processes[key[1]].fields[key[2]].ty
                for i in range(lo, hi + 1):
                    self._facts(ty, ab, s[("fld", key[1], key[2], i)], out)
        return out

    def _facts(self, ty, ab, v, out):
        if isinstance(ty, IntT) and ty.lo is None:
            if isinstance(ab, Iv):
                if ab.lo is not None:
                    out.append(v >= ab.lo)
                if ab.hi is not None:
                    out.append(v <= ab.hi)
            return
        if isinstance(ty, OptT):
            sub: list = []
            if ab is BOT:
                out.append(neg(v.some))
                return
            self._facts(ty.inner, ab, v.val, sub)
            out.extend(implies(v.some, c) for c in sub)
        elif isinstance(ty, (TupleT, RecordT)):
            items = ty.items if isinstance(ty, TupleT) else [t for _, t in ty.fields]
            for i, t in enumerate(items):
                self._facts(t, ab[i] if isinstance(ab, tuple) and i < len(ab) else TOP, v.items[i], out)
        elif isinstance(ty, SetT) and has_free_int(ty.elem):
            for d, m in v.mem.items():
                if not _within(ty.elem, ab, d):
                    out.append(neg(m))
        elif isinstance(ty, MapT):
            for x in v.vals:
                self._facts(ty.val, ab, x, out)

    # ---- back to explicit states ----
    def decode_val(self, ty: Ty, v, m: z3.ModelRef):
        if isinstance(ty, BoolT):
            return zval(v, m)
        if isinstance(ty, (IntT, IdT, EnumT)):
            return zval(v, m)
        if isinstance(ty, OptT):
            return self.decode_val(ty.inner, v.val, m) if zval(v.some, m) else ()
        if isinstance(ty, TupleT):
            return tuple(self.decode_val(t, x, m) for t, x in zip(ty.items, v.items))
        if isinstance(ty, RecordT):
            return tuple(self.decode_val(t, x, m) for (_, t), x in zip(ty.fields, v.items))
        if isinstance(ty, SetT):
            return frozenset(d for d, b in v.mem.items() if zval(b, m))
        if isinstance(ty, MapT):
            return tuple(self.decode_val(ty.val, x, m) for x in v.vals)
        raise TypeError(ty)  # pragma: no cover

    def decode(self, s: dict, m: z3.ModelRef) -> tuple:
        out = []
        for sl in self.model.layout.slots:
            if sl.kind == "var":
                out.append(self.decode_val(sl.ty, s[("var", sl.name)], m))
            elif sl.kind == "field":
                lo, hi = self.ids[sl.proc]
                out.append(tuple(self.decode_val(sl.ty, s[("fld", sl.proc, sl.field, i)], m)
                                 for i in range(lo, hi + 1)))
            elif sl.kind == "network":
                if self.cfg.network == "set":
                    out.append(frozenset(e for e in self.envs if zval(s[("net", e)], m)))
                else:
                    out.append(frozenset(e + (k,) for e in self.envs
                                         for k in range(1, zval(s[("net", e)], m) + 1)))
            elif sl.kind in ("down", "partition"):
                k = "down" if sl.kind == "down" else "part"
                out.append(frozenset(i for i in self.all_ids if zval(s[(k, i)], m)))
            else:
                k = {"crashes": "crashes", "partitions": "parts", "now": "now"}[sl.kind]
                out.append(zval(s[(k,)], m))
        return tuple(out)

    def substitution(self, frm: dict, to: dict) -> list:
        return list(zip(self.state_leaves(frm), self.state_leaves(to)))


def _bounded(ty: Ty, ab) -> bool:
    if isinstance(ty, IntT) and ty.lo is None:
        return ab is BOT or (isinstance(ab, Iv) and ab.finite)
    if isinstance(ty, (TupleT, RecordT)):
        items = ty.items if isinstance(ty, TupleT) else [t for _, t in ty.fields]
        return all(_bounded(t, ab[i] if isinstance(ab, tuple) and i < len(ab) else TOP) for i, t in enumerate(items))
    if isinstance(ty, (OptT, MapT)):
        return _bounded(ty.inner if isinstance(ty, OptT) else ty.val, ab)
    return True                           # sets: finite domains; bools, enums, ids: typed


def actor(a: Act) -> int | None:
    """The process a step is about (deliveries, drops: the receiver)."""
    d = a.desc
    if d["kind"] in ("deliver", "duplicate", "drop"):
        return d["dst"]
    return d.get("proc")


def _within(ty: Ty, ab, c) -> bool:
    """Do the free ints of the concrete value c lie in the abstract value ab?"""
    if ab is BOT:
        return False
    if isinstance(ty, IntT) and ty.lo is None:
        if not isinstance(ab, Iv):
            return True
        return (ab.lo is None or c >= ab.lo) and (ab.hi is None or c <= ab.hi)
    if isinstance(ty, OptT):
        return c == () or _within(ty.inner, ab, c)
    if isinstance(ty, (TupleT, RecordT)):
        items = ty.items if isinstance(ty, TupleT) else [t for _, t in ty.fields]
        return all(_within(t, ab[i] if isinstance(ab, tuple) and i < len(ab) else TOP, c[i])
                   for i, t in enumerate(items))
    return True


def _ivs(val):
    if isinstance(val, Iv):
        yield val
    elif isinstance(val, tuple):
        for x in val:
            yield from _ivs(x)


# ======================================================================================
# Bounded model checking
# ======================================================================================

class ReplayError(Exception):
    """A symbolic run the explicit model does not take: a bug in the encoding."""


@dataclass
class BmcResult:
    verdict: str                       # holds | violated | deadlock | error
    depth: int                         # the depth reached (or of the violation)
    per_depth: list[float]             # seconds to clear each depth
    seconds: float
    kind: str | None = None            # invariant | transition | final | deadlock | error
    prop: str | None = None
    states: list[tuple] | None = None
    labels: list | None = None
    error: Any = None                  # the EvalError of an `error` verdict
    actions: int = 0
    variables: int = 0
    witnessed: dict = field(default_factory=dict)      # reachable property -> least depth it holds at
    not_witnessed: list = field(default_factory=list)  # reachable properties not seen up to the depth


class System:
    """The encoder's formulas, instantiated over fresh states depth by depth."""

    def __init__(self, enc: Encoder):
        self.enc = enc
        self.sel, rng = enc.selector("sel", len(enc.acts))
        self.step, self.enabled, self.errors = enc.step_formula(self.sel)
        self.step = conj([rng, self.step])
        self.indep: dict[int, int] | None = None
        self.sym: list | None = None

    def reductions(self):
        if self.indep is None:
            enc = self.enc
            self.nf_template = None
            self.indep = {a: m for a, m in enumerate(enc.independence()) if m}
            self.sym = enc.symmetric_kinds()

    def in_set(self, sel, mask: int):
        """sel is one of the actions in the bitmask (as ranges of consecutive indices)."""
        bits = bin(mask)[2:][::-1]
        parts = []
        for m in re.finditer("1+", bits):
            lo, hi = m.start(), m.end() - 1
            if lo == hi:
                parts.append(sel == lo)
            elif self.enc.width is not None:
                parts.append(conj([z3.ULE(lo, sel), z3.ULE(sel, hi)]))
            else:
                parts.append(conj([sel >= lo, sel <= hi]))
        return disj(parts)

    def normal_form(self, sels: list, j: int, movable: list | None) -> tuple[Any, list]:
        """Step j takes action a only if a cannot move back, past steps it is independent
        of, before a greater action (the lexicographic normal form of Anisimov and Knuth:
        one run per class of runs that differ in the order of independent steps).
        movable[i] holds: action acts_nf[i] could move back past the steps before j to a
        greater action. Built once over placeholders, then instantiated per step."""
        if self.nf_template is None:
            enc = self.enc
            prev, _ = enc.selector("nf_prev", len(enc.acts))
            cur, _ = enc.selector("nf_cur", len(enc.acts))
            self.acts_nf = sorted(self.indep)
            mp = [z3.Bool(f"nf_m{a}") for a in self.acts_nf]
            mc = [z3.Bool(f"nf_n{a}") for a in self.acts_nf]
            out = []
            for a, m_prev, m_now in zip(self.acts_nf, mp, mc):
                mask = self.indep[a]
                ind = self.in_set(prev, mask)
                gt = self.in_set(prev, mask >> (a + 1) << (a + 1))
                out.append(m_now == disj([gt, conj([ind, m_prev])]))
                out.append(implies(cur == a, neg(m_now)))
            self.nf_template = (conj(out), prev, cur, mp, mc)
        f, prev, cur, mp, mc = self.nf_template
        now = [z3.Bool(f"movable{a}@{j}") for a in self.acts_nf]
        pairs = [(prev, sels[j - 1]), (cur, sels[j])] + list(zip(mc, now))
        pairs += list(zip(mp, movable if movable is not None else [FALSE] * len(mp)))
        return z3.substitute(f, *pairs), now

    def first_actions(self, sels: list, d: int, acted: dict) -> list:
        """Step d: a process acts for the first time only after every lower id of its
        (symmetric) kind has acted. `acted` holds, per id, whether it has acted so far."""
        out = []
        sel = sels[d]
        for _, ranges in self.sym:
            prev = None
            for i, lo, hi in ranges:
                now = z3.Bool(f"acted{i}@{d}")
                here = conj([z3.ULE(lo, sel), z3.ULE(sel, hi)]) if self.enc.width is not None \
                    else conj([sel >= lo, sel <= hi])
                out.append(now == disj([acted.get(i, FALSE), here]))
                if prev is not None:
                    out.append(implies(here, acted.get(prev, FALSE)))
                acted[i] = now
                prev = i
        return out

    def at(self, f, frm: dict, to: dict | None = None, sel=None):
        enc = self.enc
        pairs = enc.substitution(enc.cur, frm)
        if to is not None:
            pairs += enc.substitution(enc.nxt, to)
        if sel is not None:
            pairs.append((self.sel, sel))
        return z3.substitute(f, *pairs) if pairs else f


def bmc(enc: Encoder, depth: int, on_depth=None) -> BmcResult:
    t0 = time.perf_counter()
    sysm = System(enc)
    ts = enc.ts
    mine = [p for p in ts.properties if enc.cfg.checks(p.name)]
    invs = [p for p in mine if p.kind == "invariant"]
    trans = [p for p in mine if p.kind == "transition"]
    finals = [p for p in mine if p.kind == "final"]
    # `reachable` properties: the least depth each holds at (a witness, as `check` reports it)
    reach_t = [(p, enc.prop_terms_errs(p, enc.cur)[0]) for p in mine if p.kind == "reachable"]
    inv_t, tr_t, fin_t, prop_errs = [], [], [], []     # prop_errs: (property, its errors, on a step)
    for props, out, on_step in ((invs, inv_t, False), (trans, tr_t, True), (finals, fin_t, False)):
        for p in props:
            terms, errs = enc.prop_terms_errs(p, enc.nxt if on_step else enc.cur, old=enc.cur if on_step else None)
            out.append((p, terms))
            if errs:
                prop_errs.append((p, errs, on_step))
    deadlock = bool(finals) or enc.cfg.check_deadlock
    sysm.reductions()
    lag = 1 if trans else 0      # a transition property judges the last step: never reorder it
    acted: dict = {}
    movable = None
    solver = z3.SolverFor(SOLVER_LOGIC) if enc.width is not None else z3.Solver()
    states = [enc.fresh_state("s0")]
    sels: list = [None]
    init, init_errs = enc.init_constraints(states[0])
    per: list[float] = []
    res = BmcResult("holds", depth, per, 0.0, actions=len(enc.acts), variables=len(enc.state_leaves(enc.cur)))

    def found(verdict, kind, prop, d, m):
        res.verdict, res.kind, res.prop, res.depth = verdict, kind, prop, d
        res.states = [enc.decode(s, m) for s in states[:d + 1]]
        res.sel_values = [None] + [zval(x, m) for x in sels[1:d + 1]]
        return res

    queries = [0]

    def sat(*fs) -> z3.ModelRef | None:
        # an assumption literal rather than push/pop keeps what the solver learnt
        q = z3.Bool(f"query{queries[0]}")
        queries[0] += 1
        solver.add(implies(q, conj(list(fs))))
        r = solve(solver, q)
        m = solver.model() if r == z3.sat else None
        solver.add(neg(q))
        if r == z3.unknown:  # pragma: no cover
            _gave_up(solver)
        return m

    # an error computing the initial states comes before them (and before `check`'s first
    # state): its condition holds the constraints on the values chosen before it
    if init_errs:
        m = sat(disj([e[0] for e in init_errs]))
        if m is not None:
            res.error = _first_init_error(init_errs, m)
            return _finish(found("error", "error", None, 0, m), t0)
    solver.add(*init)
    lap = time.perf_counter()
    for d in range(depth + 1):
        if d > 0:
            s = enc.fresh_state(f"s{d}")
            sel, _ = enc.selector(f"sel{d}", len(enc.acts))
            solver.add(sysm.at(sysm.step, states[-1], s, sel))
            states.append(s)
            sels.append(sel)
            solver.add(*sysm.first_actions(sels, d, acted))
            if d - lag >= 2 and sysm.indep:
                f, movable = sysm.normal_form(sels, d - lag, movable)
                solver.add(f)
        s = states[d]
        # one query per depth: can anything be wrong here? Then which (in BFS's order)
        cands: list[tuple[str, Any, Any]] = []
        cands += [("invariant", p, neg(conj(sysm.at(c, s) for c in terms))) for p, terms in inv_t]
        if d > 0:
            cands += [("transition", p, neg(conj(sysm.at(c, states[d - 1], s) for c in terms)))
                      for p, terms in tr_t]
        if deadlock:
            stuck = neg(sysm.at(sysm.enabled, s))
            cands += [("final", p, conj([stuck, neg(conj(sysm.at(c, s) for c in terms))])) for p, terms in fin_t]
            if enc.cfg.check_deadlock:
                cands.append(("deadlock", None, stuck))
        cands.append(("error", None, sysm.at(sysm.errors, s)))
        # evaluating a property raises (as `elect check` reports it: an error, not a verdict;
        # first, since the property's value means nothing there)
        perr = []
        for p, errs, on_step in prop_errs:
            if on_step and d == 0:
                continue
            at = [sysm.at(e[0], states[d - 1], s) if on_step else sysm.at(e[0], s) for e in errs]
            if p.kind == "final":
                at = [conj([neg(sysm.at(sysm.enabled, s)), c]) for c in at]
            perr.append(("property-error", (p, errs, at), disj(at)))
        cands = perr + cands
        m = sat(disj([f for _, _, f in cands]))
        if m is not None:
            kind, p, _ = next(c for c in cands if zval(c[2], m))
            if kind == "error":
                found("error", "error", None, d, m)
                res.error = _which_error(enc, sysm, s, m)
                return _finish(res, t0)
            if kind == "property-error":
                prop, errs, at = p
                found("error", "error", None, d, m)
                res.error = _tag_error(prop, next(e for e, c in zip(errs, at) if zval(c, m)))
                return _finish(res, t0)
            verdict = "violated" if kind in ("invariant", "transition") else "deadlock"
            return _finish(found(verdict, kind, p.name if p is not None else None, d, m), t0)
        for p, terms in reach_t:
            if p.name not in res.witnessed and sat(conj([sysm.at(c, s) for c in terms])) is not None:
                res.witnessed[p.name] = d
        now = time.perf_counter()
        per.append(now - lap)
        lap = now
        if on_depth is not None:
            on_depth(d, per[-1])
    res.not_witnessed = [p.name for p, _ in reach_t if p.name not in res.witnessed]
    return _finish(res, t0)


def _which_error(enc: Encoder, sysm: System, s: dict, m: z3.ModelRef):
    """(action description, condition, code, message, span) of an error possible in s."""
    for a in enc.acts:
        for e in a.errs:
            if zval(sysm.at(e[0], s), m):
                return (a.desc,) + tuple(e)
    return None


def _finish(res: BmcResult, t0: float) -> BmcResult:
    res.seconds = time.perf_counter() - t0
    return res


def replay(enc: Encoder, states: list[tuple]) -> list:
    """The labels of the explicit model's steps through `states`; ReplayError if it does not
    take them."""
    model = enc.model
    if states[0] not in model.init_states():
        raise ReplayError("the first state of the symbolic run is not an initial state of the explicit model")
    labels: list = [None]
    for i in range(1, len(states)):
        lab = model.find_step(states[i - 1], states[i])
        if lab is None:
            raise ReplayError(f"step {i} of the symbolic run is not a step of the explicit model")
        labels.append(lab)
    return labels


def confirm(enc: Encoder, res: BmcResult) -> bool:
    """Does the explicit model agree that the run's last state (or step) is a violation?"""
    model = enc.model
    st = res.states
    if res.kind == "invariant":
        p = next(p for p in model.properties if p.name == res.prop)
        return not p.check(st[-1])
    if res.kind == "transition":
        p = next(p for p in model.properties if p.name == res.prop)
        return not p.check(st[-2], st[-1])
    if res.kind in ("final", "deadlock"):
        if model.successors(st[-1]):
            return False
        if res.kind == "final":
            p = next(p for p in model.properties if p.name == res.prop)
            return not p.check(st[-1])
        return True
    return True


# ======================================================================================
# Inductive invariants
# ======================================================================================

@dataclass
class Broken:
    prop: str
    conjunct: int | None
    text: str


@dataclass
class ProveResult:
    verdict: str                          # proved | fails-initially | not-inductive | error
    invariants: list[str]
    helpers: list[str]
    seconds: float
    seconds_init: float = 0.0
    seconds_step: float = 0.0
    before: tuple | None = None
    after: tuple | None = None
    step: dict | None = None
    label: Any = None
    broken: list[Broken] = field(default_factory=list)
    explicit_agrees: bool | None = None
    error: Any = None
    actions: int = 0
    variables: int = 0


def new_solver(enc: Encoder):
    return z3.SolverFor(SOLVER_LOGIC) if enc.width is not None else z3.Solver()


def small_model(enc: Encoder, s, st: dict, rounds: int = 50) -> z3.ModelRef:
    """A model of s (known sat) with few messages in flight in st: assume every message
    absent, and give up the assumptions in each unsat core until the rest is consistent
    (a small counterexample to induction is one a reader can follow)."""
    absent = [neg(enc.present(st, e)) for e in enc.envs]
    if not absent:
        return s.model()
    lits = []
    for i, a in enumerate(absent):
        q = z3.Bool(f"absent{i}")
        s.add(implies(q, a))
        lits.append(q)
    keep = list(lits)
    try:
        s.set("core.minimize", True)
    except z3.Z3Exception:  # pragma: no cover - a solver without the option
        pass
    for _ in range(rounds):
        r = solve(s, *keep)
        if r == z3.sat:
            return s.model()
        if r != z3.unsat:
            break
        core = {c.get_id() for c in s.unsat_core()}
        if not core:
            break
        keep = [q for q in keep if q.get_id() not in core]
    solve(s)
    return s.model()


def conjunct_text(ts: TypedSpec, c: A.Expr) -> str:
    return span_text(ts.source, c.span)


def prove(enc: Encoder, invariants: list[A.Property], helpers: list[A.Property]) -> ProveResult:
    t0 = time.perf_counter()
    ts = enc.ts
    targets: list[A.Property] = []
    for p in invariants + helpers:
        if p not in targets:
            targets.append(p)
    res = ProveResult("proved", [p.name for p in invariants], [p.name for p in helpers if p not in invariants], 0.0,
                      actions=len(enc.acts), variables=len(enc.state_leaves(enc.cur)))
    cur, nxt = enc.cur, enc.nxt
    terms_cur, errs_cur = _prop_terms_errs(enc, targets, cur)
    # 0. computing the initial states raises (as `elect check` reports before any state)
    init, init_errs = enc.init_constraints(cur)
    if init_errs:
        s = new_solver(enc)
        s.add(disj([e[0] for e in init_errs]))
        if solve(s) == z3.sat:
            m = s.model()
            res.verdict = "error"
            res.error = _first_init_error(init_errs, m)
            res.seconds = res.seconds_init = time.perf_counter() - t0
            return res
    # 1. every initial state: evaluating them raises in none (as `elect check` would report)...
    if errs_cur:
        s = new_solver(enc)
        s.add(*init)
        s.add(disj([e[1] for e in errs_cur]))
        if solve(s) == z3.sat:
            m = s.model()
            res.verdict = "error"
            res.after = enc.decode(cur, m)
            res.error = next(e for e in errs_cur if zval(e[1], m))
            res.seconds = res.seconds_init = time.perf_counter() - t0
            return res
    # ... and they hold
    s = new_solver(enc)
    s.add(*init)
    s.add(disj([neg(t) for _, _, t in terms_cur]))
    r = solve(s)
    res.seconds_init = time.perf_counter() - t0
    if r == z3.sat:
        m = s.model()
        res.verdict = "fails-initially"
        res.after = enc.decode(cur, m)
        res.broken = [Broken(p.name, j if len(p.conjuncts) > 1 else None, conjunct_text(ts, p.conjuncts[j]))
                      for p, j, t in terms_cur if not zval(t, m)]
        res.seconds = time.perf_counter() - t0
        return res
    # 2. every step from a state where all of them hold
    t1 = time.perf_counter()
    sysm = System(enc)
    hyp = enc.state_wf(cur) + enc.range_facts(cur) + [t for _, _, t in terms_cur]
    terms_nxt, errs_nxt = _prop_terms_errs(enc, targets, nxt)
    facts_nxt = [(f, "range") for f in enc.range_facts(nxt)] + [(f, "structure") for f in enc.state_wf(nxt)]
    s = new_solver(enc)
    s.add(*hyp)
    s.push()
    s.add(sysm.errors)
    if solve(s) == z3.sat:
        m = s.model()
        res.verdict = "error"
        res.before = enc.decode(cur, m)
        res.error = _which_error(enc, sysm, cur, m)
        res.seconds = time.perf_counter() - t0
        return res
    s.pop()
    s.add(sysm.step)
    # evaluating them after the step raises in no case
    if errs_nxt:
        s.push()
        s.add(disj([e[1] for e in errs_nxt]))
        if solve(s) == z3.sat:
            m = s.model()
            res.verdict = "error"
            res.before, res.after = enc.decode(cur, m), enc.decode(nxt, m)
            res.error = next(e for e in errs_nxt if zval(e[1], m))
            res.label = _find_step(enc.model, res.before, res.after)
            res.step = enc.model.action_itf(res.label, res.before, res.after) if res.label is not None \
                else enc.acts[zval(sysm.sel, m)].desc
            res.seconds = time.perf_counter() - t0
            return res
        s.pop()
    s.add(disj([neg(t) for _, _, t in terms_nxt] + [neg(f) for f, _ in facts_nxt]))
    r = solve(s)
    res.seconds_step = time.perf_counter() - t1
    if r == z3.unsat:
        res.seconds = time.perf_counter() - t0
        return res
    if r == z3.unknown:  # pragma: no cover
        _gave_up(s)
    m = small_model(enc, s, cur)
    res.seconds = time.perf_counter() - t0
    res.verdict = "not-inductive"
    res.before = enc.decode(cur, m)
    res.after = enc.decode(nxt, m)
    k = zval(sysm.sel, m)
    res.step = enc.acts[k].desc
    res.label = _find_step(enc.model, res.before, res.after)
    res.explicit_agrees = res.label is not None
    if res.label is not None:
        # show the step the explicit model takes between the two states (in a long-lived
        # process z3's selector was seen naming another action than the one shown)
        res.step = enc.model.action_itf(res.label, res.before, res.after)
    res.broken = [Broken(p.name, j if len(p.conjuncts) > 1 else None, conjunct_text(ts, p.conjuncts[j]))
                  for p, j, t in terms_nxt if not zval(t, m)]
    for f, what in facts_nxt:
        if not zval(f, m):
            res.broken.append(Broken(f"({what})", None, str(f)))
    return res


# ======================================================================================
# The commands
# ======================================================================================

def _first_init_error(init_errs: list, m: z3.ModelRef) -> tuple:
    """The first error computing the initial states that model m makes happen, as a
    BmcResult/ProveResult error: (None, condition, code, message, span)."""
    return (None,) + tuple(next(e for e in init_errs if zval(e[0], m)))


_INTERRUPTED: list[bool] = []     # Ctrl-C seen while z3 works (see ctrl_c_stops_z3)


def stop_if_interrupted() -> None:
    """KeyboardInterrupt here, in our own code, when Ctrl-C came while z3 or the encoder
    worked (not inside z3's ctypes calls, where it became exit 3 or was ignored)."""
    if _INTERRUPTED:
        raise KeyboardInterrupt


def solve(solver, *assumptions):
    """solver.check, stopping after it when Ctrl-C came during it."""
    r = solver.check(*assumptions)
    stop_if_interrupted()
    return r


@contextmanager
def ctrl_c_stops_z3():
    """While bmc or prove runs (loading and encoding included): a first Ctrl-C asks z3 to
    stop (its check then returns and `solve` raises KeyboardInterrupt, which the command
    reports with what it covered); a second one ends the process at once (exit 14)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(signum, frame):
        if _INTERRUPTED:        # a second Ctrl-C: now, wherever this is (maybe inside z3)
            sys.stdout.flush()
            print("interrupted", file=sys.stderr, flush=True)
            os._exit(14)
        _INTERRUPTED.append(True)
        z3.main_ctx().interrupt()
    _INTERRUPTED.clear()
    old = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        _INTERRUPTED.clear()


def _gave_up(solver):
    """z3 answered `unknown`: Ctrl-C (z3 catches SIGINT itself) or a real give-up."""
    why = solver.reason_unknown()
    if "interrupted" in why or "canceled" in why:
        raise KeyboardInterrupt
    raise RuntimeError(f"z3 gave up: {why}")


def load(args, bitvec_depth: int | None = None, prove: bool = False):
    from .api import load_model, load_spec
    ts = load_spec(args.spec)
    model = load_model(args.spec, args.model, args.defines, ts=ts)
    return ts, model, Encoder(ts, model.config, model, bitvec_depth, prove)


def _usage(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 2


def trace_path(args, prop: str) -> Path:
    from .api import spec_stem
    base = Path(args.out) if getattr(args, "out", None) else Path("traces") / "counterexamples" / spec_stem(args.spec)
    return base / f"{prop}.bmc.itf.json"


def bmc_command(spec: str, cfg, depth: int) -> str:
    from .api import check_command
    return check_command(spec, cfg).replace("elect check", "elect bmc", 1) + f" --depth {depth}"


def cmd_bmc(args) -> int:
    with ctrl_c_stops_z3():
        try:
            return _cmd_bmc(args)
        except KeyboardInterrupt:
            return _stopped_loading(args, "bmc")


def _cmd_bmc(args) -> int:
    from .diagnostics import EvalError
    if args.depth < 0:
        return _usage(f"elect bmc: --depth must be 0 or more, found {args.depth}")
    ts, model, enc = load(args, bitvec_depth=args.depth)
    cfg = model.config
    out = sys.stdout
    if not args.json:
        print(f"{args.spec}, model {cfg.name}: {cfg.describe()}", file=out)
        print(f"bmc: {len(enc.acts)} actions, {len(enc.state_leaves(enc.cur))} state variables", file=out,
              flush=True)

    done = [-1]

    def on_depth(d, sec):
        done[0] = d
        if not args.json:
            print(f"depth {d}: no violation ({sec:.2f}s)", file=out, flush=True)
        stop_if_interrupted()
    try:
        stop_if_interrupted()        # Ctrl-C while loading
        res = bmc(enc, args.depth, on_depth)
    except KeyboardInterrupt:
        covered = f"no violation up to depth {done[0]}" if done[0] >= 0 else "no depth finished"
        if args.json:
            print(json.dumps({"engine": "bmc", "spec": args.spec, "model": cfg.name, "verdict": "limit",
                              "stopped": "interrupted", "depth": done[0]}, sort_keys=True))
        else:
            print(f"stopped by Ctrl-C before a verdict: {covered}", file=out)
        return 14
    if res.verdict == "holds":
        if args.json:
            print(json.dumps(_bmc_json(args, cfg, res), sort_keys=True))
        else:
            props = [p.name for p in ts.properties if p.kind in ("invariant", "transition", "final")
                     and cfg.checks(p.name)]
            print(f"holds up to depth {args.depth}: {', '.join(props) or 'no properties'} "
                  f"({res.seconds:.2f}s)", file=out)
            for name, d in res.witnessed.items():
                print(f"  reachable {name}: witnessed at depth {d}", file=out)
            for name in res.not_witnessed:
                print(f"  reachable {name}: not witnessed up to depth {args.depth} (a bound, not a verdict: "
                      f"`elect check` explores every depth)", file=out)
        return 0
    try:
        labels = replay(enc, res.states)
    except EvalError:            # the explicit model raises on the initial states too
        res.labels = [None]
        return _bmc_error(args, enc, res)
    except ReplayError as e:
        print(f"internal error: {e}; the symbolic encoding disagrees with the explicit model, please report "
              f"(bmc found a {res.verdict} at depth {res.depth})", file=sys.stderr)
        return 3
    res.labels = labels
    if res.verdict == "error":
        return _bmc_error(args, enc, res)
    if not confirm(enc, res):
        print(f"internal error: the explicit model does not confirm the {res.kind} found by bmc at depth "
              f"{res.depth}, please report", file=sys.stderr)
        return 3
    prop = res.prop or "deadlock"
    meta = {"property": prop, "verdict": res.verdict, "engine": "bmc",
            "violation": {"property": prop, "kind": res.kind, "step": res.depth},
            "check": bmc_command(args.spec, cfg, args.depth)}
    from .api import explain_run
    ex = explain_run(model, res.kind, prop, res.states)
    if ex:
        meta["violation"]["explanation"] = ex
    tr = model.trace(res.states, labels, meta)
    path = trace_path(args, prop)
    from .api import replay_command
    tr.meta["replay"] = replay_command(str(path))
    tr.path = str(path)
    tr.write(path)
    code = 10 if res.verdict == "violated" else 12
    if args.json:
        print(json.dumps({**_bmc_json(args, cfg, res), "trace": str(path)}, sort_keys=True))
        return code
    from .report.text import render_text
    n = res.depth
    if res.kind == "deadlock":
        head = f"deadlock: no step is enabled after {n} steps"
    elif res.kind == "final":
        head = f"deadlock: final property {prop} is false in a state where no step is enabled (after {n} steps)"
    else:
        head = f"violated: {res.kind} {prop} after {n} step{'s' if n != 1 else ''}"
    print(f"depth {n}: {head}", file=out)
    print(f"replayed through the explicit model: all {n} steps match", file=out)
    print("", file=out)
    print(render_text(tr, color=False).rstrip("\n"), file=out)
    print(f"trace: {path}", file=out)
    print(f"seconds {res.seconds:.2f}", file=out)
    return code


def _bmc_json(args, cfg, res: BmcResult) -> dict:
    return {"engine": "bmc", "spec": args.spec, "model": cfg.name, "verdict": res.verdict,
            "property": res.prop if res.verdict != "deadlock" or res.prop else ("deadlock" if res.kind else None),
            "kind": res.kind, "depth": res.depth if res.verdict != "holds" else args.depth,
            "seconds": round(res.seconds, 3), "seconds_per_depth": [round(x, 3) for x in res.per_depth],
            "actions": res.actions, "variables": res.variables, "trace": None,
            "witnessed": dict(res.witnessed), "not_witnessed": list(res.not_witnessed)}


def _bmc_error(args, enc: Encoder, res: BmcResult) -> int:
    from .diagnostics import EvalError
    model = enc.model
    err = None
    if res.labels == [None] and res.depth == 0:       # computing the initial states may raise
        err = _init_error(model, res.error if res.error is not None and res.error[0] is None else None)
    at_init = err is not None                         # then there is no run to show
    if err is None:        # as `elect check`: a state's properties are evaluated before its steps
        err = _property_error(model, res.states)
    if err is None:
        try:
            model.successors_labeled(res.states[-1])
        except EvalError as e:
            err = e
    if err is None and res.error is not None and res.depth == 0:
        err = _sym_error(res.error)
    if err is None:
        print(f"internal error: bmc found an evaluation error at depth {res.depth} that the explicit model does "
              "not raise, please report", file=sys.stderr)
        return 3
    if args.json:
        print(json.dumps({**_bmc_json(args, model.config, res), "error": f"{err.code}: {err.message}"},
                         sort_keys=True))
    print(err.render(), file=sys.stderr)
    if at_init:              # as `elect check`: the diagnostic alone
        return 1
    tr = model.trace(res.states, res.labels, {"verdict": "error", "engine": "bmc"})
    from .report.text import render_text
    print("  note: the run that led there:", file=sys.stderr)
    print(render_text(tr, color=False), file=sys.stderr)
    return 1


def _init_error(model, sym=None):
    """The error computing the initial states as `elect check` reports it: the explicit
    model's (with its hint), else the symbolic one `sym` (action None, condition, code,
    message, span), else None."""
    from .diagnostics import EvalError
    try:
        model.init_states()
    except EvalError as e:
        return e
    return _sym_error(sym) if sym is not None else None


def _prop_terms_errs(enc: Encoder, props: list[A.Property], s: dict) -> tuple[list, list]:
    """For prove: (property, conjunct index, term) on s, and the errors evaluating them may
    raise, as ({kind, name} of the property, condition, code, message, span)."""
    terms, errs = [], []
    for p in props:
        ts_, es = enc.prop_terms_errs(p, s)
        terms += [(p, j, t) for j, t in enumerate(ts_)]
        errs += [_tag_error(p, e) for e in es]
    return terms, errs


def _tag_error(p: A.Property, e: tuple) -> tuple:
    """A property's error condition as the error tuple bmc and prove report: the property
    (kind and name) in place of an action's description."""
    return ({"kind": p.kind, "name": p.name},) + tuple(e)


def _find_step(model, before: tuple, after: tuple):
    """The explicit model's step between two decoded states, or None (also when computing
    the steps of `before` raises: a counterexample to induction may start anywhere)."""
    from .diagnostics import EvalError
    try:
        return model.find_step(before, after)
    except EvalError:
        return None


def _property_error(model, states: list[tuple]):
    """The EvalError the explicit model raises evaluating a checked property on the run's
    last state (or step), if any: `elect check` reports it as an error."""
    from .diagnostics import EvalError
    stuck = None
    for p in model.properties:
        if p.kind not in ("invariant", "transition", "final") or not model.config.checks(p.name):
            continue
        try:
            if p.kind == "invariant":
                p.check(states[-1])
            elif p.kind == "transition" and len(states) > 1:
                p.check(states[-2], states[-1])
            elif p.kind == "final":
                if stuck is None:
                    stuck = not model.successors(states[-1])
                if stuck:
                    p.check(states[-1])
        except EvalError as e:
            return e
    return None


def _sym_error(sym):
    """A symbolic error (action, condition, code, message, span) as an EvalError."""
    from .diagnostics import EvalError
    _, _, code, msg, span = sym
    return EvalError(code, msg, span)


def resolve_props(ts: TypedSpec, names: list[str], what: str) -> list[A.Property]:
    from difflib import get_close_matches
    out = []
    for n in names:
        p = next((p for p in ts.properties if p.name == n), None)
        if p is None:
            invs = [q.name for q in ts.properties if q.kind == "invariant"]
            close = get_close_matches(n, invs, n=1)
            raise SpecError(Diagnostic("E604", f"{what} '{n}': no invariant of that name in {ts.file}", None,
                                       ([f"did you mean '{close[0]}'?"] if close else []) +
                                       [f"invariants: {', '.join(invs) or 'none'}"]))
        if p.kind != "invariant":
            raise SpecError(Diagnostic("E604", f"{what} '{n}' is a {p.kind} property; prove takes invariants", p.span,
                                       ["bmc checks every kind of property up to a depth"]), ts.source)
        out.append(p)
    return out


def cmd_prove(args) -> int:
    with ctrl_c_stops_z3():
        try:
            return _cmd_prove(args)
        except KeyboardInterrupt:
            return _stopped_loading(args, "prove")


def _stopped_loading(args, engine: str) -> int:
    """Ctrl-C while the spec was compiled and encoded, before z3 was asked anything."""
    if getattr(args, "json", False):
        print(json.dumps({"engine": engine, "spec": args.spec, "verdict": "limit", "stopped": "interrupted",
                          "depth": -1}, sort_keys=True))
    else:
        print("stopped by Ctrl-C while encoding the spec, before a verdict: nothing checked")
    return 14


def _cmd_prove(args) -> int:
    ts, model, enc = load(args, prove=True)
    cfg = model.config
    invs = resolve_props(ts, args.invariant, "--invariant") if args.invariant else \
        [p for p in ts.properties if p.kind == "invariant" and cfg.checks(p.name)]
    helpers = resolve_props(ts, args.helpers, "--with")
    if not invs:
        return _usage(f"elect prove: {args.spec} has no invariants to prove")
    try:
        stop_if_interrupted()        # Ctrl-C while loading
        res = prove(enc, invs, helpers)
    except KeyboardInterrupt:
        print("stopped by Ctrl-C before a verdict: nothing proved", file=sys.stdout)
        return 14
    if res.verdict == "error" and res.error[0] is None:      # computing the initial states raises
        err = _init_error(model, res.error)
        if args.json:
            print(json.dumps({**_prove_json(args, cfg, model, res), "error": f"{err.code}: {err.message}"},
                             sort_keys=True))
        print(err.render(), file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(_prove_json(args, cfg, model, res), sort_keys=True))
        return 0 if res.verdict == "proved" else 10
    out = sys.stdout
    print(f"{args.spec}, model {cfg.name}: {cfg.describe()}", file=out)
    what = ", ".join(res.invariants) + (f" (with {', '.join(res.helpers)})" if res.helpers else "")
    print(f"prove: {what}; {res.actions} actions, {res.variables} state variables", file=out)
    if res.verdict == "proved":
        print(f"  initial states: hold ({res.seconds_init:.2f}s)", file=out)
        print(f"  every step: keeps them ({res.seconds_step:.2f}s)", file=out)
        print(f"proved: {', '.join(res.invariants)} hold{'s' if len(res.invariants) == 1 else ''} in every "
              f"reachable state of this model, at every depth ({res.seconds:.2f}s)", file=out)
        return 0
    print(render_failure(ts, model, res), file=out)
    return 1 if res.verdict == "error" else 10


def _prove_json(args, cfg, model, res: ProveResult) -> dict:
    out: dict[str, Any] = {"engine": "prove", "spec": args.spec, "model": cfg.name, "verdict": res.verdict,
                           "invariants": res.invariants, "helpers": res.helpers,
                           "seconds": round(res.seconds, 3), "seconds_init": round(res.seconds_init, 3),
                           "seconds_step": round(res.seconds_step, 3), "actions": res.actions,
                           "variables": res.variables}
    if res.verdict != "proved":
        out["broken"] = [{"property": b.prop, "conjunct": b.conjunct, "text": b.text} for b in res.broken]
        if res.step is not None:
            out["step"] = res.step
        if res.before is not None:
            out["before"] = model.state_itf(res.before)
        if res.after is not None:
            out["after"] = model.state_itf(res.after)
        if res.error is not None:
            out["error"] = f"{res.error[2]}: {res.error[3]}"
    return out


def fmt_state(model, s: tuple, only: dict | None = None) -> list[str]:
    """A state as lines: one per process (its fields), then globals, network and faults.
    With `only` (a previous state's ITF dict), just what changed."""
    from .trace import fmt_value
    itf = model.state_itf(s)
    lines = []
    procs: dict[int, list[str]] = {}
    for sl in model.layout.slots:
        v = itf[sl.name]
        if sl.kind == "field":
            before = dict((k, x) for k, x in only[sl.name]["#map"]) if only else None
            for k, x in v["#map"]:
                if before is None or before.get(k) != x:
                    procs.setdefault(k, []).append(f"{sl.field}={fmt_value(x)}")
    for pid in sorted(procs):
        lines.append(f"{pid}: " + " ".join(procs[pid]))
    for sl in model.layout.slots:
        if sl.kind == "field":
            continue
        v = itf[sl.name]
        if only is not None and only.get(sl.name) == v:
            continue
        if sl.kind == "network":
            envs = []
            for env, n in v["#map"]:
                envs.append(f"{fmt_value(env['msg'])} {env['src']}->{env['dst']}" + (f" x{n}" if n != 1 else ""))
            if only is not None:
                old = {json.dumps(e): n for e, n in only[sl.name]["#map"]}
                new = {json.dumps(e): n for e, n in v["#map"]}
                envs = []
                for k in list(old) + [k for k in new if k not in old]:
                    if old.get(k) != new.get(k):
                        env = json.loads(k)
                        envs.append(f"{fmt_value(env['msg'])} {env['src']}->{env['dst']}: "
                                    f"{old.get(k, 0)} -> {new.get(k, 0)}")
            if len(envs) <= 3:
                lines.append("network: " + (", ".join(envs) if envs else "empty"))
            else:
                lines.append(f"network ({len(envs)}):")
                lines += ["  " + x for x in envs[:NETWORK_LINES]]
                if len(envs) > NETWORK_LINES:
                    lines.append(f"  ... and {len(envs) - NETWORK_LINES} more")
        else:
            lines.append(f"{sl.name}: {fmt_value(v)}")
    return lines


def render_failure(ts: TypedSpec, model, res: ProveResult) -> str:
    from .trace import describe_action
    out = []
    if res.verdict == "fails-initially":
        out.append("not proved: an initial state breaks "
                   + ", ".join(sorted({b.prop for b in res.broken})))
        out.append("  initial state:")
        out += ["    " + x for x in fmt_state(model, res.after)]
    elif res.verdict == "error" and res.error[0].get("kind") in ("invariant", "transition", "final"):
        desc, cond, code, msg, span = res.error
        where = f" ({span})" if span else ""
        if res.before is None:
            out.append(f"not proved: evaluating {desc['kind']} {desc['name']} in an initial state raises "
                       f"{code}: {msg}{where}")
            out.append("  initial state:")
            out += ["    " + x for x in fmt_state(model, res.after)]
            return "\n".join(out)
        out.append(f"not proved: evaluating {desc['kind']} {desc['name']} after a step from a state where the "
                   f"invariants hold raises {code}: {msg}{where}")
        out.append(f"  step: {describe_action(res.step)}")
        out.append("  state before:")
        out += ["    " + x for x in fmt_state(model, res.before)]
        out.append("  state after:")
        out += ["    " + x for x in fmt_state(model, res.after)]
        return "\n".join(out)
    elif res.verdict == "error":
        desc, cond, code, msg, span = res.error
        where = f" ({span})" if span else ""
        out.append(f"not proved: a step from a state where the invariants hold raises {code}: {msg}{where}")
        out.append(f"  step: {describe_action(desc)}")
        out.append("  state before:")
        out += ["    " + x for x in fmt_state(model, res.before)]
        return "\n".join(out)
    else:
        out.append("not inductive: a step from a state where every invariant below holds breaks "
                   + ", ".join(dict.fromkeys(b.prop for b in res.broken)))
        out.append("  (a counterexample to induction: the state before may be unreachable; a helper invariant "
                   "that rules it out makes the proof go through)")
        out.append("  state before:")
        out += ["    " + x for x in fmt_state(model, res.before)]
        if res.label is not None:
            step = describe_action(model.action_itf(res.label, res.before, res.after))
        else:
            step = describe_action(res.step) + "  (note: the explicit model does not take this step; please report)"
        out.append(f"  step: {step}")
        out.append("  state after (what changed):")
        out += ["    " + x for x in fmt_state(model, res.after, only=model.state_itf(res.before))]
    out.append("  broken:")
    for b in res.broken:
        which = f" (conjunct {b.conjunct + 1})" if b.conjunct is not None else ""
        out.append(f"    {b.prop}{which}: {b.text}")
    held = res.invariants + res.helpers
    out.append(f"  assumed before the step: {', '.join(held)}"
               + ("; prove more at once with --with NAME" if res.verdict == "not-inductive" else ""))
    return "\n".join(out)
