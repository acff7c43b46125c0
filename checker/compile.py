"""Typed spec + model -> generated Python source -> `Model`.

This file is big because it is the whole code generator; it is one job (typed syntax to
Python text) and splitting it would scatter one set of conventions over several files.

How the generated code looks:
- A state is a flat tuple of slots: one per global var, one per process field (a tuple
  indexed by id - lo), then the network, then fault status (`down` ids, the partition as
  the frozenset of ids on the side of the lowest id, budgets used, the tick clock), only
  for what the model uses.
- Every handler, timeout and action is a Python function specialised to one process id,
  so field indices are constants: `S1 = (S1[0], f_role, S1[2])` rather than a loop.
  Locals: `S<k>` a slot's value, `f_<name>` this process's field, `l_<name>` a local.
- Functions append successor states to `out`. Each is generated twice: plain (the
  explorer's hot path) and labelled (`_L` suffix; appends (label, state) pairs, used to
  rebuild a counterexample and to write traces).
- Quantifiers over small constant domains are unrolled and constant comparisons folded.
- `choose` at the top level of a body becomes a loop around the rest of the body; the
  locals it may change are saved before the loop and restored at each turn.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from . import runtime
from .diagnostics import Diagnostic, EvalError, Span, SpecError
from .dsl import ast as A
from .modelconfig import ModelConfig, const_eval
from .typecheck import ProcessInfo, TypedSpec, tuple_item_type, walk_expr, walk_stmts
from .types import (AnyT, BoolT, EmptyT, EnumT, IdT, IntT, MapT, MsgT, NoneT, OptT, RecordT, SeqT, SetT,
                    TupleT, Ty)

UNROLL_LIMIT = 64


@dataclass
class Slot:
    name: str            # ITF variable name
    kind: str            # var | field | network | down | partition | crashes | partitions | now
    ty: Ty | None = None
    proc: str | None = None
    field: str | None = None


@dataclass
class Layout:
    slots: list[Slot] = field(default_factory=list)
    var: dict[str, int] = field(default_factory=dict)
    fld: dict[tuple[str, str], int] = field(default_factory=dict)
    net: int | None = None
    down: int | None = None
    part: int | None = None
    crashes: int | None = None
    parts: int | None = None
    now: int | None = None

    def add(self, slot: Slot) -> int:
        self.slots.append(slot)
        return len(self.slots) - 1


class CompileError(Exception):
    pass


@dataclass
class Cx:
    """Where code is generated: which process and id, which locals, which state."""
    proc: ProcessInfo | None = None
    self_id: int | None = None
    locals: dict[str, str] = field(default_factory=dict)
    state: str = "S"            # slot-local prefix: S (current) or O (old, in transitions)
    mode: str = "handler"       # handler | action | prop | init
    written_own: set = field(default_factory=set)
    in_choose: int = 0
    in_for: int = 0
    init_fields: dict[str, str] | None = None   # init mode: field -> python local
    init_vars: dict[str, str] | None = None
    def_stack: tuple = ()

    def sub(self, **kw) -> "Cx":
        c = Cx(self.proc, self.self_id, dict(self.locals), self.state, self.mode, self.written_own,
               self.in_choose, self.in_for, self.init_fields, self.init_vars, self.def_stack)
        for k, v in kw.items():
            setattr(c, k, v)
        return c


def _is_lit(code: str) -> bool:
    return code.lstrip("-").isdigit()


class Gen:
    def __init__(self, ts: TypedSpec, cfg: ModelConfig):
        self.ts = ts
        self.cfg = cfg
        self.consts = cfg.consts
        self.lines: list[str] = []
        self.ns: dict[str, Any] = {}
        self.n_tmp = 0
        self.spans: list[Span] = []
        self.used: set[int] = set()        # slots read or written in the current function
        self.written: set[int] = set()     # slots written in the current function
        self.layout = Layout()
        self.tags: dict[str, int] = {}
        self.procs = list(ts.processes.values())
        self.ids: dict[str, tuple[int, int]] = {}
        self.all_ids: list[int] = []
        self.labels_info: dict[str, Any] = {}
        self.fifo_ch: dict[tuple[int, int], int] = {}
        self.setup()

    # ---- set-up ----
    def err(self, code, msg, span, hint=None):
        raise SpecError(Diagnostic(code, msg, span, [hint] if hint else []), self.ts.source)

    def cval(self, e):
        try:
            return const_eval(e, self.consts)
        except Exception as ex:  # ConstEvalError
            self.err("E410", str(ex), getattr(ex, "span", e.span))

    def bounds(self, t: Ty) -> tuple[int, int] | None:
        if isinstance(t, IdT):
            if t.name in self.ids:
                return self.ids[t.name]
            d = self.ts.idtypes[t.name]
            return (self.cval(d.lo), self.cval(d.hi))
        if isinstance(t, IntT) and t.lo is not None:
            return (self.cval(t.lo), self.cval(t.hi))
        if isinstance(t, EnumT):
            return (0, len(t.members) - 1)
        if isinstance(t, BoolT):
            return (0, 1)
        return None

    def setup(self):
        overrides = getattr(self.cfg, "overrides", None) or {}
        for name, d in self.ts.idtypes.items():
            lo, hi = self.cval(d.lo), self.cval(d.hi)
            # a size given with -D is the command line's mistake (a usage error, E407)
            given = [f"{n}={overrides[n]}" for n in dict.fromkeys(x.id for b in (d.lo, d.hi) for x in walk_expr(b)
                                                                   if isinstance(x, A.Name)) if n in overrides]
            code, span = ("E407", None) if given else (None, getattr(d.hi, "span", None))
            pre = f"-D {', '.join(given)}: " if given else ""
            if hi < lo:
                self.err(code or "E411", f"{pre}id type '{name}' is empty in this model: {lo}..{hi}", span,
                         "give it at least one id (e.g. -D N=1 or more)")
            if hi - lo + 1 > MAX_PROCESSES:
                self.err(code or "E416", f"{pre}id type '{name}' has {hi - lo + 1:,} ids ({lo}..{hi}): more than "
                         f"{MAX_PROCESSES:,}, far beyond what a search can explore", span,
                         "check a small model (3 to 7 processes find most election bugs), e.g. -D N=3")
            self.ids[name] = (lo, hi)
        seen: dict[int, str] = {}
        for p in self.procs:
            lo, hi = self.ids[p.name]
            if self.cfg.partition and len(self.all_ids) + hi - lo + 1 > MAX_PARTITIONED:
                self.err("E416", f"partition faults over more than {MAX_PARTITIONED} processes: every split "
                         f"(2^(n-1) of them) is a step", p.decl.span,
                         f"check partitions with at most {MAX_PARTITIONED} processes, or drop `partition` from the model")
            for i in range(lo, hi + 1):
                if i in seen:
                    self.err("E412", f"ids of processes '{seen[i]}' and '{p.name}' overlap at {i}", p.decl.span,
                             "give each process kind its own id range, e.g. `type Client = N+1..N+C`")
                seen[i] = p.name
                self.all_ids.append(i)
        self.all_ids.sort()
        for i, name in enumerate(sorted(self.ts.messages)):
            self.tags[name] = i
        L = self.layout
        for v in self.ts.vars.values():
            L.var[v.name] = L.add(Slot(v.name, "var", v.ty))
        for p in self.procs:
            for f in p.fields.values():
                L.fld[(p.name, f.name)] = L.add(Slot(f"{p.name}.{f.name}", "field", f.ty, p.name, f.name))
        if self.ts.messages:
            L.net = L.add(Slot("network", "network"))
        if self.cfg.crash:
            L.down = L.add(Slot("down", "down"))
            L.crashes = L.add(Slot("crashes", "crashes"))
        if self.cfg.partition:
            L.part = L.add(Slot("partition", "partition"))
            L.parts = L.add(Slot("partitions", "partitions"))
        if not L.slots:
            self.err("E417", "nothing to explore: the spec declares no `var` and no `process`",
                     Span.point(self.ts.file, 1, 1),
                     "declare the state, e.g. `var leader: int = 0`, or a `process Node:` with fields")
        if self.cfg.tick is not None:
            L.now = L.add(Slot("now", "now"))
        if self.cfg.network == "fifo":
            n = 0
            for a in self.all_ids:
                for b in self.all_ids:
                    self.fifo_ch[(a, b)] = n
                    n += 1
        for (pn, fn) in self.cfg.volatile:
            pass

    def const(self, value, prefix="_K") -> str:
        name = f"{prefix}{len(self.ns)}"
        self.ns[name] = value
        return name

    def span_ref(self, sp: Span) -> str:
        return self.const(sp, "_SP")

    def tmp(self) -> str:
        self.n_tmp += 1
        return f"t{self.n_tmp}"

    # ---- values ----
    def default_value(self, t: Ty):
        if isinstance(t, IntT):
            b = self.bounds(t)
            return b[0] if b and b[0] > 0 else (0 if not b else max(b[0], min(0, b[1])) if b[0] <= 0 <= b[1] else b[0])
        if isinstance(t, BoolT):
            return False
        if isinstance(t, EnumT):
            return 0
        if isinstance(t, IdT):
            return self.ids[t.name][0]
        if isinstance(t, OptT):
            return ()
        if isinstance(t, (SetT, EmptyT)):
            return frozenset()
        if isinstance(t, SeqT):
            return ()
        if isinstance(t, MapT):
            lo, hi = self.bounds(t.key)
            return tuple(self.default_value(t.val) for _ in range(lo, hi + 1))
        if isinstance(t, TupleT):
            return tuple(self.default_value(x) for x in t.items)
        if isinstance(t, RecordT):
            return tuple(self.default_value(x) for _, x in t.fields)
        return 0

    def all_values(self, t: Ty, span: Span) -> list:
        if isinstance(t, BoolT):
            return [False, True]
        if isinstance(t, (EnumT, IdT)) or (isinstance(t, IntT) and t.lo is not None):
            lo, hi = self.bounds(t)
            return list(range(lo, hi + 1))
        if isinstance(t, OptT):
            return [()] + self.all_values(t.inner, span)
        if isinstance(t, (TupleT, RecordT)):
            items = t.items if isinstance(t, TupleT) else [x for _, x in t.fields]
            return [tuple(c) for c in itertools.product(*[self.all_values(x, span) for x in items])]
        if isinstance(t, SetT):
            base = self.all_values(t.elem, span)
            if len(base) > 16:
                self.err("E413", f"'in *' over {t} has 2^{len(base)} values", span)
            return [frozenset(c) for r in range(len(base) + 1) for c in itertools.combinations(base, r)]
        if isinstance(t, MapT):
            lo, hi = self.bounds(t.key)
            vals = self.all_values(t.val, span)
            if len(vals) ** (hi - lo + 1) > 1_000_000:
                self.err("E413", f"'in *' over {t} has too many values", span)
            return [tuple(c) for c in itertools.product(vals, repeat=hi - lo + 1)]
        self.err("E413", f"'in *' needs a finite type, not {t}", span)

    # ---- slot access ----
    def slot(self, k: int, cx: Cx) -> str:
        if cx.state == "raw":
            return f"s[{k}]"
        self.used.add(k)
        return f"{cx.state}{k}"

    def write_slot(self, k: int, code: str) -> str:
        self.used.add(k)
        self.written.add(k)
        return f"S{k} = {code}"

    def idx(self, code: str, lo: int) -> str:
        if _is_lit(code):
            return str(int(code) - lo)
        return code if lo == 0 else f"({code} - {lo})"

    def key_index(self, key: A.Expr, code: str, kt: Ty) -> str:
        lo, hi = self.bounds(kt)
        if isinstance(kt, BoolT):
            return f"(1 if {code} else 0)" if not _is_lit(code) else code
        src = key.ty
        if isinstance(kt, EnumT) or (isinstance(kt, IdT) and isinstance(src, IdT)):
            return self.idx(code, lo)
        if _is_lit(code):
            v = int(code)
            if lo <= v <= hi:
                return str(v - lo)
        return f"check_key({code}, {lo}, {hi}, {self.span_ref(key.span)})"

    def proc_of(self, t: Ty) -> ProcessInfo | None:
        return self.ts.processes.get(t.name) if isinstance(t, IdT) else None

    # ---- expressions ----
    def ex(self, e: A.Expr, cx: Cx) -> str:
        m = getattr(self, "ex_" + type(e).__name__)
        return m(e, cx)

    def ex_IntLit(self, e, cx):
        return str(e.value)

    def ex_BoolLit(self, e, cx):
        return "True" if e.value else "False"

    def ex_NoneLit(self, e, cx):
        return "()"

    def ex_SelfRef(self, e, cx):
        if cx.self_id is None:
            self.err("E205", "'self' is only defined inside a process", e.span,
                     "outside a process, bind an id (`all n in T: ...`) and use it instead")
        return str(cx.self_id)

    def ex_Name(self, e: A.Name, cx: Cx) -> str:
        ref = e.ref
        kind = ref[0]
        if kind == "local":
            return cx.locals[e.id]
        if kind == "field":
            if cx.mode == "init":
                if cx.init_fields is None or e.id not in cx.init_fields:
                    self.err("E206", f"field '{e.id}' is used before it has a value", e.span,
                             "an initial value may use only fields declared above it")
                return cx.init_fields[e.id]
            if cx.mode == "prop" or cx.proc is None:
                k = self.layout.fld[(ref[1], e.id)]
                return f"{self.slot(k, cx)}[{self.idx(str(cx.self_id), self.ids[ref[1]][0])}]"
            return f"f_{e.id}"
        if kind == "var":
            if cx.mode == "init":
                if cx.init_vars is None or e.id not in cx.init_vars:
                    self.err("E206", f"var '{e.id}' is used before it has a value", e.span,
                             "an initial value may use only vars declared above it")
                return cx.init_vars[e.id]
            return self.slot(self.layout.var[e.id], cx)
        if kind == "const":
            v = self.consts[e.id]
            return repr(v)
        if kind == "down":          # the set of crashed processes (empty when nothing crashes)
            if self.layout.down is None:
                return "EMPTY"
            return self.slot(self.layout.down, cx)
        if kind == "enum":
            return str(ref[2])
        if kind == "typeset":
            n = ref[1]
            if n == "bool":
                return self.const(frozenset((False, True)))
            if n in self.ids:
                lo, hi = self.ids[n]
                return self.const(frozenset(range(lo, hi + 1)))
            return self.const(frozenset(range(len(self.ts.enums[n].members))))
        if kind == "now":
            if self.layout.now is None:
                self.err("E414", "'now' needs a tick clock in the model", e.span, "add `faults tick <= k`")
            return self.slot(self.layout.now, cx)
        self.err("E399", f"cannot compile name '{e.id}'", e.span)

    def own_field(self, cx: Cx, pname: str, fname: str, obj_code: str) -> str | None:
        """Code for this process's own field when obj_code is (or may be) self, else None."""
        if cx.mode not in ("handler",) or cx.proc is None or cx.proc.name != pname:
            return None
        if _is_lit(obj_code):
            return f"f_{fname}" if int(obj_code) == cx.self_id else None
        if fname in cx.written_own:
            return "?"
        return None

    def ex_FieldAccess(self, e: A.FieldAccess, cx: Cx) -> str:
        ref = e.ref
        if ref[0] == "enum":
            return str(ref[2])
        if ref[0] == "pfield":
            pname, fname = ref[1], ref[2]
            obj = self.ex(e.obj, cx)
            k = self.layout.fld[(pname, fname)]
            lo = self.ids[pname][0]
            if cx.mode == "init":
                if _is_lit(obj) and cx.init_fields is not None and int(obj) == cx.self_id and fname in cx.init_fields:
                    return cx.init_fields[fname]
                self.err("E206", "an initial value may not read other processes' fields", e.span)
            own = self.own_field(cx, pname, fname, obj)
            if own == "?":
                t = self.tmp()
                return (f"(f_{fname} if ({obj}) == {cx.self_id} else "
                        f"{self.slot(k, cx)}[{self.idx(obj, lo)}])")
            if own:
                return own
            if _is_lit(obj):
                return f"{self.slot(k, cx)}[{self.idx(obj, lo)}]"
            return f"{self.slot(k, cx)}[{self.idx(obj, lo)}]"
        if ref[0] == "rfield":
            return f"{self.ex(e.obj, cx)}[{ref[1]}]"
        self.err("E399", "cannot compile field access", e.span)

    def ex_Index(self, e: A.Index, cx: Cx) -> str:
        t = e.obj.ty
        obj = self.ex(e.obj, cx)
        k = e.indices[0]
        kc = self.ex(k, cx)
        if isinstance(t, MapT):
            return f"{obj}[{self.key_index(k, kc, t.key)}]"
        if isinstance(t, SeqT):
            return f"seq_at({obj}, {kc}, {self.span_ref(e.span)})"
        if isinstance(t, TupleT):
            return f"{obj}[{kc}]"
        self.err("E399", "cannot index this value", e.span)

    def ex_Unary(self, e, cx):
        v = self.ex(e.operand, cx)
        if e.op == "not":
            if v == "True":
                return "False"
            if v == "False":
                return "True"
            return f"(not {v})"
        if _is_lit(v):
            return str(-int(v))
        return f"(-{v})"

    def ex_BoolChain(self, e, cx):
        parts = [self.ex(x, cx) for x in e.items]
        if e.op == "and":
            if "False" in parts:
                return "False"
            parts = [p for p in parts if p != "True"]
            return "True" if not parts else parts[0] if len(parts) == 1 else "(" + " and ".join(parts) + ")"
        if "True" in parts:
            return "True"
        parts = [p for p in parts if p != "False"]
        return "False" if not parts else parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"

    def ex_Binary(self, e: A.Binary, cx):
        if e.op == "implies":
            a = self.ex(e.left, cx)
            if a == "False":
                return "True"
            b = self.ex(e.right, cx)
            if b == "True":
                return "True"
            if a == "True":
                return b
            if b == "False":
                return f"(not {a})"
            return f"(not {a} or {b})"
        a = self.ex(e.left, cx)
        b = self.ex(e.right, cx)
        t = e.ty
        if isinstance(t, (SetT, EmptyT)):
            op = {"+": "|", "-": "-", "&": "&"}[e.op]
            return f"({a} {op} {b})"
        if e.op == "/":
            return f"div({a}, {b}, {self.span_ref(e.span)})"
        if e.op == "%":
            return f"mod({a}, {b}, {self.span_ref(e.span)})"
        if _is_lit(a) and _is_lit(b) and e.op in "+-*":
            return str(eval(f"{a} {e.op} {b}"))
        return f"({a} {e.op} {b})"

    def ex_Compare(self, e: A.Compare, cx):
        a = self.ex(e.left, cx)
        b = self.ex(e.right, cx)
        if e.op in ("in", "notin"):
            rt = e.right.ty
            if isinstance(rt, MapT):
                lo, hi = self.bounds(rt.key)
                r = f"({lo} <= {a} <= {hi})"
            else:
                r = f"({a} in {b})"
            return r if e.op == "in" else f"(not {r})"
        if _is_lit(a) and _is_lit(b):
            return str(eval(f"{a} {e.op} {b}"))
        return f"({a} {e.op} {b})"

    def ex_RangeExpr(self, e, cx):
        a = self.ex(e.lo, cx)
        b = self.ex(e.hi, cx)
        if _is_lit(a) and _is_lit(b):
            return self.const(frozenset(range(int(a), int(b) + 1)))
        return f"frozenset(range({a}, {b} + 1))"

    def iter_src(self, e: A.Expr, cx) -> str:
        """Code for iterating a set-valued expression (ranges without building a set)."""
        if isinstance(e, A.RangeExpr):
            return f"range({self.ex(e.lo, cx)}, {self.ex(e.hi, cx)} + 1)"
        return self.ex(e, cx)

    def static_domain(self, e: A.Expr) -> list | None:
        """The values of a set expression when they are known at compile time."""
        if isinstance(e, A.Name) and e.ref and e.ref[0] == "typeset":
            n = e.ref[1]
            if n == "bool":
                return [False, True]
            if n in self.ids:
                lo, hi = self.ids[n]
                return list(range(lo, hi + 1))
            return list(range(len(self.ts.enums[n].members)))
        if isinstance(e, A.RangeExpr):
            try:
                lo, hi = const_eval(e.lo, self.consts), const_eval(e.hi, self.consts)
                return list(range(lo, hi + 1))
            except Exception:
                return None
        return None

    def ex_CondExpr(self, e, cx):
        c = self.ex(e.cond, cx)
        if c == "True":
            return self.ex(e.then, cx)
        if c == "False":
            return self.ex(e.orelse, cx)
        return f"({self.ex(e.then, cx)} if {c} else {self.ex(e.orelse, cx)})"

    def ex_TupleLit(self, e, cx):
        items = [self.ex(x, cx) for x in e.items]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"

    def ex_SetLit(self, e, cx):
        if isinstance(e.ty, MapT):
            return self.const(self.default_value(e.ty))
        if not e.items:
            return self.const(frozenset())
        items = [self.ex(x, cx) for x in e.items]
        return "frozenset((" + ", ".join(items) + ",))"

    def ex_MapLit(self, e, cx):
        t = e.ty
        base = self.const(self.default_value(t))
        pairs = ", ".join(f"({self.key_index(k, self.ex(k, cx), t.key)}, {self.ex(v, cx)})" for k, v in e.pairs)
        return f"map_build({base}, ({pairs},))"

    def ex_SeqLit(self, e, cx):
        items = [self.ex(x, cx) for x in e.items]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"

    def comp_head(self, fors, cond, cx) -> tuple[str, Cx]:
        inner = cx.sub()
        parts = []
        for f in fors:
            src = self.iter_src(f.src, inner)
            v = f"l_{f.var}_{self.tmp()}"
            inner.locals[f.var] = v
            parts.append(f"for {v} in {src}")
        if cond is not None:
            parts.append(f"if {self.ex(cond, inner)}")
        return " ".join(parts), inner

    def ex_SetComp(self, e, cx):
        head, inner = self.comp_head(e.fors, e.cond, cx)
        return f"frozenset({self.ex(e.elem, inner)} {head})"

    def ex_MapComp(self, e, cx):
        head, inner = self.comp_head(e.fors, e.cond, cx)
        t = e.ty
        base = self.const(self.default_value(t))
        k = self.key_index(e.key, self.ex(e.key, inner), t.key)
        return f"map_build({base}, (({k}, {self.ex(e.value, inner)}) {head}))"

    def ex_Quant(self, e: A.Quant, cx):
        doms = [self.static_domain(src) for _, src in e.bindings]
        if all(d is not None for d in doms):
            total = 1
            for d in doms:
                total *= len(d)
            if total <= UNROLL_LIMIT:
                parts = []
                for combo in itertools.product(*doms):
                    inner = cx.sub()
                    for (name, _), v in zip(e.bindings, combo):
                        inner.locals[name] = repr(int(v)) if not isinstance(v, bool) else repr(v)
                    parts.append(self.ex(e.body, inner))
                if e.kind == "all":
                    if "False" in parts:
                        return "False"
                    parts = [p for p in parts if p != "True"]
                    return "True" if not parts else "(" + " and ".join(parts) + ")"
                if "True" in parts:
                    return "True"
                parts = [p for p in parts if p != "False"]
                return "False" if not parts else "(" + " or ".join(parts) + ")"
        inner = cx.sub()
        heads = []
        for name, src in e.bindings:
            s = self.iter_src(src, inner)
            v = f"l_{name}_{self.tmp()}"
            inner.locals[name] = v
            heads.append(f"for {v} in {s}")
        fn = "all" if e.kind == "all" else "any"
        return f"{fn}({self.ex(e.body, inner)} {' '.join(heads)})"

    def ex_Call(self, e: A.Call, cx):
        ref = e.ref
        if ref[0] == "construct":
            name = ref[1]
            vals = self.field_values(name, e.args, ref[2], cx)
            if name in self.ts.messages:
                return "(" + ", ".join([str(self.tags[name]), *vals]) + ",)"
            return "(" + ", ".join(vals) + ("," if len(vals) == 1 else "") + ")"
        if ref[0] == "def":
            d = self.ts.defs[ref[1]]
            if d.name in cx.def_stack:
                self.err("E340", f"'{d.name}' calls itself: definitions are expanded inline and cannot recurse",
                         e.span)
            args = [self.ex(a.value, cx) for a in e.args]
            inner = cx.sub(def_stack=cx.def_stack + (d.name,))
            inner.locals = {}
            inner.self_id = None if cx.mode != "handler" else cx.self_id
            names = []
            for p in d.params:
                v = f"l_{p.name}_{self.tmp()}"
                inner.locals[p.name] = v
                names.append(v)
            body = self.ex(d.body, inner)
            return f"(lambda {', '.join(names)}: {body})({', '.join(args)})"
        fn = ref[1]
        sp = self.span_ref(e.span)
        if fn == "old":
            return self.ex(e.args[0].value, cx.sub(state="O"))
        if fn in ("size", "len"):
            return f"len({self.ex(e.args[0].value, cx)})"
        if fn == "min":
            return f"smin({self.ex(e.args[0].value, cx)}, {sp})"
        if fn == "max":
            return f"smax({self.ex(e.args[0].value, cx)}, {sp})"
        if fn == "abs":
            return f"abs({self.ex(e.args[0].value, cx)})"
        if fn == "head":
            return f"head({self.ex(e.args[0].value, cx)}, {sp})"
        if fn == "last":
            return f"last({self.ex(e.args[0].value, cx)}, {sp})"
        if fn == "tail":
            return f"{self.ex(e.args[0].value, cx)}[1:]"
        if fn == "keys":
            lo, hi = self.bounds(e.args[0].value.ty.key)
            return self.const(frozenset(range(lo, hi + 1)))
        if fn == "values":
            return f"frozenset({self.ex(e.args[0].value, cx)})"
        if fn == "alive":
            p = self.ex(e.args[0].value, cx)
            if self.layout.down is None:
                return "True"
            return f"({p} not in {self.slot(self.layout.down, cx)})"
        if fn == "connected":
            a = self.ex(e.args[0].value, cx)
            b = self.ex(e.args[1].value, cx)
            if self.layout.part is None:
                return "True"
            P = self.slot(self.layout.part, cx)
            return f"((not {P}) or (({a}) in {P}) == (({b}) in {P}))"
        if fn in ("pending", "pending_all"):
            m = e.args[0].value.id
            tag = self.tags[m]
            conds = [f"e[0] == {tag}"]
            dst = None
            src = None
            mt = self.ts.messages[m].ty
            fields: list[tuple[int, str]] = []
            for a in e.args[1:]:
                if a.name == "dst":
                    dst = self.ex(a.value, cx)
                elif a.name == "src":
                    src = self.ex(a.value, cx)
                else:
                    fields.append((mt.field_index(a.name), self.ex(a.value, cx)))
            if dst is None and fn == "pending" and cx.self_id is not None:
                dst = str(cx.self_id)
            if self.layout.net is None:
                return "0"
            N = self.slot(self.layout.net, cx)
            if self.cfg.network == "fifo":
                chans = [(a, b) for (a, b) in self.fifo_ch
                         if (dst is None or not _is_lit(dst) or int(dst) == b) and
                         (src is None or not _is_lit(src) or int(src) == a)]
                mc = "".join(f" and m[{1 + i}] == {v}" for i, v in fields)
                terms = []
                for c in chans:
                    t = f"sum(1 for m in {N}[{self.fifo_ch[c]}] if m[0] == {tag}{mc})"
                    same = [f"{x} == {k}" for x, k in ((src, c[0]), (dst, c[1])) if x is not None and not _is_lit(x)]
                    terms.append(f"({t} if {' and '.join(same)} else 0)" if same else t)
                return "(" + " + ".join(terms or ["0"]) + ")"
            if src is not None and dst is not None and len(fields) == len(mt.fields):
                # the whole envelope is named: a lookup, not a scan of the network
                vals = [v for _, v in sorted(fields)]
                env = "(" + ", ".join([str(tag), src, dst, *vals]) + ",)"
                if self.cfg.network == "set":
                    return f"(1 if {env} in {N} else 0)"
                return f"ms_count({N}, {env})"
            if dst is not None:
                conds.append(f"e[2] == {dst}")
            if src is not None:
                conds.append(f"e[1] == {src}")
            conds.extend(f"e[{3 + i}] == {v}" for i, v in fields)
            return f"sum(1 for e in {N} if {' and '.join(conds)})"
        self.err("E399", f"cannot compile call to '{fn}'", e.span)

    # ---- statements ----
    def stmts(self, body: list[A.Stmt], cx: Cx, out: list[str], ind: int, finish):
        """Generate `body` then `finish(out, ind)`; a top-level choose nests the rest in a loop."""
        for i, st in enumerate(body):
            if isinstance(st, A.Choose):
                if cx.in_for:
                    self.err("E339", "choose inside a for loop", st.span,
                             "choose at the top of the body, before any loop")
                rest = body[i + 1:]
                src = self.iter_src(st.src, cx)
                v = f"l_{st.name}_{self.tmp()}"
                inner = cx.sub(in_choose=cx.in_choose + 1)
                inner.locals[st.name] = v
                sub: list[str] = []
                before = set(self.assigned)
                self.assigned_stack.append(set())
                if st.where is not None:
                    sub.append("    " * (ind + 1) + f"if not {self.ex(st.where, inner)}: continue")
                self.choose_vars.append((st.name, v))
                self.stmts(rest, inner, sub, ind + 1, finish)
                changed = sorted(n for n in self.assigned_stack.pop()
                                 if n.startswith("S") or n.startswith("f_") or n in before)
                if changed:
                    snap = f"_snap{self.tmp()}"
                    out.append("    " * ind + f"{snap} = ({', '.join(changed)},)")
                    out.append("    " * ind + f"for {v} in ordered_iter({src}):")
                    out.append("    " * (ind + 1) + f"{', '.join(changed)}, = {snap}")
                else:
                    out.append("    " * ind + f"for {v} in ordered_iter({src}):")
                out.extend(sub)
                self.choose_vars.pop()
                return
            self.stmt(st, cx, out, ind)
        finish(out, ind)

    def note_assign(self, name: str):
        self.assigned.add(name)
        for s in self.assigned_stack:
            s.add(name)

    def block(self, body: list[A.Stmt], cx: Cx, out: list[str], ind: int):
        if not body:
            out.append("    " * ind + "pass")
            return
        n = len(out)
        for st in body:
            if isinstance(st, A.Choose):
                self.err("E339", "choose inside an if or for block", st.span,
                         "choose at the top level of the body; test conditions with `where`")
            self.stmt(st, cx, out, ind)
        if len(out) == n:
            out.append("    " * ind + "pass")

    def stmt(self, st: A.Stmt, cx: Cx, out: list[str], ind: int):
        pad = "    " * ind
        if isinstance(st, A.Pass):
            out.append(pad + "pass")
        elif isinstance(st, A.Let):
            v = f"l_{st.name}_{self.tmp()}"
            out.append(pad + f"{v} = {self.ex(st.value, cx)}")
            cx.locals[st.name] = v
            self.note_assign(v)
        elif isinstance(st, A.Require):
            c = self.ex(st.cond, cx)
            if cx.in_for:
                self.err("E339", "require inside a for loop", st.span, "require before or after the loop")
            out.append(pad + f"if not {c}: {'continue' if cx.in_choose else 'return'}")
        elif isinstance(st, A.If):
            first = True
            for c, body in st.branches:
                cc = self.ex(c, cx)
                out.append(pad + (f"if {cc}:" if first else f"elif {cc}:"))
                self.block(body, cx.sub(), out, ind + 1)
                first = False
            if st.orelse is not None:
                out.append(pad + "else:")
                self.block(st.orelse, cx.sub(), out, ind + 1)
        elif isinstance(st, A.For):
            src = self.iter_src(st.src, cx)
            v = f"l_{st.name}_{self.tmp()}"
            inner = cx.sub(in_for=cx.in_for + 1)
            inner.locals[st.name] = v
            out.append(pad + f"for {v} in ordered_iter({src}):")
            self.block(st.body, inner, out, ind + 1)
        elif isinstance(st, A.Assign):
            self.assign(st, cx, out, ind)
        elif isinstance(st, A.Send):
            self.send(st, cx, out, ind)
        elif isinstance(st, A.Broadcast):
            self.send(st, cx, out, ind)
        else:
            self.err("E399", "cannot compile statement", st.span)

    def store_check(self, target_ty: Ty, value_expr: A.Expr, code: str) -> str:
        opt = isinstance(target_ty, OptT)
        if opt:
            target_ty = target_ty.inner
        src = value_expr.ty
        if isinstance(target_ty, IntT) and target_ty.lo is not None:
            lo, hi = self.bounds(target_ty)
            if _is_lit(code) and lo <= int(code) <= hi:
                return code
            fn = "check_range_opt" if opt and not isinstance(src, IntT) else "check_range"
            return f"{fn}({code}, {lo}, {hi}, {self.span_ref(value_expr.span)})"
        if isinstance(target_ty, IdT) and isinstance(src, IntT):
            lo, hi = self.bounds(target_ty)
            if _is_lit(code) and lo <= int(code) <= hi:
                return code
            return f"check_range({code}, {lo}, {hi}, {self.span_ref(value_expr.span)})"
        if isinstance(target_ty, SetT) and (isinstance(target_ty.elem, IdT) or
                                            isinstance(target_ty.elem, IntT) and target_ty.elem.lo is not None):
            if self.members_fit(target_ty.elem, value_expr):
                return code
            lo, hi = self.bounds(target_ty.elem)
            return f"check_members({code}, {lo}, {hi}, {self.span_ref(value_expr.span)})"
        if isinstance(target_ty, TupleT):
            checks = tuple((i, *self.bounds(it)) for i, it in enumerate(target_ty.items)
                           if self.component_may_leave(it, value_expr, i))
            if checks:
                return f"check_tuple({code}, {checks!r}, {self.span_ref(value_expr.span)})"
        return code

    def component_may_leave(self, item: Ty, e: A.Expr, i: int) -> bool:
        """Whether component i of tuple value e may fall outside `item`, a component of a
        ranged type (E501 is then checked where it is stored, as for a variable)."""
        if not (isinstance(item, IntT) and item.lo is not None or isinstance(item, IdT)):
            return False
        src = tuple_item_type(e, i)
        if isinstance(item, IdT):
            return isinstance(src, IntT)
        if isinstance(e, A.TupleLit) and isinstance(e.items[i], A.IntLit):
            lo, hi = self.bounds(item)
            return not lo <= e.items[i].value <= hi
        return not self.range_within(src, item)

    def range_within(self, ty: Ty | None, target: Ty) -> bool:
        """ty is an int type whose declared range lies within target's (no check needed)."""
        if not (isinstance(ty, IntT) and ty.lo is not None):
            return False
        lo, hi = self.bounds(target)
        slo, shi = self.bounds(ty)
        return lo <= slo and shi <= hi

    def field_values(self, name: str, args: list, order: list[int], cx: Cx) -> list[str]:
        """The code of a message's or record's field values, in field order; a field of a
        ranged type holds only values in range (E501), as a variable does."""
        fields = self.ts.messages[name].ty.fields if name in self.ts.messages else self.ts.records[name].fields
        vals: list = [None] * len(args)
        for a, i in zip(args, order):
            vals[i] = self.store_check(fields[i][1], a.value, self.ex(a.value, cx))
        return vals

    def members_fit(self, el: Ty, e: A.Expr) -> bool:
        """Every member of set expression e is of a type within el (so no check is needed).
        A literal's own type is the one its context asks for, so its items are looked at;
        a name has its declared type; anything else is checked when stored."""
        def fits(ty) -> bool:
            return isinstance(ty, IdT) if isinstance(el, IdT) else self.range_within(ty, el)
        if isinstance(e, A.SetLit):
            return all(fits(getattr(x, "ty", None)) for x in e.items)
        if isinstance(e, (A.Name, A.FieldAccess)) and isinstance(e.ty, SetT):
            return fits(e.ty.elem)
        return isinstance(e.ty, EmptyT)

    def lvalue(self, e: A.Expr, cx: Cx, out: list[str], pad: str):
        """-> (get_code, set_fn(value_code) -> line, type)"""
        if isinstance(e, A.Name):
            ref = e.ref
            if ref[0] == "local":
                v = cx.locals[e.id]
                return v, (lambda c, v=v: (self.note_assign(v), f"{v} = {c}")[1]), e.ty
            if ref[0] == "field":
                cx.written_own.add(e.id)
                v = f"f_{e.id}"
                self.own_written.add(e.id)
                return v, (lambda c, v=v: (self.note_assign(v), f"{v} = {c}")[1]), e.ty
            if ref[0] == "var":
                k = self.layout.var[e.id]
                return f"S{k}", (lambda c, k=k: (self.note_assign(f"S{k}"), self.write_slot(k, c))[1]), e.ty
        if isinstance(e, A.FieldAccess) and e.ref and e.ref[0] == "pfield":
            pname, fname = e.ref[1], e.ref[2]
            obj = self.ex(e.obj, cx)
            if isinstance(e.obj, A.SelfRef) and cx.mode == "handler":
                cx.written_own.add(fname)
                self.own_written.add(fname)
                v = f"f_{fname}"
                return v, (lambda c, v=v: (self.note_assign(v), f"{v} = {c}")[1]), e.ty
            k = self.layout.fld[(pname, fname)]
            lo, hi = self.ids[pname]
            if not _is_lit(obj):
                t = self.tmp()
                out.append(pad + f"{t} = check_key({obj}, {lo}, {hi}, {self.span_ref(e.obj.span)})")
                ix = t
            else:
                ix = self.idx(obj, lo)
            self.used.add(k)
            get = f"S{k}[{ix}]"
            return get, (lambda c, k=k, ix=ix: (self.note_assign(f"S{k}"),
                                                self.write_slot(k, f"setat(S{k}, {ix}, {c})"))[1]), e.ty
        if isinstance(e, A.Index):
            get, setf, t = self.lvalue(e.obj, cx, out, pad)
            key = e.indices[0]
            kc = self.ex(key, cx)
            if isinstance(t, MapT):
                ki = self.key_index(key, kc, t.key)
                if not _is_lit(ki):
                    tv = self.tmp()
                    out.append(pad + f"{tv} = {ki}")
                    ki = tv
                return f"{get}[{ki}]", (lambda c: setf(f"setat({get}, {ki}, {c})")), t.val
            if isinstance(t, SeqT):
                tv = self.tmp()
                out.append(pad + f"{tv} = {kc}")
                sp = self.span_ref(e.span)
                return (f"seq_at({get}, {tv}, {sp})", (lambda c: setf(f"seq_set({get}, {tv}, {c}, {sp})")),
                        t.elem)
        self.err("E325", "cannot assign to this", e.span)

    def assign(self, st: A.Assign, cx: Cx, out: list[str], ind: int):
        pad = "    " * ind
        get, setf, t = self.lvalue(st.target, cx, out, pad)
        val = self.ex(st.value, cx)
        if st.op == "=":
            code = self.store_check(t, st.value, val)
        elif isinstance(t, (SetT, EmptyT)):
            if st.op == "+=":
                val = self.store_check(t, st.value, val)     # what is added must fit the element type
            code = f"({get} {'|' if st.op == '+=' else '-'} {val})"
        elif isinstance(t, SeqT):
            code = f"({get} + {val})"
        else:
            code = f"({get} {st.op[0]} {val})"
            if isinstance(t, IntT) and t.lo is not None:
                lo, hi = self.bounds(t)
                code = f"check_range(({get} {st.op[0]} {val}), {lo}, {hi}, {self.span_ref(st.span)})"
        out.append(pad + setf(code))

    def send(self, st, cx: Cx, out: list[str], ind: int):
        pad = "    " * ind
        msg = st.msg
        mname = msg.func.id
        tag = self.tags[mname]
        vals = self.field_values(mname, msg.args, msg.ref[2], cx)
        for i, v in enumerate(vals):
            if not _is_lit(v) and v not in ("True", "False", "()"):
                t = self.tmp()
                out.append(pad + f"{t} = {v}")
                vals[i] = t
        me = str(cx.self_id)
        net = self.layout.net
        self.used.add(net)
        self.written.add(net)
        self.note_assign(f"S{net}")
        down = self.layout.down
        if down is not None:
            self.used.add(down)
        if isinstance(st, A.Broadcast):
            lo, hi = self.ids[cx.proc.name]
            dsts = [str(j) for j in range(lo, hi + 1) if j != cx.self_id]
        else:
            d = self.ex(st.to, cx)
            if isinstance(getattr(st.to, "ty", None), IntT):
                # a number names a process of an ordered id type: it must be one
                kind = self.ts.messages[mname].receiver
                lo, hi = self.ids[kind]
                if not (_is_lit(d) and lo <= int(d) <= hi):
                    d = f"check_id({d}, {lo}, {hi}, {kind!r}, {self.span_ref(st.to.span)})"
            if not _is_lit(d):
                t = self.tmp()
                out.append(pad + f"{t} = {d}")
                d = t
            dsts = [d]
        if not dsts:
            return
        if self.cfg.network == "fifo":
            m = "(" + ", ".join([str(tag), *vals]) + ",)"
            for d in dsts:
                ch = self.fifo_index(me, d)
                line = f"S{net} = fifo_push(S{net}, {ch}, {m})"
                if down is not None:
                    line = f"if {d} not in S{down}: " + line
                out.append(pad + line)
            return
        envs = ["(" + ", ".join([str(tag), me, d, *vals]) + ")" for d in dsts]
        if down is not None:
            gen = f"[e for e in ({', '.join(envs)},) if e[2] not in S{down}]"
        else:
            gen = f"({', '.join(envs)},)"
        if self.cfg.network == "set":
            if len(envs) == 1 and down is None:
                out.append(pad + f"S{net} = S{net} | {{{envs[0]}}}")
            else:
                out.append(pad + f"S{net} = S{net}.union({gen})")
        else:
            if len(envs) == 1 and down is None:
                out.append(pad + f"S{net} = ms_add(S{net}, {envs[0]})")
            else:
                out.append(pad + f"S{net} = ms_add_many(S{net}, {gen})")

    def fifo_index(self, src: str, dst: str) -> str:
        if _is_lit(src) and _is_lit(dst):
            return str(self.fifo_ch[(int(src), int(dst))])
        return f"{self.const(dict((k, v) for k, v in self.fifo_ch.items()))}[({src}, {dst})]"

    # ---- functions ----
    def begin_fn(self):
        self.used = set()
        self.written = set()
        self.assigned = set()
        self.assigned_stack = []
        self.own_written = set()
        self.choose_vars = []

    def emit_fn(self, header: str, prologue: list[str], body: list[str]):
        self.lines.append(header)
        self.lines.extend(prologue)
        self.lines.extend(body if body else ["    pass"])
        self.lines.append("")

    def finisher(self, cx: Cx, label: str | None, labeled: bool, extra_slots: dict[int, str] | None = None):
        """Code that builds the successor state from the locals and appends it."""
        def finish(out: list[str], ind: int):
            pad = "    " * ind
            if cx.proc is not None and cx.mode == "handler":
                lo = self.ids[cx.proc.name][0]
                n = self.ids[cx.proc.name][1] - lo + 1
                ix = cx.self_id - lo
                for fname in sorted(self.own_written):
                    k = self.layout.fld[(cx.proc.name, fname)]
                    self.used.add(k)
                    self.written.add(k)
                    items = [f"S{k}[{j}]" if j != ix else f"f_{fname}" for j in range(n)]
                    out.append(pad + f"S{k} = ({', '.join(items)},)")
            parts = []
            for k in range(len(self.layout.slots)):
                if k in self.written or (extra_slots and k in extra_slots):
                    parts.append(f"S{k}")
                else:
                    parts.append(f"s[{k}]")
            state = "(" + ", ".join(parts) + ",)"
            if labeled:
                ch = "(" + "".join(f"{v}, " for _, v in self.choose_vars) + ")"
                out.append(pad + f"out.append(({label} + ({ch},), {state}))")
            else:
                out.append(pad + f"out.append({state})")
        return finish

    def prologue(self, cx: Cx, skip: set[int] = frozenset()) -> list[str]:
        pro = []
        for k in sorted(self.used):
            if k in skip:
                continue
            pro.append(f"    S{k} = s[{k}]")
        if cx.proc is not None and cx.mode == "handler":
            lo = self.ids[cx.proc.name][0]
            ix = cx.self_id - lo
            for fname in cx.proc.fields:
                if fname in self.fields_read or fname in self.own_written:
                    k = self.layout.fld[(cx.proc.name, fname)]
                    if k not in self.used:
                        pro.insert(0, f"    S{k} = s[{k}]")
                        self.used.add(k)
                    pro.append(f"    f_{fname} = S{k}[{ix}]")
        return pro

    def gen_handler(self, p: ProcessInfo, h: A.Handler, i: int, labeled: bool) -> str:
        """One function for handler h at process id i."""
        suffix = "_L" if labeled else ""
        if h.kind == "message":
            # a process may have several handlers of one message: number the later ones
            nth = [x for x in p.handlers if x.kind == "message" and x.name == h.name].index(h)
            fname = f"d_{p.name}_{h.name}_{i}{'' if nth == 0 else f'_{nth + 1}'}{suffix}"
            header = f"def {fname}(s, e, net, out{', lab' if labeled else ''}):"
        elif h.kind == "timeout":
            fname = f"t_{p.name}_{h.name}_{i}{suffix}"
            header = f"def {fname}(s, out{', lab' if labeled else ''}):"
        else:
            fname = f"a_{p.name}_{h.name}_{i}{suffix}"
            header = f"def {fname}(s, out{', lab' if labeled else ''}):"
        self.begin_fn()
        cx = Cx(proc=p, self_id=i, mode="handler")
        cx.written_own = set(self.own_fields_written(h))
        self.fields_read = self.own_fields_read(h, p)
        body: list[str] = []
        if h.kind == "message":
            m = self.ts.messages[h.name]
            for j, pn in enumerate(h.params):
                v = f"l_{pn}"
                cx.locals[pn] = v
                body.append(f"    {v} = e[{3 + j}]")
            if h.sender:
                cx.locals[h.sender] = "l__src"
                body.append("    l__src = e[1]")
            self.used.add(self.layout.net)
            self.written.add(self.layout.net)
        label = "lab"
        bindings = list(h.bindings)
        ind = 1
        loops: list[str] = []
        if bindings:
            raw = cx.sub(state="raw")
            for b in bindings:
                v = f"l_{b.name}"
                loops.append("    " * ind + f"for {v} in ordered_iter({self.iter_src(b.src, raw)}):")
                cx.locals[b.name] = v
                raw.locals[b.name] = v
                ind += 1
            cx.in_choose += 1
            label = "lab + ((" + "".join(f"l_{b.name}, " for b in bindings) + "),)"
        inner: list[str] = []
        if h.guard is not None:
            g = self.ex(h.guard, cx)
            if g == "False":
                inner.append("    " * ind + ("continue" if bindings else "return"))
            elif g != "True":
                inner.append("    " * ind + f"if not {g}: {'continue' if bindings else 'return'}")
        self.stmts(h.body, cx, inner, ind, self.finisher(cx, label, labeled))
        pro = self.prologue(cx, skip={self.layout.net} if h.kind == "message" else set())
        pad = "    " * (ind - 1)
        if h.kind == "message":
            pro.insert(0, f"    S{self.layout.net} = net")
        self.emit_fn(header, [], body + loops + [pad + x for x in pro] + inner)
        return fname

    def own_fields_written(self, h: A.Handler) -> set[str]:
        out = set()
        for st in walk_stmts(h.body):
            if isinstance(st, A.Assign):
                t = st.target
                while isinstance(t, A.Index):
                    t = t.obj
                if isinstance(t, A.Name) and t.ref and t.ref[0] == "field":
                    out.add(t.id)
                if isinstance(t, A.FieldAccess) and isinstance(t.obj, A.SelfRef):
                    out.add(t.name)
        return out

    def own_fields_read(self, h: A.Handler, p: ProcessInfo) -> set[str]:
        """Own fields a handler may read through a bare name (loaded in its prologue)."""
        out = set()
        exprs = []
        if h.guard is not None:
            exprs.append(h.guard)
        for b in h.bindings:
            exprs.append(b.src)
        for st in walk_stmts(h.body):
            for attr in ("value", "cond", "msg", "to", "src", "where", "target"):
                x = getattr(st, attr, None)
                if isinstance(x, A.Expr):
                    exprs.append(x)
            if isinstance(st, A.If):
                exprs.extend(c for c, _ in st.branches)
        from .typecheck import walk_expr
        for e in exprs:
            for n in walk_expr(e):
                if isinstance(n, A.Name) and n.ref and n.ref[0] == "field":
                    out.add(n.id)
                elif isinstance(n, A.FieldAccess) and n.ref and n.ref[0] == "pfield" and n.ref[1] == p.name:
                    out.add(n.name)
                elif isinstance(n, A.Call) and n.ref and n.ref[0] == "def":
                    for m in walk_expr(self.ts.defs[n.ref[1]].body):
                        if isinstance(m, A.FieldAccess) and m.ref and m.ref[0] == "pfield" and m.ref[1] == p.name:
                            out.add(m.name)
        return out

    def gen_action(self, a: A.Action, labeled: bool) -> str:
        suffix = "_L" if labeled else ""
        fname = f"g_{a.name}{suffix}"
        self.begin_fn()
        self.fields_read = set()
        cx = Cx(mode="action")
        loops: list[str] = []
        ind = 1
        raw = cx.sub(state="raw")
        for b in a.bindings:
            v = f"l_{b.name}"
            loops.append("    " * ind + f"for {v} in ordered_iter({self.iter_src(b.src, raw)}):")
            cx.locals[b.name] = v
            raw.locals[b.name] = v
            ind += 1
        if a.bindings:
            cx.in_choose += 1
        label = f"({repr(('action', a.name))} + ((" + "".join(f"l_{b.name}, " for b in a.bindings) + "),))"
        inner: list[str] = []
        if a.guard is not None:
            g = self.ex(a.guard, cx)
            if g != "True":
                inner.append("    " * ind + f"if not {g}: {'continue' if a.bindings else 'return'}")
        self.stmts(a.body, cx, inner, ind, self.finisher(cx, label, labeled))
        pad = "    " * (ind - 1)
        self.emit_fn(f"def {fname}(s, out):", [], loops + [pad + x for x in self.prologue(cx)] + inner)
        return fname

    def dispatcher(self, fns: list[str], labeled: bool) -> str:
        """The function that delivers a message to its handlers at one process: the handler
        itself, or, where a process has several for the message, one calling each (every
        handler whose guard holds is a step of its own)."""
        if len(fns) == 1:
            return fns[0]
        name = f"{fns[0]}_all"
        args = "s, e, net, out" + (", lab" if labeled else "")
        self.lines += [f"def {name}({args}):", *[f"    {f}({args})" for f in fns], ""]
        return name

    # ---- the whole module ----
    def generate(self) -> str:
        L = self.layout
        self.lines = ["# generated by checker.compile; do not edit", ""]
        deliver: dict[str, dict[int, list[tuple[str, str]]]] = {}    # message -> id -> its handlers
        timeouts: list[tuple[int, str, str]] = []   # (id, fn, fn_L)
        for p in self.procs:
            lo, hi = self.ids[p.name]
            for i in range(lo, hi + 1):
                for h in p.handlers:
                    f = self.gen_handler(p, h, i, False)
                    fl = self.gen_handler(p, h, i, True)
                    if h.kind == "message":
                        deliver.setdefault(h.name, {}).setdefault(i, []).append((f, fl))
                    else:
                        lab = ("timeout" if h.kind == "timeout" else "action", p.name, h.name, i)
                        timeouts.append((i, f, fl, lab))
        actions = []
        for a in self.ts.actions:
            actions.append((self.gen_action(a, False), self.gen_action(a, True)))
        # dispatch tables: tag -> tuple indexed by dst id - lo (None where nobody handles it)
        lo_all = self.all_ids[0] if self.all_ids else 0
        hi_all = self.all_ids[-1] if self.all_ids else -1
        for labeled in (False, True):
            rows = []
            for name in sorted(self.ts.messages):
                handlers = deliver.get(name, {})
                row = [self.dispatcher([h[1 if labeled else 0] for h in handlers[i]], labeled) if i in handlers
                       else "None" for i in range(lo_all, hi_all + 1)]
                rows.append("(" + ", ".join(row) + ",)" if row else "()")     # no processes: nobody handles it
            self.lines.append(f"DISPATCH{'_L' if labeled else ''} = ({', '.join(rows)}{',' if rows else ''})")
        self.lines.append("")
        for labeled in (False, True):
            self.gen_successors(timeouts, actions, labeled, lo_all)
        self.gen_init()
        self.gen_restart()
        self.gen_properties()
        return "\n".join(self.lines) + "\n"

    def gen_successors(self, timeouts, actions, labeled: bool, lo_all: int):
        L = self.layout
        cfg = self.cfg
        sfx = "_L" if labeled else ""
        out = [f"def successors{sfx}(s):", "    out = []"]
        if L.down is not None:
            out.append(f"    down = s[{L.down}]")
        for (i, f, fl, lab) in timeouts:
            call = f"{fl}(s, out, {repr(lab)})" if labeled else f"{f}(s, out)"
            if L.down is not None:
                out.append(f"    if {i} not in down: {call}")
            else:
                out.append(f"    {call}")
        for f, fl in actions:
            out.append(f"    {fl if labeled else f}(s, out)")
        if L.net is not None:
            n = L.net
            disp = f"DISPATCH{sfx}"
            dl = "(('deliver', e),)" if labeled else ""
            if cfg.network == "fifo":
                out.append(f"    net = s[{n}]")
                if L.part is not None:
                    out.append(f"    part = s[{L.part}]")
                out.append("    for (src, dst), ch in FIFO_CH:")
                out.append("        q = net[ch]")
                out.append("        if not q: continue")
                if L.part is not None:
                    out.append("        if part and ((src in part) != (dst in part)): continue")
                out.append("        m = q[0]")
                out.append("        e = (m[0], src, dst) + m[1:]")
                out.append("        rest = fifo_pop(net, ch)")
                out.append(f"        h = {disp}[m[0]][dst - {lo_all}]")
                if labeled:
                    out.append("        if h is not None: h(s, e, rest, out, ('deliver', e))")
                else:
                    out.append("        if h is not None: h(s, e, rest, out)")
                if cfg.duplicating:
                    if labeled:
                        out.append("        if h is not None: h(s, e, net, out, ('duplicate', e))")
                    else:
                        out.append("        if h is not None: h(s, e, net, out)")
                if cfg.lossy:
                    st = f"s[:{n}] + (rest,) + s[{n + 1}:]"
                    out.append(f"        out.append((('drop', e, ()), {st}))" if labeled else f"        out.append({st})")
            else:
                multi = cfg.network == "unordered"
                out.append(f"    net = s[{n}]")
                if L.part is not None:
                    out.append(f"    part = s[{L.part}]")
                out.append("    for e in net:")
                if multi:
                    out.append("        if e[-1] != 1: continue")
                if L.part is not None:
                    out.append("        if part and ((e[1] in part) != (e[2] in part)): continue")
                if multi:
                    out.append("        rest = ms_remove(net, e)")
                else:
                    out.append("        rest = net - {e}")
                out.append(f"        h = {disp}[e[0]][e[2] - {lo_all}]")
                ee = "e[:-1]" if multi else "e"
                if labeled:
                    out.append(f"        if h is not None: h(s, e, rest, out, ('deliver', {ee}))")
                else:
                    out.append("        if h is not None: h(s, e, rest, out)")
                if cfg.duplicating:
                    if labeled:
                        out.append(f"        if h is not None: h(s, e, net, out, ('duplicate', {ee}))")
                    else:
                        out.append("        if h is not None: h(s, e, net, out)")
                if cfg.lossy:
                    st = f"s[:{n}] + (rest,) + s[{n + 1}:]"
                    out.append(f"        out.append((('drop', {ee}, ()), {st}))" if labeled else f"        out.append({st})")
        # faults
        if L.down is not None:
            k, c = L.down, L.crashes
            out.append(f"    if s[{c}] < {cfg.crash}:")
            out.append("        for p in ALL_IDS:")
            out.append("            if p in down: continue")
            if L.net is not None:
                if cfg.network == "fifo":
                    netc = f"tuple(() if dst == p else q for (src, dst), q in zip(FIFO_KEYS, s[{L.net}]))"
                else:
                    netc = f"frozenset(e for e in s[{L.net}] if e[2] != p)"
            st = self.state_with({k: "down | {p}", c: f"s[{c}] + 1", **({L.net: netc} if L.net is not None else {})})
            out.append(f"            out.append((('crash', p), {st}))" if labeled else f"            out.append({st})")
            if cfg.restart:
                out.append("    for p in down:")
                out.append(f"        restart{sfx}(s, p, out)")
        if L.part is not None:
            k, c = L.part, L.parts
            out.append(f"    if s[{k}]:")
            st = self.state_with({k: "EMPTY"})
            out.append(f"        out.append((('heal',), {st}))" if labeled else f"        out.append({st})")
            out.append(f"    elif s[{c}] < {cfg.partition}:")
            out.append("        for side in SPLITS:")
            st = self.state_with({k: "side", c: f"s[{c}] + 1"})
            out.append(f"            out.append((('partition', side), {st}))" if labeled else f"            out.append({st})")
        if L.now is not None:
            k = L.now
            out.append(f"    if s[{k}] < {cfg.tick}:")
            st = self.state_with({k: f"s[{k}] + 1"})
            out.append(f"        out.append((('tick',), {st}))" if labeled else f"        out.append({st})")
        out.append("    return out")
        out.append("")
        self.lines.extend(out)

    def state_with(self, changes: dict[int, str]) -> str:
        parts = [changes.get(k, f"s[{k}]") for k in range(len(self.layout.slots))]
        return "(" + ", ".join(parts) + ",)"

    # ---- initial states and restart ----
    def init_value_code(self, init: A.Init | None, ty: Ty, cx: Cx, out: list[str], ind: int, target: str,
                        span: Span) -> int:
        """Emit code binding `target`; returns the new indent (a loop for nondeterministic values)."""
        pad = "    " * ind
        if init is None:
            out.append(pad + f"{target} = {self.const(self.default_value(ty))}")
            return ind
        if init.kind == "value":
            out.append(pad + f"{target} = {self.store_check(ty, init.expr, self.ex(init.expr, cx))}")
            return ind
        if init.kind == "in":
            out.append(pad + f"for {target} in ordered_iter({self.iter_src(init.expr, cx)}):")
            checked = self.store_check(ty, init.expr, target)
            if checked != target:          # every initial value is in the declared type
                out.append(pad + "    " + f"{target} = {checked}")
            return ind + 1
        vals = self.all_values(ty, span)
        out.append(pad + f"for {target} in {self.const(tuple(vals))}:")
        return ind + 1

    def gen_init(self):
        L = self.layout
        self.begin_fn()
        out = ["def init_states():", "    out = []"]
        ind = 1
        init_vars: dict[str, str] = {}
        for v in self.ts.vars.values():
            cx = Cx(mode="init", init_vars=dict(init_vars), init_fields={})
            target = f"V_{v.name}"
            ind = self.init_value_code(v.decl.init, v.ty, cx, out, ind, target, v.decl.span)
            init_vars[v.name] = target
        field_locals: dict[tuple[str, int, str], str] = {}
        for p in self.procs:
            lo, hi = self.ids[p.name]
            for i in range(lo, hi + 1):
                fl: dict[str, str] = {}
                for f in p.fields.values():
                    cx = Cx(proc=p, self_id=i, mode="init", init_vars=dict(init_vars), init_fields=dict(fl))
                    target = f"F_{p.name}_{f.name}_{i}"
                    ind = self.init_value_code(f.decl.init, f.ty, cx, out, ind, target, f.decl.span)
                    fl[f.name] = target
                    field_locals[(p.name, i, f.name)] = target
        parts = []
        for k, sl in enumerate(L.slots):
            if sl.kind == "var":
                parts.append(init_vars[sl.name])
            elif sl.kind == "field":
                lo, hi = self.ids[sl.proc]
                parts.append("(" + ", ".join(field_locals[(sl.proc, i, sl.field)] for i in range(lo, hi + 1)) + ",)")
            elif sl.kind == "network":
                parts.append("FIFO_EMPTY" if self.cfg.network == "fifo" else "EMPTY")
            elif sl.kind in ("down", "partition"):
                parts.append("EMPTY")
            else:
                parts.append("0")
        out.append("    " * ind + f"out.append(({', '.join(parts)},))")
        out.append("    return out")
        out.append("")
        # init may use S-slots? No: init reads only locals.
        self.lines.extend(out)

    def gen_restart(self):
        """restart(s, p, out): p comes back with durable fields kept and volatile ones reset."""
        L = self.layout
        if L.down is None or not self.cfg.restart:
            return
        for labeled in (False, True):
            sfx = "_L" if labeled else ""
            out = [f"def restart{sfx}(s, p, out):"]
            first = True
            for p in self.procs:
                lo, hi = self.ids[p.name]
                for i in range(lo, hi + 1):
                    out.append(f"    {'if' if first else 'elif'} p == {i}:")
                    first = False
                    ind = 2
                    fl: dict[str, str] = {}
                    changes: dict[int, str] = {L.down: "s[%d] - {p}" % L.down}
                    for f in p.fields.values():
                        volatile = not f.durable or (p.name, f.name) in self.cfg.volatile
                        k = L.fld[(p.name, f.name)]
                        target = f"F_{f.name}"
                        if volatile:
                            cx = Cx(proc=p, self_id=i, mode="init", init_vars={}, init_fields=dict(fl))
                            ind = self.init_value_code(f.decl.init, f.ty, cx, out, ind, target, f.decl.span)
                            changes[k] = f"setat(s[{k}], {i - lo}, {target})"
                        else:
                            out.append("    " * ind + f"{target} = s[{k}][{i - lo}]")
                        fl[f.name] = target
                    st = self.state_with(changes)
                    out.append("    " * ind + (f"out.append((('restart', p), {st}))" if labeled else f"out.append({st})"))
            out.append("")
            self.lines.extend(out)

    # ---- properties ----
    def prop_fn(self, name: str, exprs: list[A.Expr], two_states: bool, joiner: str = "and") -> None:
        self.begin_fn()
        cx = Cx(mode="prop")
        body = []
        codes = [self.ex(x, cx) for x in exprs]
        code = codes[0] if len(codes) == 1 else "(" + f" {joiner} ".join(codes) + ")"
        pro = [f"    S{k} = s[{k}]" for k in sorted(self.used)]
        if two_states:
            pro += [f"    O{k} = o[{k}]" for k in sorted(self.used)]
        args = "o, s" if two_states else "s"
        self.lines.append(f"def {name}({args}):")
        self.lines.extend(pro)
        self.lines.append(f"    return {code}")
        self.lines.append("")

    def gen_properties(self):
        """The properties this model checks (`check P, Q`; all of them without a check
        line). One it leaves out is not compiled: it cannot make the model fail (it may use
        `now`, say, in a model without a tick clock) and nothing runs it."""
        self.prop_names: dict[str, list[str]] = {}
        for i, p in enumerate(self.ts.properties):
            if not self.cfg.checks(p.name):
                continue
            two = p.kind == "transition"
            fn = f"prop_{i}"
            self.prop_fn(fn, p.conjuncts, two)
            parts = []
            for j, c in enumerate(p.conjuncts):
                self.prop_fn(f"{fn}_{j}", [c], two)
                parts.append(f"{fn}_{j}")
            self.prop_names[p.name] = [fn, *parts]
        for i, m in enumerate(self.ts.measures):
            self.prop_fn(f"measure_{i}", [m.cond], False)


