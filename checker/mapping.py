"""How an implementation's trace records correspond to a spec's steps: one mapping per protocol.

A mapping sits next to its spec as `spec/<spec>.map.json` and says, for the traces of one
implementation (`protocol`, as trace headers name it):

    {
      "spec": "raft.elect",                  the spec it maps to (informative)
      "protocol": "raft",                    trace headers with this protocol use it
      "process": "Node",                     the id type of the trace's node lanes
      "count": "N",                          the constant set to the number of node lanes
                                             (those with integer ids); or {"C": "client"}:
                                             C is the number of lanes of that kind
      "lanes": {"resource": {"process": "Resource", "id": "C + 1", "state": {...}},
                "service": {"process": null, "state": {"holders": "holders"}}},
                                             other kinds of lanes (the header's node "kind",
                                             or a lane's own id): their spec process (null:
                                             the spec's globals), the spec id of a named lane,
                                             and their observed fields; integer lanes
                                             without an entry are "process"
      "state":    {"term": "term", ...},     observed field -> spec process field, or
                                             "VAR[node]" for a global map indexed by node
      "unobserved": ["leader"],              recorded fields the spec does not model
      "values":   {"role": {"follower": "Follower"}},   enum members renamed (optional)
      "messages": {"Vote": {"spec": "Vote", "fields": {"term": "term", "granted": "granted"}}},
      "inputs":   {"start": "stutter", "timer election": {"timeout": "election"}, ...},
      "sends":    {"Election": {"var": "msgs", "index": "to", "contains": "msg.id",
                                "unless_in": "crashed"}},
                                             a send in a global-style spec: after the step,
                                             var[index] contains the value (unless index is
                                             in the set `unless_in`: a crashed receiver)
      "network":  "spec" | "none",           "none": the spec keeps messages in its own
                                             variables (global style): drops and duplicates
                                             are not steps, sends are checked by "sends"
      "bounds":   ["CRASHES"]                more constants conform may raise (besides those
                                             the spec declares `bound const`)
      "defines":  {"HEARTBEATS": true, "PROPOSERS": "N"}
                                             constants that describe the implementation (its
                                             configuration; a value may name a constant the
                                             trace fixes); -D on the command line wins
      "number":   ["session"]                string ids (in fields and parameters of that
                                             name) the spec numbers 1, 2, ... by first
                                             appearance in the run
      "silent":   ["tick"]                   spec steps no record shows (the tick clock,
                                             "action NAME"): taken where a record needs them
      "replay":   {"action start": [{"kind": "timer", "node": "p", "name": "initiate",
                                     "optional": true}]}
    }

Input rules are looked up by `"<kind> <detail>"` first (`receive Vote`, `timer election`)
then by kind (`receive`, `crash`). A rule is one of:

    "stutter"                        no spec step: the observed state must not change
    {"timeout": NAME}                the node's `on timeout NAME`
    {"handler": NAME, "params": {...}}   the node's `action NAME(...)`
    {"deliver": MSG}                 the node handles message MSG from input.from
    {"action": NAME, "params": {"p": "node"}, "chosen": {"id": "msg.id"}}
                                     the global action NAME with those parameters (and
                                     `choose` values, in declaration order, by name)
    "crash" | "restart"              the spec's own crash / restart of the node
    "unsupported"                    the spec has no such step: the record does not conform
    [rule, rule, ...]                any of them

Parameter expressions name parts of the record: "node", "from", "to", "msg.F", "input.F",
"state.F", a JSON literal, a list of expressions (a tuple), or a path with integer
arithmetic ("input.id % 1000000"); a message's "fields" may use the same arithmetic
("id % 1000000"). Everything missing gets a default: observed fields and
messages with the spec's names map to themselves, `timer X` to `on timeout X` when the
spec has one (else a stutter), `start` is a stutter, crash and restart are the spec's.

Values are converted by the spec type they land in: enum members by name (exact, then
ignoring case, then `values`), null as none, lists as sets, sequences or tuples, objects
as records, ints and bools as themselves. A value that does not fit raises `MapError`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .trace import NONE as ITF_NONE, is_none
from .types import BoolT, EnumT, IdT, IntT, MapT, OptT, RecordT, SeqT, SetT, TupleT, Ty


class MapError(Exception):
    """A mapping file or a value that cannot be mapped: a one-line reason."""


RULE_KINDS = ("timeout", "handler", "deliver", "action")


@dataclass
class Rule:
    kind: str                     # stutter | timeout | handler | deliver | action | crash | restart | unsupported
    name: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    chosen: dict[str, Any] = field(default_factory=dict)
    source: str = ""              # the mapping key it came from, for messages

    def describe(self) -> str:
        if self.kind in ("stutter", "crash", "restart", "unsupported"):
            return self.kind
        if self.kind == "deliver":
            return f"deliver {self.name}"
        if self.kind == "timeout":
            return f"on timeout {self.name}"
        args = ", ".join(f"{k}={v}" for k, v in {**self.params, **self.chosen}.items())
        return f"{'action' if self.kind == 'action' else self.kind} {self.name}({args})"


@dataclass
class LaneMap:
    """One kind of lane in the trace (the header's node "kind", or a lane's own id)."""
    key: str
    process: str | None            # the spec process of these lanes; None: the spec's globals
    id: Any = None                 # the spec id of a named lane ("resource"): an int or a
                                   # constant expression ("C + 1"); None: the lane's own id
    state: dict[str, str] = field(default_factory=dict)
    unobserved: set[str] = field(default_factory=set)


@dataclass
class MsgMap:
    impl: str                     # the implementation's message type
    spec: str | None              # the spec's message name, None: not modelled
    fields: dict[str, str]        # impl field -> spec field


@dataclass
class Mapping:
    path: str
    protocol: str
    process: str
    count: Any
    state: dict[str, str]                         # impl field -> spec target
    unobserved: set[str]
    values: dict[str, dict[str, str]]
    messages: dict[str, MsgMap]
    inputs: dict[str, list[Rule]]
    sends: dict[str, dict[str, str]]
    network: str
    bounds: list[str]
    replay: dict[str, list[dict]]
    raw: dict[str, Any]
    defines: dict[str, Any] = field(default_factory=dict)
    lanes: dict[str, LaneMap] = field(default_factory=dict)
    number: list[str] = field(default_factory=list)
    silent: list[str] = field(default_factory=list)

    def define_args(self, known: dict[str, int] | None = None) -> list[str]:
        """The mapping's constants as -D arguments (the implementation's configuration). A
        value may name a constant the trace fixes ("PROPOSERS": "N": every node proposes)."""
        out = []
        for k, v in self.defines.items():
            if isinstance(v, str) and known and v in known:
                v = known[v]
            out.append(f"{k}={str(v).lower() if isinstance(v, bool) else v}")
        return out

    def rules_for(self, inp: dict) -> list[Rule] | None:
        kind = inp.get("kind")
        detail = None
        if kind == "receive" and isinstance(inp.get("msg"), dict):
            detail = inp["msg"].get("type")
        elif kind == "timer":
            detail = inp.get("name")
        if detail is not None and f"{kind} {detail}" in self.inputs:
            return self.inputs[f"{kind} {detail}"]
        return self.inputs.get(kind)


def find_mapping(spec_path: str | Path, protocol: str | None = None) -> Path | None:
    """`spec/raft.elect` -> `spec/raft.map.json` (or `spec/raft.<protocol>.map.json`)."""
    p = Path(spec_path)
    cands = []
    if protocol:
        cands.append(p.with_name(f"{p.stem}.{protocol}.map.json"))
    cands.append(p.with_name(f"{p.stem}.map.json"))
    for c in cands:
        if c.exists():
            return c
    return None


def _rule(v: Any, where: str) -> list[Rule]:
    if isinstance(v, list):
        out: list[Rule] = []
        for x in v:
            out += _rule(x, where)
        return out
    if isinstance(v, str):
        if v not in ("stutter", "crash", "restart", "unsupported"):
            raise MapError(f"{where}: unknown rule '{v}' (expected stutter, crash, restart, unsupported "
                           f"or an object with one of {', '.join(RULE_KINDS)})")
        return [Rule(v, source=where)]
    if isinstance(v, dict):
        kinds = [k for k in RULE_KINDS if k in v]
        if len(kinds) != 1:
            raise MapError(f"{where}: a rule object needs exactly one of {', '.join(RULE_KINDS)}")
        k = kinds[0]
        params = v.get("params", {})
        chosen = v.get("chosen", {})
        if not isinstance(params, dict) or not isinstance(chosen, dict):
            raise MapError(f"{where}: 'params' and 'chosen' must be objects")
        return [Rule(k, str(v[k]), dict(params), dict(chosen), source=where)]
    raise MapError(f"{where}: a rule must be a string, an object or a list")


def load_mapping(path: str | Path) -> Mapping:
    p = Path(path)
    try:
        raw = json.loads(p.read_text())
    except FileNotFoundError:
        raise MapError(f"{p}: no such mapping file") from None
    except json.JSONDecodeError as e:
        raise MapError(f"{p}:{e.lineno}:{e.colno}: not JSON: {e.msg}") from None
    if not isinstance(raw, dict):
        raise MapError(f"{p}: a mapping is a JSON object")
    known = {"spec", "protocol", "process", "count", "state", "unobserved", "values", "messages", "inputs",
             "sends", "network", "bounds", "replay", "comment", "format", "version", "options", "defines",
             "lanes", "number", "silent"}
    extra = sorted(set(raw) - known)
    if extra:
        raise MapError(f"{p}: unknown key '{extra[0]}' (known: {', '.join(sorted(known))})")
    msgs: dict[str, MsgMap] = {}
    for impl, m in (raw.get("messages") or {}).items():
        if m is None:
            msgs[impl] = MsgMap(impl, None, {})
        elif isinstance(m, str):
            msgs[impl] = MsgMap(impl, m, {})
        elif isinstance(m, dict):
            msgs[impl] = MsgMap(impl, m.get("spec", impl), dict(m.get("fields") or {}))
        else:
            raise MapError(f"{p}: messages.{impl}: expected null, a name or an object")
    inputs = {k: _rule(v, f"{p}: inputs.{k}") for k, v in (raw.get("inputs") or {}).items()}
    lanes: dict[str, LaneMap] = {}
    for key, ln in (raw.get("lanes") or {}).items():
        if not isinstance(ln, dict):
            raise MapError(f"{p}: lanes.{key}: expected an object with 'process', 'id', 'state'")
        lanes[key] = LaneMap(key, ln.get("process"), ln.get("id"), dict(ln.get("state") or {}),
                             set(ln.get("unobserved") or ()))
    network = raw.get("network", "spec")
    if network not in ("spec", "none"):
        raise MapError(f"{p}: 'network' must be \"spec\" or \"none\"")
    return Mapping(str(p), raw.get("protocol", p.stem.split(".")[0]), raw.get("process", "Node"),
                   raw.get("count", "N"), dict(raw.get("state") or {}), set(raw.get("unobserved") or ()),
                   dict(raw.get("values") or {}), msgs, inputs, dict(raw.get("sends") or {}), network,
                   list(raw.get("bounds") or ()), dict(raw.get("replay") or {}), raw,
                   dict(raw.get("defines") or {}), lanes, list(raw.get("number") or ()),
                   list(raw.get("silent") or ()))


def default_mapping(ts, protocol: str = "") -> Mapping:
    """A mapping with every default: for specs whose names match the implementation's."""
    proc = next(iter(ts.processes), None) or next(iter(ts.idtypes), "Node")
    return Mapping("(defaults)", protocol, proc, "N" if "N" in ts.consts else None, {}, set(), {}, {}, {}, {},
                   "spec" if ts.messages else "none", [], {}, {})


