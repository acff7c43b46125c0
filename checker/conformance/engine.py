"""Matching recorded runs to spec steps: the spec compiled for a trace, and the search.

How it works. The spec is compiled for the trace, not for exhaustive search (`Target`):
the process count comes from the trace header, the network is a multiset (so identical
messages may be in flight at once), crash and partition budgets are as large as the trace
needs and restarts are allowed, whatever the chosen model says; the model's semantics
(volatile fields, constants) are kept. Each record is prepared once (`prepare`): its input
resolved by the mapping to the spec steps it may be, its observed fields and the messages
it sends converted to the spec's compiled values.

The search keeps the set of spec states that fit the records so far (`Matcher`). A
record advances every candidate by each matching spec step: the handler, timeout or
action of that node is called directly (the generated function, not every successor),
and a successor is kept when its observed fields equal the record's and it sent exactly
the messages the record sent. Network records (partition, heal, drop, duplicate) and
crash/restart are applied the way the spec's network and fault model do: a crash loses
what is in flight to the process, and what is sent to a process that is down is lost.
The implementations' networks delay messages instead, and one that arrives after the
restart is delivered; so the lost messages are kept aside, in a "limbo" slot appended to
each candidate state that no spec expression can see, and a record that receives one of
them (its receiver up again) takes it from there. Guards that read the network
(`pending`) see exactly the spec's network. Fields the
trace does not record, and `choose` values it does not show, simply leave several
candidates, so a correct run is never rejected for lack of information.

Constants the spec marks `bound const` (and any the mapping lists under "bounds") are
search bounds: when a record cannot be matched, the matcher doubles them and tries the
record again, from the same candidates when the compiled states keep their shape, else
from the start. The invariants are evaluated on every new candidate: a record after which
every candidate breaks one is a violation (the real run broke the property).
"""
from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .. import runtime
from ..compile import compile_model
from ..diagnostics import EvalError
from ..dsl import ast as A
from ..mapping import LaneMap, MapError, Mapping, Rule, Values
from ..modelconfig import resolve_model
from ..typecheck import TypedSpec, walk_stmts
from ..types import MapT, SetT, Ty
from .records import Record

MAX_CANDIDATES = 20_000


class Unmappable(Exception):
    """A record that the mapping cannot turn into spec terms (a usage problem: exit 2)."""


# ---- the spec compiled for a trace ---------------------------------------------------------

class Target:
    def __init__(self, ts: TypedSpec, mapping: Mapping, model_name: str | None, defines: list[str],
                 faults: dict[str, int], bounds: dict[str, int] | None = None):
        self.ts = ts
        self.mapping = mapping
        self.model_name = model_name
        self.defines = list(defines)
        self.faults = dict(faults)
        self.bounds = dict(bounds or {})
        cfg = resolve_model(ts, model_name, self.defines + [f"{k}={v}" for k, v in self.bounds.items()])
        cfg = dataclasses.replace(cfg, volatile=set(cfg.volatile), consts=dict(cfg.consts),
                                  overrides=dict(cfg.overrides))
        if ts.messages:
            cfg.network, cfg.lossy, cfg.duplicating = "unordered", False, False
        if faults.get("crash"):
            cfg.crash = max(cfg.crash or 0, faults["crash"])
            cfg.restart = True
        if faults.get("partition"):
            cfg.partition = max(cfg.partition or 0, faults["partition"])
        if cfg.tick is not None and faults.get("tick"):
            cfg.tick = max(cfg.tick, faults["tick"])
        self.cfg = cfg
        self.model = compile_model(ts, cfg)
        m = self.model
        self.ns = m.ns
        L = m.layout
        self.layout = L
        self.net, self.down, self.crashes, self.part, self.parts = L.net, L.down, L.crashes, L.part, L.parts
        self.gen = m.gen
        self.all_ids = list(m.gen.all_ids)
        self.lo_all = self.all_ids[0] if self.all_ids else 0
        self.dispatch = self.ns.get("DISPATCH_L")
        self.proc = mapping.process
        if self.proc in m.gen.ids:
            self.lo, self.hi = m.gen.ids[self.proc]
        elif self.proc in ts.idtypes:
            self.lo, self.hi = m.gen.bounds(ts.idtypes[self.proc])
        else:
            raise MapError(f"{mapping.path}: 'process': the spec has no process or id type '{self.proc}'")
        self.invariants = m.of_kind("invariant")
        self.transitions = m.of_kind("transition")
        self.field_slots = {k for k, sl in enumerate(L.slots) if sl.kind == "field"}
        # messages the spec lost to a crash, kept aside (see the module docstring)
        self.limbo = len(L.slots) if (self.net is not None and self.down is not None) else None

    def init_states(self) -> list[tuple]:
        inits = list(dict.fromkeys(self.model.init_states()))
        if self.limbo is not None:
            return [s + (frozenset(),) for s in inits]
        return inits

    def consts(self) -> dict[str, Any]:
        return dict(self.cfg.consts)

    def shape(self) -> Any:
        """The shape of the compiled state (tuple lengths), to tell when states carry over."""
        def sh(v):
            return (len(v), tuple(sh(x) for x in v)) if isinstance(v, tuple) else None
        inits = self.model.init_states()
        return sh(inits[0]) if inits else None

    def with_bounds(self, bounds: dict[str, int]) -> "Target":
        return Target(self.ts, self.mapping, self.model_name, self.defines, self.faults, bounds)


