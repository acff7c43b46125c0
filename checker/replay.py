"""`elect replay TRACE --impl ALGO[:VARIANT]`: drive an implementation through a spec's run.

The trace is an ITF file written by `elect check` (a counterexample) or `elect testgen`.
Its spec is compiled with the trace's model and constants and the run is rebuilt as spec
states (each ITF state must be a successor of the one before). Each step's `action`
becomes one or two steps of the reference simulator (`reference/drivers/sim.py`, untimed):

    deliver / drop          deliver / drop of that message (from, to, msg)
    duplicate               duplicate, then deliver (the spec delivers and keeps a copy)
    timeout NAME @p         timer NAME at p (the mapping names the implementation's timer)
    action                  what the mapping's input rule for it says (e.g. a delivery)
    crash / restart p       crash / restart of node p
    partition / heal        the same
    tick                    nothing (the simulator has no clock in untimed mode)

After every step the implementation's observed state (every live node) is compared with
the spec's, field by field, through the protocol's mapping (`spec/<spec>.map.json`), and
the trace's property is evaluated on the implementation's state (the spec's state with
every observed field replaced by the code's value), besides the implementation's own
safety monitor. Outcomes and exit codes:

    10  the property breaks in the code (the step is named)
    0   it does not: the code followed the run, or parted ways with it (a field whose
        value differs: the code decided differently) and did not break the property on
        the steps it could still take
    13  code and spec part ways without an explanation: a step the spec takes is not
        possible in the code while every observed field still agreed (a missing timer,
        a message the code never sent); that step is named. For a run with no invariant
        or transition property to watch (a testgen run, a deadlock), any parting: there
        the run itself is the test
    2   an unreadable trace (a state that is not a step of the spec, or is not the step
        the trace's action names), a bad #meta or a bad --impl
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .api import load_model
from .diagnostics import SpecError
from .mapping import MapError, Mapping, Values, default_mapping, find_mapping, load_mapping
from .model import Model
from .trace import Trace, TraceError, describe_action, fmt_value, read_itf

EXIT_OK, EXIT_USAGE, EXIT_VIOLATED, EXIT_PARTED = 0, 2, 10, 13


class ReplayUsage(Exception):
    pass


@dataclass
class Divergence:
    step: int
    action: str
    what: str                 # field | not-enabled
    text: str
    field: str | None = None
    spec: Any = None
    code: Any = None

    def render(self) -> str:
        return f"step {self.step} ({self.action}): {self.text}"

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class ReplayResult:
    trace: str
    impl: str
    prop: str | None
    steps: int
    taken: int = 0
    verdict: str = "holds"            # violated | holds | parted
    watched: bool = False             # the property is evaluated on the code's states
    broke_at: int | None = None
    violation: str | None = None
    first: Divergence | None = None   # the first step where code and spec part ways
    skipped: list[Divergence] = field(default_factory=list)
    diffs: list[Divergence] = field(default_factory=list)
    schedule: list[dict] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return {"violated": EXIT_VIOLATED, "holds": EXIT_OK, "parted": EXIT_PARTED}[self.verdict]

    def to_json(self) -> dict:
        return {"verdict": self.verdict, "trace": self.trace, "impl": self.impl, "property": self.prop,
                "steps": self.steps, "taken": self.taken, "broke_at": self.broke_at,
                "violation": self.violation, "first_divergence": self.first.to_json() if self.first else None,
                "skipped": [d.to_json() for d in self.skipped], "schedule": self.schedule}


# ---- the spec side ---------------------------------------------------------------------------

_MODELS: dict[tuple, Model] = {}


def model_for(tr: Trace) -> Model:
    meta = tr.meta
    src = spec_of(tr)
    name = meta.get("model")
    if name is not None and not isinstance(name, str):
        raise ReplayUsage(f"{tr.path}: #meta.model must be a model's name, not {json.dumps(name)}")
    if name in (None, "(spec defaults)"):
        name = None
    consts = meta.get("constants") or {}
    if not isinstance(consts, dict):
        raise ReplayUsage(f"{tr.path}: #meta.constants must be an object of constant values")
    for k, v in consts.items():
        if not isinstance(v, (int, bool)):
            raise ReplayUsage(f"{tr.path}: #meta.constants.{k} is {v!r}, not a number or a boolean")
    defines = [f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in consts.items()]
    key = (str(Path(src).resolve()), Path(src).stat().st_mtime_ns, name, tuple(defines))
    if key not in _MODELS:
        try:
            _MODELS[key] = load_model(src, name, defines)
        except SpecError as e:
            if e.code in ("E407", "E408", "E409", "E410", "E411", "E416"):   # the trace's model or constants
                raise ReplayUsage(f"{tr.path}: its #meta (model {meta.get('model')!r}, constants {consts}) does "
                                  f"not fit {src}: {e.diagnostics[0].message}") from None
            raise
    return _MODELS[key]


def spec_of(tr: Trace) -> str:
    """The trace's spec file: #meta.source as given (from the current directory), else
    found from the trace's own folder upwards (traces are written under the project)."""
    src = tr.meta.get("source")
    if not src or not isinstance(src, str):
        raise ReplayUsage(f"{tr.path}: the trace names no spec file (#meta.source)")
    if Path(src).exists():
        return src
    if tr.path and not Path(src).is_absolute():
        for d in Path(tr.path).resolve().parents:
            if (d / src).exists():
                return str(d / src)
    raise ReplayUsage(f"{tr.path}: the trace names no spec file that exists (#meta.source = {src!r}, "
                      f"looked in the current directory and above the trace)")


