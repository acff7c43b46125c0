"""Model: the one interface every explorer knows.

`init_states()`, `successors(state)` (states only: the hot path), `successors_labeled(state)`
((label, state) pairs: for rebuilding and printing runs), the properties as Python
predicates, and conversions from the compiled representation (tuples of ints) back to
the spec's values (`state_vars`, ITF JSON values, action records).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .dsl import ast as A
from .trace import NONE as ITF_NONE, Step, Trace
from .types import BoolT, EnumT, IdT, IntT, MapT, OptT, RecordT, SeqT, SetT, TupleT, Ty


@dataclass
class Property:
    name: str
    kind: str                   # invariant | transition | reachable | final
    check: Callable
    conjuncts: list[Callable]
    decl: A.Property


@dataclass
class MeasureFn:
    name: str
    counter: str
    cond: Callable
    decl: A.Measure


class Model:
    def __init__(self, ts, cfg, gen, ns: dict[str, Any], source: str):
        self.spec = ts
        self.config = cfg
        self.layout = gen.layout
        self.gen = gen
        self.ns = ns
        self.source = source
        self._inits: list | None = None
        self.successors: Callable[[tuple], list] = ns["successors"]
        self.successors_labeled: Callable[[tuple], list] = ns["successors_L"]
        self.properties: list[Property] = []     # the ones this model checks (`check P, Q`)
        for i, p in enumerate(ts.properties):
            if not cfg.checks(p.name):
                continue
            fn = ns[f"prop_{i}"]
            conj = [ns[f"prop_{i}_{j}"] for j in range(len(p.conjuncts))]
            self.properties.append(Property(p.name, p.kind, fn, conj, p))
        self.measures = [MeasureFn(m.name, m.counter, ns[f"measure_{i}"], m) for i, m in enumerate(ts.measures)]
        self.tag_names = {v: k for k, v in gen.tags.items()}
        self.processes = [(p.name, i) for p in gen.procs for i in range(gen.ids[p.name][0], gen.ids[p.name][1] + 1)]
        self.processes.sort(key=lambda x: x[1])

    def init_states(self) -> list:
        """The initial states (a fresh list; computed once: load_model checks there is one,
        and every engine starts from them)."""
        if self._inits is None:
            self._inits = self.ns["init_states"]()
        return list(self._inits)

    def of_kind(self, kind: str) -> list[Property]:
        return [p for p in self.properties if p.kind == kind]

    # ---- values back to the spec's notation ----
    def itf(self, v: Any, t: Ty | None) -> Any:
        if t is None:
            return v
        if isinstance(t, BoolT):
            return bool(v)
        if isinstance(t, IntT):
            return v if -(2 ** 53) < v < 2 ** 53 else {"#bigint": str(v)}
        if isinstance(t, EnumT):
            return t.members[v]
        if isinstance(t, IdT):
            return v
        if isinstance(t, OptT):
            return ITF_NONE if v == () else self.itf(v, t.inner)
        if isinstance(t, RecordT):
            return {n: self.itf(x, ft) for (n, ft), x in zip(t.fields, v)}
        if isinstance(t, TupleT):
            return {"#tup": [self.itf(x, it) for x, it in zip(v, t.items)]}
        if isinstance(t, SetT):
            return {"#set": [self.itf(x, t.elem) for x in sorted_values(v)]}
        if isinstance(t, SeqT):
            return [self.itf(x, t.elem) for x in v]
        if isinstance(t, MapT):
            lo, _ = self.gen.bounds(t.key)
            keys = [self.itf(lo + i if not isinstance(t.key, BoolT) else bool(i), t.key) for i in range(len(v))]
            return {"#map": [[k, self.itf(x, t.val)] for k, x in zip(keys, v)]}
        return v

    def msg_itf(self, tag: int, fields: tuple) -> dict:
        name = self.tag_names[tag]
        mt = self.spec.messages[name].ty
        out: dict[str, Any] = {"type": name}
        for (fname, ft), x in zip(mt.fields, fields):
            out[fname] = self.itf(x, ft)
        return out

    def env_itf(self, env: tuple) -> dict:
        return {"src": env[1], "dst": env[2], "msg": self.msg_itf(env[0], env[3:])}

    def network_envelopes(self, net) -> list[tuple[tuple, int]]:
        """[(envelope without copy number, copies)] in a deterministic order."""
        cfg = self.config
        counts: dict[tuple, int] = {}
        if cfg.network == "fifo":
            keys = self.ns["FIFO_KEYS"]
            for (src, dst), q in zip(keys, net):
                for m in q:
                    env = (m[0], src, dst) + m[1:]
                    counts[env] = counts.get(env, 0) + 1
        elif cfg.network == "unordered":
            for e in net:
                counts[e[:-1]] = counts.get(e[:-1], 0) + 1
        else:
            for e in net:
                counts[e] = 1
        return sorted(counts.items(), key=lambda kv: sort_key(kv[0]))

    def state_itf(self, s: tuple) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, sl in enumerate(self.layout.slots):
            v = s[k]
            if sl.kind == "var":
                out[sl.name] = self.itf(v, sl.ty)
            elif sl.kind == "field":
                lo = self.gen.ids[sl.proc][0]
                out[sl.name] = {"#map": [[lo + i, self.itf(x, sl.ty)] for i, x in enumerate(v)]}
            elif sl.kind == "network":
                out[sl.name] = {"#map": [[self.env_itf(e), c] for e, c in self.network_envelopes(v)]}
            elif sl.kind == "down":
                out[sl.name] = {"#set": sorted(v)}
            elif sl.kind == "partition":
                if v:
                    other = [i for i in self.gen.all_ids if i not in v]
                    out[sl.name] = {"#set": [{"#set": sorted(v)}, {"#set": other}]}
                else:
                    out[sl.name] = {"#set": []}
            else:
                out[sl.name] = v
        return out

    def var_names(self) -> list[str]:
        return [sl.name for sl in self.layout.slots] + ["action"]

    def sent_envelopes(self, before: tuple, after: tuple, label) -> list[dict]:
        n = self.layout.net
        if n is None:
            return []
        a = dict(self.network_envelopes(before[n]))
        b = dict(self.network_envelopes(after[n]))
        if label and label[0] in ("deliver",):
            env = label[1]
            a[env] = a.get(env, 0) - 1
        out = []
        for env, c in b.items():
            extra = c - max(a.get(env, 0), 0)
            for _ in range(extra):
                out.append(self.env_itf(env))
        return out

    def action_itf(self, label, before: tuple | None, after: tuple) -> dict[str, Any]:
        if label is None:
            return {"kind": "init", "name": "init", "sent": []}
        kind = label[0]
        a: dict[str, Any]
        if kind in ("deliver", "duplicate", "drop"):
            env = label[1]
            a = {"kind": kind, "name": self.tag_names[env[0]], "proc": env[2], "src": env[1], "dst": env[2],
                 "msg": self.msg_itf(env[0], env[3:])}
            chosen = label[2] if len(label) > 2 else ()
            if chosen:
                a["chosen"] = [self.plain(x) for x in chosen]
        elif kind in ("timeout", "action") and len(label) >= 4 and label[1] in self.spec.processes:
            _, pk, name, pid = label[:4]
            a = {"kind": kind, "name": name, "proc": pid}
            rest = label[4:]
            h = next(h for h in self.spec.processes[pk].handlers if h.name == name and
                     h.kind == ("timeout" if kind == "timeout" else "action"))
            if h.bindings and rest:
                a["params"] = {b.name: self.plain(x) for b, x in zip(h.bindings, rest[0])}
                rest = rest[1:]
            if rest and rest[0]:
                a["chosen"] = [self.plain(x) for x in rest[0]]
        elif kind == "action":
            name = label[1]
            act = next(x for x in self.spec.actions if x.name == name)
            a = {"kind": "action", "name": name,
                 "params": {b.name: self.plain(x) for b, x in zip(act.bindings, label[2])}}
            if len(label) > 3 and label[3]:
                a["chosen"] = [self.plain(x) for x in label[3]]
        elif kind in ("crash", "restart"):
            a = {"kind": kind, "name": kind, "proc": label[1]}
        elif kind == "partition":
            side = sorted(label[1])
            other = [i for i in self.gen.all_ids if i not in label[1]]
            a = {"kind": "partition", "name": "partition", "sides": [side, other]}
        else:
            a = {"kind": kind, "name": kind}
        a["sent"] = self.sent_envelopes(before, after, label) if before is not None else []
        return a

    @staticmethod
    def plain(x):
        if isinstance(x, frozenset):
            return {"#set": sorted_values(x)}
        if isinstance(x, tuple):
            return {"#tup": [Model.plain(y) for y in x]}
        return x

    def trace(self, states: list[tuple], labels: list, meta: dict[str, Any]) -> Trace:
        steps = []
        prev = None
        for i, (s, lab) in enumerate(zip(states, labels)):
            steps.append(Step(i, self.action_itf(lab, prev, s), self.state_itf(s)))
            prev = s
        m = {"format": "ITF", "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
             "source": self.spec.file, "spec": self.spec.name, "model": self.config.name,
             "processes": [{"kind": k, "id": i} for k, i in self.processes],
             "process_fields": {sl.name: sl.proc for sl in self.layout.slots if sl.kind == "field"},
             "constants": dict(self.config.consts)}
        m.update(meta)
        return Trace(m, self.var_names(), steps)

    def find_step(self, s: tuple, target: tuple):
        """The label of a step from s to target (for rebuilding a run from states)."""
        for lab, t in self.successors_labeled(s):
            if t == target:
                return lab
        return None


def sort_key(v):
    if isinstance(v, bool):
        return (0, int(v))
    if isinstance(v, int):
        return (0, v)
    if isinstance(v, tuple):
        return (1, tuple(sort_key(x) for x in v))
    if isinstance(v, frozenset):
        return (2, tuple(sorted(sort_key(x) for x in v)))
    return (3, repr(v))


def sorted_values(s) -> list:
    return sorted(s, key=sort_key)
