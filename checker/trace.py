"""Traces: a run of a spec as a list of steps, and its file formats.

A `Trace` is what every explorer returns and every renderer draws: the states of one
run, each carrying the action that produced it. On disk a trace is ITF JSON (the
Informal Trace Format read by Apalache, Quint and itf-py):

    {"#meta": {...}, "vars": [...], "states": [{"#meta": {"index": 0}, var: value, ...}, ...]}

Values are encoded as ITF values: booleans, strings and small integers as themselves,
big integers as {"#bigint": "..."}, tuples {"#tup": [...]}, sets {"#set": [...]}, maps
{"#map": [[k, v], ...]}, records as JSON objects; an absent optional is the variant
{"tag": "None", "value": {"#tup": []}} and a present one is its value. Enum members
are strings, process ids are integers.

Variables a state carries, besides the spec's own globals:
- one variable per process field, named `Kind.field` (a map from process id to value);
- `network` (when the spec sends messages): a map from envelope
  {"src": id, "dst": id, "msg": {"type": NAME, field: value, ...}} to its number of copies;
- `down` (a set of process ids), `partition` (a set of two sets of ids, empty when
  healed), `now` (the tick clock), `crashes` and `partitions` (budgets used): only for
  models with those faults;
- `action`: the step that produced the state, a record
  {"kind": K, "name": N, ...} where K is one of init, deliver, drop, duplicate, timeout,
  action, crash, restart, partition, heal, tick. Deliveries carry src, dst and msg;
  handlers, timeouts and faults carry `proc`; global actions carry `params`; a
  partition carries `sides`; every step carries `sent`, the envelopes it put in flight.

`#meta` holds at least: format, spec, model, property, verdict, processes (a list of
{"kind", "id"} in lane order), process_fields ({"Kind.field": "Kind"}) and replay (a
command that shows the trace again). The reader checks the shape and raises
`TraceError` with a one-line reason; it never trusts a file.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACTION_KINDS = ("init", "deliver", "drop", "duplicate", "timeout", "action", "crash",
                "restart", "partition", "heal", "tick")
FAULT_KINDS = ("drop", "duplicate", "crash", "restart", "partition", "heal", "tick")
NONE = {"tag": "None", "value": {"#tup": []}}


class TraceError(Exception):
    """A trace file that cannot be read: a one-line reason, naming the file and place."""


@dataclass
class Step:
    """One state of a run and the action that produced it (index 0: the initial state)."""
    index: int
    action: dict[str, Any]
    state: dict[str, Any]


@dataclass
class Trace:
    meta: dict[str, Any]
    vars: list[str]
    steps: list[Step]
    loop: int | None = None
    path: str | None = field(default=None, compare=False)

    @property
    def processes(self) -> list[dict[str, Any]]:
        return list(self.meta.get("processes", []))

    @property
    def process_fields(self) -> dict[str, str]:
        return dict(self.meta.get("process_fields", {}))

    def to_itf(self) -> dict[str, Any]:
        states = []
        for s in self.steps:
            obj: dict[str, Any] = {"#meta": {"index": s.index}}
            for v in self.vars:
                if v == "action":
                    obj[v] = s.action
                elif v in s.state:
                    obj[v] = s.state[v]
            states.append(obj)
        out: dict[str, Any] = {"#meta": self.meta, "vars": self.vars, "states": states}
        if self.loop is not None:
            out["loop"] = self.loop
        return out

    def dumps(self) -> str:
        return json.dumps(self.to_itf(), indent=1, sort_keys=False) + "\n"

    def write(self, path: str | Path) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(self.dumps())
        tmp.replace(p)
        return p


def found(v: Any) -> str:
    """A JSON value as an error message names it: 'null', 'true', '5', '"x"', 'a list', 'an object'."""
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    if isinstance(v, float) and v != v:
        return "NaN"
    try:
        text = json.dumps(v)
    except (TypeError, ValueError):
        text = type(v).__name__
    return text if len(text) <= 40 else text[:37] + "..."


_BIGINT = re.compile(r"-?[0-9]+")
MAX_COPIES = 100_000      # copies of one envelope in `network`: more is no run a renderer can draw


def number_error(e: ValueError) -> str:
    """What json.loads's ValueError (other than a JSONDecodeError) means to a user."""
    if "digits" in str(e):
        return "a number has too many digits to read (more than 4300)"
    return f"not JSON: {e}"


def _check_value(v: Any, where: str) -> None:
    if isinstance(v, (bool, str, int)):
        return
    if isinstance(v, list):
        for x in v:
            _check_value(x, where)
        return
    if isinstance(v, dict):
        if "#bigint" in v:
            if not isinstance(v["#bigint"], str) or not _BIGINT.fullmatch(v["#bigint"]):
                raise TraceError(f"{where}: '#bigint' must hold a string of digits, found {found(v['#bigint'])}")
            return
        for key in ("#tup", "#set"):
            if key in v:
                if not isinstance(v[key], list):
                    raise TraceError(f"{where}: '{key}' must hold a list")
                for x in v[key]:
                    _check_value(x, where)
                return
        if "#map" in v:
            pairs = v["#map"]
            if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise TraceError(f"{where}: '#map' must hold a list of [key, value] pairs")
            for k, x in pairs:
                _check_value(k, where)
                _check_value(x, where)
            return
        for x in v.values():
            _check_value(x, where)
        return
    if v is None:
        raise TraceError(f"{where}: null is not an ITF value")
    raise TraceError(f"{where}: {found(v)} is not an ITF value (a number with a fraction?)")