def _describe(a: Any) -> str | None:
    """describe_action, or None for an action record it cannot read."""
    try:
        return describe_action(a)
    except (KeyError, TypeError, AttributeError, ValueError, IndexError):
        return None


def rebuild(model: Model, tr: Trace) -> tuple[list[tuple], list[dict]]:
    """The trace's states as compiled spec states, and the spec's own action record for
    each step. Each state must be a successor of the one before, by the step the trace
    names: the code is driven by the spec's record of that step, never by the file's."""
    def same(s, want):
        got = model.state_itf(s)
        return all(got.get(k) == v for k, v in want.items())
    inits = [s for s in model.init_states() if same(s, tr.steps[0].state)]
    if not inits:
        raise ReplayUsage(f"{tr.path}: state 0 is not an initial state of {model.spec.file}")
    states, actions = [inits[0]], [model.action_itf(None, None, inits[0])]
    for st in tr.steps[1:]:
        said = _describe(st.action)
        nxt = [(lab, s2) for lab, s2 in model.successors_labeled(states[-1]) if same(s2, st.state)]
        if not nxt:
            raise ReplayUsage(f"{tr.path}: state {st.index} ({said or 'an unreadable action'}) is not a step of "
                              f"{model.spec.file} from state {st.index - 1}")
        steps = [(model.action_itf(lab, states[-1], s2), s2) for lab, s2 in nxt]
        match = [(a, s2) for a, s2 in steps if _describe(a) == said]
        if not match:
            raise ReplayUsage(f"{tr.path}: state {st.index}: the action recorded "
                              f"({said or 'unreadable: ' + json.dumps(st.action)[:80]}) is not the spec's step "
                              f"from state {st.index - 1} to it ({_describe(steps[0][0])})")
        actions.append(match[0][0])
        states.append(match[0][1])
    return states, actions


# ---- spec actions as simulator steps -----------------------------------------------------------

