"""`elect testgen SPEC --model M --out DIR`: a few spec runs that together exercise everything.

Breadth-first search over the model's state graph (no symmetry reduction: runs name real
process ids) keeps, for every state, the step that first reached it. Every transition is
classified twice:

    class      the kind of step: `timeout election`, `deliver Vote`, `action start`,
               and each fault kind the model has: crash, restart, partition, heal, drop,
               duplicate, tick
    outcome    the class refined by what the step did: which fields of the acting process
               changed, the messages it sent (with their bool and enum fields: a granted
               and a refused Vote are different outcomes), and for a restart whether the
               process kept any of its state

The targets are every class and every outcome. Runs are chosen greedily: the shortest
path to the deepest target not yet covered, until every reachable target is covered by
some run. Each run is written as an ITF trace (`run-NNN.itf.json`, with `#meta.covers`)
and `index.json` lists the runs, what each covers, and the classes of steps the model
never enables (a `timeout heartbeat` with MAX_BEATS = 0, say).

A run replays against an implementation in lockstep with `checker.replay.lockstep`:
every step must be possible in the code and leave every observed field equal.
"""
from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .api import load_model
from .model import Model
from .types import BoolT, EnumT

FAULT_KINDS = ("crash", "restart", "partition", "heal", "drop", "duplicate", "tick")


@dataclass
class TestgenResult:
    spec: str
    model: str
    runs: list[dict] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    outcomes: int = 0
    unreached: list[str] = field(default_factory=list)
    distinct: int = 0
    truncated: bool = False
    seconds: float = 0.0


class Classifier:
    """Names the class and the outcome of a transition. `key` is the fast form (a tuple,
    computed for every transition); `name` renders it once per new target."""

    def __init__(self, model: Model):
        self.m = model
        self.L = model.layout
        self.tag_names = model.tag_names
        # the field slots of each process kind, and the kind of every process id
        self.kind_slots: dict[str, list[tuple[int, str, int]]] = {}
        for k, sl in enumerate(self.L.slots):
            if sl.kind == "field":
                self.kind_slots.setdefault(sl.proc, []).append((k, sl.field, model.gen.ids[sl.proc][0]))
        self.kind_of = {i: kind for kind, (lo, hi) in model.gen.ids.items() if kind in self.kind_slots
                        for i in range(lo, hi + 1)}
        self.var_slots = [(k, sl.name) for k, sl in enumerate(self.L.slots) if sl.kind == "var"]
        self.inits = model.init_states()
        self.global_actions = {a.name for a in model.spec.actions}
        self.shown_fields: dict[int, list[int]] = {}
        for name, tag in model.gen.tags.items():
            mt = model.spec.messages[name].ty
            self.shown_fields[tag] = [i for i, (_, ft) in enumerate(mt.fields) if isinstance(ft, (BoolT, EnumT))]
        self.multiset = model.config.network == "unordered"
        self._cls: dict[tuple, str] = {}

    def cls(self, label) -> str:
        k = label[0]
        if k == "deliver":
            key = (k, label[1][0])
        elif k in ("timeout", "action"):
            key = (k, label[1], label[2] if label[1] in self.m.spec.processes else None)
        else:
            key = (k,)
        c = self._cls.get(key)
        if c is None:
            if k == "deliver":
                c = f"deliver {self.tag_names[label[1][0]]}"
            elif k in ("timeout", "action"):
                c = f"{k} {key[2] if key[2] is not None else key[1]}"
            else:
                c = k
            self._cls[key] = c
        return c

    def actor(self, label) -> int | None:
        k = label[0]
        if k in ("deliver", "duplicate"):
            return label[1][2]
        if k == "timeout" or (k == "action" and label[1] in self.m.spec.processes):
            return label[3]
        if k in ("crash", "restart"):
            return label[1]
        return None

    def key(self, label, s: tuple, t: tuple) -> tuple:
        c = self.cls(label)
        p = self.actor(label)
        slots = self.kind_slots.get(self.kind_of.get(p), []) if p is not None else []
        if p is not None:
            changed = tuple(f for k, f, lo in slots if s[k][p - lo] != t[k][p - lo])
        else:
            changed = tuple(n for k, n in self.var_slots if s[k] != t[k])
        kept = None
        if label[0] == "restart" and self.inits:
            i0 = self.inits[0]
            kept = any(t[k][p - lo] != i0[k][p - lo] for k, f, lo in slots)
        sent = ()
        n = self.L.net
        if n is not None and label[0] in ("deliver", "timeout", "action", "duplicate"):
            new = t[n] - s[n]
            if new:
                sig = set()
                for e in new:
                    sig.add((e[0],) + tuple(e[3 + i] for i in self.shown_fields[e[0]]))
                sent = tuple(sorted(sig, key=repr))
        return (c, p is not None, changed, kept, sent)

    def name(self, key: tuple) -> str:
        c, has_actor, changed, kept, sent = key
        parts = [c]
        if has_actor or changed:
            parts.append("changes " + (",".join(changed) if changed else "nothing"))
        if kept is not None:
            parts.append("keeps state" if kept else "fresh")
        if sent:
            shown = []
            for sig in sent:
                tag = sig[0]
                name = self.tag_names[tag]
                mt = self.m.spec.messages[name].ty
                vals = [f"{mt.fields[i][0]}={self.m.itf(v, mt.fields[i][1])}"
                        for i, v in zip(self.shown_fields[tag], sig[1:])]
                shown.append(f"{name}({','.join(vals)})")
            parts.append("sends " + " ".join(shown))
        return " / ".join(parts)

    def outcome(self, label, s: tuple, t: tuple) -> str:
        return self.name(self.key(label, s, t))


