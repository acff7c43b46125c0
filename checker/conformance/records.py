"""Reading recorded runs (JSONL): a header line, then one record per step.

Every problem with the file is a `TraceError` with one line naming the file and the line:
bad JSON, a record that is not an object, a missing or mistyped field, a node that the
header does not list. Records are returned in the order the run took them: sorted by the
trace's logical clock (`clock`), ties kept in file order.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..trace import TraceError, found, number_error, read_trace_text

NODE_INPUTS = ("start", "receive", "timer", "crash", "restart")
NET_INPUTS = ("partition", "heal", "drop", "duplicate")


@dataclass
class Record:
    line: int                 # 1-based line in the file
    index: int                # 1-based position in run order
    raw: dict[str, Any]

    @property
    def node(self):
        return self.raw.get("node")

    @property
    def input(self) -> dict[str, Any]:
        return self.raw["input"]

    @property
    def kind(self) -> str:
        return self.raw["input"]["kind"]

    @property
    def state(self) -> dict[str, Any] | None:
        return self.raw.get("state")

    @property
    def effects(self) -> list[dict[str, Any]]:
        return self.raw.get("effects") or []

    def where(self) -> str:
        seq = self.raw.get("seq")
        return f"record {self.index} (line {self.line}{f', seq {seq}' if seq is not None else ''})"

    def describe(self) -> str:
        """One line: 'node 3: receive Vote{term: 1, granted: true} from 2'."""
        inp = self.input
        k = inp["kind"]
        who = f"node {self.node}: " if self.node is not None else "network: "
        if k == "receive":
            return f"{who}receive {fmt_msg(inp.get('msg'))} from {inp.get('from')}"
        if k == "timer":
            return f"{who}timer {inp.get('name')}"
        if k in ("drop", "duplicate"):
            extra = f" ({inp['reason']})" if inp.get("reason") else ""
            return f"{who}{k} {fmt_msg(inp.get('msg'))} from {inp.get('from')} to {inp.get('to')}{extra}"
        if k == "partition":
            return f"{who}partition " + " | ".join(",".join(map(str, s)) for s in inp.get("sides") or [])
        params = {x: y for x, y in inp.items() if x != "kind"}
        return f"{who}{k}" + (" " + json.dumps(params) if params else "")


def fmt_msg(msg: Any) -> str:
    if not isinstance(msg, dict):
        return json.dumps(msg)
    fields = ", ".join(f"{k}: {json.dumps(v)}" for k, v in msg.items() if k != "type")
    return f"{msg.get('type')}{{{fields}}}"


def header_nodes(header: dict | None) -> list | None:
    if header is None or "nodes" not in header:
        return None
    out = []
    for n in header["nodes"]:
        out.append(n.get("id") if isinstance(n, dict) else n)
    return out


def is_node_id(v: Any) -> bool:
    """A node id is an integer or a string (never a boolean, a number with a fraction, a list)."""
    return isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool))


def _need(rec: dict, key: str, types, where: str, what: str) -> Any:
    if key not in rec:
        raise TraceError(f"{where}: missing field '{key}'")
    v = rec[key]
    if not isinstance(v, types) or (isinstance(v, bool) and bool not in (types if isinstance(types, tuple) else (types,))):
        raise TraceError(f"{where}: field '{key}' must be {what}, found {found(v)}")
    return v


def check_record(rec: Any, where: str, nodes: list | None) -> None:
    if not isinstance(rec, dict):
        raise TraceError(f"{where}: a record must be a JSON object, found {found(rec)}")
    _need(rec, "clock", int, where, "an integer")
    inp = _need(rec, "input", dict, where, "an object")
    if "kind" not in inp:
        raise TraceError(f"{where}: missing field 'input.kind'")
    kind = inp["kind"]
    if not isinstance(kind, str):
        raise TraceError(f"{where}: field 'input.kind' must be a string, found {found(kind)}")
    if "node" not in rec:
        raise TraceError(f"{where}: missing field 'node'")
    node = rec["node"]
    known = nodes if nodes is not None else None

    def check_node(v, field):
        if not is_node_id(v):
            raise TraceError(f"{where}: field '{field}' must be a node id (an integer or a string), "
                             f"found {found(v)}")
        if known is not None and v not in known:
            raise TraceError(f"{where}: unknown node {json.dumps(v)} in '{field}' "
                             f"(the header lists {', '.join(json.dumps(n) for n in known)})")
    if node is not None:
        check_node(node, "node")
        if "state" not in rec:
            raise TraceError(f"{where}: missing field 'state'")
        if rec["state"] is not None and not isinstance(rec["state"], dict):
            raise TraceError(f"{where}: field 'state' must be an object or null")
    effects = rec.get("effects", [])
    if effects is None:
        effects = []
    if not isinstance(effects, list):
        raise TraceError(f"{where}: field 'effects' must be a list")
    for i, e in enumerate(effects):
        if not isinstance(e, dict) or not isinstance(e.get("kind"), str):
            raise TraceError(f"{where}: effects[{i}] must be an object with a 'kind'")
        if e["kind"] == "send":
            if "to" in e:
                check_node(e["to"], f"effects[{i}].to")
            if "msg" in e and not isinstance(e["msg"], dict):
                raise TraceError(f"{where}: effects[{i}].msg must be an object")
            if isinstance(e.get("msg"), dict) and not isinstance(e["msg"].get("type"), str):
                raise TraceError(f"{where}: effects[{i}].msg must have a 'type' naming the message, "
                                 f"found {found(e['msg'].get('type'))}")
    if kind == "receive":
        if "from" not in inp:
            raise TraceError(f"{where}: missing field 'input.from'")
        check_node(inp["from"], "input.from")
        if not isinstance(inp.get("msg"), dict) or not isinstance(inp["msg"].get("type"), str):
            raise TraceError(f"{where}: 'input.msg' must be an object with a 'type'")
    elif kind == "timer":
        if "name" not in inp:
            raise TraceError(f"{where}: missing field 'input.name'")
        if not isinstance(inp["name"], str):
            raise TraceError(f"{where}: field 'input.name' must be a string, found {found(inp['name'])}")
    elif kind in ("drop", "duplicate"):
        for f in ("from", "to"):
            if f not in inp:
                raise TraceError(f"{where}: missing field 'input.{f}'")
            check_node(inp[f], f"input.{f}")
        if not isinstance(inp.get("msg"), dict) or not isinstance(inp["msg"].get("type"), str):
            raise TraceError(f"{where}: 'input.msg' must be an object with a 'type'")
    elif kind == "partition":
        sides = inp.get("sides")
        if not isinstance(sides, list) or not all(isinstance(s, list) for s in sides):
            raise TraceError(f"{where}: 'input.sides' must be a list of lists of nodes")
        for s in sides:
            for n in s:
                check_node(n, "input.sides")
    if kind in NODE_INPUTS and node is None:
        raise TraceError(f"{where}: a '{kind}' record needs a node")


def read_records(path: str | Path) -> tuple[dict | None, list[Record]]:
    """(header, records in run order); TraceError with a one-line reason otherwise."""
    p = Path(path)
    return parse_records(read_trace_text(p), str(p))


def parse_records(text: str, name: str = "<trace>") -> tuple[dict | None, list[Record]]:
    header: dict | None = None
    raw: list[tuple[int, Any]] = []
    for no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            hint = " (an ITF trace? `elect show` reads those; conform reads one record per line)" \
                if no == 1 and line.lstrip().startswith("{") and e.msg.startswith("Expecting") else ""
            raise TraceError(f"{name}:{no}: not JSON: {e.msg} (column {e.colno}){hint}") from None
        except RecursionError:
            raise TraceError(f"{name}:{no}: a value is nested too deeply") from None
        except ValueError as e:          # an integer longer than Python will convert (4300 digits)
            raise TraceError(f"{name}:{no}: {number_error(e)}") from None
        if isinstance(obj, dict) and obj.get("header") is True:
            if header is not None or raw:
                raise TraceError(f"{name}:{no}: a header must be the first line")
            header = obj
            if "nodes" in header and not isinstance(header["nodes"], list):
                raise TraceError(f"{name}:{no}: header field 'nodes' must be a list")
            for i, n in enumerate(header.get("nodes") or []):
                nid = n.get("id") if isinstance(n, dict) else n
                if not is_node_id(nid):
                    raise TraceError(f"{name}:{no}: header field 'nodes[{i}]' must be a node id (an integer "
                                     f"or a string) or an object with one as 'id', found {found(n)}")
            continue
        raw.append((no, obj))
    if header is not None and "nodes" not in header:
        raise TraceError(f"{name}: the header (line 1) has no 'nodes'")
    nodes = header_nodes(header)
    for no, obj in raw:
        check_record(obj, f"{name}:{no}", nodes)
    if not raw:
        raise TraceError(f"{name}: no records")
    order = run_order([r for _, r in raw], header)
    recs = [Record(raw[i][0], k + 1, raw[i][1]) for k, i in enumerate(order)]
    return header, recs


def run_order(recs: list[dict], header: dict | None) -> list[int]:
    """Indices of `recs` in run order (see the module docstring)."""
    n = len(recs)
    by_clock = sorted(range(n), key=lambda i: (recs[i]["clock"], i))
    if header is None:
        return by_clock
    if header.get("order") == "causal":
        return list(range(n))
    if header.get("driver") != "net":
        return by_clock
    import heapq
    from collections import defaultdict, deque
    preds: list[set[int]] = [set() for _ in range(n)]
    lanes: dict = defaultdict(list)
    for i in by_clock:
        if recs[i].get("node") is not None:
            lanes[recs[i]["node"]].append(i)
    for lane in lanes.values():
        for a, b in zip(lane, lane[1:]):
            preds[b].add(a)
    sends: dict = defaultdict(list)          # (src, dst, msg) -> send records, by clock
    for i in by_clock:
        r = recs[i]
        if r.get("node") is None:
            continue
        for e in r.get("effects") or ():
            if e.get("kind") == "send":
                sends[(r["node"], e.get("to"), json.dumps(e.get("msg"), sort_keys=True))].append(i)
    unmatched = {k: deque(v) for k, v in sends.items()}
    for i in by_clock:
        r = recs[i]
        inp = r["input"]
        if inp.get("kind") not in ("receive", "drop", "duplicate"):
            continue
        dst = r["node"] if inp["kind"] == "receive" else inp.get("to")
        key = (inp.get("from"), dst, json.dumps(inp.get("msg"), sort_keys=True))
        q = unmatched.get(key)
        c = r["clock"]
        src = None
        if q and recs[q[0]]["clock"] < c:
            src = q[0] if inp["kind"] == "duplicate" else q.popleft()
        else:
            earlier = [j for j in sends.get(key, ()) if recs[j]["clock"] < c]
            src = earlier[-1] if earlier else None
        if src is not None:
            preds[i].add(src)
    for b in range(n):
        r = recs[b]
        if r.get("node") is None and r["input"].get("kind") in ("partition", "heal"):
            c = r["clock"]
            for i in range(n):
                if i != b:
                    if recs[i]["clock"] < c:
                        preds[b].add(i)
                    elif recs[i]["clock"] > c:
                        preds[i].add(b)
    succs: list[list[int]] = [[] for _ in range(n)]
    for b, ps in enumerate(preds):
        for a in ps:
            succs[a].append(b)
    missing = [len(ps) for ps in preds]

    def key(i):
        w = recs[i].get("wall")
        return (w if isinstance(w, (int, float)) else 0.0, recs[i]["clock"], i)
    heap = [key(i) for i in range(n) if missing[i] == 0]
    heapq.heapify(heap)
    out = []
    while heap:
        _, _, i = heapq.heappop(heap)
        out.append(i)
        for j in succs[i]:
            missing[j] -= 1
            if missing[j] == 0:
                heapq.heappush(heap, key(j))
    if len(out) != n:          # cannot happen: every edge goes up in clock; be safe
        return by_clock
    return out