class Translator:
    def __init__(self, model: Model, mapping: Mapping, values: Values):
        self.model = model
        self.ts = model.spec
        self.m = mapping
        self.values = values
        # spec message -> (impl type, {spec field: impl field})
        self.msgs: dict[str, tuple[str, dict[str, str]]] = {}
        for name in self.ts.messages:
            self.msgs[name] = (name, {f: f for f, _ in self.ts.messages[name].ty.fields})
        for impl, mm in mapping.messages.items():
            if mm.spec is not None:
                if mm.fields:        # only these: the rest are the spec's own (not sent by the code)
                    fields = {s: i for i, s in mm.fields.items()}
                else:
                    fields = {f: f for f, _ in self.ts.messages[mm.spec].ty.fields}
                self.msgs[mm.spec] = (impl, fields)
        self.timers: dict[str, str] = {}
        for key, rules in mapping.inputs.items():
            kind, _, detail = key.partition(" ")
            for r in rules:
                if kind == "timer" and r.kind == "timeout" and detail:
                    self.timers[r.name] = detail

    def msg(self, itf_msg: dict) -> dict:
        name = itf_msg["type"]
        impl, fields = self.msgs.get(name, (name, {}))
        mt = dict(self.ts.messages[name].ty.fields) if name in self.ts.messages else {}
        out = {"type": impl}
        for k, v in itf_msg.items():
            if k == "type" or k not in fields:
                continue
            out[fields[k]] = self.values.itf_to_impl(v, mt.get(k), fields[k])
        return out

    def steps(self, a: dict) -> list[dict]:
        """The simulator steps for one spec action (empty: nothing happens in the code)."""
        k = a["kind"]
        if k in ("deliver", "drop"):
            return [{"kind": k, "from": a["src"], "to": a["dst"], "msg": self.msg(a["msg"])}]
        if k == "duplicate":
            m = self.msg(a["msg"])
            return [{"kind": "duplicate", "from": a["src"], "to": a["dst"], "msg": m},
                    {"kind": "deliver", "from": a["src"], "to": a["dst"], "msg": m}]
        if k == "timeout":
            over = self.m.replay.get(f"timeout {a['name']}")
            if over is not None:
                return self.custom(over, a)
            return [{"kind": "timer", "node": a["proc"], "name": self.timers.get(a["name"], a["name"])}]
        if k in ("crash", "restart"):
            return [{"kind": k, "node": a["proc"]}]
        if k == "partition":
            return [{"kind": "partition", "sides": [list(s) for s in a["sides"]]}]
        if k == "heal":
            return [{"kind": "heal"}]
        if k == "tick":
            return []
        if k == "action":
            return self.action(a)
        return []

    def custom(self, rules: list[dict], a: dict) -> list[dict]:
        params = dict(a.get("params") or {})
        if "proc" in a:
            params.setdefault("self", a["proc"])
        out = []
        for r in rules:
            step = {}
            for key, v in r.items():
                if isinstance(v, str) and v in params and key not in ("kind", "name"):
                    v = params[v]
                step[key] = v
            out.append(step)
        return out

    def action(self, a: dict) -> list[dict]:
        name = a["name"]
        over = self.m.replay.get(f"action {name}")
        if over is not None:
            return self.custom(over, a)
        params = {k: self.values.itf_to_impl(v, None) for k, v in (a.get("params") or {}).items()}
        chosen = [self.values.itf_to_impl(v, None) for v in (a.get("chosen") or [])]
        for key, rules in self.m.inputs.items():
            kind, _, detail = key.partition(" ")
            for r in rules:
                if r.kind not in ("action", "handler") or r.name != name:
                    continue
                rec: dict[str, Any] = {"node": a.get("proc")}
                msg: dict[str, Any] = {"type": detail} if kind == "receive" else {}
                names = self.choose_names(name, r.kind)
                values = dict(params)
                values.update({n: v for n, v in zip(names, chosen)})
                for pname, expr in {**r.params, **r.chosen}.items():
                    if not isinstance(expr, str) or pname not in values:
                        continue
                    v = values[pname]
                    if expr == "node":
                        rec["node"] = v
                    elif expr in ("from", "to"):
                        rec[expr] = v
                    elif expr.startswith("msg."):
                        msg[expr[4:]] = v
                if kind == "receive":
                    step = {"kind": "deliver", "to": rec["node"], "msg": msg}
                    if "from" in rec:
                        step["from"] = rec["from"]
                    return [step]
                if kind == "timer":
                    return [{"kind": "timer", "node": rec["node"], "name": detail}]
                if kind in ("crash", "restart"):
                    return [{"kind": kind, "node": rec["node"]}]
                if kind == "start":
                    return []
        raise ReplayUsage(f"the mapping {self.m.path} has no input rule for the spec action '{name}' "
                          f"(add one under \"inputs\", or a \"replay\" entry \"action {name}\")")

    def choose_names(self, name: str, kind: str) -> list[str]:
        from .dsl import ast as A
        from .typecheck import walk_stmts
        body = None
        if kind == "action":
            act = next((x for x in self.ts.actions if x.name == name), None)
            body = act.body if act else None
        else:
            for p in self.ts.processes.values():
                h = next((h for h in p.handlers if h.name == name and h.kind == "action"), None)
                if h:
                    body = h.body
        return [st.name for st in walk_stmts(body or []) if isinstance(st, A.Choose)]