def split_arith(expr: str, where: str) -> tuple[str, str | None, int | None]:
    """"input.id % 1000000" -> ("input.id", "%", 1000000); "input.id" -> ("input.id", None, None)."""
    parts = expr.split()
    if len(parts) == 1:
        return expr, None, None
    if len(parts) == 3 and parts[1] in ("+", "-", "%", "//") and parts[2].lstrip("-").isdigit():
        return parts[0], parts[1], int(parts[2])
    raise MapError(f"{where}: bad expression '{expr}' (a path, or a path, one of + - % // and an integer)")


def arith(v: Any, op: str | None, k: int | None) -> Any:
    if op is None or not isinstance(v, int) or isinstance(v, bool):
        return v
    return {"+": v + k, "-": v - k, "%": v % k, "//": v // k}[op]


def first_copies(net, env: tuple) -> list[tuple]:
    """The first copies of the in-flight envelopes that are `env` (None fields: any value)."""
    if None not in env:
        e1 = env + (1,)
        return [e1] if e1 in net else []
    return [e for e in net if e[-1] == 1 and len(e) == len(env) + 1
            and all(x is None or x == y for x, y in zip(env, e))]


def eager_bounds(ts: TypedSpec, names: list[str]) -> set[str]:
    """The bounds that only guards and conditions read: raising them changes no state's
    shape and enumerates nothing more, so conform may raise them at once. A bound used in a
    type, or as the range of a `choose`, a binding, a `for`, a quantifier or an `in`
    initial value, is raised lazily instead (doubled when a record needs it)."""
    structural: set[str] = set()

    def walk(x, inside: bool) -> None:
        if isinstance(x, list):
            for y in x:
                walk(y, inside)
            return
        if isinstance(x, tuple):
            for y in x:
                walk(y, inside)
            return
        if not dataclasses.is_dataclass(x) or isinstance(x, type):
            return
        if isinstance(x, A.Name):
            if inside:
                structural.add(x.id)
            return
        if isinstance(x, A.TypeExpr):
            inside = True
        for f in dataclasses.fields(x):
            if f.name == "span":
                continue
            v = getattr(x, f.name)
            here = inside
            if isinstance(x, (A.Choose, A.Binding, A.For, A.CompFor)) and f.name == "src":
                here = True
            elif isinstance(x, A.Init) and x.kind != "value" and f.name == "expr":
                here = True
            elif isinstance(x, A.Quant) and f.name == "bindings":
                here = True
            walk(v, here)
    walk(ts.ast.decls, False)
    return {n for n in names if n not in structural}


# ---- records prepared in spec terms --------------------------------------------------------

@dataclass
class Alt:
    rule: Rule
    fn: str | None = None                  # generated function name
    env: tuple | None = None               # deliver: the envelope (tag, src, dst, fields...)
    pattern: tuple | None = None           # deliver with unmapped fields: None = any
    params: tuple | None = None            # handler/action parameters, in binding order
    chosen: tuple | None = None            # choose values (None entries: any)
    error: str | None = None               # why this alternative cannot be a spec step


@dataclass
class Item:
    rec: Record
    pid: Any = None
    alts: list[Alt] = field(default_factory=list)
    obs: tuple = ()                        # ((slot, index, value, impl field), ...)
    sends: Counter | None = None           # envelopes the record sent (spec messages only)
    send_list: list = field(default_factory=list)   # [(effect index, env)]
    gsends: list = field(default_factory=list)      # [(slot, index, value, effect index, text)]
    net: tuple | None = None               # network record in spec terms
    spec_sends: bool = False               # does the record send spec messages?
    lane: Any = None                       # the record's Lane
    patterns: list = field(default_factory=list)    # sends with fields the trace does not show


def _elem_type(t: Ty | None) -> Ty | None:
    if isinstance(t, SetT):
        return t.elem
    return t


@dataclass
class Lane:
    key: str
    process: str | None
    info: Any
    lo: int | None
    hi: int | None
    fixed: int | None
    obs: dict


def lane_kinds(header: dict | None) -> dict:
    """node id -> its kind, from a header whose nodes are objects {"id", "kind"}."""
    out = {}
    for n in (header or {}).get("nodes") or ():
        if isinstance(n, dict) and "id" in n:
            out[n["id"]] = n.get("kind")
    return out


def const_value(expr: Any, consts: dict[str, Any], where: str) -> int:
    """An int, or a constant expression over the model's constants ("C + 1")."""
    if isinstance(expr, int) and not isinstance(expr, bool):
        return expr
    if isinstance(expr, str):
        import re
        if re.fullmatch(r"[A-Za-z_0-9+\-* ()]+", expr):
            try:
                v = eval(compile(expr, "<lane id>", "eval"), {"__builtins__": {}}, dict(consts))
                if isinstance(v, int):
                    return v
            except Exception:
                pass
    raise MapError(f"{where}: expected an int or a constant expression, found {json.dumps(expr)}")


class Preparer:
    """Turns records into Items for one Target (values do not depend on search bounds)."""

    def __init__(self, target: Target, header: dict | None, nodes: list, source: str | None = None):
        self.t = target
        self.source = source          # the trace file, named in errors ("FILE: line N: ...")
        self.ts = target.ts
        self.m = target.mapping
        self.nodes = nodes
        ids = {name: b for name, b in target.gen.ids.items()}
        for name, it in self.ts.idtypes.items():
            if name not in ids:
                ids[name] = target.gen.bounds(it)
        self.values = Values(ids, target.gen.bounds, self.m.values, self.m.number)
        self.kinds = lane_kinds(header)
        self.lanes: dict[Any, Lane] = {}
        default = LaneMap("node", self.t.proc, None, dict(self.m.state), set(self.m.unobserved))
        self.default_lane = self._lane(default)
        self.proc_info = self.default_lane.info
        self.obs_targets = self.default_lane.obs
        self.msg_map = self._messages()
        self.tags = target.gen.tags

    # -- lanes and observed fields --
    def lane(self, node: Any, where: str) -> "Lane":
        """The lane of a record's node: its spec process, id and observed fields."""
        if node in self.lanes:
            return self.lanes[node]
        kind = self.kinds.get(node)
        lm = self.m.lanes.get(str(node)) or (self.m.lanes.get(kind) if kind else None)
        if lm is None:
            if isinstance(node, bool) or not isinstance(node, int):
                raise Unmappable(f"{where}: node {json.dumps(node)} is not a process of the spec "
                                 f"(give its kind a \"lanes\" entry in the mapping)")
            lane = self.default_lane
        else:
            lane = self._lane(lm)
        self.lanes[node] = lane
        return lane

    def _lane(self, lm: LaneMap) -> "Lane":
        proc = lm.process
        info = self.ts.processes.get(proc) if proc else None
        lo = hi = None
        if proc in self.t.gen.ids:
            lo, hi = self.t.gen.ids[proc]
        elif proc in self.ts.idtypes:
            lo, hi = self.t.gen.bounds(self.ts.idtypes[proc])
        elif proc is not None:
            raise MapError(f"{self.m.path}: lanes.{lm.key}: the spec has no process or id type '{proc}'")
        fixed = None
        if lm.id is not None:
            fixed = const_value(lm.id, self.t.consts(), f"{self.m.path}: lanes.{lm.key}.id")
        lane = Lane(lm.key, proc, info, lo, hi, fixed, {})
        lane.obs = self._obs_targets(lane, lm)
        return lane

    def _obs_targets(self, lane: "Lane", lm: LaneMap) -> dict[str, tuple[int, Any, Ty, str]]:
        """impl field -> (slot, key offset or None for a plain global, type, spec name)."""
        out: dict[str, tuple[int, Any, Ty, str]] = {}
        L = self.t.layout
        names = dict(lm.state)
        if lane.info is not None and not lm.state:
            for f in lane.info.fields:
                names.setdefault(f, f)
        for impl, target in names.items():
            if impl in lm.unobserved:
                continue
            where = f"{self.m.path}: state.{impl}" if lm.key == "node" else f"{self.m.path}: lanes.{lm.key}.state.{impl}"
            if "[" in target:
                var = target.split("[", 1)[0].strip()
                if var not in self.ts.vars:
                    raise MapError(f"{where}: no global var '{var}' in the spec")
                vt = self.ts.vars[var].ty
                if not isinstance(vt, MapT):
                    raise MapError(f"{where}: '{var}' is not a map indexed by node")
                lo = self.t.gen.bounds(vt.key)[0]
                out[impl] = (L.var[var], lo, vt.val, var)
            elif lane.info is not None and target in lane.info.fields:
                k = L.fld[(lane.process, target)]
                out[impl] = (k, lane.lo, lane.info.fields[target].ty, target)
            elif lane.process is None and target in self.ts.vars:
                out[impl] = (L.var[target], None, self.ts.vars[target].ty, target)
            else:
                raise MapError(f"{where}: process '{lane.process}' has no field '{target}'")
        return out

    def _messages(self) -> dict[str, tuple[str | None, list[tuple[int, str | None]]]]:
        """impl type -> (spec message, [(spec field position, impl field or None)])."""
        out: dict[str, tuple[str | None, list]] = {}
        for name, info in self.ts.messages.items():
            mm = self.m.messages.get(name)
            if mm is not None and mm.spec != name:
                continue
            fields = [(i, f) for i, (f, _) in enumerate(info.ty.fields)]
            out[name] = (name, fields)
        for impl, mm in self.m.messages.items():
            if mm.spec is None:
                out[impl] = (None, [])
                continue
            if mm.spec not in self.ts.messages:
                raise MapError(f"{self.m.path}: messages.{impl}: the spec has no message '{mm.spec}'")
            info = self.ts.messages[mm.spec]
            back = {s: i for i, s in mm.fields.items()}
            fields = []
            for i, (f, _) in enumerate(info.ty.fields):
                fields.append((i, back.get(f, f if not mm.fields else None)))
            out[impl] = (mm.spec, fields)
        return out

    def spec_id(self, v: Any, where: str) -> Any:
        lane = self.lane(v, where)
        if lane.fixed is not None:
            return lane.fixed
        if lane.lo is None:
            raise Unmappable(f"{where}: node {json.dumps(v)} is not a process of the spec")
        if not lane.lo <= v <= lane.hi:
            raise Unmappable(f"{where}: unknown node {v} (the spec's {lane.process} ids are {lane.lo}..{lane.hi})")
        return v

    def envelope(self, msg: dict, src: Any, dst: Any, where: str) -> tuple | None:
        """(tag, src, dst, fields...) in spec values; None for a message the spec leaves out;
        a field the mapping does not give is None (any)."""
        mtype = msg.get("type")
        if mtype not in self.msg_map:
            known = ", ".join(sorted(self.msg_map)) or "none"
            raise Unmappable(f"{where}: message type '{mtype}' is not in the mapping (known: {known})")
        spec, fields = self.msg_map[mtype]
        if spec is None:
            return None
        info = self.ts.messages[spec]
        vals: list[Any] = []
        for (pos, impl_field), (fname, fty) in zip(fields, info.ty.fields):
            if impl_field is None:
                vals.append(None)
                continue
            name, op, k = split_arith(impl_field, self.m.path)
            if name not in msg:
                raise Unmappable(f"{where}: message {mtype} has no field '{name}'")
            try:
                v = arith(self.values.number(name, msg[name]), op, k)
                vals.append(self.values.to_spec(v, fty, f"{where}: msg.{name}", name))
            except MapError as e:
                raise Unmappable(str(e)) from None
        return (self.tags[spec], src, dst, *vals)

    def raw_param(self, expr: Any, rec: Record) -> Any:
        """The record's value that a parameter expression names (numbered, with arithmetic)."""
        if isinstance(expr, list):
            return [self.raw_param(x, rec) for x in expr]
        if not isinstance(expr, str):
            return expr
        if expr in self.kinds and expr not in ("node", "from", "to"):
            return expr                 # a lane named by its id ("resource")
        path, op, k = split_arith(expr, self.m.path)
        index = None
        if path.endswith("]") and "[" in path:          # "input.tokens[0]": an item of a list
            path, _, ix = path[:-1].partition("[")
            try:
                index = int(ix)
            except ValueError:
                raise MapError(f"{self.m.path}: bad index in '{expr}'") from None
        inp = rec.input
        if path == "node":
            v = rec.node
        elif path in ("from", "to"):
            v = inp.get(path)
        elif path.startswith("msg."):
            v = (inp.get("msg") or {}).get(path[4:])
        elif path.startswith("input."):
            v = inp.get(path[6:])
        elif path.startswith("state."):
            v = (rec.state or {}).get(path[6:])
        else:
            raise MapError(f"{self.m.path}: bad parameter expression '{expr}' "
                           f"(node, from, to, msg.F, input.F, state.F, a list or a literal)")
        if index is not None:
            v = v[index] if isinstance(v, list) and -len(v) <= index < len(v) else None
        v = self.values.number(path.rsplit(".", 1)[-1], v)
        return arith(v, op, k)

    def param(self, expr: Any, rec: Record, ty: Ty | None, where: str) -> Any:
        v = self.raw_param(expr, rec)
        if ty is None:
            return v
        try:
            return self.values.to_spec(v, ty, f"{where}: {expr}")
        except MapError as e:
            raise Unmappable(str(e)) from None

    # -- the rules --
    def default_rules(self, rec: Record, lane: "Lane", where: str | None = None) -> list[Rule]:
        k = rec.kind
        inp = rec.input
        if k == "start":
            return [Rule("stutter", source="default")]
        if k in ("crash", "restart"):
            return [Rule(k, source="default")]
        if k == "timer":
            name = inp.get("name")
            if lane.info and any(h.kind == "timeout" and h.name == name for h in lane.info.handlers):
                return [Rule("timeout", name, source="default")]
            timeouts = {h.name for p in self.ts.processes.values() for h in p.handlers if h.kind == "timeout"}
            if name not in timeouts:
                # neither mapped nor a spec timeout: a misspelling, not a step to skip (a timer
                # that is no spec step is declared in the mapping: "timer NAME": "stutter")
                mapped = {k.split(" ", 1)[1] for k in self.m.inputs if k.startswith("timer ")}
                known = ", ".join(sorted(mapped | timeouts)) or "none"
                raise Unmappable(f"{where or f'line {rec.line}'}: unknown timer '{name}': neither the mapping "
                                 f"({self.m.path or 'the default'}) nor the spec's timeouts name it "
                                 f"(known timers: {known}; declare \"timer {name}\": \"stutter\" in the "
                                 f"mapping's \"inputs\" if it is no spec step)")
            return [Rule("stutter", source="default")]
        if k == "receive":
            return [Rule("deliver", inp["msg"]["type"], source="default")]
        # neither one of the kinds every trace may hold nor one the mapping names: a misspelling
        # or a trace of another protocol, not a step the spec lacks (the mapping says
        # "KIND": "unsupported" for those)
        known = ", ".join(sorted({*("start", "crash", "restart", "timer", "receive"),
                                  *(x.split(" ", 1)[0] for x in self.m.inputs)}))
        raise Unmappable(f"{where or f'line {rec.line}'}: unknown input kind '{k}': neither a kind every trace "
                         f"may hold nor one the mapping ({self.m.path or 'the default'}) names (known kinds: "
                         f"{known})")

    def item(self, rec: Record) -> Item:
        where = f"{self.source}: line {rec.line}" if self.source else f"line {rec.line}"
        it = Item(rec)
        k = rec.kind
        if rec.node is None:
            it.net = self.net_item(rec, where)
            return it
        it.lane = lane = self.lane(rec.node, f"{where}: node")
        it.pid = self.spec_id(rec.node, f"{where}: node") if lane.process is not None else None
        rules = self.m.rules_for(rec.input) or self.default_rules(rec, lane, where)
        it.alts = [self.alt(rec, r, it.pid, where, lane) for r in rules]
        # observed fields
        st = rec.state or {}
        obs = []
        for impl, v in st.items():
            tgt = lane.obs.get(impl)
            if tgt is None:
                continue
            slot, lo, ty, _ = tgt
            try:
                val = self.values.to_spec(v, ty, f"{where}: state.{impl}", impl)
            except MapError as e:
                raise Unmappable(str(e)) from None
            if lo is None:
                obs.append((slot, None, val, impl))
            else:
                idx = (it.pid if lane.process is not None and slot in self.t.field_slots else
                       self.spec_id(rec.node, f"{where}: node"))
                obs.append((slot, idx - lo, val, impl))
        it.obs = tuple(obs)
        # messages sent
        sends = []
        for i, e in enumerate(rec.effects):
            if e.get("kind") != "send":
                continue
            msg = e.get("msg")
            if not isinstance(msg, dict):
                continue
            if self.m.network == "none":
                self.global_send(it, i, e, where)
                continue
            dst = e.get("to")
            if self.msg_map.get(msg.get("type"), (1,))[0] is None:
                continue
            dst_id = self.spec_id(dst, f"{where}: effects[{i}].to")
            env = self.envelope(msg, it.pid, dst_id, f"{where}: effects[{i}]")
            if env is None:
                continue
            if any(x is None for x in env):
                it.patterns.append(env)    # spec-only fields the trace does not show: any value
                continue
            sends.append((i, env))
        it.send_list = sends
        it.sends = Counter(env for _, env in sends)
        it.spec_sends = bool(sends) or bool(it.gsends) or bool(it.patterns)
        if k in ("crash",) and rec.state is None:
            it.obs = ()
        return it

    def global_send(self, it: Item, i: int, e: dict, where: str) -> None:
        msg = e["msg"]
        rule = self.m.sends.get(msg.get("type"))
        if rule is None:
            return
        var = rule.get("var")
        if var not in self.ts.vars or not isinstance(self.ts.vars[var].ty, MapT):
            raise MapError(f"{self.m.path}: sends.{msg.get('type')}: no global map '{var}'")
        vt = self.ts.vars[var].ty
        fake = Record(it.rec.line, it.rec.index, {**it.rec.raw, "input": {**it.rec.input, "msg": msg,
                                                                            "to": e.get("to")}})
        key = self.param(rule.get("index", "to"), fake, vt.key, f"{where}: effects[{i}]")
        val = self.param(rule.get("contains", "msg"), fake, _elem_type(vt.val), f"{where}: effects[{i}]")
        lo = self.t.gen.bounds(vt.key)[0]
        skip = rule.get("unless_in")
        if skip is not None:
            if skip not in self.ts.vars:
                raise MapError(f"{self.m.path}: sends.{msg.get('type')}: no global var '{skip}'")
            skip = self.t.layout.var[skip]
        from .records import fmt_msg
        it.gsends.append((self.t.layout.var[var], key - lo, val, i,
                          f"effects[{i}]: send {fmt_msg(msg)} to {e.get('to')}", var, key, skip))

    def alt(self, rec: Record, r: Rule, pid: Any, where: str, lane: "Lane") -> Alt:
        a = Alt(r)
        P = lane.process
        if P is None and r.kind in ("timeout", "handler", "deliver", "crash", "restart"):
            a.error = f"lane '{lane.key}' has no process in the spec: only global actions and stutters"
            return a
        if r.kind == "timeout":
            a.fn = f"t_{P}_{r.name}_{pid}_L"
            if a.fn not in self.t.ns:
                a.error = f"the spec has no `on timeout {r.name}` in process {P}"
        elif r.kind == "handler":
            a.fn = f"a_{P}_{r.name}_{pid}_L"
            h = self.find_handler(r.name, "action", lane)
            if a.fn not in self.t.ns or h is None:
                a.error = f"the spec has no `action {r.name}` in process {P}"
            else:
                a.params = tuple(self.param(r.params.get(b.name), rec, _elem_type(b.src.ty), where)
                                 if b.name in r.params else None for b in h.bindings)
                a.chosen = self.chosen(h.body, r, rec, where)
        elif r.kind == "action":
            act = next((x for x in self.ts.actions if x.name == r.name), None)
            a.fn = f"g_{r.name}_L"
            if act is None or a.fn not in self.t.ns:
                a.error = f"the spec has no global `action {r.name}`"
            else:
                a.params = tuple(self.param(r.params[b.name], rec, _elem_type(b.src.ty), where)
                                 if b.name in r.params else None for b in act.bindings)
                a.chosen = self.chosen(act.body, r, rec, where)
        elif r.kind == "deliver":
            inp = rec.input
            if r.params.get("msg") is not None or "from" in r.params:
                # a message named by the record's fields (e.g. a resource's `accept`): the
                # rule gives spec field -> expression; fields it leaves out are any value
                spec_msg = self.ts.messages.get(r.name)
                if spec_msg is None:
                    a.error = f"the spec has no message '{r.name}'"
                    return a
                src = self.spec_id(self.raw_param(r.params.get("from", "from"), rec), f"{where}: from")
                given = r.params.get("msg") or {}
                vals = [self.param(given[f], rec, fty, where) if f in given else None
                        for f, fty in spec_msg.ty.fields]
                env = (self.tags[r.name], src, pid, *vals)
                if None in vals:
                    a.pattern = env
                else:
                    a.env = env
                return a
            else:
                if not isinstance(inp.get("msg"), dict):
                    raise Unmappable(f"{where}: the rule 'deliver {r.name}' needs input.msg, or \"params\" "
                                     f"with \"from\" and \"msg\"")
                msg = dict(inp["msg"])
                src = self.spec_id(inp.get("from"), f"{where}: input.from")
            env = self.envelope(msg, src, pid, f"{where}: input.msg")
            if r.name not in self.ts.messages:
                a.error = f"the spec has no message '{r.name}'"
                return a
            if env is None:
                a.error = f"message '{msg.get('type')}' is not modelled by the spec"
            elif any(x is None for x in env):
                a.pattern = env
            else:
                a.env = env
        return a

    def find_handler(self, name: str, kind: str, lane: "Lane | None" = None):
        info = (lane or self.default_lane).info
        if info is None:
            return None
        return next((h for h in info.handlers if h.name == name and h.kind == kind), None)

    def chosen(self, body, r: Rule, rec: Record, where: str) -> tuple | None:
        names = [(st.name, st.src.ty) for st in walk_stmts(body) if isinstance(st, A.Choose)]
        if not names:
            return None
        return tuple(self.param(r.chosen[n], rec, _elem_type(ty), where) if n in r.chosen else None
                     for n, ty in names)

    def net_item(self, rec: Record, where: str) -> tuple:
        k = rec.kind
        inp = rec.input
        if self.m.network == "none" or self.t.net is None:
            return ("stutter",)
        if k == "partition":
            sides = inp["sides"]
            ids = [self.spec_id(n, f"{where}: input.sides") for s in sides for n in s]
            if len(sides) != 2:
                return ("bad", f"a partition into {len(sides)} sides (the spec splits the processes in two)")
            if sorted(ids) != sorted(self.t.all_ids):
                return ("bad", "the partition's sides do not list every process exactly once")
            first = min(ids)
            side = next(frozenset(s) for s in sides if first in s)
            return ("partition", side)
        if k == "heal":
            return ("heal",)
        if k in ("drop", "duplicate"):
            src = self.spec_id(inp["from"], f"{where}: input.from")
            dst = self.spec_id(inp["to"], f"{where}: input.to")
            env = self.envelope(inp["msg"], src, dst, f"{where}: input.msg")
            if env is None:
                return ("stutter",)
            return (k, env, inp.get("reason"))
        return ("bad", f"unknown network event '{k}'")


# ---- the search ----------------------------------------------------------------------------

@dataclass
class Violation:
    prop: str
    kind: str
    item_index: int
    state: tuple
    before: tuple | None


@dataclass
class Outcome:
    verdict: str                        # conforms | nonconform | violated
    matched: int                        # records matched
    steps: int                          # spec steps taken (stutters not counted)
    seconds: float
    candidates: int
    failed_at: int | None = None        # index into items of the record that did not match
    frontier: list | None = None        # candidates before the failing record
    violation: Violation | None = None
    bounds: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class Matcher:
    def __init__(self, target: Target, items: list[Item], raisable: list[str], cap: int):
        self.t = target
        self.items = items
        self.raisable = raisable
        self.cap = cap
        self.errors: list[EvalError] = []
        self.steps = 0

    # -- successors of one candidate for one record --
    def successors(self, it: Item, s: tuple, t: Target | None = None) -> list[tuple[Any, tuple]]:
        t = t or self.t
        if it.net is not None:
            return self.net_successors(it, s, t)
        out: list[tuple[Any, tuple]] = []
        for a in it.alts:
            if a.error:
                continue
            for lab, s2, base, limbo in self.raw_successors(it, a, s, t):
                if self.fits(it, s2, base, t):
                    if t.limbo is not None:
                        if s2[t.down] and (it.sends or it.patterns):
                            limbo = self.sent_to_down(it, a, s, lab, s2, limbo, t)
                        s2 = s2 + (limbo,)
                    out.append((lab, s2))
        return out

    def sent_to_down(self, it: Item, a: Alt, s: tuple, lab, s2: tuple, limbo, t: Target):
        """What the record sent to a process that is down goes to limbo (see the module
        docstring): the spec loses it, the implementation's network may still deliver it.
        The envelopes are the spec's own: the step is taken again with those processes up,
        which gives the spec-only fields of their messages too."""
        dn = s2[t.down]
        dsts = {e[2] for e in it.sends if e[2] in dn} | {p[2] for p in it.patterns if p[2] in dn}
        if not dsts:
            return limbo
        up = list(s)
        up[t.down] = s[t.down] - dsts
        skip = {t.net, t.down}
        for lab2, s3, base3, _ in self.raw_successors(it, a, tuple(up), t):
            if lab2 != lab or any(s3[k] != s2[k] for k in range(len(s2)) if k not in skip):
                continue
            extra = [e[:-1] for e in s3[t.net] - base3 if e[2] in dsts]
            return runtime.ms_add_many(limbo, extra) if extra else limbo
        extra = [e for e, c in it.sends.items() for _ in range(c) if e[2] in dn]
        return runtime.ms_add_many(limbo, extra) if extra else limbo

    def raw_successors(self, it: Item, a: Alt, s: tuple, t: Target):
        """(label, spec state, network before the sends, limbo) for alternative a, before the
        fit check; the spec states are the compiled ones (without the limbo slot)."""
        k = a.rule.kind
        pid = it.pid
        ns = t.ns
        limbo = s[t.limbo] if t.limbo is not None else None
        core = s[:t.limbo] if t.limbo is not None else s
        net = s[t.net] if t.net is not None else None
        if k == "stutter":
            return [(None, core, net, limbo)]
        down = s[t.down] if t.down is not None else ()
        if k == "crash":
            if t.down is None or pid in down:
                return []
            new = list(core)
            new[t.down] = down | {pid}
            new[t.crashes] = s[t.crashes] + 1
            if net is not None:        # the spec loses what is in flight to pid: to limbo
                lost = [e for e in net if e[2] == pid]
                if lost:
                    new[t.net] = net.difference(lost)
                    if limbo is not None:
                        limbo = runtime.ms_add_many(limbo, [e[:-1] for e in lost])
            s2 = tuple(new)
            return [(("crash", pid), s2, s2[t.net] if t.net is not None else None, limbo)]
        if k == "restart":
            if t.down is None or pid not in down:
                return []
            out: list = []
            self._call(ns["restart_L"], (s, pid, out))
            return [(lab, s2, net, limbo) for lab, s2 in out]
        if pid in down:
            return []
        if k == "timeout":
            out = []
            self._call(ns[a.fn], (s, out, ("timeout", it.lane.process, a.rule.name, pid)))
            return [(lab, s2, net, limbo) for lab, s2 in out]
        if k == "handler":
            out = []
            self._call(ns[a.fn], (s, out, ("action", it.lane.process, a.rule.name, pid)))
            return [(lab, s2, net, limbo) for lab, s2 in out
                    if self.params_fit(a, lab[4] if a.params else None, lab[-1])]
        if k == "action":
            out = []
            self._call(ns[a.fn], (s, out))
            return [(lab, s2, net, limbo) for lab, s2 in out if self.params_fit(a, lab[2], lab[3])]
        if k == "deliver":
            envs = []
            if a.env is not None:
                e1 = a.env + (1,)
                if e1 in net:
                    envs.append(e1)
                elif limbo and e1 in limbo:
                    # a message the spec lost to a crash arrives after the restart
                    limbo = runtime.ms_remove(limbo, e1)
                    net = runtime.ms_add(net, a.env)
                    new = list(s)
                    new[t.net] = net
                    s = tuple(new)
                    envs.append(e1)
            else:
                p = a.pattern
                for e in net:
                    if e[-1] == 1 and len(e) == len(p) + 1 and all(x is None or x == y for x, y in zip(p, e)):
                        envs.append(e)
                if not envs and limbo:
                    for e in sorted(limbo, key=repr):
                        if e[-1] == 1 and len(e) == len(p) + 1 and \
                                all(x is None or x == y for x, y in zip(p, e)):
                            limbo = runtime.ms_remove(limbo, e)
                            net = runtime.ms_add(net, e[:-1])
                            new = list(s)
                            new[t.net] = net
                            s = tuple(new)
                            envs.append(e[:-1] + (1,) if e[:-1] + (1,) in net else e)
                            break
            res = []
            part = s[t.part] if t.part is not None else None
            for e1 in envs:
                if part and ((e1[1] in part) != (e1[2] in part)):
                    continue
                h = t.dispatch[e1[0]][e1[2] - t.lo_all]
                if h is None:
                    continue
                rest = runtime.ms_remove(net, e1)
                out = []
                self._call(h, (s, e1, rest, out, ("deliver", e1[:-1])))
                res += [(lab, s2, rest, limbo) for lab, s2 in out]
            return res
        return []

    def _call(self, fn, args) -> None:
        try:
            fn(*args)
        except EvalError as e:
            self.errors.append(e)

    @staticmethod
    def params_fit(a: Alt, params, chosen) -> bool:
        if a.params is not None and params is not None:
            for want, got in zip(a.params, params):
                if want is not None and want != got:
                    return False
        if a.chosen is not None and chosen is not None:
            for want, got in zip(a.chosen, chosen):
                if want is not None and want != got:
                    return False
        return True

    def fits(self, it: Item, s2: tuple, base, t: Target) -> bool:
        for slot, i, v, _ in it.obs:
            if (s2[slot][i] if i is not None else s2[slot]) != v:
                return False
        if t.net is not None and base is not None:
            new = s2[t.net] - base
            want = it.sends
            pats = it.patterns
            if t.down is not None and (want or pats):
                dn = s2[t.down]
                if dn:
                    want = Counter({e: c for e, c in want.items() if e[2] not in dn})
                    pats = [p for p in pats if p[2] not in dn]
            n = sum(want.values()) if want else 0
            if len(new) != n + len(pats):
                return False
            if pats:
                got = Counter(e[:-1] for e in new)
                for e, c in want.items():
                    if got[e] < c:
                        return False
                    got[e] -= c
                rest = list(got.elements())
                for p in pats:
                    j = next((j for j, e in enumerate(rest)
                              if len(e) == len(p) and all(x is None or x == y for x, y in zip(p, e))), None)
                    if j is None:
                        return False
                    rest.pop(j)
            elif n and Counter(e[:-1] for e in new) != want:
                return False
        elif it.spec_sends and t.net is not None:
            return False
        for slot, i, v, _, _, _, key, skip in it.gsends:
            if v not in s2[slot][i] and (skip is None or key not in s2[skip]):
                return False
        return True

    def net_successors(self, it: Item, s: tuple, t: Target) -> list[tuple[Any, tuple]]:
        n = it.net
        k = n[0]
        if k == "stutter":
            return [(None, s)]
        if k == "bad":
            return []
        if k == "partition":
            new = list(s)
            new[t.part] = n[1]
            new[t.parts] = s[t.parts] + 1
            return [(("partition", n[1]), tuple(new))]
        if k == "heal":
            if t.part is None or not s[t.part]:
                return [(None, s)]
            new = list(s)
            new[t.part] = frozenset()
            return [(("heal",), tuple(new))]
        env = n[1]
        net = s[t.net]
        limbo = s[t.limbo] if t.limbo is not None else frozenset()
        out = []
        for slot, where in ((t.net, net), (t.limbo, limbo)):
            for e1 in first_copies(where, env):
                new = list(s)
                if k == "drop":
                    new[slot] = runtime.ms_remove(where, e1)
                else:
                    new[slot] = runtime.ms_add(where, e1[:-1])
                out.append(((k, e1[:-1]) if slot == t.net else None, tuple(new)))
            if out:
                return out
        return out

    # -- properties --
    def violated(self, t: Target, pairs: list[tuple[tuple | None, tuple]]) -> tuple[str, str] | None:
        for p in t.invariants:
            try:
                if all(not p.check(s2) for _, s2 in pairs):
                    return p.name, "invariant"
            except EvalError:
                continue
        for p in t.transitions:
            try:
                if all(o is not None and not p.check(o, s2) for o, s2 in pairs):
                    return p.name, "transition"
            except EvalError:
                continue
        return None

    # -- the run --
    def run(self, start: int = 0, frontier: list | None = None, started: float | None = None) -> Outcome:
        t0 = started or time.perf_counter()
        if frontier is None:
            frontier = self.t.init_states()
        i = start
        items = self.items
        while i < len(items):
            it = items[i]
            nxt: dict[tuple, tuple] = {}
            for s in frontier:
                for lab, s2 in self.successors(it, s):
                    if s2 not in nxt:
                        nxt[s2] = (s, lab)
            if not nxt and self.t.mapping.silent:
                frontier, nxt = self.with_silent(it, frontier)
            if not nxt:
                raised = self.raise_bounds(i, frontier)
                if raised is None:
                    return Outcome("nonconform", i, self.steps, time.perf_counter() - t0, len(frontier),
                                   failed_at=i, frontier=frontier, bounds=dict(self.t.bounds))
                if raised == "restart":
                    return self.run(0, None, t0)
                continue   # the same record again, with the raised bounds
            if len(nxt) > MAX_CANDIDATES:
                out = Outcome("nonconform", i, self.steps, time.perf_counter() - t0, len(frontier),
                              failed_at=i, frontier=frontier, bounds=dict(self.t.bounds))
                out.errors.append(f"more than {MAX_CANDIDATES} spec states fit the records so far: "
                                  f"the trace observes too little to follow the spec")
                return out
            pairs = [(o, s2) for s2, (o, _) in nxt.items()]
            if self.t.invariants or self.t.transitions:
                v = self.violated(self.t, pairs)
                if v is not None:
                    out = Outcome("violated", i, self.steps, time.perf_counter() - t0, len(nxt),
                                  bounds=dict(self.t.bounds))
                    out.violation = Violation(v[0], v[1], i, pairs[0][1], pairs[0][0])
                    out.frontier = frontier
                    return out
            if any(lab is not None for _, lab in nxt.values()):
                self.steps += 1
            frontier = list(nxt)
            i += 1
        return Outcome("conforms", len(items), self.steps, time.perf_counter() - t0, len(frontier),
                       bounds=dict(self.t.bounds))

    def raise_bounds(self, i: int, frontier: list) -> Target | str | None:
        """Double the search bounds until record i matches; the new Target, 'restart' when
        states changed shape (the run starts over), or None."""
        if not self.raisable or not self.bound_may_help(self.items[i], frontier):
            return None
        cur = {k: int(self.t.consts()[k]) for k in self.raisable}
        shape = self.t.shape()
        it = self.items[i]
        while True:
            nxt = {k: max(2 * v, v + 1) for k, v in cur.items()}
            if all(v > self.cap for v in nxt.values()):
                return None
            nxt = {k: min(v, max(self.cap, cur[k])) for k, v in nxt.items()}
            if nxt == cur:
                return None
            t2 = self.t.with_bounds({**self.t.bounds, **nxt})
            cur = nxt
            if t2.shape() != shape:
                if self.replays_to(t2, i):
                    self.t = t2
                    return "restart"
                continue
            if any(self.successors(it, s, t2) for s in frontier):
                self.t = t2
                return t2

    SILENT_ROUNDS = 4

    def with_silent(self, it: Item, frontier: list) -> tuple[list, dict]:
        """Spec steps no record shows (the mapping's "silent": the tick clock, actions),
        taken only where a record needs them: up to SILENT_ROUNDS of them before it."""
        seen = set(frontier)
        layer = list(frontier)
        for _ in range(self.SILENT_ROUNDS):
            nxt_layer = []
            for s in layer:
                for s2 in self.silent_successors(s, self.t):
                    if s2 not in seen:
                        seen.add(s2)
                        nxt_layer.append(s2)
            if not nxt_layer:
                break
            nxt: dict[tuple, tuple] = {}
            for s in nxt_layer:
                for lab, s2 in self.successors(it, s):
                    nxt.setdefault(s2, (s, lab))
            if nxt:
                return nxt_layer, nxt
            layer = nxt_layer
        return frontier, {}

    def silent_successors(self, s: tuple, t: Target) -> list[tuple]:
        out = []
        limbo = (s[t.limbo],) if t.limbo is not None else ()
        core = s[:t.limbo] if t.limbo is not None else s
        for name in t.mapping.silent:
            if name == "tick":
                if t.layout.now is not None and (t.cfg.tick is None or s[t.layout.now] < t.cfg.tick):
                    new = list(s)
                    new[t.layout.now] = s[t.layout.now] + 1
                    out.append(tuple(new))
            elif name.startswith("action "):
                fn = t.ns.get(f"g_{name[7:]}_L")
                if fn is not None:
                    res: list = []
                    self._call(fn, (core, res))
                    out += [s2 + limbo for _, s2 in res]
        return out

    def bound_may_help(self, it: Item, frontier: list) -> bool:
        """A search bound can only matter where a step was not enabled at all (a guard or a
        range check), not where enabled steps disagreed with the record."""
        if it.net is not None:
            return False
        for s in frontier[:50]:
            for a in it.alts:
                if a.error or a.rule.kind in ("stutter", "crash", "restart"):
                    continue
                if a.rule.kind == "deliver":
                    net = s[self.t.net]
                    if a.env is not None and a.env + (1,) not in net:
                        continue
                n_err = len(self.errors)
                if not self.raw_successors(it, a, s, self.t) or len(self.errors) > n_err:
                    return True
        return False

    def replays_to(self, t2: Target, i: int) -> bool:
        frontier = t2.init_states()
        for it in self.items[:i + 1]:
            nxt = {}
            for s in frontier:
                for _, s2 in self.successors(it, s, t2):
                    nxt[s2] = None
            if not nxt:
                return False
            frontier = list(nxt)
        return True
