"""Syntax tree -> typed spec: every name resolved, every expression typed, every rule
checked, before anything runs.

The checker walks the AST once, annotating expressions in place (`expr.ty`, `name.ref`)
and collecting the tables the compiler needs into a `TypedSpec`. All problems are
collected as diagnostics (E2xx names, E3xx types and symmetry, E4xx models) and raised
together as one `SpecError`, in source order.

Which id type belongs to a process: `process Node:` needs an id type `Node` (`type Node =
1..N`); its instances are the ids. Each message type is received by one process kind
(the one with a handler for it) and sent by one kind (checked at its sends), so an
envelope's sender and receiver kinds are known statically. Ids of different process
kinds must not overlap, so a process is named by its id alone in traces.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from difflib import get_close_matches

from .diagnostics import Diagnostic, Span, SpecError, span_text
from .dsl import ast as A
from .types import (ANY, BOOL, EMPTY, INT, NONE, AnyT, BoolT, EmptyT, EnumT, IdT, IntT, MapT, MsgT,
                    NoneT, OptT, RecordT, SeqT, SetT, TupleT, Ty, assignable, comparable, is_finite_key,
                    join, mentions_symmetric, ordered, unsymmetric)

BUILTINS = ("size", "len", "min", "max", "old", "pending", "alive", "connected", "abs", "head", "tail",
            "last", "keys", "values")
NETWORK_OPTIONS = ("unordered", "set", "fifo", "lossy", "duplicating", "reliable")
FAULTS = ("crash", "restart", "partition", "tick")
COUNTERS = ("messages", "deliveries", "steps", "ticks")
SIGNATURES = {
    "size": "size(s): the number of elements of a set, a sequence or a map",
    "len": "len(s): the number of elements of a set, a sequence or a map",
    "min": "min(s): the least of a set or sequence of ordered values",
    "max": "max(s): the greatest of a set or sequence of ordered values",
    "abs": "abs(x): the absolute value of an int",
    "head": "head(s): the first element of a sequence",
    "last": "last(s): the last element of a sequence",
    "tail": "tail(s): a sequence without its first element",
    "keys": "keys(m): the set of a map's keys",
    "values": "values(m): the set of a map's values",
    "old": "old(e): the value of e before the step, in a transition property",
    "alive": "alive(p): whether process p is up (not crashed)",
    "connected": "connected(p, q): whether no partition separates processes p and q",
    "pending": "pending(Msg, src=p, dst=q, field=v): how many Msg messages in flight match",
}


@dataclass
class FieldInfo:
    name: str
    ty: Ty
    decl: A.FieldDecl
    durable: bool
    ghost: bool


@dataclass
class ProcessInfo:
    name: str
    idty: IdT
    decl: A.Process
    fields: dict[str, FieldInfo]
    handlers: list[A.Handler]


@dataclass
class VarInfo:
    name: str
    ty: Ty
    decl: A.VarDecl


@dataclass
class MessageInfo:
    name: str
    ty: MsgT
    decl: A.MessageDecl
    receiver: str | None = None       # process kind with the handler
    sender: str | None = None         # process kind that sends it


@dataclass
class TypedSpec:
    name: str
    file: str
    source: str
    ast: A.Spec
    consts: dict[str, A.Const] = field(default_factory=dict)
    idtypes: dict[str, IdT] = field(default_factory=dict)
    enums: dict[str, EnumT] = field(default_factory=dict)
    records: dict[str, RecordT] = field(default_factory=dict)
    aliases: dict[str, Ty] = field(default_factory=dict)
    messages: dict[str, MessageInfo] = field(default_factory=dict)
    processes: dict[str, ProcessInfo] = field(default_factory=dict)
    vars: dict[str, VarInfo] = field(default_factory=dict)
    actions: list[A.Action] = field(default_factory=list)
    defs: dict[str, A.Def] = field(default_factory=dict)
    properties: list[A.Property] = field(default_factory=list)
    # sends to one channel from a loop over a symmetric id type, with a message that changes
    # per id: order-dependent only in a fifo network, where a model raises these (E341)
    fifo_order_sends: list[Diagnostic] = field(default_factory=list)
    measures: list[A.Measure] = field(default_factory=list)
    models: dict[str, A.Model] = field(default_factory=dict)
    enum_members: dict[str, list[tuple[EnumT, int]]] = field(default_factory=dict)

    def process_of_id(self, idty: IdT) -> ProcessInfo | None:
        p = self.processes.get(idty.name)
        return p


@dataclass
class Scope:
    """Where an expression is checked: what `self`, locals and state it may see."""
    process: ProcessInfo | None = None
    locals: dict[str, Ty] = field(default_factory=dict)
    can_assign_state: bool = False
    in_property: str | None = None     # property kind
    in_def: bool = False
    handler: A.Handler | None = None
    nonnone: frozenset = frozenset()   # optional expressions (their keys, see `opt_key`) known not none here

    def child(self, **more: Ty) -> "Scope":
        s = Scope(self.process, dict(self.locals), self.can_assign_state, self.in_property, self.in_def,
                  self.handler, self.nonnone)
        s.locals.update(more)
        if more:
            s.forget(more)
        return s

    def narrowed(self, keys) -> "Scope":
        s = self.child()
        s.nonnone = self.nonnone | frozenset(keys)
        return s

    def forget(self, names) -> None:
        """A name bound anew: what was known of the old one no longer holds."""
        if self.nonnone:
            self.nonnone = frozenset(k for k in self.nonnone if k.split(".")[0] not in names)


def opt_key(e: A.Expr) -> str | None:
    """A name for an expression whose value narrowing can follow: `x`, `self.x`, `n.best.owner`."""
    if isinstance(e, A.Name):
        return e.id
    if isinstance(e, A.SelfRef):
        return "self"
    if isinstance(e, A.FieldAccess):
        if isinstance(e.obj, A.SelfRef):
            return e.name                   # self.x is the field x
        k = opt_key(e.obj)
        return None if k is None else f"{k}.{e.name}"
    return None


def none_facts(c: A.Expr, truth: bool) -> set[str]:
    """Keys of optionals that are not none wherever `c` evaluates to `truth`."""
    if isinstance(c, A.Compare) and c.op in ("==", "!="):
        for x, y in ((c.left, c.right), (c.right, c.left)):
            if isinstance(y, A.NoneLit):
                k = opt_key(x)
                if k is not None and (c.op == "!=") == truth:
                    return {k}
        return set()
    if isinstance(c, A.Unary) and c.op == "not":
        return none_facts(c.operand, not truth)
    if isinstance(c, A.BoolChain) and (c.op == "and") == truth:
        out: set[str] = set()
        for x in c.items:
            out |= none_facts(x, truth)
        return out
    return set()


def target_path(t: A.Expr) -> tuple[A.Expr, list[A.Expr]]:
    """An assignment target's root (`m` in `m[k].f = v`) and the indices on the way."""
    indices: list[A.Expr] = []
    while isinstance(t, (A.FieldAccess, A.Index)):
        if isinstance(t, A.Index):
            indices.extend(t.indices)
        t = t.obj
    return t, indices


def assigned_roots(stmts: list[A.Stmt]) -> set[str]:
    """Names a block assigns to (the root of each target) or binds anew."""
    out: set[str] = set()
    for st in stmts:
        if isinstance(st, A.Assign):
            root, _ = target_path(st.target)
            if isinstance(root, A.Name):
                out.add(root.id)
        elif isinstance(st, (A.Let, A.Choose)):
            out.add(st.name)
        elif isinstance(st, A.If):
            for _, body in st.branches:
                out |= assigned_roots(body)
            out |= assigned_roots(st.orelse or [])
        elif isinstance(st, A.For):
            out.add(st.name)
            out |= assigned_roots(st.body)
    return out