# ---- values ------------------------------------------------------------------------------

class Values:
    """Converts between the implementation's JSON values and the spec's compiled values.

    `ids` gives the bounds (lo, hi) of each id type, `bounds(ty)` the bounds of a ranged
    type in the compiled model (for map keys).
    """

    def __init__(self, ids: dict[str, tuple[int, int]], bounds, renames: dict[str, dict[str, str]] | None = None,
                 numbered: list[str] | None = None):
        self.ids = ids
        self.bounds = bounds
        self.renames = renames or {}
        self.numbered = set(numbered or ())
        self.numbers: dict[str, dict[str, int]] = {}

    def number(self, name: str, v: Any) -> Any:
        """A string id the spec numbers (a session "0x1000..."): 1, 2, ... by first appearance."""
        if name in self.numbered and isinstance(v, str):
            seen = self.numbers.setdefault(name, {})
            return seen.setdefault(v, len(seen) + 1)
        return v

    def to_spec(self, v: Any, t: Ty, where: str, field_name: str | None = None) -> Any:
        if field_name in self.numbered:
            v = self.number(field_name, v)
        if isinstance(t, OptT):
            if v is None:
                return ()
            return self.to_spec(v, t.inner, where, field_name)
        if v is None:
            raise MapError(f"{where}: null where the spec expects {t.show()}")
        if isinstance(t, BoolT):
            if not isinstance(v, bool):
                raise MapError(f"{where}: expected true or false, found {json.dumps(v)}")
            return v
        if isinstance(t, IntT):
            if isinstance(v, bool) or not isinstance(v, int):
                raise MapError(f"{where}: expected an integer, found {json.dumps(v)}")
            return v
        if isinstance(t, IdT):
            if isinstance(v, bool) or not isinstance(v, int):
                raise MapError(f"{where}: expected a node id, found {json.dumps(v)}")
            lo, hi = self.ids.get(t.name, (None, None))
            if lo is not None and not lo <= v <= hi:
                raise MapError(f"{where}: unknown node {v} (nodes are {lo}..{hi})")
            return v
        if isinstance(t, EnumT):
            if not isinstance(v, str):
                raise MapError(f"{where}: expected one of {', '.join(t.members)}, found {json.dumps(v)}")
            ren = self.renames.get(field_name or "", {}) if field_name else {}
            name = ren.get(v, v)
            if name in t.members:
                return t.members.index(name)
            low = [m.lower() for m in t.members]
            if name.lower() in low:
                return low.index(name.lower())
            raise MapError(f"{where}: '{v}' is not a member of {t.name} ({', '.join(t.members)})")
        if isinstance(t, SetT):
            if not isinstance(v, list):
                raise MapError(f"{where}: expected a list (a set), found {json.dumps(v)}")
            return frozenset(self.to_spec(x, t.elem, where, field_name) for x in v)
        if isinstance(t, SeqT):
            if not isinstance(v, list):
                raise MapError(f"{where}: expected a list, found {json.dumps(v)}")
            return tuple(self.to_spec(x, t.elem, where, field_name) for x in v)
        if isinstance(t, TupleT):
            if not isinstance(v, list) or len(v) != len(t.items):
                raise MapError(f"{where}: expected a list of {len(t.items)} items, found {json.dumps(v)}")
            return tuple(self.to_spec(x, it, where, field_name) for x, it in zip(v, t.items))
        if isinstance(t, RecordT):
            if isinstance(v, list) and len(v) == len(t.fields):
                return tuple(self.to_spec(x, ft, where, n) for x, (n, ft) in zip(v, t.fields))
            if not isinstance(v, dict):
                raise MapError(f"{where}: expected an object {t.show()}, found {json.dumps(v)}")
            out = []
            for n, ft in t.fields:
                if n not in v:
                    raise MapError(f"{where}: missing field '{n}' of {t.show()}")
                out.append(self.to_spec(v[n], ft, where, n))
            return tuple(out)
        if isinstance(t, MapT):
            lo, hi = self.bounds(t.key)
            base = [None] * (hi - lo + 1)
            pairs = v.items() if isinstance(v, dict) else v
            try:
                for k, x in pairs:
                    kk = int(k) if not isinstance(t.key, (EnumT, BoolT)) else self.to_spec(k, t.key, where)
                    base[int(kk) - (lo if not isinstance(t.key, (EnumT, BoolT)) else 0)] = \
                        self.to_spec(x, t.val, where, field_name)
            except (TypeError, ValueError, IndexError):
                raise MapError(f"{where}: expected a map {t.show()}, found {json.dumps(v)}") from None
            if any(x is None for x in base):
                raise MapError(f"{where}: the map {json.dumps(v)} does not give every key of {t.show()}")
            return tuple(base)
        return v

    def itf_to_impl(self, v: Any, t: Ty | None, field_name: str | None = None) -> Any:
        """An ITF value (as a counterexample file holds it) -> the implementation's JSON."""
        if is_none(v):
            return None
        if isinstance(v, dict):
            if "#bigint" in v:
                return int(v["#bigint"])
            if "#set" in v:
                inner = t.elem if isinstance(t, SetT) else None
                return sorted((self.itf_to_impl(x, inner, field_name) for x in v["#set"]), key=_sort_key)
            if "#tup" in v:
                items = t.items if isinstance(t, TupleT) else [None] * len(v["#tup"])
                return [self.itf_to_impl(x, it, field_name) for x, it in zip(v["#tup"], items)]
            if "#map" in v:
                return {str(k): self.itf_to_impl(x, t.val if isinstance(t, MapT) else None, field_name)
                        for k, x in v["#map"]}
            fts = dict(t.fields) if isinstance(t, RecordT) else {}
            return {k: self.itf_to_impl(x, fts.get(k), k) for k, x in v.items()}
        if isinstance(v, list):
            inner = t.elem if isinstance(t, SeqT) else None
            return [self.itf_to_impl(x, inner, field_name) for x in v]
        if isinstance(v, str) and isinstance(t, (EnumT, OptT)) and field_name:
            back = {s: i for i, s in self.renames.get(field_name, {}).items()}
            return back.get(v, v)
        return v


def _sort_key(x: Any):
    return (0, x) if isinstance(x, (int, float)) and not isinstance(x, bool) else (1, json.dumps(x, sort_keys=True))


def itf_value(v: Any) -> Any:
    """Keep a value as ITF (used when echoing spec values in reports)."""
    return ITF_NONE if v is None else v