def _check_meta(meta: dict[str, Any], path: str) -> None:
    """The `#meta` fields renderers read: processes and process_fields."""
    if "processes" in meta:
        procs = meta["processes"]
        if not isinstance(procs, list):
            raise TraceError(f"{path}: '#meta.processes' must be a list of {{\"kind\", \"id\"}} objects, "
                             f"found {found(procs)}")
        for i, p in enumerate(procs):
            where = f"{path}: '#meta.processes[{i}]'"
            if not isinstance(p, dict) or "id" not in p:
                raise TraceError(f"{where} must be an object with an 'id', found {found(p)}")
            if "kind" in p and not isinstance(p["kind"], str):
                raise TraceError(f"{where}.kind must be a string, found {found(p['kind'])}")
            _check_value(p["id"], f"{where}.id")
    if "process_fields" in meta:
        pf = meta["process_fields"]
        if not isinstance(pf, dict):
            raise TraceError(f"{path}: '#meta.process_fields' must be an object "
                             f"{{\"Kind.field\": \"Kind\"}}, found {found(pf)}")
        for k, v in pf.items():
            if not isinstance(v, str):
                raise TraceError(f"{path}: '#meta.process_fields.{k}' must be the name of a process "
                                 f"kind (a string), found {found(v)}")


def _check_envelope(e: Any, where: str) -> None:
    if not isinstance(e, dict):
        raise TraceError(f"{where} must be an envelope {{\"src\", \"dst\", \"msg\"}}, found {found(e)}")
    for f in ("src", "dst", "msg"):
        if f not in e:
            raise TraceError(f"{where}: missing field '{f}'")


def _check_action(a: dict[str, Any], where: str) -> None:
    """The fields of an action that renderers rely on, by kind."""
    kind = a["kind"]
    w = f"{where}, action"
    for k, v in a.items():
        _check_value(v, f"{w}.{k}")
    if kind in ("deliver", "drop", "duplicate"):
        for f in ("src", "dst", "msg"):
            if f not in a:
                raise TraceError(f"{w}: a '{kind}' action needs '{f}'")
    if "name" in a and not isinstance(a["name"], str):
        raise TraceError(f"{w}.name must be a string, found {found(a['name'])}")
    if "params" in a and not isinstance(a["params"], dict):
        raise TraceError(f"{w}.params must be an object (parameter name: value), found {found(a['params'])}")
    if "sent" in a:
        sent = a["sent"]
        if not isinstance(sent, list):
            raise TraceError(f"{w}.sent must be a list of envelopes, found {found(sent)}")
        for j, e in enumerate(sent):
            _check_envelope(e, f"{w}.sent[{j}]")
    if "sides" in a:
        sides = a["sides"]
        items = sides.get("#set", sides.get("#tup")) if isinstance(sides, dict) else sides
        if not isinstance(items, list):
            raise TraceError(f"{w}.sides must be a list of sets of process ids, found {found(sides)}")
        for s in items:
            if not isinstance(s, list) and not (isinstance(s, dict) and
                                                 isinstance(s.get("#set", s.get("#tup")), list)):
                raise TraceError(f"{w}.sides must be a list of sets of process ids, found {found(s)} in it")


def _check_network(net: Any, where: str) -> None:
    """`network`: a map from envelope to its number of copies (or a set of envelopes)."""
    if not isinstance(net, dict):
        return
    if "#map" in net:
        for j, (e, c) in enumerate(net["#map"]):
            _check_envelope(e, f"{where}: key {j}")
            n = c
            if isinstance(c, dict) and "#bigint" in c:       # digits, checked by _check_value
                n = int(c["#bigint"]) if len(c["#bigint"]) <= 12 else MAX_COPIES + 1
            if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_COPIES:
                raise TraceError(f"{where}: the count of envelope {j} must be a number of copies "
                                 f"(0..{MAX_COPIES}), found {found(c)}")
    elif "#set" in net:
        for j, e in enumerate(net["#set"]):
            _check_envelope(e, f"{where}: element {j}")