class Checker:
    def __init__(self, spec: A.Spec):
        self.spec = spec
        self.ts = TypedSpec(spec.name, spec.file, spec.source, spec)
        self.diags: list[Diagnostic] = []
        self.globals: dict[str, tuple[str, A.Node]] = {}

    # ---- reporting ----
    def err(self, code: str, msg: str, span: Span | None, hint: str | None = None, note: str | None = None):
        self.diags.append(Diagnostic(code, msg, span, [hint] if hint else [], [note] if note else []))

    def distinct_names(self, items: list[tuple[str, Span]], what: str):
        """E202 for a name given twice in one declaration's list (fields, parameters)."""
        first: dict[str, Span] = {}
        told: set[str] = set()
        for name, span in items:
            if name not in first:
                first[name] = span
            elif name not in told:
                told.add(name)
                self.err("E202", f"'{name}' is declared twice as a {what}", span,
                         note=f"first declared at {first[name]}" if first[name] != span else None,
                         hint="rename one of them")

    def unknown(self, name: str, span: Span, what: str, candidates) -> None:
        close = get_close_matches(name, list(candidates), n=1)
        hint = f"did you mean '{close[0]}'?" if close else None
        self.err("E201", f"unknown {what} '{name}'", span, hint)

    # ---- entry ----
    def run(self) -> TypedSpec:
        decls = self.spec.decls
        # pass 1: declare names
        for d in decls:
            if isinstance(d, A.SpecName):
                continue
            if isinstance(d, A.Model):
                if d.name in self.ts.models:
                    self.err("E202", f"model '{d.name}' is declared twice", d.span,
                             note=f"first declared at {self.ts.models[d.name].span}")
                self.ts.models[d.name] = d
                continue
            if isinstance(d, (A.Property, A.Measure)):
                continue
            if isinstance(d, A.Process):
                first = next(q for q in decls if isinstance(q, A.Process) and q.name == d.name)
                if first is not d:
                    self.err("E202", f"process '{d.name}' is declared twice", d.span,
                             note=f"first declared at {first.span}",
                             hint="one process block holds all of a process's fields and handlers")
                continue
            if d.name in self.globals:
                kind, prev = self.globals[d.name]
                self.err("E202", f"'{d.name}' is declared twice", d.span, note=f"first declared at {prev.span}")
                continue
            kind = type(d).__name__
            self.globals[d.name] = (kind, d)
        for d in decls:
            if isinstance(d, A.Const):
                self.check_const(d)
        for d in decls:
            if isinstance(d, A.EnumDecl):
                self.declare_enum(d)
        for d in decls:
            if isinstance(d, A.TypeDecl):
                self.declare_type(d)
        for d in decls:
            if isinstance(d, (A.RecordDecl, A.MessageDecl, A.Def)):
                kind = {"RecordDecl": "record", "MessageDecl": "message", "Def": "def"}[type(d).__name__]
                self.distinct_names([(q.name, q.span) for q in (d.params if isinstance(d, A.Def) else d.fields)],
                                    f"{'parameter' if isinstance(d, A.Def) else 'field'} of {kind} '{d.name}'")
            elif isinstance(d, A.Action):
                self.distinct_names([(b.name, b.span) for b in d.bindings], f"parameter of action '{d.name}'")
        for d in decls:
            if isinstance(d, A.RecordDecl):
                self.ts.records[d.name] = RecordT(d.name, tuple((p.name, self.resolve_type(p.type)) for p in d.fields))
        for d in decls:
            if isinstance(d, A.MessageDecl):
                ty = MsgT(d.name, tuple((p.name, self.resolve_type(p.type)) for p in d.fields))
                for p in d.fields:
                    self.check_storable(ty.fields[[n for n, _ in ty.fields].index(p.name)][1], p.type.span)
                self.ts.messages[d.name] = MessageInfo(d.name, ty, d)
        for d in decls:
            if isinstance(d, A.Def):
                self.ts.defs[d.name] = d
        procs = [d for d in decls if isinstance(d, A.Process)]
        for p in procs:
            self.declare_process(p)
        for d in decls:
            if isinstance(d, A.VarDecl):
                self.declare_var(d)
        self.check_id_overlap()
        # pass 2: bodies
        for d in decls:
            if isinstance(d, A.Def):
                self.check_def(d)
        for v in self.ts.vars.values():
            self.check_init(v.decl.init, v.ty, Scope(), f"var '{v.name}'")
        # who receives each message is known before any body is checked, so a send to a
        # number names a process whatever order the processes are declared in
        for p in procs:
            for h in p.handlers:
                m = self.ts.messages.get(h.name) if h.kind == "message" else None
                if m is not None and p.name in self.ts.processes and m.receiver is None:
                    m.receiver = p.name
        for p in procs:
            if p.name in self.ts.processes:
                self.check_process(self.ts.processes[p.name])
        for d in decls:
            if isinstance(d, A.Action):
                self.check_action(d)
            elif isinstance(d, A.Property):
                self.check_property(d)
            elif isinstance(d, A.Measure):
                self.check_measure(d)
        for d in decls:
            if isinstance(d, A.Model):
                self.check_model(d)
        if self.diags:
            self.diags.sort(key=lambda x: (x.span.line, x.span.col) if x.span else (0, 0))
            raise SpecError(self.diags, self.spec.source)
        return self.ts

    # ---- declarations ----
    def check_const(self, d: A.Const):
        ty = self.resolve_type(d.type)
        if not isinstance(ty, (IntT, BoolT, AnyT)):
            self.err("E301", f"a constant must be an int or a bool, not {ty}", d.type.span)
        d.ty = ty
        self.ts.consts[d.name] = d
        if d.default is not None:
            t = self.expr(d.default, Scope(), expected=ty)
            if not assignable(ty, t):
                self.err("E302", f"constant '{d.name}' is declared {ty} but its default is {t}", d.default.span)
            self.check_constant_expr(d.default)

    def check_constant_expr(self, e: A.Expr):
        for n in walk_expr(e):
            if isinstance(n, A.Name) and n.ref and n.ref[0] not in ("const", "enum"):
                self.err("E303", f"'{n.id}' is not a constant: this value must be known before the run starts",
                         n.span)

    def declare_enum(self, d: A.EnumDecl):
        seen = set()
        for m, sp in zip(d.members, d.member_spans):
            if m in seen:
                self.err("E202", f"enum member '{m}' is declared twice", sp)
            seen.add(m)
        t = EnumT(d.name, tuple(d.members))
        self.ts.enums[d.name] = t
        for i, m in enumerate(d.members):
            self.ts.enum_members.setdefault(m, []).append((t, i))
            if m in self.globals and self.globals[m][0] != "EnumDecl":
                self.err("E202", f"enum member '{m}' has the name of another declaration", sp,
                         note=f"declared at {self.globals[m][1].span}")

    def declare_type(self, d: A.TypeDecl):
        if isinstance(d.type, A.TRange):
            self.expr(d.type.lo, Scope(), expected=INT)
            self.expr(d.type.hi, Scope(), expected=INT)
            self.check_constant_expr(d.type.lo)
            self.check_constant_expr(d.type.hi)
            self.ts.idtypes[d.name] = IdT(d.name, d.type.lo, d.type.hi, d.symmetric)
        else:
            if d.symmetric:
                self.err("E304", "only an id range (lo..hi) can be symmetric", d.span,
                         hint=f"write `type {d.name} = 1..N symmetric`")
            self.ts.aliases[d.name] = self.resolve_type(d.type)

    def resolve_type(self, t: A.TypeExpr) -> Ty:
        if isinstance(t, A.TOptional):
            inner = self.resolve_type(t.inner)
            if isinstance(inner, OptT):
                self.err("E305", "an optional of an optional", t.span)
            return OptT(inner)
        if isinstance(t, A.TRange):
            self.expr(t.lo, Scope(), expected=INT)
            self.expr(t.hi, Scope(), expected=INT)
            self.check_constant_expr(t.lo)
            self.check_constant_expr(t.hi)
            return IntT(t.lo, t.hi)
        if isinstance(t, A.TTuple):
            return TupleT(tuple(self.resolve_type(x) for x in t.items))
        if isinstance(t, A.TApp):
            arity = {"set": 1, "seq": 1, "map": 2}
            if t.name not in arity:
                self.err("E306", f"'{t.name}[...]' is not a type", t.span, hint="write set[T], seq[T] or map[K, V]")
                return ANY
            if len(t.args) != arity[t.name]:
                self.err("E306", f"{t.name} takes {arity[t.name]} type argument{'s' if arity[t.name] > 1 else ''}, "
                         f"found {len(t.args)}", t.span)
                return ANY
            args = [self.resolve_type(a) for a in t.args]
            if t.name == "set":
                return SetT(args[0])
            if t.name == "seq":
                return SeqT(args[0])
            if not is_finite_key(args[0]) and not isinstance(args[0], AnyT):
                self.err("E307", f"a map's key type must be finite (bool, an enum, an id type or a range), "
                         f"not {args[0]}", t.args[0].span)
            return MapT(args[0], args[1])
        if isinstance(t, A.TName):
            n = t.name
            if n == "int":
                return INT
            if n == "bool":
                return BOOL
            if n in self.ts.idtypes:
                return self.ts.idtypes[n]
            if n in self.ts.enums:
                return self.ts.enums[n]
            if n in self.ts.records:
                return self.ts.records[n]
            if n in self.ts.aliases:
                return self.ts.aliases[n]
            if n in self.ts.messages:
                return self.ts.messages[n].ty
            if n in self.globals and self.globals[n][0] == "TypeDecl":
                d = self.globals[n][1]
                if isinstance(d.type, A.TRange):
                    self.declare_type(d)
                    return self.ts.idtypes[n]
                t2 = self.resolve_type(d.type)
                self.ts.aliases[n] = t2
                return t2
            if n in self.globals and self.globals[n][0] == "RecordDecl":
                d = self.globals[n][1]
                r = RecordT(n, tuple((p.name, self.resolve_type(p.type)) for p in d.fields))
                self.ts.records[n] = r
                return r
            cands = ["int", "bool", *self.ts.idtypes, *self.ts.enums, *self.ts.records, *self.ts.aliases]
            self.unknown(n, t.span, "type", cands)
            return ANY
        return ANY

    def check_storable(self, ty: Ty, span: Span):
        pass

    def declare_process(self, p: A.Process):
        idty = self.ts.idtypes.get(p.name)
        if idty is None:
            self.err("E203", f"process '{p.name}' has no id type", p.span,
                     hint=f"declare its ids first, e.g. `type {p.name} = 1..N`")
            idty = IdT(p.name, A.IntLit(p.span, 1), A.IntLit(p.span, 1))
        fields: dict[str, FieldInfo] = {}
        for f in p.fields:
            if f.name in fields:
                self.err("E202", f"field '{f.name}' is declared twice", f.span,
                         hint="remove one, or rename it")
                continue
            ty = self.resolve_type(f.type)
            fields[f.name] = FieldInfo(f.name, ty, f, f.durable, f.ghost)
        self.ts.processes[p.name] = ProcessInfo(p.name, idty, p, fields, list(p.handlers))

    def declare_var(self, d: A.VarDecl):
        if d.durable:
            self.err("E308", "'durable' belongs to process fields; a global var is never reset", d.span)
        ty = self.resolve_type(d.type)
        self.ts.vars[d.name] = VarInfo(d.name, ty, d)

    def check_id_overlap(self):
        # checked for literal bounds only; the compiler checks evaluated bounds per model
        pass

    def check_init(self, init: A.Init | None, ty: Ty, scope: Scope, what: str):
        if init is None:
            return
        if init.kind == "value":
            t = self.expr(init.expr, scope, expected=ty)
            if not assignable(ty, t):
                self.err("E302", f"{what} is declared {ty} but its initial value is {t}", init.expr.span)
        elif init.kind == "in":
            t = self.expr(init.expr, scope, expected=SetT(ty))
            if isinstance(t, SetT) and not assignable(ty, t.elem):
                self.err("E302", f"{what} is declared {ty} but is chosen from a set of {t.elem}", init.expr.span)
            elif not isinstance(t, (SetT, AnyT, EmptyT)):
                self.err("E309", f"'in' needs a set to choose from, found {t}", init.expr.span)
        elif init.kind == "any":
            if not finite_type(ty):
                self.err("E310", f"'in *' chooses among every value of {ty}, which is not a finite type",
                         init.span)

    def check_process(self, p: ProcessInfo):
        sc = Scope(process=p)
        for f in p.fields.values():
            self.check_init(f.decl.init, f.ty, sc, f"field '{f.name}'")
        names = set()
        for h in p.handlers:
            key = (h.kind, h.name)
            if key in names and h.kind != "message":
                self.err("E202", f"{h.kind} '{h.name}' is declared twice in process '{p.name}'", h.span)
            names.add(key)
            hs = Scope(process=p, can_assign_state=True, handler=h)
            self.distinct_names([(n, h.span) for n in [*h.params, *([h.sender] if h.sender else []),
                                                      *(b.name for b in h.bindings)]],
                                f"name bound by `on {h.name}`")
            if h.kind == "message":
                m = self.ts.messages.get(h.name)
                if m is None:
                    self.unknown(h.name, h.name_span or h.span, "message", self.ts.messages)
                    for pn in h.params:
                        hs.locals[pn] = ANY
                    if h.sender:
                        hs.locals[h.sender] = ANY
                    h._scope_locals = hs.locals  # type: ignore[attr-defined]
                    h._unknown = True  # type: ignore[attr-defined]
                    continue
                if m.receiver and m.receiver != p.name:
                    self.err("E311", f"message '{h.name}' is already handled by process '{m.receiver}'", h.span,
                             hint="give each process kind its own message types")
                m.receiver = p.name
                if len(h.params) != len(m.ty.fields):
                    self.err("E312", f"message '{h.name}' has {len(m.ty.fields)} field"
                             f"{'s' if len(m.ty.fields) != 1 else ''} "
                             f"({', '.join(n for n, _ in m.ty.fields)}), the handler binds {len(h.params)}",
                             h.name_span or h.span,
                             hint=f"bind one name per field: `on {h.name}({', '.join(n for n, _ in m.ty.fields)}) "
                                  f"from p:`")
                for pn, (_, ft) in zip(h.params, m.ty.fields):
                    if pn in p.fields:
                        self.err("E204", f"'{pn}' hides the field of the same name", h.span,
                                 hint="give the message field another name here")
                    hs.locals[pn] = ft
                if h.sender:
                    hs.locals[h.sender] = ANY    # fixed below once the sender kind is known
                    hs.locals["__sender__"] = ANY
            for b in h.bindings:
                t = self.expr(b.src, hs)
                hs.locals[b.name] = elem_type(t) if isinstance(t, SetT) else ANY
                if not isinstance(t, (SetT, AnyT)):
                    self.err("E309", f"a parameter ranges over a set, found {t}", b.src.span)
            h._scope_locals = hs.locals  # type: ignore[attr-defined]
        # senders: a message's sender kind is the kind that sends it; default: the receiver
        for h in p.handlers:
            if h.kind == "message" and h.sender and h.name in self.ts.messages:
                pass
        for h in p.handlers:
            hs = Scope(process=p, locals=dict(getattr(h, "_scope_locals", {})), can_assign_state=True, handler=h)
            if h.kind == "message" and h.sender and h.name in self.ts.messages and not getattr(h, "_unknown", False):
                m = self.ts.messages[h.name]
                sender_kind = m.sender or self.find_sender(h.name) or p.name
                hs.locals[h.sender] = self.ts.processes[sender_kind].idty if sender_kind in self.ts.processes else ANY
                hs.locals.pop("__sender__", None)
            if h.guard is not None:
                self.cond(h.guard, hs.child(), "a guard")
            self._guarded_body(h.guard, h.body, hs)

    def find_sender(self, msg: str) -> str | None:
        kinds = []
        for p in self.ts.processes.values():
            for h in p.handlers:
                for st in walk_stmts(h.body):
                    if isinstance(st, (A.Send, A.Broadcast)) and isinstance(st.msg, A.Call) and \
                            isinstance(st.msg.func, A.Name) and st.msg.func.id == msg:
                        if p.name not in kinds:
                            kinds.append(p.name)
        if len(kinds) > 1:
            self.err("E313", f"message '{msg}' is sent by processes of kinds {', '.join(kinds)}; "
                     "a handler's sender must have one kind", self.ts.messages[msg].decl.span)
        return kinds[0] if kinds else None

    def check_def(self, d: A.Def):
        sc = Scope(in_def=True)
        for p in d.params:
            sc.locals[p.name] = self.resolve_type(p.type)
        d.param_types = [sc.locals[p.name] for p in d.params]  # type: ignore[attr-defined]
        d.checking = True  # type: ignore[attr-defined]   # while its body is checked: a call in it is recursion
        d.ret = self.expr(d.body, sc)  # type: ignore[attr-defined]
        d.checking = False  # type: ignore[attr-defined]

    def check_action(self, a: A.Action):
        sc = Scope(can_assign_state=True)
        for b in a.bindings:
            t = self.expr(b.src, sc)
            if not isinstance(t, (SetT, AnyT)):
                self.err("E309", f"a parameter ranges over a set, found {t}", b.src.span)
            sc.locals[b.name] = elem_type(t) if isinstance(t, SetT) else ANY
        if a.guard is not None:
            self.cond(a.guard, sc.child(), "a guard")
        self._guarded_body(a.guard, a.body, sc)
        self.ts.actions.append(a)

    def _guarded_body(self, guard: A.Expr | None, body: list[A.Stmt], sc: Scope):
        """A step's body runs only where its guard holds: `requires x != none` narrows x
        there as an `if` would (until a statement assigns x)."""
        facts = none_facts(guard, True) if guard is not None else set()
        if facts:
            self._narrowed_block(body, sc, facts)
        else:
            self.block(body, sc)

    def check_property(self, p: A.Property):
        sc = Scope(in_property=p.kind)
        for c in p.conjuncts:
            self.cond(c, sc, f"{'an' if p.kind[0] in 'aeiou' else 'a'} {p.kind} property")
        self.ts.properties.append(p)
        if sum(1 for q in self.ts.properties if q.name == p.name) > 1:
            self.err("E202", f"property '{p.name}' is declared twice", p.span)

    def check_measure(self, m: A.Measure):
        if m.counter not in COUNTERS:
            self.err("E314", f"unknown counter '{m.counter}'", m.counter_span,
                     hint="count one of: " + ", ".join(COUNTERS))
        self.cond(m.cond, Scope(in_property="measure"), "a measure's condition")
        self.ts.measures.append(m)

    def check_model(self, m: A.Model):
        if m.extends is not None and m.extends not in self.ts.models:
            self.unknown(m.extends, m.extends_span or m.span, "model", self.ts.models)
        for it in m.items:
            if it.kind == "const":
                c = self.ts.consts.get(it.name)
                if c is None:
                    self.unknown(it.name, it.span, "constant", self.ts.consts)
                    continue
                t = self.expr(it.value, Scope(), expected=c.ty)
                if not assignable(c.ty, t):
                    self.err("E401", f"constant '{it.name}' is {c.ty}, the model gives it {t}", it.value.span)
                self.check_constant_expr(it.value)
            elif it.kind == "network":
                for name, _, sp in it.options:
                    if name not in NETWORK_OPTIONS:
                        close = get_close_matches(name, NETWORK_OPTIONS, n=1)
                        self.err("E402", f"unknown network option '{name}'", sp,
                                 hint=(f"did you mean '{close[0]}'? " if close else "") +
                                 "options: unordered, set, fifo, lossy, duplicating")
                kinds = [n for n, _, _ in it.options if n in ("unordered", "set", "fifo")]
                if len(kinds) > 1:
                    self.err("E402", f"a network is one of unordered, set or fifo, not {' and '.join(kinds)}",
                             it.span)
            elif it.kind == "faults":
                given: set[str] = set()
                for name, val, sp in it.options:
                    if name in given:
                        self.err("E403", f"'{name}' is given twice in this model's faults", sp,
                                 hint=f"keep one `{name}`")
                    given.add(name)
                    if name not in FAULTS:
                        close = get_close_matches(name, FAULTS, n=1)
                        self.err("E403", f"unknown fault '{name}'", sp,
                                 hint=(f"did you mean '{close[0]}'? " if close else "") +
                                 "faults: crash <= k, restart, partition <= k, tick <= k")
                        continue
                    if name in ("crash", "partition", "tick") and val is None:
                        self.err("E403", f"'{name}' needs a budget", sp, hint=f"write `{name} <= 1`")
                    if name == "restart" and val is not None:
                        self.err("E403", "'restart' takes no budget: crashes bound the restarts", sp)
                    if val is not None:
                        self.expr(val, Scope(), expected=INT)
                        self.check_constant_expr(val)
                if any(n == "crash" or n == "restart" or n == "partition" for n, _, _ in it.options) and \
                        not self.ts.processes:
                    self.err("E403", "crash, restart and partition need processes; this spec has none", it.span)
            elif it.kind == "volatile":
                pn, fn = it.target
                p = self.ts.processes.get(pn)
                if p is None:
                    self.unknown(pn, it.span, "process", self.ts.processes)
                elif fn not in p.fields:
                    self.unknown(fn, it.span, f"field of process '{pn}'", p.fields)
                elif not p.fields[fn].durable:
                    self.err("E404", f"field '{pn}.{fn}' is already volatile", it.span,
                             hint="`volatile` makes a durable field lose its value on restart")
            elif it.kind == "check":
                props = [d.name for d in self.spec.decls if isinstance(d, A.Property)]
                for name, _, sp in it.options:
                    if name != "deadlock" and name not in props:
                        close = get_close_matches(name, ["deadlock", *props], n=1)
                        self.err("E406", f"unknown check '{name}'", sp,
                                 hint=f"did you mean '{close[0]}'?" if close else
                                 "`check` names `deadlock` or properties of the spec")

    # ---- statements ----
    def block(self, stmts: list[A.Stmt], sc: Scope):
        for st in stmts:
            self.stmt(st, sc)

    def stmt(self, st: A.Stmt, sc: Scope):
        if isinstance(st, A.Assign):
            tt = self.lvalue(st.target, sc)
            if st.op == "=":
                vt = self.expr(st.value, sc, expected=tt)
                if not assignable(tt, vt):
                    self.err("E302", f"cannot assign {vt} to {describe_target(st.target)}, which is {tt}",
                             st.value.span)
            else:
                vt = self.expr(st.value, sc, expected=tt)
                if isinstance(tt, SetT):
                    if not assignable(tt, vt):
                        self.err("E302", f"'{st.op}' on {tt} needs a set of the same elements, found {vt}",
                                 st.value.span)
                elif isinstance(tt, IntT) or isinstance(tt, AnyT):
                    if not isinstance(vt, (IntT, AnyT)):
                        self.err("E302", f"'{st.op}' on an int needs an int, found {vt}", st.value.span)
                elif isinstance(tt, IdT) and tt.symmetric:
                    self.err("E320", f"arithmetic on the symmetric id type '{tt.name}'", st.span,
                             hint="ids of a symmetric type may only be compared with == and !=")
                elif isinstance(tt, SeqT) and st.op == "+=":
                    if not assignable(tt, vt):
                        self.err("E302", f"'+=' on {tt} needs a sequence, found {vt}", st.value.span)
                else:
                    self.err("E302", f"'{st.op}' does not apply to {tt}", st.span)
        elif isinstance(st, A.Let):
            t = self.expr(st.value, sc)
            if isinstance(t, (NoneT, EmptyT)):
                self.err("E315", f"the type of '{st.name}' cannot be told from {t.show()}", st.value.span,
                         hint="give it a value whose type is known")
            self.bind(sc, st.name, t, st.span)
        elif isinstance(st, A.Choose):
            t = self.expr(st.src, sc)
            if not isinstance(t, (SetT, AnyT)):
                self.err("E309", f"choose needs a set, found {t}", st.src.span)
            self.bind(sc, st.name, elem_type(t) if isinstance(t, SetT) else ANY, st.span)
            if st.where is not None:
                self.cond(st.where, sc, "'where'")
        elif isinstance(st, A.Require):
            self.cond(st.cond, sc, "require")
        elif isinstance(st, A.Pass):
            pass
        elif isinstance(st, A.If):
            # a branch knows what its test and the failed tests before it tell of optionals,
            # unless the branch assigns to them
            before: set[str] = set()
            for c, body in st.branches:
                self.cond(c, sc.narrowed(before) if before else sc, "an if")
                self._narrowed_block(body, sc, before | none_facts(c, True))
                before |= none_facts(c, False)
            if st.orelse is not None:
                self._narrowed_block(st.orelse, sc, before)
        elif isinstance(st, A.For):
            t = self.expr(st.src, sc)
            if not isinstance(t, (SetT, AnyT, SeqT)):
                self.err("E309", f"for needs a set or a sequence, found {t}", st.src.span)
            inner = sc.child()
            inner.forget(assigned_roots(st.body))    # not known at the next iteration
            self.bind(inner, st.name, t.elem if isinstance(t, (SetT, SeqT)) else ANY, st.span)
            self.block(st.body, inner)
            elem = t.elem if isinstance(t, (SetT, SeqT)) else None
            if isinstance(elem, IdT) and elem.symmetric and isinstance(t, SetT):
                self._order_free_loop(st, elem)
        elif isinstance(st, (A.Send, A.Broadcast)):
            self.send(st, sc)
        else:
            self.err("E399", "unsupported statement", st.span)

    def _order_free_loop(self, st: A.For, elem: IdT):
        """A loop over a symmetric id type visits the ids in some order; symmetry reduction
        is sound only if the result does not depend on it. Refused: reading in the loop
        what the loop writes, and a plain assignment of a value that varies per iteration
        to a place that does not (`first = h`: the last iteration wins). Allowed: sends,
        `+=`/`-=` (commutative), and assignments keyed by the loop variable (`m[h] = ...`).
        A send of a message that varies per id to one channel (or a broadcast of one) is
        noted: in a fifo network the channel keeps their order, so a model with one
        refuses it (resolve_model raises the E341 made here)."""
        varying = {st.name} | {x.name for x in walk_stmts(st.body) if isinstance(x, (A.Let, A.Choose, A.For))}
        written = assigned_roots(st.body) - varying
        unsym = f"drop `symmetric` from `type {elem.name}` if the order of ids is part of the protocol"
        hint = (f"collect with a comprehension or a quantifier (`{{h for h in {elem.name} if ...}}`, "
                f"`any h in {elem.name}: ...`), or {unsym}")

        def names(e) -> set[str]:
            return {n.id for n in walk_expr(e) if isinstance(n, A.Name)}
        lets = [x for x in walk_stmts(st.body) if isinstance(x, A.Let)]
        ids = {st.name} | {x.name for x in lets if isinstance(x.value, A.Name) and x.value.id == st.name
                           and sum(y.name == x.name for y in lets) == 1}      # `let d = h`
        for x in walk_stmts(st.body):
            # a send to the loop's id itself gives each id its own channel; one to a place
            # computed from it (`to leader[h]`) can give two ids the same one
            own_channel = isinstance(x, A.Send) and isinstance(x.to, A.Name) and x.to.id in ids
            if isinstance(x, (A.Send, A.Broadcast)) and not own_channel and names(x.msg) & varying:
                where = ("on one channel" if isinstance(x, A.Broadcast) or not names(x.to) & varying else
                         "on one channel whenever two ids give the same destination")
                self.ts.fifo_order_sends.append(Diagnostic(
                    "E341", f"in a fifo network, this send puts one message per id of the symmetric type "
                    f"'{elem.name}' {where}: their order on it depends on the order of the ids", x.span,
                    [f"send one message that carries the set (e.g. `{{h for h in {elem.name} if ...}}`), "
                     f"use an unordered network, or {unsym}"]))
            for e in stmt_reads(x):
                if e is None:
                    continue
                hit = sorted(names(e) & written)
                if hit:
                    self.err("E341", f"this loop over the symmetric id type '{elem.name}' reads '{hit[0]}', which "
                             f"it also writes: the result depends on the order of the ids", e.span, hint=hint)
                    return
            if isinstance(x, A.Assign) and x.op == "=":
                t, indices = target_path(x.target)
                keyed = any(st.name in names(i) for i in indices)
                if isinstance(t, A.Name) and t.id in written and not keyed and names(x.value) & varying:
                    self.err("E341", f"'{t.id}' is assigned a value that changes with each id of the symmetric type "
                             f"'{elem.name}': which id's value stays depends on the order of the ids", x.span,
                             hint=hint)
                    return

    def _narrowed_block(self, body: list[A.Stmt], sc: Scope, facts: set[str]):
        """Check a block knowing `facts` until a statement assigns what they speak of."""
        inner = sc.narrowed(facts) if facts else sc.child()
        for st in body:
            self.stmt(st, inner)
            inner.forget(assigned_roots([st]))

    def bind(self, sc: Scope, name: str, t: Ty, span: Span):
        if sc.process and name in sc.process.fields:
            self.err("E204", f"'{name}' hides the field of the same name", span,
                     hint="pick another name for the local value")
        sc.locals[name] = t
        sc.forget([name])

    def send(self, st, sc: Scope):
        msg = st.msg
        if not (isinstance(msg, A.Call) and isinstance(msg.func, A.Name) and msg.func.id in self.ts.messages):
            if isinstance(msg, A.Call) and isinstance(msg.func, A.Name):
                self.unknown(msg.func.id, msg.func.span, "message", self.ts.messages)
            else:
                self.err("E316", "send needs a message, e.g. `send Vote(term, true) to c`", msg.span)
            return
        if sc.process is None:
            self.err("E317", "only a process sends messages", st.span,
                     hint="move this into a process handler, or keep the messages in a var")
        m = self.ts.messages[msg.func.id]
        self.message_args(msg, m.ty, sc)
        msg.ty = m.ty
        if sc.process is not None:
            if m.sender and m.sender != sc.process.name:
                self.err("E313", f"message '{m.name}' is sent by processes of kinds {m.sender}, "
                         f"{sc.process.name}; a handler's sender must have one kind", st.span)
            m.sender = m.sender or sc.process.name
        if isinstance(st, A.Send):
            rid = self.ts.idtypes.get(m.receiver) if m.receiver else None
            t = self.expr(st.to, sc, rid)
            if isinstance(t, IntT) and rid is not None and not rid.symmetric:
                pass            # a number names a process of an ordered id type (range-checked when sent)
            elif not isinstance(t, (IdT, AnyT)):
                self.err("E318", f"send needs a process id after 'to', found {t}", st.to.span,
                         hint="a number names a process only where its id type is not `symmetric`"
                         if rid is not None else None)
            elif isinstance(t, IdT) and t.name not in self.ts.processes:
                self.err("E318", f"'{t.name}' ids are not processes: no `process {t.name}` is declared", st.to.span)
            elif isinstance(t, IdT) and m.receiver and m.receiver != t.name:
                self.err("E318", f"message '{m.name}' is handled by process '{m.receiver}', "
                         f"but is sent to a {t.name}", st.to.span)
        else:
            if sc.process is not None and m.receiver and m.receiver != sc.process.name:
                self.err("E318", f"broadcast goes to the other '{sc.process.name}' processes, but '{m.name}' "
                         f"is handled by '{m.receiver}'", st.span)

    def message_args(self, call: A.Call, ty: RecordT, sc: Scope):
        fields = list(ty.fields)
        if len(call.args) != len(fields):
            self.err("E319", f"'{ty.name}' has {len(fields)} field{'s' if len(fields) != 1 else ''} "
                     f"({', '.join(n for n, _ in fields)}), found {len(call.args)} value"
                     f"{'s' if len(call.args) != 1 else ''}", call.span,
                     hint=f"give one value per field, in order or by name: "
                          f"`{ty.name}({', '.join(f'{n}=...' for n, _ in fields)})`")
        seen_kw = False
        order = []
        for i, a in enumerate(call.args):
            if a.name is not None:
                seen_kw = True
                idx = ty.field_index(a.name)
                if idx is None:
                    self.unknown(a.name, a.span, f"field of '{ty.name}'", [n for n, _ in fields])
                    self.expr(a.value, sc)
                    continue
            else:
                if seen_kw:
                    self.err("E319", "a positional value after a named one", a.span)
                idx = i
            if idx >= len(fields):
                self.expr(a.value, sc)
                continue
            order.append(idx)
            ft = fields[idx][1]
            t = self.expr(a.value, sc, expected=ft)
            if not assignable(ft, t):
                self.err("E302", f"field '{fields[idx][0]}' of '{ty.name}' is {ft}, found {t}", a.value.span)
        call.ref = ("construct", ty.name, order)

    def lvalue(self, e: A.Expr, sc: Scope) -> Ty:
        if not sc.can_assign_state and not isinstance(e, A.Name):
            pass
        if isinstance(e, A.Name):
            if e.id in sc.locals:
                e.ref = ("local", e.id)
                e.ty = sc.locals[e.id]
                return e.ty
            if sc.process and e.id in sc.process.fields:
                e.ref = ("field", sc.process.name, e.id)
                e.ty = sc.process.fields[e.id].ty
                return e.ty
            if e.id in self.ts.vars:
                if not sc.can_assign_state:
                    self.err("E321", f"'{e.id}' cannot be changed here", e.span)
                e.ref = ("var", e.id)
                e.ty = self.ts.vars[e.id].ty
                return e.ty
            if e.id in self.ts.consts:
                self.err("E322", f"cannot assign to constant '{e.id}'", e.span,
                         hint="constants are fixed by the model; keep changing values in a var or field")
                return ANY
            self.unknown(e.id, e.span, "variable", [*sc.locals, *(sc.process.fields if sc.process else {}),
                                                    *self.ts.vars])
            return ANY
        if isinstance(e, A.Index):
            t = self.lvalue(e.obj, sc)
            return self.index_type(e, t, sc)
        if isinstance(e, A.FieldAccess):
            ot = self.expr(e.obj, sc)
            if isinstance(ot, IdT) and ot.name in self.ts.processes:
                p = self.ts.processes[ot.name]
                if e.name not in p.fields:
                    self.unknown(e.name, e.span, f"field of process '{p.name}'", p.fields)
                    return ANY
                if sc.process is not None:
                    if isinstance(e.obj, A.SelfRef):
                        e.ref = ("pfield", p.name, e.name)
                        e.ty = p.fields[e.name].ty
                        return e.ty
                    self.err("E323", "a handler changes only its own process's fields", e.span,
                             hint=f"send a message to that process instead, or write `{e.name} = ...` for "
                             "this process's own field")
                    return ANY
                e.ref = ("pfield", p.name, e.name)
                e.ty = p.fields[e.name].ty
                return e.ty
            if isinstance(ot, RecordT):
                self.err("E324", "a record field cannot be assigned on its own: assign the whole record", e.span)
                return ANY
            if not isinstance(ot, AnyT):
                self.err("E324", f"cannot assign to a field of {ot}", e.span)
            return ANY
        self.err("E325", "the left side of an assignment must be a variable, a field or an element", e.span)
        return ANY

    # ---- expressions ----
    def cond(self, e: A.Expr, sc: Scope, what: str):
        t = self.expr(e, sc, expected=BOOL)
        if not isinstance(t, (BoolT, AnyT)):
            self.err("E326", f"{what} needs a bool, found {t}", e.span,
                     hint="compare it with something, e.g. `x > 0`, `x != none`, `size(s) > 0`")

    def expr(self, e: A.Expr, sc: Scope, expected: Ty | None = None) -> Ty:
        t = self._expr(e, sc, expected)
        if isinstance(t, OptT) and sc.nonnone and opt_key(e) in sc.nonnone:
            t = t.inner                     # tested `!= none` on the way here: the value itself
            e.unwrap = True
        e.ty = t
        return t

    def _expr(self, e: A.Expr, sc: Scope, expected: Ty | None) -> Ty:
        if isinstance(e, A.IntLit):
            return INT
        if isinstance(e, A.OptMark):
            self.err("E106", "'?' marks an optional type; it is not an operator on values", e.span,
                     hint="test a value with `x != none`")
            return ANY
        if isinstance(e, A.BoolLit):
            return BOOL
        if isinstance(e, A.NoneLit):
            if isinstance(expected, OptT):
                return expected
            return NONE
        if isinstance(e, A.SelfRef):
            if sc.process is None:
                kind = next(iter(self.ts.processes), None) or next(iter(self.ts.idtypes), None) or "Node"
                self.err("E205", "'self' is only defined inside a process", e.span,
                         hint=f"outside a process, bind an id: `action a(n in {kind}):` or `all n in {kind}: ...`")
                return ANY
            return sc.process.idty
        if isinstance(e, A.Name):
            return self.name(e, sc)
        if isinstance(e, A.FieldAccess):
            return self.field(e, sc)
        if isinstance(e, A.Index):
            t = self.expr(e.obj, sc)
            return self.index_type(e, t, sc)
        if isinstance(e, A.Call):
            return self.call(e, sc, expected)
        if isinstance(e, A.Unary):
            if e.op == "not":
                self.cond(e.operand, sc, "'not'")
                return BOOL
            t = self.expr(e.operand, sc, expected=INT)
            if isinstance(t, IdT) and t.symmetric:
                self.err("E320", f"arithmetic on the symmetric id type '{t.name}'", e.span,
                         hint="ids of a symmetric type may only be compared with == and !=")
            elif not isinstance(t, (IntT, AnyT, IdT)):
                self.err("E327", f"'-' needs an int, found {t}", e.span)
            return INT
        if isinstance(e, A.BoolChain):
            # `x != none and x.f`, `x == none or x.f`: what the items before tell of x
            known: set[str] = set()
            for x in e.items:
                self.cond(x, sc.narrowed(known) if known else sc, f"'{e.op}'")
                known |= none_facts(x, e.op == "and")
            return BOOL
        if isinstance(e, A.Binary):
            if e.op == "implies":
                self.cond(e.left, sc, "'implies'")
                facts = none_facts(e.left, True)
                self.cond(e.right, sc.narrowed(facts) if facts else sc, "'implies'")
                return BOOL
            return self.arith(e, sc, expected)
        if isinstance(e, A.Compare):
            return self.compare(e, sc)
        if isinstance(e, A.RangeExpr):
            for x in (e.lo, e.hi):
                t = self.expr(x, sc, expected=INT)
                if isinstance(t, IdT) and t.symmetric:
                    self.err("E320", f"a range of the symmetric id type '{t.name}'", x.span,
                             hint=f"use the type's name '{t.name}' for the set of all its ids")
                elif not isinstance(t, (IntT, AnyT, IdT)):
                    self.err("E327", f"a range needs ints, found {t}", x.span)
            return SetT(INT)
        if isinstance(e, A.CondExpr):
            self.cond(e.cond, sc, "'if'")
            a = self.expr(e.then, sc.narrowed(none_facts(e.cond, True)), expected)
            b = self.expr(e.orelse, sc.narrowed(none_facts(e.cond, False)), expected)
            j = join(a, b)
            if j is None:
                self.err("E328", f"the two branches have different types: {a} and {b}", e.span)
                return ANY
            return j
        if isinstance(e, A.TupleLit):
            exp = expected.items if isinstance(expected, TupleT) and len(expected.items) == len(e.items) else None
            return TupleT(tuple(self.expr(x, sc, exp[i] if exp else None) for i, x in enumerate(e.items)))
        if isinstance(e, A.SetLit):
            if not e.items:
                if isinstance(expected, (SetT, MapT)):
                    return expected
                return EMPTY
            exp = expected.elem if isinstance(expected, SetT) else None
            t: Ty | None = None
            for x in e.items:
                xt = self.expr(x, sc, exp)
                j = xt if t is None else join(t, xt)
                if j is None:
                    self.err("E328", f"a set's elements must have one type: {t} and {xt}", x.span)
                    return ANY
                t = j
            if exp is not None and assignable(exp, t):
                return expected
            return SetT(t)
        if isinstance(e, A.MapLit):
            kt = expected.key if isinstance(expected, MapT) else None
            vt = expected.val if isinstance(expected, MapT) else None
            k0 = v0 = None
            for k, v in e.pairs:
                a = self.expr(k, sc, kt)
                b = self.expr(v, sc, vt)
                k0 = a if k0 is None else (join(k0, a) or ANY)
                v0 = b if v0 is None else (join(v0, b) or ANY)
            if isinstance(expected, MapT) and assignable(expected.key, k0) and assignable(expected.val, v0):
                return expected
            if not is_finite_key(k0) and not isinstance(k0, AnyT):
                self.err("E307", f"a map's key type must be finite, found {k0}", e.span)
            return MapT(k0, v0)
        if isinstance(e, A.SeqLit):
            exp = expected.elem if isinstance(expected, SeqT) else None
            t = None
            for x in e.items:
                xt = self.expr(x, sc, exp)
                t = xt if t is None else join(t, xt)
                if t is None:
                    self.err("E328", "a sequence's elements must have one type", x.span)
                    return ANY
            if t is None:
                return expected if isinstance(expected, SeqT) else SeqT(ANY)
            if exp is not None and assignable(exp, t):
                return expected
            return SeqT(t)
        if isinstance(e, (A.SetComp, A.MapComp)):
            inner = sc.child()
            for f in e.fors:
                st = self.expr(f.src, inner)
                if not isinstance(st, (SetT, AnyT, SeqT)):
                    self.err("E309", f"'for' needs a set, found {st}", f.src.span)
                inner.locals[f.var] = st.elem if isinstance(st, (SetT, SeqT)) else ANY
            if e.cond is not None:
                self.cond(e.cond, inner, "'if'")
            if isinstance(e, A.SetComp):
                exp = expected.elem if isinstance(expected, SetT) else None
                t = self.expr(e.elem, inner, exp)
                if exp is not None and assignable(exp, t):
                    return expected
                return SetT(t)
            kt = self.expr(e.key, inner, expected.key if isinstance(expected, MapT) else None)
            vt = self.expr(e.value, inner, expected.val if isinstance(expected, MapT) else None)
            if isinstance(expected, MapT) and assignable(expected.key, kt) and assignable(expected.val, vt):
                return expected
            if not is_finite_key(kt) and not isinstance(kt, AnyT):
                self.err("E307", f"a map's key type must be finite, found {kt}", e.key.span)
            return MapT(kt, vt)
        if isinstance(e, A.Quant):
            inner = sc.child()
            for name, src in e.bindings:
                st = self.expr(src, inner)
                if not isinstance(st, (SetT, AnyT, SeqT)):
                    self.err("E309", f"'{e.kind}' needs a set, found {st}", src.span)
                inner.locals[name] = st.elem if isinstance(st, (SetT, SeqT)) else ANY
            self.cond(e.body, inner, f"'{e.kind}'")
            return BOOL
        self.err("E399", "unsupported expression", e.span)
        return ANY

    def name(self, e: A.Name, sc: Scope) -> Ty:
        n = e.id
        if n in sc.locals:
            e.ref = ("local", n)
            return sc.locals[n]
        if sc.in_def:
            pass
        if sc.process and n in sc.process.fields:
            if sc.in_def:
                pass
            e.ref = ("field", sc.process.name, n)
            return sc.process.fields[n].ty
        if n in self.ts.vars:
            e.ref = ("var", n)
            return self.ts.vars[n].ty
        if n in self.ts.consts:
            e.ref = ("const", n)
            return self.ts.consts[n].ty if getattr(self.ts.consts[n], "ty", None) else INT
        if n in self.ts.enum_members:
            opts = self.ts.enum_members[n]
            if len(opts) > 1:
                self.err("E206", f"'{n}' is a member of several enums ({', '.join(t.name for t, _ in opts)})",
                         e.span, hint=f"write {opts[0][0].name}.{n}")
                return ANY
            t, i = opts[0]
            e.ref = ("enum", t.name, i)
            return t
        if n in self.ts.idtypes:
            e.ref = ("typeset", n)
            return SetT(self.ts.idtypes[n])
        if n in self.ts.enums:
            e.ref = ("typeset", n)
            return SetT(self.ts.enums[n])
        if n == "bool":
            e.ref = ("typeset", "bool")
            return SetT(BOOL)
        if n == "now":
            e.ref = ("now",)
            return INT
        if n == "down":
            e.ref = ("down",)
            return self.down_type()
        cands = [*sc.locals, *(sc.process.fields if sc.process else {}), *self.ts.vars, *self.ts.consts,
                 *self.ts.enum_members, *self.ts.idtypes, *self.ts.enums]
        if sc.process is None and any(n in p.fields for p in self.ts.processes.values()):
            kinds = [p.name for p in self.ts.processes.values() if n in p.fields]
            self.err("E207", f"'{n}' is a field of process '{kinds[0]}' and needs a process here", e.span,
                     hint=f"write `p.{n}` for some `p in {kinds[0]}`")
            return ANY
        self.unknown(n, e.span, "name", cands)
        return ANY

    def down_type(self) -> Ty:
        """`down`, the set of crashed processes: a set of their id type (of any id where
        processes of several id types may crash)."""
        tys = list(dict.fromkeys(p.idty for p in self.ts.processes.values()))
        return SetT(tys[0]) if len(tys) == 1 else SetT(ANY)

    def field(self, e: A.FieldAccess, sc: Scope) -> Ty:
        if isinstance(e.obj, A.Name) and e.obj.id in self.ts.enums and e.obj.id not in sc.locals:
            t = self.ts.enums[e.obj.id]
            if e.name not in t.members:
                self.unknown(e.name, e.span, f"member of enum '{t.name}'", t.members)
                return ANY
            e.ref = ("enum", t.name, t.members.index(e.name))
            return t
        ot = self.expr(e.obj, sc)
        if isinstance(ot, OptT):
            self.err("E329", f"'{e.name}' of an optional value: it may be none", e.span,
                     hint="test it first, in the same expression or an enclosing if: "
                          "`x != none and x.f`, `if x != none: ... x.f`")
            return ANY
        if isinstance(ot, IdT):
            p = self.ts.processes.get(ot.name)
            if p is None:
                self.err("E207", f"'{ot.name}' ids have no fields: no `process {ot.name}` is declared", e.span)
                return ANY
            if e.name not in p.fields:
                self.unknown(e.name, e.span, f"field of process '{p.name}'", p.fields)
                return ANY
            e.ref = ("pfield", p.name, e.name)
            return p.fields[e.name].ty
        if isinstance(ot, RecordT):
            i = ot.field_index(e.name)
            if i is None:
                self.unknown(e.name, e.span, f"field of '{ot.name}'", [n for n, _ in ot.fields])
                return ANY
            e.ref = ("rfield", i)
            return ot.fields[i][1]
        if isinstance(ot, TupleT) and e.name.startswith("_") and e.name[1:].isdigit():
            i = int(e.name[1:])
            if 0 <= i < len(ot.items):
                e.ref = ("rfield", i)
                return ot.items[i]
        if not isinstance(ot, AnyT):
            hint = None
            if isinstance(ot, IntT) and isinstance(e.obj, A.Name) and e.obj.id in self.ts.consts:
                hint = f"'{e.obj.id}' is a constant, not a process; quantify over the processes, " \
                       f"e.g. `all n in Node: n.{e.name} ...`"
            elif isinstance(ot, OptT):
                x = self.text(e.obj) or "x"
                hint = f"test it first: `{x} != none and {x}.{e.name}`"
            self.err("E330", f"{ot} has no field '{e.name}'", e.span, hint=hint)
        return ANY

    def index_type(self, e: A.Index, t: Ty, sc: Scope) -> Ty:
        if len(e.indices) != 1:
            self.err("E331", "one index at a time: write m[a][b]", e.span,
                     hint="a map's key is one value (bool, an enum, an id or a range); for two keys, "
                          "nest maps: map[K1, map[K2, V]]")
            return ANY
        it = self.expr(e.indices[0], sc, expected=t.key if isinstance(t, MapT) else INT)
        if isinstance(t, MapT):
            if not assignable(t.key, it):
                self.err("E331", f"this map's keys are {t.key}, found {it}", e.indices[0].span,
                         hint=self.index_hint(e, t.key, it))
            return t.val
        if isinstance(t, SeqT):
            if isinstance(it, IdT) and it.symmetric:
                self.err("E320", f"the symmetric id type '{it.name}' used as a sequence index", e.indices[0].span,
                         hint=f"use a map[{it.name}, ...] keyed by the id instead")
            elif not isinstance(it, (IntT, AnyT, IdT)):
                self.err("E331", f"a sequence index must be an int, found {it}", e.indices[0].span,
                         hint="a sequence is indexed by position: s[0] is its first element, "
                              "s[len(s) - 1] its last")
            return t.elem
        if isinstance(t, TupleT):
            if isinstance(e.indices[0], A.IntLit) and 0 <= e.indices[0].value < len(t.items):
                return t.items[e.indices[0].value]
            self.err("E331", "a tuple is indexed by a constant number", e.indices[0].span,
                     hint=f"this tuple has {len(t.items)} item{'s' if len(t.items) != 1 else ''}: "
                          f"write t[0]{f' .. t[{len(t.items) - 1}]' if len(t.items) > 1 else ''}")
            return ANY
        if not isinstance(t, AnyT):
            self.err("E331", f"{t} cannot be indexed", e.span,
                     hint="a set has no positions: test membership with `x in s`" if isinstance(t, (SetT, EmptyT))
                     else "only maps (m[k]), sequences (s[i]) and tuples (t[0]) take [...]")
        return ANY

    def text(self, node: A.Node) -> str | None:
        """The source text of a node, on one line (None when the source is not at hand)."""
        try:
            return span_text(self.spec.source, node.span) or None
        except (IndexError, AttributeError, TypeError):
            return None

    def index_hint(self, e: A.Index, key: Ty, found: Ty) -> str:
        return index_hint(key, found, self.text(e.obj) or "m", self.text(e.indices[0]) or "k")

    def arith(self, e: A.Binary, sc: Scope, expected: Ty | None) -> Ty:
        a = self.expr(e.left, sc, expected if isinstance(expected, (SetT, SeqT)) else None)
        b = self.expr(e.right, sc, a if isinstance(a, (SetT, SeqT)) else None)
        if isinstance(a, (SetT, EmptyT)) or isinstance(b, (SetT, EmptyT)):
            if e.op not in ("+", "-", "&"):
                self.err("E332", f"'{e.op}' does not apply to sets", e.span,
                         hint="sets have + (union), - (difference) and & (intersection)")
                return ANY
            if isinstance(a, EmptyT) and isinstance(b, EmptyT):
                return expected if isinstance(expected, SetT) else EMPTY
            j = join(a, b)
            if j is None or not isinstance(j, (SetT, EmptyT)):
                self.err("E332", f"'{e.op}' needs two sets of one element type, found {a} and {b}", e.span)
                return ANY
            return j
        if isinstance(a, SeqT) and e.op == "+":
            j = join(a, b)
            if j is None:
                self.err("E332", f"'+' needs two sequences of one element type, found {a} and {b}", e.span)
                return ANY
            return j
        for x, t in ((e.left, a), (e.right, b)):
            if isinstance(t, IdT) and t.symmetric:
                self.err("E320", f"arithmetic on the symmetric id type '{t.name}'", x.span,
                         hint="ids of a symmetric type may only be compared with == and !=")
                return ANY
            if not isinstance(t, (IntT, AnyT, IdT)):
                what = self.text(x) if isinstance(t, OptT) else None
                self.err("E332", f"'{e.op}' needs ints, found {t}", x.span,
                         hint=f"it may be none: test `{what} != none` first (in an `and`, an `if` or the step's "
                              f"`requires`; the test holds until {what} is assigned)" if what else None)
                return ANY
        if e.op == "&":
            self.err("E332", "'&' needs sets", e.span)
        return INT

    def compare(self, e: A.Compare, sc: Scope) -> Ty:
        if e.op in ("in", "notin"):
            b = self.expr(e.right, sc)
            a = self.expr(e.left, sc, b.elem if isinstance(b, SetT) else None)
            if isinstance(b, EmptyT):
                return BOOL
            if not isinstance(b, (SetT, SeqT, AnyT, MapT)):
                self.err("E333", f"'in' needs a set on its right, found {b}", e.right.span)
                return BOOL
            elem = b.key if isinstance(b, MapT) else getattr(b, "elem", ANY)
            if not comparable(elem, a):
                self.err("E333", f"a {a} is never in a set of {elem}", e.span)
            return BOOL
        a = self.expr(e.left, sc)
        b = self.expr(e.right, sc, a if isinstance(a, OptT) else None)
        if isinstance(a, (NoneT, EmptyT)):
            a = self.expr(e.left, sc, b)
        if e.op in ("==", "!="):
            sym = [t for t in (a, b) if isinstance(t, IdT) and t.symmetric]
            inner = [mentions_symmetric(t) for t in (a, b)]
            if sym and any(isinstance(t, IntT) for t in (a, b)):
                self.err("E320", f"the symmetric id type '{sym[0].name}' compared with a number", e.span,
                         hint="symmetric ids may only be compared with other ids")
            elif not comparable(a, b) and any(inner) and comparable(*(unsymmetric(t) for t in (a, b))):
                name = next(n for n in inner if n)
                self.err("E320", f"{a} compared with {b}: numbers in place of the symmetric id type '{name}'",
                         e.span, hint="symmetric ids may only be compared with other ids (a number names no "
                         "process of a symmetric type)")
            elif not comparable(a, b):
                self.err("E334", f"'{e.op}' compares {a} with {b}: they are never equal", e.span,
                         hint=compare_hint(a, b))
            elif any(isinstance(x, NoneT) and not isinstance(y, (OptT, NoneT, AnyT)) for x, y in ((a, b), (b, a))):
                other = b if isinstance(a, NoneT) else a
                self.err("E334", f"'{e.op}' compares {other} with none: only an optional value can be none",
                         e.span, hint=f"declare it {other}? if it may hold none")
            return BOOL
        # ordering
        if isinstance(a, SetT) and isinstance(b, (SetT, EmptyT)) and e.op in ("<=", "<", ">=", ">"):
            return BOOL
        for x, t in ((e.left, a), (e.right, b)):
            if isinstance(t, IdT) and t.symmetric:
                self.err("E320", f"'{e.op}' on the symmetric id type '{t.name}'", e.span,
                         hint=f"symmetric ids have no order; drop `symmetric` from `type {t.name}` "
                         "if the protocol compares ids")
                return BOOL
            if not ordered(t) and not isinstance(t, AnyT):
                self.err("E335", f"'{e.op}' needs ordered values, found {t}", x.span)
                return BOOL
        if join(a, b) is None:
            self.err("E334", f"'{e.op}' compares {a} with {b}", e.span, hint=compare_hint(a, b))
        return BOOL

    def call(self, e: A.Call, sc: Scope, expected: Ty | None) -> Ty:
        if not isinstance(e.func, A.Name):
            self.err("E336", "only named functions can be called", e.func.span)
            return ANY
        fn = e.func.id
        args = e.args
        if fn in self.ts.records:
            r = self.ts.records[fn]
            self.message_args(e, r, sc)
            return r
        if fn in self.ts.messages:
            self.err("E316", f"a message value only appears in send or broadcast: `send {fn}(...) to p`", e.span)
            self.message_args(e, self.ts.messages[fn].ty, sc)
            return ANY
        if fn in self.ts.defs:
            d = self.ts.defs[fn]
            if not hasattr(d, "param_types"):
                self.check_def(d)
            if getattr(d, "checking", False):
                self.err("E342", f"recursive call to '{fn}': a def may not call itself, directly or through "
                         "another def", e.span,
                         hint="write the value without recursion: a quantifier, or min/max over a range")
                return ANY
            if len(args) != len(d.params):
                self.err("E337", f"'{fn}' takes {len(d.params)} argument{'s' if len(d.params) != 1 else ''}, "
                         f"found {len(args)}", e.span,
                         hint=f"it is declared `def {fn}({', '.join(self.text(p) or p.name for p in d.params)})` "
                              f"at line {d.span.line}")
            for a, pt in zip(args, d.param_types):
                t = self.expr(a.value, sc, pt)
                if not assignable(pt, t):
                    self.err("E302", f"'{fn}' expects {pt} here, found {t}", a.value.span)
            e.ref = ("def", fn)
            return d.ret
        if fn not in BUILTINS:
            self.unknown(fn, e.func.span, "function", [*BUILTINS, *self.ts.defs, *self.ts.records])
            for a in args:
                self.expr(a.value, sc)
            return ANY
        e.ref = ("builtin", fn)
        if fn == "pending":
            if not args or not isinstance(args[0].value, A.Name) or args[0].value.id not in self.ts.messages:
                self.err("E337", "pending takes a message type first: `pending(Answer)`", e.span,
                         hint=SIGNATURES["pending"] + (f"; the messages are {', '.join(self.ts.messages)}"
                                                       if self.ts.messages else ""))
                return INT
            mt = self.ts.messages[args[0].value.id].ty
            seen: set[str] = set()
            for a in args[1:]:
                if a.name is None or (a.name not in ("src", "dst") and mt.field_index(a.name) is None):
                    names = ", ".join(f"{n}=" for n in ("src", "dst", *(f for f, _ in mt.fields)))
                    self.err("E337", f"pending({mt.name}, ...) filters by {names}", a.span,
                             hint="name what to filter by: `pending(Vote, dst=n, granted=true)`")
                    continue
                if a.name in seen:
                    self.err("E337", f"'{a.name}' is given twice", a.span,
                             hint=f"filter by `{a.name}=` once; for several values, add up pending(...) calls")
                seen.add(a.name)
                if a.name in ("src", "dst"):
                    msg = self.ts.messages[args[0].value.id]
                    kind = msg.receiver if a.name == "dst" else (msg.sender or msg.receiver)
                    rid = self.ts.idtypes.get(kind) if kind else None
                    t = self.expr(a.value, sc, rid)
                    if isinstance(t, IntT) and rid is not None and not rid.symmetric:
                        continue    # a number names a process of an ordered id type
                    if not isinstance(t, (IdT, AnyT)):
                        self.err("E337", f"'{a.name}' must be a process id, found {t}", a.value.span,
                                 hint=f"`{a.name}=` names the {'sender' if a.name == 'src' else 'receiver'}, "
                                      f"e.g. `{a.name}=self` or an id bound by `all n in ...`")
                    continue
                ft = mt.fields[mt.field_index(a.name)][1]
                t = self.expr(a.value, sc, ft)
                if not assignable(ft, t):
                    self.err("E302", f"field '{a.name}' of {mt.name} is {ft}, found {t}", a.value.span)
            if sc.process is None and not any(a.name == "dst" for a in args[1:]):
                e.ref = ("builtin", "pending_all")
            return INT
        if fn == "old":
            if sc.in_property != "transition":
                self.err("E338", "old(...) is only defined in a transition property", e.span,
                         hint="a transition property relates a step's old and new values")
            if len(args) != 1:
                self.err("E337", "old takes one expression", e.span, hint=SIGNATURES[fn])
                return ANY
            return self.expr(args[0].value, sc, expected)
        if fn in ("alive",):
            if len(args) != 1:
                self.err("E337", f"{fn} takes one process id", e.span, hint=SIGNATURES[fn])
                return BOOL
            t = self.expr(args[0].value, sc)
            if not isinstance(t, (IdT, AnyT)):
                self.err("E337", f"{fn} takes a process id, found {t}", args[0].value.span, hint=SIGNATURES[fn])
            return BOOL
        if fn == "connected":
            if len(args) != 2:
                self.err("E337", "connected takes two process ids", e.span, hint=SIGNATURES[fn])
                return BOOL
            for a in args:
                t = self.expr(a.value, sc)
                if not isinstance(t, (IdT, AnyT)):
                    self.err("E337", f"connected takes process ids, found {t}", a.value.span, hint=SIGNATURES[fn])
            return BOOL
        if len(args) != 1 or args[0].name is not None:
            self.err("E337", f"{fn} takes one argument", e.span, hint=SIGNATURES[fn])
            for a in args:
                self.expr(a.value, sc)
            return ANY
        t = self.expr(args[0].value, sc)
        if fn in ("size", "len"):
            if not isinstance(t, (SetT, SeqT, MapT, AnyT, EmptyT)):
                self.err("E337", f"{fn} needs a set or a sequence, found {t}", args[0].value.span, hint=SIGNATURES[fn])
            return INT
        if fn in ("min", "max"):
            if not isinstance(t, (SetT, SeqT, AnyT)):
                hint = SIGNATURES[fn]
                if isinstance(t, MapT):
                    hint = (f"for the {'least' if fn == 'min' else 'greatest'} value of a map write "
                            f"`{fn}(values({self.text(args[0].value) or 'm'}))`")
                self.err("E337", f"{fn} needs a set, found {t}", args[0].value.span, hint=hint)
                return ANY
            el = t.elem if isinstance(t, (SetT, SeqT)) else ANY
            if isinstance(el, IdT) and el.symmetric:
                self.err("E320", f"{fn} of symmetric ids of type '{el.name}'", e.span,
                         hint="symmetric ids have no order")
            elif not ordered(el):
                self.err("E335", f"{fn} needs ordered values, found {el}", e.span)
            return el
        if fn == "abs":
            if not isinstance(t, (IntT, AnyT)):
                self.err("E337", f"abs needs an int, found {t}", args[0].value.span, hint=SIGNATURES[fn])
            return INT
        if fn in ("head", "last"):
            if not isinstance(t, (SeqT, AnyT)):
                self.err("E337", f"{fn} needs a sequence, found {t}", args[0].value.span, hint=SIGNATURES[fn])
                return ANY
            return t.elem if isinstance(t, SeqT) else ANY
        if fn == "tail":
            if not isinstance(t, (SeqT, AnyT)):
                self.err("E337", f"tail needs a sequence, found {t}", args[0].value.span, hint=SIGNATURES[fn])
            return t
        if fn == "keys":
            if not isinstance(t, (MapT, AnyT)):
                self.err("E337", f"keys needs a map, found {t}", args[0].value.span, hint=SIGNATURES[fn])
                return ANY
            return SetT(t.key) if isinstance(t, MapT) else ANY
        if fn == "values":
            if not isinstance(t, (MapT, AnyT)):
                self.err("E337", f"values needs a map, found {t}", args[0].value.span, hint=SIGNATURES[fn])
                return ANY
            return SetT(t.val) if isinstance(t, MapT) else ANY
        return ANY