# ---- the run ---------------------------------------------------------------------------------

class Observer:
    """Compares the code's observed state with the spec's, in the spec's compiled values."""

    def __init__(self, model: Model, mapping: Mapping, values: Values):
        self.model = model
        self.m = mapping
        self.values = values
        ts = model.spec
        L = model.layout
        proc = ts.processes.get(mapping.process)
        names = dict(mapping.state)
        if proc is not None and not mapping.state:
            names = {f: f for f in proc.fields}
        self.fields: list[tuple[str, int, int, Any, str]] = []   # impl, slot, lo, type, spec name
        for impl, target in names.items():
            if impl in mapping.unobserved:
                continue
            if "[" in target:
                var = target.split("[", 1)[0].strip()
                vt = ts.vars[var].ty
                self.fields.append((impl, L.var[var], model.gen.bounds(vt.key)[0], vt.val, var))
            elif proc is not None and target in proc.fields:
                self.fields.append((impl, L.fld[(mapping.process, target)], model.gen.ids[mapping.process][0],
                                    proc.fields[target].ty, target))

    def diffs(self, s: tuple, node: int, obs: dict) -> list[tuple[str, str, str]]:
        out = []
        for impl, slot, lo, ty, _ in self.fields:
            if impl not in obs:
                continue
            try:
                code = self.values.to_spec(obs[impl], ty, f"node {node}: {impl}", impl)
            except MapError:
                code = None
            spec = s[slot][node - lo]
            if code != spec:
                out.append((impl, fmt_value(self.model.itf(spec, ty)), json.dumps(obs[impl])))
        return out

    def code_state(self, s: tuple, observed: dict[int, dict]) -> tuple:
        """The spec state s with every observed field replaced by the code's value."""
        new = list(s)
        for impl, slot, lo, ty, _ in self.fields:
            vals = list(new[slot])
            for node, obs in observed.items():
                if impl in obs and 0 <= node - lo < len(vals):
                    try:
                        vals[node - lo] = self.values.to_spec(obs[impl], ty, "", impl)
                    except MapError:
                        pass
            new[slot] = tuple(vals)
        return tuple(new)