def from_itf(obj: Any, path: str = "<trace>") -> Trace:
    if not isinstance(obj, dict):
        raise TraceError(f"{path}: expected a JSON object with 'vars' and 'states', found {found(obj)}")
    for key in ("vars", "states"):
        if key not in obj:
            raise TraceError(f"{path}: missing field '{key}' (an ITF trace has '#meta', 'vars' and 'states')")
    meta = obj.get("#meta", {})
    if not isinstance(meta, dict):
        raise TraceError(f"{path}: '#meta' must be an object")
    _check_meta(meta, path)
    names = obj["vars"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise TraceError(f"{path}: 'vars' must be a list of variable names")
    raw = obj["states"]
    if not isinstance(raw, list) or not raw:
        raise TraceError(f"{path}: 'states' must be a non-empty list")
    steps: list[Step] = []
    for i, st in enumerate(raw):
        where = f"{path}: state {i}"
        if not isinstance(st, dict):
            raise TraceError(f"{where}: expected an object, found {found(st)}")
        missing = [n for n in names if n not in st]
        if missing:
            raise TraceError(f"{where}: missing variable '{missing[0]}'")
        action = st.get("action", {"kind": "init" if i == 0 else "action", "name": "?"})
        if not isinstance(action, dict) or not isinstance(action.get("kind"), str):
            raise TraceError(f"{where}: 'action' must be a record with a 'kind'")
        if action["kind"] not in ACTION_KINDS:
            raise TraceError(f"{where}: unknown action kind '{action['kind']}' "
                             f"(expected one of {', '.join(ACTION_KINDS)})")
        _check_action(action, where)
        state = {}
        for n in names:
            if n == "action":
                continue
            _check_value(st[n], f"{where}, variable '{n}'")
            state[n] = st[n]
        if "network" in state:
            _check_network(state["network"], f"{where}, variable 'network'")
        steps.append(Step(i, action, state))
    loop = obj.get("loop")
    if loop is not None and (not isinstance(loop, int) or not 0 <= loop < len(steps)):
        raise TraceError(f"{path}: 'loop' must be the index of a state")
    return Trace(meta, list(names), steps, loop, path)


def read_trace_text(p: Path) -> str:
    """A trace file's text, or TraceError with a one-line reason."""
    try:
        return p.read_text()
    except FileNotFoundError:
        raise TraceError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise TraceError(f"{p}: cannot read: {getattr(e, 'strerror', None) or e.__class__.__name__}") from None


def read_itf(path: str | Path) -> Trace:
    p = Path(path)
    text = read_trace_text(p)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        hint = " (a recorded run, one JSON object per line? check it with `elect conform`)" \
            if e.msg == "Extra data" and e.lineno > 1 and e.colno == 1 else ""
        raise TraceError(f"{p}:{e.lineno}:{e.colno}: not JSON: {e.msg}{hint}") from None
    except RecursionError:
        raise TraceError(f"{p}: a value is nested too deeply") from None
    except ValueError as e:      # an integer longer than Python will convert (4300 digits)
        raise TraceError(f"{p}: {number_error(e)}") from None
    return from_itf(obj, str(p))


# ---- values, for renderers -------------------------------------------------------------

def is_none(v: Any) -> bool:
    return isinstance(v, dict) and v.get("tag") == "None" and set(v) == {"tag", "value"}


def fmt_value(v: Any) -> str:
    """An ITF value in the spec language's own notation: {1, 2}, {1: 0}, (a, b), none."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, str)):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(fmt_value(x) for x in v) + "]"
    if isinstance(v, dict):
        if is_none(v):
            return "none"
        if "#bigint" in v:
            return v["#bigint"]
        if "#tup" in v:
            return "(" + ", ".join(fmt_value(x) for x in v["#tup"]) + ")"
        if "#set" in v:
            return "{" + ", ".join(fmt_value(x) for x in v["#set"]) + "}"
        if "#map" in v:
            return "{" + ", ".join(f"{fmt_value(k)}: {fmt_value(x)}" for k, x in v["#map"]) + "}"
        if "type" in v and set(v) >= {"type"}:
            args = ", ".join(f"{k}={fmt_value(x)}" for k, x in v.items() if k != "type")
            return f"{v['type']}({args})"
        return "{" + ", ".join(f"{k}: {fmt_value(x)}" for k, x in v.items()) + "}"
    return repr(v)


def map_get(m: Any, key: Any) -> Any:
    """Look up `key` in an ITF map value; KeyError when absent."""
    for k, v in m.get("#map", []):
        if k == key:
            return v
    raise KeyError(key)


def fmt_envelope(env: dict[str, Any]) -> str:
    return f"{env['src']}->{env['dst']} {fmt_value(env['msg'])}"


def describe_action(a: dict[str, Any]) -> str:
    """One line for an action: 'deliver RequestVote(term=1) 1->2', 'crash 3', 'timeout election @1'."""
    kind = a.get("kind", "?")
    if kind == "init":
        return "initial state"
    if kind in ("deliver", "drop", "duplicate"):
        return f"{kind} {fmt_value(a['msg'])} {a['src']}->{a['dst']}"
    if kind == "timeout":
        return f"timeout {a.get('name', '?')} @{a.get('proc')}"
    if kind == "action":
        params = a.get("params") or {}
        args = ", ".join(f"{k}={fmt_value(v)}" for k, v in params.items())
        where = f" @{a['proc']}" if "proc" in a else ""
        return f"{a.get('name', '?')}({args}){where}"
    if kind == "partition":
        sides = a.get("sides", [])
        return "partition " + " | ".join(",".join(str(x) for x in s) for s in sides)
    if kind in ("crash", "restart"):
        return f"{kind} {a.get('proc')}"
    if kind == "tick":
        return "tick"
    return kind