def compare_hint(a: Ty, b: Ty) -> str:
    """What to write instead of comparing values of two types."""
    for x, y in ((a, b), (b, a)):
        if isinstance(x, EnumT) and not isinstance(y, (EnumT, AnyT)):
            return f"compare a {x.name} with one of its members: {', '.join(x.members)}"
        if isinstance(x, SetT) and comparable(x.elem, y):
            return "to ask whether a value is in a set, write `x in s`; `s == {x}` for a set of one"
        if isinstance(x, BoolT) and isinstance(y, IntT):
            return "a bool is `true` or `false`, not a number"
    if isinstance(a, IdT) and isinstance(b, IdT):
        return f"ids of '{a.name}' and of '{b.name}' name processes of different kinds"
    return "compare values of one type (a T? also compares with a T and with none)"


def index_hint(key: Ty, found: Ty, m: str = "m", k: str = "k") -> str:
    if isinstance(found, OptT) and assignable(key, found.inner):
        return f"the key may be none: test it first, `{k} != none and {m}[{k}]` or `if {k} != none:`"
    if isinstance(key, IdT):
        return f"index it with a {key.name} id, e.g. `m[n]` for `n in {key.name}`"
    if isinstance(key, EnumT):
        return f"index it with a member of {key.name}: {', '.join(key.members)}"
    return f"index it with a value of {key}"