class Lockstep:
    """The implementation on the simulator, driven by spec actions, compared after each.

        ls = Lockstep(model, "raft:volatile-vote", s0)
        failed, diffs = ls.step(model.action_itf(label, s, s2), s2)

    `failed` is the simulator's one-line reason when a step is not possible in the code,
    `diffs` the observed fields that differ ((node, field, spec value, code value))."""

    def __init__(self, model: Model, impl: str, s0: tuple, mapping: Mapping | None = None):
        from reference.drivers.sim import Sim
        from reference.node import load, parse_algo
        try:
            load(impl)
        except ValueError as e:
            raise ReplayUsage(f"--impl {impl}: {e}") from None
        protocol = parse_algo(impl)[0]
        ts = model.spec
        if mapping is None:
            mpath = find_mapping(ts.file, protocol)
            try:
                mapping = load_mapping(mpath) if mpath else default_mapping(ts, protocol)
            except MapError as e:
                raise ReplayUsage(str(e)) from None
            if mpath and mapping.protocol and mapping.protocol != protocol:
                raise ReplayUsage(f"--impl {impl}: {mpath} maps '{mapping.protocol}' to {ts.file}, not '{protocol}'")
        self.model = model
        self.mapping = mapping
        self.values = Values(dict(model.gen.ids), model.gen.bounds, mapping.values)
        self.tx = Translator(model, mapping, self.values)
        self.ob = Observer(model, mapping, self.values)
        nodes = [i for k, i in model.processes if k == mapping.process]
        if not nodes and mapping.process in ts.idtypes:       # a global-style spec: ids of a type
            lo, hi = model.gen.bounds(ts.idtypes[mapping.process])
            nodes = list(range(lo, hi + 1))
        if not nodes:
            raise ReplayUsage(f"{ts.file} has no process or id type '{mapping.process}' (the mapping's \"process\")")
        self.nodes = nodes
        self.sim = Sim(impl, len(nodes), timed=False, options=_options(mapping, model, s0, self.values, nodes))
        self.schedule: list[dict] = []

    def step(self, action: dict, s: tuple) -> tuple[str | None, list[tuple[int, str, str, str]]]:
        from reference.drivers.sim import ScheduleError
        sim_steps = self.tx.steps(action)
        self.schedule += sim_steps
        for st in sim_steps:
            st = dict(st)
            optional = st.pop("optional", False)
            st = _resolve(self.sim, st)
            try:
                self.sim.step(st)
            except ScheduleError as e:
                if optional:
                    continue
                return str(e), []
        diffs = []
        for n, obs in self.observed().items():
            for f, sv, cv in self.ob.diffs(s, n, obs):
                diffs.append((n, f, sv, cv))
        return None, diffs

    def observed(self) -> dict[int, dict]:
        return {n: self.sim.node[n].observed_state() for n in self.nodes if self.sim.node.get(n) is not None}


def replay(trace_path: str, impl: str) -> ReplayResult:
    tr = read_itf(trace_path)
    model = model_for(tr)
    states, actions = rebuild(model, tr)
    ls = Lockstep(model, impl, states[0])
    sim = ls.sim
    prop_name = tr.meta.get("property")
    if prop_name is not None and (not isinstance(prop_name, str) or
                                  prop_name != "deadlock" and all(p.name != prop_name for p in model.properties)):
        raise ReplayUsage(f"{tr.path}: #meta.property {json.dumps(prop_name)} is not a property of {model.spec.file}")
    prop = next((p for p in model.properties if p.name == prop_name and p.kind in ("invariant", "transition")),
                None)
    res = ReplayResult(str(trace_path), impl, prop_name, len(tr.steps) - 1, watched=prop is not None)
    agreed = True
    prev_code = None
    for k in range(1, len(tr.steps)):
        a = actions[k]
        what = describe_action(a)
        failed, diffs = ls.step(a, states[k])
        res.schedule = ls.schedule
        if failed is not None:
            d = Divergence(k, what, "not-enabled", f"not possible in the code: {failed}")
            if agreed and res.first is None:
                res.first = d
                res.verdict = "parted"
                return _finish(res, sim, k)
            res.skipped.append(d)
            continue
        res.taken += 1
        s = states[k]
        for n, f, sv, cv in diffs:
            d = Divergence(k, what, "field", f"node {n}: field '{f}': spec {sv}, code {cv}", f"state.{f}", sv, cv)
            res.diffs.append(d)
            if res.first is None:
                res.first = d
            agreed = False
        code = ls.ob.code_state(s, ls.observed())
        broke = None
        if prop is not None:
            try:
                ok = prop.check(prev_code if prev_code is not None else states[k - 1], code) \
                    if prop.kind == "transition" else prop.check(code)
            except Exception:
                ok = True
            if not ok:
                broke = f"{prop.name} is false in the code's state"
        if sim.violation and (prop_name is None or sim.violation.startswith(prop_name) or broke):
            broke = sim.violation
        prev_code = code
        if broke:
            res.verdict = "violated"
            res.broke_at = k
            res.violation = broke
            return res
    if prop is None and res.first is not None and res.verdict == "holds":
        # no property to watch (a testgen run, a deadlock): the run is the test, and the
        # code left it
        res.verdict = "parted"
    return _finish(res, sim, None)


