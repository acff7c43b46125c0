"""`elect conform SPEC TRACE`: is a recorded run a behaviour of the spec?

The trace (JSONL: a header, then one record per step, as every driver writes it) is read
and checked (`conformance/records.py`), the protocol's mapping is found next to the spec
(`spec/<spec>.map.json`, see `mapping.py`), the spec is compiled for the trace and the
records are matched to spec steps one by one (`conformance/engine.py`), with the spec's
invariants evaluated along the way. Outcomes and exit codes:

    0   every record matched a spec step and every invariant held
    10  the run matched, but after some record every spec state that fits breaks an
        invariant (or a transition property): the real run broke it; that record is named
    13  a record matched no spec step: the longest matched prefix, that record, and for
        each spec step that came close the guard that was false or the field that differed
    2   the trace file or the mapping cannot be read (one line naming the line)
    1   the spec has an error

`conform()` returns a `ConformResult` (data); `render_text` and `to_json` present it.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .api import load_spec
from .conformance.engine import Matcher, Outcome, Preparer, Target, Unmappable, eager_bounds
from .conformance.explain import Explainer, Reason
from .conformance.records import Record, header_nodes, read_records
from .mapping import MapError, Mapping, default_mapping, find_mapping, load_mapping
from .trace import TraceError, fmt_value

EXIT_OK, EXIT_SPEC, EXIT_USAGE, EXIT_VIOLATED, EXIT_NONCONFORM = 0, 1, 2, 10, 13


class ConformUsage(Exception):
    """A trace or mapping problem: one line, exit 2."""


@dataclass
class ConformResult:
    spec: str
    trace: str
    model: str
    outcome: Outcome
    records: list[Record]
    mapping: str
    reasons: list[Reason] = field(default_factory=list)
    bound_note: str | None = None
    state_lines: list[str] = field(default_factory=list)
    explanation: str | None = None
    props: list[str] = field(default_factory=list)
    lifted: list[str] = field(default_factory=list)     # bounds only guards read: raised at once

    def bounds_text(self) -> str:
        b = self.outcome.bounds
        lifted = [k for k in sorted(b) if k in self.lifted]
        raised = [f"{k}={b[k]}" for k in sorted(b) if k not in self.lifted]
        parts = []
        if lifted:
            parts.append(f"lifted {', '.join(lifted)} (only guards read them; up to {b[lifted[0]]})")
        if raised:
            parts.append(f"raised {', '.join(raised)}")
        return "; ".join(parts)

    @property
    def verdict(self) -> str:
        return self.outcome.verdict

    @property
    def exit_code(self) -> int:
        return {"conforms": EXIT_OK, "violated": EXIT_VIOLATED, "nonconform": EXIT_NONCONFORM}[self.verdict]

    @property
    def failed_record(self) -> Record | None:
        o = self.outcome
        if o.verdict == "nonconform" and o.failed_at is not None:
            return self.records[o.failed_at]
        if o.verdict == "violated" and o.violation is not None:
            return self.records[o.violation.item_index]
        return None

    def to_json(self) -> dict[str, Any]:
        o = self.outcome
        out: dict[str, Any] = {
            "verdict": o.verdict, "spec": self.spec, "trace": self.trace, "model": self.model,
            "mapping": self.mapping, "records": len(self.records), "matched": o.matched, "steps": o.steps,
            "seconds": round(o.seconds, 3), "candidates": o.candidates, "bounds": o.bounds,
            "invariants": self.props, "lifted": self.lifted,
        }
        r = self.failed_record
        if r is not None:
            out["record"] = {"index": r.index, "line": r.line, "seq": r.raw.get("seq"), "node": r.node,
                             "input": r.input, "state": r.state}
        if o.verdict == "nonconform":
            out["reasons"] = [x.to_json() for x in self.reasons]
            if self.bound_note:
                out["bound"] = self.bound_note
            if o.errors:
                out["errors"] = o.errors
        if o.verdict == "violated" and o.violation is not None:
            out["property"] = o.violation.prop
            out["kind"] = o.violation.kind
            out["explanation"] = self.explanation
            out["state"] = self.state_lines
        return out


def _trace_facts(recs: list[Record]) -> tuple[int, int, int]:
    crashes = sum(1 for r in recs if r.kind == "crash")
    parts = sum(1 for r in recs if r.kind == "partition")
    big = 0

    def walk(v):
        nonlocal big
        if isinstance(v, bool):
            return
        if isinstance(v, int):
            big = max(big, abs(v))
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
    for r in recs:
        walk(r.input)
        walk(r.state)
    return crashes, parts, big


_SPECS: dict[tuple[str, int], Any] = {}


def _load_spec(path: str):
    """load_spec, kept per file and modification time (tests conform many traces)."""
    key = (str(Path(path).resolve()), Path(path).stat().st_mtime_ns) if Path(path).exists() else (path, 0)
    if key not in _SPECS:
        _SPECS[key] = load_spec(path)
    return _SPECS[key]


def counts(mapping: Mapping, ts, header: dict | None, nodes: list) -> dict[str, list]:
    """The constants the trace's lanes fix: "count": "N" (the integer lanes) or
    {"C": "client"} (the lanes of that kind, as the header lists them)."""
    from .conformance.engine import lane_kinds
    out: dict[str, list] = {}
    spec = mapping.count
    if isinstance(spec, str):
        spec = {spec: None}
    kinds = lane_kinds(header)
    for name, kind in (spec or {}).items():
        if name not in ts.consts:
            continue
        if kind is None:
            out[name] = [n for n in nodes if isinstance(n, int) and not isinstance(n, bool)]
        else:
            out[name] = [n for n in nodes if kinds.get(n) == kind]
    return out


def load_mapping_for(spec_path: str, ts, header: dict | None) -> Mapping:
    protocol = (header or {}).get("protocol")
    path = find_mapping(spec_path, protocol)
    if path is None:
        return default_mapping(ts, protocol or "")
    m = load_mapping(path)
    if protocol and m.protocol and m.protocol != protocol:
        raise ConformUsage(f"the trace is a run of '{protocol}', but {path} maps '{m.protocol}' "
                           f"traces to {Path(spec_path).name}")
    return m


def conform(spec_path: str, trace_path: str, model: str | None = None, defines: list[str] | None = None,
            records: tuple[dict | None, list[Record]] | None = None) -> ConformResult:
    """Match a recorded run against a spec. Raises TraceError / ConformUsage (exit 2),
    SpecError (exit 1)."""
    t0 = time.perf_counter()
    header, recs = records if records is not None else read_records(trace_path)
    ts = _load_spec(spec_path)
    try:
        mapping = load_mapping_for(spec_path, ts, header)
    except MapError as e:
        raise ConformUsage(str(e)) from None
    except ConformUsage as e:
        raise ConformUsage(f"{trace_path}: {e}") from None
    user_defines = list(defines or [])
    given = {d.partition("=")[0].strip() for d in user_defines}
    nodes = header_nodes(header)
    if nodes is None:
        nodes = sorted({r.node for r in recs if r.node is not None}, key=repr)
    known = {name: len(lanes) for name, lanes in counts(mapping, ts, header, nodes).items()}
    defines = [d for d in mapping.define_args(known) if d.partition("=")[0] not in given] + user_defines
    fixed: dict[str, int] = {}
    for d in defines:
        k, _, v = d.partition("=")
        try:
            fixed[k.strip()] = int(v)
        except ValueError:
            pass
    for name, lanes in counts(mapping, ts, header, nodes).items():
        if name in fixed and fixed[name] != len(lanes):
            raise ConformUsage(f"{trace_path}: -D {name}={fixed[name]}, but the trace has {len(lanes)} "
                               f"nodes ({', '.join(map(str, lanes))})")
        if name not in fixed:
            defines.append(f"{name}={len(lanes)}")
    _, parts, big = _trace_facts(recs)

    def rule_kinds(r: Record) -> set[str]:
        return {x.kind for x in (mapping.rules_for(r.input) or [_native(r)])}
    crashes = sum(1 for r in recs if r.node is not None and "crash" in rule_kinds(r))
    crash_native = crashes > 0 or any(r.node is not None and "restart" in rule_kinds(r) for r in recs)
    actor_net = mapping.network == "spec" and bool(ts.messages)
    faults = {"crash": max(crashes, 1) if crash_native else 0, "partition": parts if actor_net else 0,
              "tick": len(recs)}
    raisable = [n for n, c in ts.consts.items() if getattr(c, "bound", False)] + \
        [b for b in mapping.bounds if b in ts.consts]
    raisable = [b for b in dict.fromkeys(raisable) if b not in fixed]
    cap = max(64, 2 * (len(recs) + big))
    eager = eager_bounds(ts, raisable)
    try:
        target = Target(ts, mapping, model, defines, faults, {b: cap for b in eager})
        prep = Preparer(target, header, nodes, source=str(trace_path))
        items = [prep.item(r) for r in recs]
    except (MapError, Unmappable) as e:
        raise ConformUsage(str(e)) from None
    matcher = Matcher(target, items, [b for b in raisable if b not in eager], cap)
    outcome = matcher.run(started=t0)
    target = matcher.t
    res = ConformResult(spec_path, trace_path, target.cfg.name, outcome, recs, mapping.path,
                        props=[p.name for p in target.invariants + target.transitions], lifted=sorted(eager))
    if outcome.verdict == "nonconform" and outcome.failed_at is not None:
        ex = Explainer(target, prep, matcher, fixed, raisable)
        res.reasons = ex.explain(items[outcome.failed_at], outcome.frontier or [])
        res.bound_note = _fixed_bound_note(ts, mapping, model, defines, faults, fixed, items, outcome, cap, prep)
    if outcome.verdict == "violated" and outcome.violation is not None:
        v = outcome.violation
        res.explanation = _false_conjunct(target, v)
        res.state_lines = _state_lines(target, v.state)
    outcome.seconds = time.perf_counter() - t0
    return res


def _native(r: Record):
    from .mapping import Rule
    return Rule(r.kind)


def _fixed_bound_note(ts, mapping, model, defines, faults, fixed, items, outcome, cap, prep) -> str | None:
    """When a bound fixed with -D is the only reason a record fails, say which one."""
    bounds = [n for n, c in ts.consts.items() if getattr(c, "bound", False) and n in fixed]
    bounds += [b for b in mapping.bounds if b in fixed and b not in bounds]
    if not bounds:
        return None
    free = [d for d in defines if d.partition("=")[0].strip() not in bounds]
    for b in bounds:
        t2 = Target(ts, mapping, model, free + [f"{x}={fixed[x]}" for x in bounds if x != b], faults,
                    {**outcome.bounds, b: max(cap, fixed[b])})
        m2 = Matcher(t2, items[:outcome.failed_at + 1], [], cap)
        if m2.run().verdict == "conforms":
            return f"the record fails only because of the search bound {b}={fixed[b]} (fixed by -D {b}=...); " \
                   f"it matches with {b} raised"
    return None


def _false_conjunct(t: Target, v) -> str | None:
    from .api import false_conjunct
    return false_conjunct(t.invariants + t.transitions, t.ts.source, v.prop, v.state, v.before)


def _state_lines(t: Target, s: tuple) -> list[str]:
    st = t.model.state_itf(s)
    out = []
    for k, v in st.items():
        if k in ("network",):
            continue
        out.append(f"{k} = {fmt_value(v)}")
    return out


# ---- presentation ------------------------------------------------------------------------

def render_text(res: ConformResult) -> str:
    o = res.outcome
    lines: list[str] = []
    model = f" (model {res.model})" if res.model and res.model != "(spec defaults)" else ""
    bounds = res.bounds_text()
    if o.verdict == "conforms":
        lines.append(f"conforms: {res.trace} is a behaviour of {res.spec}{model}")
        lines.append(f"  {o.matched} records matched, {o.steps} spec steps, {o.seconds:.2f} s"
                     + (f"; search bounds: {bounds}" if bounds else ""))
        if res.props:
            lines.append(f"  held at every record: {', '.join(res.props)}")
        return "\n".join(lines)
    r = res.failed_record
    assert r is not None
    if o.verdict == "violated":
        v = o.violation
        lines.append(f"violated: {v.prop} breaks at {r.where()} of {res.trace}")
        lines.append(f"  {r.describe()}")
        if res.explanation:
            lines.append(f"  false: {res.explanation}")
        lines.append(f"  the spec's state after it{model}:")
        lines += [f"    {x}" for x in res.state_lines]
        lines.append(f"  {o.matched} records matched before it, {o.seconds:.2f} s")
        return "\n".join(lines)
    lines.append(f"does not conform: {r.where()} of {res.trace} matches no step of {res.spec}{model}")
    prev = res.records[o.failed_at - 1] if o.failed_at else None
    if prev is not None:
        lines.append(f"  longest matched prefix: records 1..{o.matched} (up to line {prev.line}), "
                     f"{o.steps} spec steps")
    else:
        lines.append("  longest matched prefix: none (the first record does not match)")
    lines.append(f"  record {r.index}: {r.describe()}")
    if r.state is not None:
        lines.append(f"    state: {json.dumps(r.state)}")
    sends = [e for e in r.effects if e.get("kind") == "send"]
    if sends:
        lines.append("    sends: " + "; ".join(f"{_fmt(e.get('msg'))} to {e.get('to')}" for e in sends))
    for e in o.errors:
        lines.append(f"  {e}")
    if res.reasons:
        lines.append("  closest spec steps:")
        lines += [f"    {x.render()}" for x in res.reasons]
    if res.bound_note:
        lines.append(f"  note: {res.bound_note}")
    if bounds:
        lines.append(f"  search bounds: {bounds}")
    if o.failed_at:
        lines.append("  the records before it:")
        for p in res.records[max(0, o.failed_at - 3):o.failed_at]:
            lines.append(f"    {p.index} (line {p.line}): {p.describe()}")
    return "\n".join(lines)


def _fmt(msg) -> str:
    from .conformance.records import fmt_msg
    return fmt_msg(msg)


def cmd_conform(args) -> int:
    try:
        res = conform(args.spec, args.trace, getattr(args, "model", None), getattr(args, "defines", None) or [])
    except (ConformUsage, TraceError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    if getattr(args, "json", False):
        print(json.dumps(res.to_json(), indent=1))
    else:
        print(render_text(res))
    return res.exit_code


class ConformStream:
    """Records fed one at a time, as a run produces them (a live run, a Hypothesis test):
    the same matching as `conform`, with the spec compiled once for `nodes` nodes and up to
    `crashes` crashes and `partitions` partitions, and the search bounds lifted to `cap`.

        stream = ConformStream("spec/raft.elect", "raft", [1, 2, 3])
        for rec in sim.records(): verdict, reasons = stream.feed(rec)
    """

    def __init__(self, spec_path: str, protocol: str, nodes: list, model: str | None = None,
                 defines: list[str] | None = None, crashes: int = 4, partitions: int = 4, cap: int = 1000):
        ts = _load_spec(spec_path)
        header = {"header": True, "protocol": protocol, "nodes": list(nodes)}
        mapping = load_mapping_for(spec_path, ts, header)
        given = {d.partition("=")[0].strip() for d in defines or []}
        known = {name: len(lanes) for name, lanes in counts(mapping, ts, header, list(nodes)).items()}
        defines = [d for d in mapping.define_args(known) if d.partition("=")[0] not in given] + list(defines or [])
        for name, n in known.items():
            defines.append(f"{name}={n}")
        raisable = [n for n, c in ts.consts.items() if getattr(c, "bound", False)] + \
            [b for b in mapping.bounds if b in ts.consts]
        actor_net = mapping.network == "spec" and bool(ts.messages)
        self.target = Target(ts, mapping, model, defines,
                             {"crash": crashes if actor_net else 0, "partition": partitions if actor_net else 0},
                             {b: cap for b in dict.fromkeys(raisable)})
        self.prep = Preparer(self.target, header, list(nodes))
        self.matcher = Matcher(self.target, [], [], cap)
        self.explainer = Explainer(self.target, self.prep, self.matcher, {}, [])
        self.reset()

    def reset(self) -> None:
        self.frontier = self.target.init_states()
        self.count = 0

    def feed(self, raw: dict) -> tuple[str, list[Reason]]:
        """('ok' | 'nonconform' | 'violated', reasons or [Reason(property)])."""
        self.count += 1
        rec = Record(self.count, self.count, raw)
        it = self.prep.item(rec)
        nxt: dict = {}
        for s in self.frontier:
            for lab, s2 in self.matcher.successors(it, s):
                nxt.setdefault(s2, s)
        if not nxt:
            return "nonconform", self.explainer.explain(it, self.frontier)
        self.frontier = list(nxt)
        v = self.matcher.violated(self.target, [(o, s2) for s2, o in nxt.items()])
        if v is not None:
            return "violated", [Reason(v[0], v[1], f"{v[0]} is false after this record")]
        return "ok", []