def elem_type(t: Ty) -> Ty:
    return t.elem if isinstance(t, (SetT, SeqT)) else ANY


def finite_type(t: Ty) -> bool:
    if isinstance(t, (BoolT, EnumT, IdT)):
        return True
    if isinstance(t, IntT):
        return t.lo is not None
    if isinstance(t, OptT):
        return finite_type(t.inner)
    if isinstance(t, (TupleT,)):
        return all(finite_type(x) for x in t.items)
    if isinstance(t, RecordT):
        return all(finite_type(x) for _, x in t.fields)
    if isinstance(t, SetT):
        return finite_type(t.elem)
    if isinstance(t, MapT):
        return finite_type(t.key) and finite_type(t.val)
    return False


def describe_target(e: A.Expr) -> str:
    if isinstance(e, A.Name):
        return f"'{e.id}'"
    if isinstance(e, A.FieldAccess):
        return f"field '{e.name}'"
    return "this element"


def tuple_item_type(e: A.Expr, i: int) -> Ty | None:
    """The type of component i of tuple expression e: a literal's item's own type, else the
    expression's (where the range checks of compile and symbolic decide what to check)."""
    if isinstance(e, A.TupleLit):
        return e.items[i].ty if i < len(e.items) else None
    return e.ty.items[i] if isinstance(e.ty, TupleT) and i < len(e.ty.items) else None