def explore(model: Model, max_states: int):
    """BFS: parent links (state -> (parent, label)), and per target the first state
    reached by a transition of that target, with its depth."""
    cl = Classifier(model)
    parent: dict[tuple, tuple | None] = {}
    depth: dict[tuple, int] = {}
    targets: dict[str, tuple[tuple, Any, tuple, int]] = {}   # target -> (from, label, to, depth)
    q: deque = deque()
    for s in model.init_states():
        if s not in parent:
            parent[s] = None
            depth[s] = 0
            q.append(s)
    truncated = False
    seen_keys: set = set()
    while q:
        s = q.popleft()
        d = depth[s]
        for lab, t in model.successors_labeled(s):
            k = cl.key(lab, s, t)
            if k not in seen_keys:
                seen_keys.add(k)
                for key in (k[0], cl.name(k)):
                    if key not in targets:
                        targets[key] = (s, lab, t, d + 1)
            if t not in parent:
                if len(parent) >= max_states:
                    truncated = True
                    continue
                parent[t] = (s, lab)
                depth[t] = d + 1
                q.append(t)
    return parent, targets, truncated, cl


def path_to(parent, s: tuple) -> tuple[list[tuple], list]:
    states, labels = [s], []
    while parent[states[-1]] is not None:
        p, lab = parent[states[-1]]
        labels.append(lab)
        states.append(p)
    states.reverse()
    labels.reverse()
    return states, [None] + labels


def all_classes(model: Model) -> list[str]:
    ts = model.spec
    cfg = model.config
    out = []
    for p in ts.processes.values():
        for h in p.handlers:
            if h.kind == "message":
                out.append(f"deliver {h.name}")
            elif h.kind == "timeout":
                out.append(f"timeout {h.name}")
            else:
                out.append(f"action {h.name}")
    out += [f"action {a.name}" for a in ts.actions]
    if cfg.crash:
        out.append("crash")
        if cfg.restart:
            out.append("restart")
    if cfg.partition:
        out += ["partition", "heal"]
    if cfg.lossy and ts.messages:
        out.append("drop")
    if cfg.duplicating and ts.messages:
        out.append("duplicate")
    if cfg.tick is not None:
        out.append("tick")
    return list(dict.fromkeys(out))


def testgen(spec: str, model_name: str | None, defines: list[str] | None, out_dir: str,
            max_states: int = 100_000) -> TestgenResult:
    t0 = time.perf_counter()
    model = load_model(spec, model_name, defines or [])
    parent, targets, truncated, cl = explore(model, max_states)
    classes = all_classes(model)
    res = TestgenResult(spec, model.config.name, classes=classes, distinct=len(parent), truncated=truncated)
    res.unreached = [c for c in classes if c not in targets]
    res.outcomes = sum(1 for k in targets if " / " in k)
    covered: set[str] = set()
    order = sorted(targets.items(), key=lambda kv: (-kv[1][3], kv[0]))
    runs: list[tuple[list, list, list[str]]] = []
    for key, (s, lab, t, d) in order:
        if key in covered:
            continue
        states, labels = path_to(parent, s)
        states.append(t)
        labels.append(lab)
        covers = []
        for a, l, b in zip(states, labels[1:], states[1:]):
            k0 = cl.key(l, a, b)
            for k in (k0[0], cl.name(k0)):
                if k in targets and k not in covered:
                    covered.add(k)
                    covers.append(k)
        runs.append((states, labels, covers))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("run-*.itf.json"):
        old.unlink()
    index = []
    for n, (states, labels, covers) in enumerate(runs, start=1):
        meta = {"property": None, "verdict": "testgen",
                "testgen": {"run": n, "covers": covers},
                "check": f"elect testgen {spec}" + (f" --model {model_name}" if model_name else "")}
        tr = model.trace(states, labels, meta)
        path = out / f"run-{n:03d}.itf.json"
        tr.meta["replay"] = f"elect replay {path} --impl ALGO"
        tr.write(path)
        index.append({"file": path.name, "steps": len(states) - 1,
                      "classes": [c for c in covers if " / " not in c],
                      "outcomes": [c for c in covers if " / " in c]})
    res.runs = index
    res.seconds = time.perf_counter() - t0
    (out / "index.json").write_text(json.dumps({
        "spec": spec, "model": model.config.name, "defines": list(defines or []), "distinct": len(parent),
        "truncated": truncated, "classes": classes, "unreached": res.unreached, "runs": index}, indent=1) + "\n")
    return res


def render_text(res: TestgenResult, out_dir: str) -> str:
    steps = sum(r["steps"] for r in res.runs)
    lines = [f"testgen {res.spec} (model {res.model}): {len(res.runs)} runs, {steps} steps in {out_dir}",
             f"  cover {len(res.classes) - len(res.unreached)} of {len(res.classes)} step classes and "
             f"{res.outcomes} outcomes, from {res.distinct} states in {res.seconds:.1f} s"
             + (" (state graph truncated)" if res.truncated else "")]
    if res.unreached:
        lines.append(f"  never enabled in this model: {', '.join(res.unreached)}")
    for r in res.runs[:12]:
        lines.append(f"    {r['file']}: {r['steps']} steps, " + (", ".join(r["classes"]) or "outcomes only"))
    if len(res.runs) > 12:
        lines.append(f"    ... {len(res.runs) - 12} more (index.json lists them)")
    lines.append(f"  replay one: elect replay {out_dir}/{res.runs[0]['file']} --impl ALGO" if res.runs else "")
    return "\n".join(x for x in lines if x)


def cmd_testgen(args) -> int:
    res = testgen(args.spec, args.model, args.defines or [], args.out)
    print(render_text(res, args.out))
    return 0


# pytest collects names that start with "test": these are not tests
testgen.__test__ = False          # type: ignore[attr-defined]
TestgenResult.__test__ = False    # type: ignore[attr-defined]