def _resolve(sim, st: dict) -> dict:
    """A delivery the mapping could not give a sender (a global-style spec's message has
    none): the first envelope in flight to that node with that message."""
    if st.get("kind") in ("deliver", "drop", "duplicate") and "from" not in st:
        for env in sim.inflight:
            if env.dst == st.get("to") and env.msg == st.get("msg"):
                return {**st, "from": env.src}
    return st


def _finish(res: ReplayResult, sim, k) -> ReplayResult:
    if res.verdict != "parted" and sim.violation:
        res.violation = sim.violation
    return res


def _options(mapping: Mapping, model: Model, s0: tuple, values: Values, nodes: list[int]) -> dict | None:
    """Per-node constructor options read from the spec's initial state (mapping "options":
    {"initiator": "initiator[node]"}); None when the mapping has none."""
    opts = mapping.raw.get("options") or {}
    if not opts:
        return None
    out: dict[int, dict] = {n: {} for n in nodes}
    L = model.layout
    for opt, target in opts.items():
        if "[" in target:
            var = target.split("[", 1)[0].strip()
            vt = model.spec.vars[var].ty
            lo = model.gen.bounds(vt.key)[0]
            for n in nodes:
                out[n][opt] = _plain(model.itf(s0[L.var[var]][n - lo], vt.val))
        else:
            k = L.fld[(mapping.process, target)]
            ty = model.spec.processes[mapping.process].fields[target].ty
            lo = model.gen.ids[mapping.process][0]
            for n in nodes:
                out[n][opt] = _plain(model.itf(s0[k][n - lo], ty))
    return out


def _plain(v):
    return v


def render_text(res: ReplayResult) -> str:
    lines = [f"replay {res.trace} on {res.impl}: {res.steps} spec steps, {res.taken} taken by the code"]
    if res.first is not None and res.verdict != "parted":
        lines.append(f"  code and spec part ways at {res.first.render()}")
    for d in res.skipped[:6]:
        lines.append(f"  skipped {d.render()}")
    if len(res.skipped) > 6:
        lines.append(f"  ... and {len(res.skipped) - 6} more steps the code could not take")
    if res.verdict == "violated":
        lines.append(f"violated in the code: {res.violation} (at step {res.broke_at})")
    elif res.verdict == "parted" and res.first.what == "field":
        lines.append(f"code and spec part ways at {res.first.render()}")
        lines.append("  the code's state differs from the spec's: this run is not a behaviour of the code")
    elif res.verdict == "parted":
        lines.append(f"code and spec part ways at {res.first.render()}")
        lines.append("  every observed field agreed up to there: the code cannot take a step the spec takes")
    elif not res.watched:
        lines.append("the code followed the run: every step taken, every observed field equal")
    else:
        lines.append(f"no violation: {res.prop} holds in the code on this run")
    return "\n".join(lines)


def cmd_replay(args) -> int:
    try:
        res = replay(args.trace, args.impl)
    except (ReplayUsage, TraceError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    if getattr(args, "json", False):
        print(json.dumps(res.to_json(), indent=1))
    else:
        print(render_text(res))
    return res.exit_code