def walk_expr(e):
    """Every expression node under e (e included), in source order."""
    stack = [e]
    out = []
    while stack:
        n = stack.pop()
        if n is None:
            continue
        out.append(n)
        kids = []
        if isinstance(n, A.FieldAccess):
            kids = [n.obj]
        elif isinstance(n, A.Index):
            kids = [n.obj, *n.indices]
        elif isinstance(n, A.Call):
            kids = [n.func, *[a.value for a in n.args]]
        elif isinstance(n, A.Unary):
            kids = [n.operand]
        elif isinstance(n, A.Binary):
            kids = [n.left, n.right]
        elif isinstance(n, A.BoolChain):
            kids = list(n.items)
        elif isinstance(n, A.Compare):
            kids = [n.left, n.right]
        elif isinstance(n, A.RangeExpr):
            kids = [n.lo, n.hi]
        elif isinstance(n, A.CondExpr):
            kids = [n.then, n.cond, n.orelse]
        elif isinstance(n, (A.TupleLit, A.SetLit, A.SeqLit)):
            kids = list(n.items)
        elif isinstance(n, A.MapLit):
            kids = [x for p in n.pairs for x in p]
        elif isinstance(n, A.SetComp):
            kids = [n.elem, *[f.src for f in n.fors], n.cond]
        elif isinstance(n, A.MapComp):
            kids = [n.key, n.value, *[f.src for f in n.fors], n.cond]
        elif isinstance(n, A.Quant):
            kids = [*[s for _, s in n.bindings], n.body]
        stack.extend(reversed(kids))
    return out


# the expressions a statement reads, by statement type (an assignment's are added below)
_READ_FIELDS = {A.Require: ("cond",), A.Send: ("msg", "to"), A.Broadcast: ("msg",), A.Let: ("value",),
                A.Choose: ("src", "where"), A.For: ("src",)}


def stmt_reads(x: A.Stmt) -> list:
    """The expressions statement x itself evaluates (not those of nested blocks): an
    assignment's value and the indices of its target, an if's tests, and so on."""
    if isinstance(x, A.Assign):
        return [x.value, *target_path(x.target)[1]]
    if isinstance(x, A.If):
        return [c for c, _ in x.branches]
    return [getattr(x, f) for f in _READ_FIELDS.get(type(x), ())]


def walk_stmts(stmts):
    for st in stmts:
        yield st
        if isinstance(st, A.If):
            for _, body in st.branches:
                yield from walk_stmts(body)
            if st.orelse:
                yield from walk_stmts(st.orelse)
        elif isinstance(st, A.For):
            yield from walk_stmts(st.body)


def typecheck(spec: A.Spec) -> TypedSpec:
    return Checker(spec).run()