MAX_PROCESSES = 1000      # ids of one type: a model beyond that is a typo in -D, not a search
MAX_PARTITIONED = 20      # partition faults enumerate 2^(n-1) splits


def compile_model(ts: TypedSpec, cfg: ModelConfig):
    from .model import Model
    g = Gen(ts, cfg)
    src = g.generate()
    ns: dict[str, Any] = {
        "setat": runtime.setat, "ms_add": runtime.ms_add, "ms_add_many": runtime.ms_add_many, "ms_count": runtime.ms_count,
        "ms_remove": runtime.ms_remove, "fifo_push": runtime.fifo_push, "fifo_pop": runtime.fifo_pop,
        "check_range": runtime.check_range, "check_members": runtime.check_members, "check_tuple": runtime.check_tuple, "check_range_opt": runtime.check_range_opt, "check_id": runtime.check_id, "check_key": runtime.check_key, "div": runtime.div,
        "mod": runtime.mod, "smin": runtime.smin, "smax": runtime.smax, "head": runtime.head,
        "last": runtime.last, "seq_at": runtime.seq_at, "seq_set": runtime.seq_set,
        "ordered_iter": runtime.ordered_iter, "map_build": map_build, "EMPTY": frozenset(),
        "ALL_IDS": tuple(g.all_ids),
    }
    ns.update(g.ns)
    if cfg.network == "fifo":
        keys = sorted(g.fifo_ch, key=lambda k: g.fifo_ch[k])
        ns["FIFO_CH"] = tuple((k, g.fifo_ch[k]) for k in keys)
        ns["FIFO_KEYS"] = tuple(keys)
        ns["FIFO_EMPTY"] = tuple(() for _ in keys)
    if cfg.partition:
        ids = g.all_ids
        splits = []
        first, rest = ids[0], ids[1:]
        for r in range(0, len(rest)):
            for combo in itertools.combinations(rest, r):
                splits.append(frozenset((first, *combo)))
        ns["SPLITS"] = tuple(splits)
    code = compile(src, f"<model {ts.name}:{cfg.name}>", "exec")
    exec(code, ns)
    return Model(ts, cfg, g, ns, src)


def map_build(base: tuple, pairs) -> tuple:
    lst = list(base)
    for k, v in pairs:
        lst[k] = v
    return tuple(lst)
