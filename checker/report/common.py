"""What every picture of a trace needs, worked out once for all the renderers.

A `Trace` stores states, each with the action that produced it; a reader wants events:
who changed what, which message went where, when a process was down. `analyse(trace)`
returns a `View` with
- `lanes`: the processes in lane order (`#meta.processes`, else the ids found in the
  process fields, sorted);
- `changes[i][lane]`: the fields of that process whose value step i changed (every
  field at step 0), and `global_changes[i]` for the spec's own globals;
- `messages`: one `Message` per copy of an envelope, from the step that sent it to the
  step that delivered, dropped or lost it, or still in flight at the end. Copies of the
  same envelope are matched in order (first sent, first taken). A `duplicate` step
  that delivers a copy while it stays in flight gets an arrow of its own; one that puts
  a second copy in flight starts a new copy. When the states carry `network`, it is the
  judge: copies that vanish without a step taking them (deliveries to a crashed
  process) are `lost`, copies sent while an identical one is in flight of a `set`
  network are `merged`;
- `roles[lane]`: runs of steps with the same value of the field named role, status or
  state (Follower, Candidate, Leader);
- `down_at[i]`, `partition_at[i]`: who is down and how the network is split after step i;
- `violation`: the property, its kind, the false part and the step that breaks it.
Everything is ordered by the trace itself, never by hashing, so the output of every
renderer is the same bytes for the same trace.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from checker.trace import FAULT_KINDS, Trace, fmt_value

ENVIRONMENT = ("down", "partition", "now", "crashes", "partitions")
RESERVED = ("action", "network") + ENVIRONMENT
ROLE_FIELDS = ("role", "status", "state")
MESSAGE_KINDS = ("deliver", "drop", "duplicate")


def key(v: Any) -> str:
    """A canonical string for an ITF value: equal values, equal keys (sets compared unordered)."""
    return json.dumps(_canon(v), sort_keys=True, separators=(",", ":"))


def _canon(v: Any) -> Any:
    if isinstance(v, dict):
        if "#set" in v and isinstance(v["#set"], list):
            return {"#set": sorted((_canon(x) for x in v["#set"]), key=lambda x: json.dumps(x, sort_keys=True))}
        if "#map" in v and isinstance(v["#map"], list):
            pairs = [[_canon(k), _canon(x)] for k, x in v["#map"]]
            return {"#map": sorted(pairs, key=lambda p: json.dumps(p[0], sort_keys=True))}
        return {k: _canon(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_canon(x) for x in v]
    return v


def elements(v: Any) -> list[Any]:
    """The members of an ITF set, tuple or list (a JSON list is accepted too)."""
    if isinstance(v, dict):
        for k in ("#set", "#tup"):
            if isinstance(v.get(k), list):
                return list(v[k])
        return []
    return list(v) if isinstance(v, list) else []


def to_int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, dict) and isinstance(v.get("#bigint"), str):
        try:
            return int(v["#bigint"])
        except ValueError:
            return None
    return None


def envelope(a: dict[str, Any]) -> dict[str, Any]:
    return {"src": a.get("src"), "dst": a.get("dst"), "msg": a.get("msg")}


def fmt_sends(sent: list[dict[str, Any]]) -> list[str]:
    """'RequestVote(term=1) 1->2,3': the envelopes a step sent, one line per source and message."""
    groups: dict[str, tuple[str, list[str]]] = {}
    for e in sent:
        if not isinstance(e, dict):
            continue
        g = key([e.get("src"), e.get("msg")])
        head = f"{fmt_value(e.get('msg'))} {fmt_value(e.get('src'))}->"
        groups.setdefault(g, (head, []))[1].append(fmt_value(e.get("dst")))
    return [head + ",".join(dsts) for head, dsts in groups.values()]


@dataclass(frozen=True)
class Lane:
    index: int
    kind: str
    id: Any

    @property
    def label(self) -> str:
        return f"{self.kind} {fmt_value(self.id)}"


@dataclass
class Message:
    seq: int
    src: Any
    dst: Any
    msg: Any
    sent: int                  # the step that put it in flight (0: in flight initially)
    end: int | None = None     # the step that took it; None while in flight at the end
    status: str = "inflight"   # delivered, duplicate, dropped, lost, merged, inflight
    copy: bool = False         # a second copy made by a `duplicate` step

    @property
    def label(self) -> str:
        return fmt_value(self.msg)


@dataclass(frozen=True)
class Segment:
    value: str
    start: int   # first step with this value
    end: int     # one past the last


@dataclass(frozen=True)
class Violation:
    property: str
    kind: str
    explanation: str
    step: int


@dataclass
class View:
    trace: Trace
    lanes: list[Lane]
    fields: dict[str, list[tuple[str, str]]]     # kind -> [(var, short name)] in vars order
    globals: list[str]
    changes: list[dict[int, list[tuple[str, Any]]]] = field(default_factory=list)
    global_changes: list[list[tuple[str, Any]]] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    roles: dict[int, list[Segment]] = field(default_factory=dict)
    role_field: dict[str, str] = field(default_factory=dict)   # kind -> short name
    down_at: list[frozenset[int]] = field(default_factory=list)
    partition_at: list[list[list[Any]] | None] = field(default_factory=list)
    violation: Violation | None = None
    _lane_of: dict[str, int] = field(default_factory=dict)
    _maps: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)

    @property
    def steps(self):
        return self.trace.steps

    def lane_of(self, pid: Any) -> int | None:
        return self._lane_of.get(key(pid))

    def value(self, i: int, var: str, lane: Lane) -> Any:
        """The value of process field `var` of `lane` after step i; KeyError when it has none."""
        m = self._maps.get((i, var))
        if m is None:
            raw = self.steps[i].state.get(var)
            pairs = raw.get("#map", []) if isinstance(raw, dict) else []
            m = {key(k): v for k, v in pairs}
            self._maps[(i, var)] = m
        return m[key(lane.id)]

    def state_of(self, i: int, lane: Lane) -> list[tuple[str, Any]]:
        out = []
        for var, name in self.fields.get(lane.kind, []):
            try:
                out.append((name, self.value(i, var, lane)))
            except KeyError:
                pass
        return out

    def actor(self, i: int) -> int | None:
        """The lane whose step i is: the receiver of a delivery, the process of a timeout or fault."""
        a = self.steps[i].action
        if a.get("kind") in ("deliver", "duplicate"):
            return self.lane_of(a.get("dst"))
        if "proc" in a:
            return self.lane_of(a["proc"])
        return None

    def is_fault(self, i: int) -> bool:
        return self.steps[i].action.get("kind") in FAULT_KINDS

    def in_flight_at_end(self) -> list[Message]:
        return [m for m in self.messages if m.status == "inflight"]


def _lanes(trace: Trace, pfields: dict[str, str]) -> list[Lane]:
    procs = [p for p in trace.processes if isinstance(p, dict) and "id" in p]
    if procs:
        return [Lane(i, str(p.get("kind", "")), p["id"]) for i, p in enumerate(procs)]
    found: dict[str, tuple[str, Any]] = {}
    for var, kind in pfields.items():
        for s in trace.steps:
            raw = s.state.get(var)
            for k, _ in (raw.get("#map", []) if isinstance(raw, dict) else []):
                found.setdefault(key([kind, k]), (kind, k))
    ordered = sorted(found.values(), key=lambda kv: (kv[0], to_int(kv[1]) is None,
                                                     to_int(kv[1]) or 0, key(kv[1])))
    return [Lane(i, kind, pid) for i, (kind, pid) in enumerate(ordered)]


def _process_fields(trace: Trace) -> dict[str, str]:
    pf = trace.process_fields
    if pf:
        return {v: k for v, k in pf.items() if v in trace.vars}
    out = {}
    for v in trace.vars:
        if "." in v and v not in RESERVED:
            raw = trace.steps[0].state.get(v)
            if isinstance(raw, dict) and "#map" in raw:
                out[v] = v.split(".", 1)[0]
    return out


def _network(state: dict[str, Any]) -> dict[str, tuple[dict[str, Any], int]] | None:
    """The `network` variable as {envelope key: (envelope, copies)}, or None when absent or unlike one."""
    raw = state.get("network")
    if not isinstance(raw, dict):
        return None
    if "#map" in raw:
        pairs = [(e, to_int(c)) for e, c in raw["#map"]]
    elif "#set" in raw:
        pairs = [(e, 1) for e in raw["#set"]]
    else:
        return None
    out: dict[str, tuple[dict[str, Any], int]] = {}
    for e, c in pairs:
        if not isinstance(e, dict) or not {"src", "dst", "msg"} <= set(e) or c is None:
            return None
        k = key(envelope(e))
        out[k] = (envelope(e), out.get(k, (e, 0))[1] + c)
    return out


def _messages(view: View) -> list[Message]:
    steps = view.steps
    out: list[Message] = []
    queues: dict[str, list[Message]] = {}

    def start(env: dict[str, Any], i: int, copy: bool = False) -> Message:
        m = Message(len(out), env.get("src"), env.get("dst"), env.get("msg"), i, copy=copy)
        out.append(m)
        queues.setdefault(key(envelope(env)), []).append(m)
        return m

    prev = _network(steps[0].state)
    if prev is not None:
        for k in sorted(prev):
            env, c = prev[k]
            for _ in range(c):
                start(env, 0)
    else:
        for env in steps[0].action.get("sent", []) or []:
            if isinstance(env, dict):
                start(env, 0)
    for i in range(1, len(steps)):
        a = steps[i].action
        kind = a.get("kind")
        net = _network(steps[i].state)
        sent = [e for e in (a.get("sent") or []) if isinstance(e, dict)]
        sent_keys = [key(envelope(e)) for e in sent]
        if kind in MESSAGE_KINDS and "src" in a and "dst" in a:
            env = envelope(a)
            k = key(env)
            q = queues.setdefault(k, [])
            if kind == "duplicate":
                before = prev.get(k, (env, 0))[1] if prev is not None else None
                after = net.get(k, (env, 0))[1] if net is not None else None
                if before is not None and after is not None and after - sent_keys.count(k) == before + 1:
                    start(env, i, copy=True)          # a second copy now in flight
                else:                                  # delivered, and the copy stays in flight
                    origin = q[0].sent if q else 0
                    out.append(Message(len(out), env["src"], env["dst"], env["msg"], origin, i, "duplicate"))
            else:
                m = q.pop(0) if q else None
                if m is None:
                    m = Message(len(out), env["src"], env["dst"], env["msg"], 0)
                    out.append(m)
                m.end = i
                m.status = "delivered" if kind == "deliver" else "dropped"
        for e in sent:
            start(e, i)
        if net is not None:
            for k in sorted(set(queues) | set(net)):
                q = queues.get(k, [])
                want = net.get(k, (None, 0))[1]
                while len(q) > want:
                    if q[-1].sent == i and k in sent_keys:
                        m = q.pop()
                        m.status = "merged"
                    else:
                        m = q.pop(0)
                        m.status = "lost"
                    m.end = i
                while len(q) < want:
                    start(net[k][0], i)
                    q = queues[k]
        prev = net
    return out


def _roles(view: View) -> None:
    for kind, fs in view.fields.items():
        names = {name: var for var, name in fs}
        for r in ROLE_FIELDS:
            if r in names:
                view.role_field[kind] = r
                break
    for lane in view.lanes:
        r = view.role_field.get(lane.kind)
        if r is None:
            continue
        var = next(v for v, n in view.fields[lane.kind] if n == r)
        segs: list[Segment] = []
        cur: str | None = None
        start = 0
        for i in range(len(view.steps)):
            try:
                val: str | None = fmt_value(view.value(i, var, lane))
            except KeyError:
                val = None
            if val != cur:
                if cur is not None:
                    segs.append(Segment(cur, start, i))
                cur, start = val, i
        if cur is not None:
            segs.append(Segment(cur, start, len(view.steps)))
        view.roles[lane.index] = segs


def _environment(view: View) -> None:
    has_down = "down" in view.trace.vars
    has_part = "partition" in view.trace.vars
    down: frozenset[int] = frozenset()
    part: list[list[Any]] | None = None
    for s in view.steps:
        a = s.action
        kind = a.get("kind")
        if has_down:
            down = frozenset(x for x in (view.lane_of(p) for p in elements(s.state.get("down"))) if x is not None)
        elif kind in ("crash", "restart") and view.lane_of(a.get("proc")) is not None:
            lane = view.lane_of(a.get("proc"))
            down = down | {lane} if kind == "crash" else down - {lane}
        if has_part:
            sides = [elements(x) for x in elements(s.state.get("partition"))]
            part = sides or None
        elif kind == "partition":
            part = [elements(x) if not isinstance(x, list) else x for x in elements(a.get("sides"))] or None
        elif kind == "heal":
            part = None
        view.down_at.append(down)
        view.partition_at.append(part)


def _violation(trace: Trace) -> Violation | None:
    meta = trace.meta
    last = len(trace.steps) - 1
    v = meta.get("violation")
    if isinstance(v, dict):
        step = v.get("step")
        if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step <= last:
            step = last
        return Violation(str(v.get("property") or meta.get("property") or "?"), str(v.get("kind") or ""),
                         str(v.get("explanation") or ""), step)
    if meta.get("verdict") in ("violated", "violation", "deadlock") and meta.get("property"):
        kind = "deadlock" if meta.get("verdict") == "deadlock" else ""
        return Violation(str(meta["property"]), kind, "", last)
    return None


def analyse(trace: Trace) -> View:
    pfields = _process_fields(trace)
    lanes = _lanes(trace, pfields)
    fields: dict[str, list[tuple[str, str]]] = {}
    for var in trace.vars:
        if var in pfields:
            kind = pfields[var]
            name = var.split(".", 1)[1] if var.startswith(kind + ".") else var
            fields.setdefault(kind, []).append((var, name))
    globals_ = [v for v in trace.vars if v not in pfields and v not in RESERVED]
    view = View(trace, lanes, fields, globals_)
    view._lane_of = {}
    for lane in lanes:
        view._lane_of.setdefault(key(lane.id), lane.index)
    for i, s in enumerate(trace.steps):
        per: dict[int, list[tuple[str, Any]]] = {}
        for lane in lanes:
            ch = []
            for var, name in fields.get(lane.kind, []):
                try:
                    new = view.value(i, var, lane)
                except KeyError:
                    continue
                if i == 0:
                    ch.append((name, new))
                    continue
                try:
                    old = view.value(i - 1, var, lane)
                except KeyError:
                    old = None
                if old is None or key(old) != key(new):
                    ch.append((name, new))
            per[lane.index] = ch
        view.changes.append(per)
        g = []
        for var in globals_:
            new = s.state.get(var)
            if i == 0 or key(trace.steps[i - 1].state.get(var)) != key(new):
                g.append((var, new))
        view.global_changes.append(g)
    view.messages = _messages(view)
    _roles(view)
    _environment(view)
    view.violation = _violation(trace)
    return view
