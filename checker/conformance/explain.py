"""Why a record matched no spec step: for each spec step that came close, the guard that was
false or the field whose value differed, named as the record names it (`state.term`,
`input.msg.granted`, `input.from`, `effects[2].msg.term`), with the spec's value and the
recorded one.

A `Reason` is data (the step, what went wrong, the record field, both values); `render`
turns it into one line. Candidates are the spec states that fitted every earlier record;
reasons are collected over the first few of them and de-duplicated.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..dsl import ast as A
from ..trace import fmt_value
from ..typecheck import walk_expr
from .engine import Alt, Item, Matcher, Target

MAX_CANDIDATES_SHOWN = 4


@dataclass(frozen=True)
class Reason:
    step: str                       # the spec step, e.g. "deliver Vote from 3 to 2"
    what: str                       # guard | field | sends | not-in-flight | down | partition | other
    text: str                       # one line
    field: str | None = None        # the record's field at fault
    spec: str | None = None         # the spec's value
    recorded: str | None = None     # the recorded value

    def render(self) -> str:
        return f"{self.step}: {self.text}"

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class Explainer:
    def __init__(self, target: Target, prep, matcher: Matcher, fixed: dict[str, int], raisable: list[str]):
        self.t = target
        self.prep = prep
        self.m = matcher
        self.fixed = fixed
        self.raisable = raisable
        self.src = target.ts.source.splitlines()

    # ---- values as text ----
    def spec_val(self, v: Any, ty) -> str:
        return fmt_value(self.t.model.itf(v, ty))

    def env_text(self, env: tuple) -> str:
        spec_msg = next(n for n, tag in self.t.gen.tags.items() if tag == env[0])
        fts = self.t.ts.messages[spec_msg].ty.fields
        args = ", ".join(f"{f}={'?' if v is None else fmt_value(self.t.model.itf(v, ft))}"
                         for (f, ft), v in zip(fts, env[3:]))
        return f"{spec_msg}({args}) from {env[1]} to {env[2]}"

    def impl_field(self, spec_msg: str, pos: int) -> str:
        for impl, (spec, fields) in self.prep.msg_map.items():
            if spec == spec_msg:
                for p, f in fields:
                    if p == pos and f is not None:
                        return f
        return self.t.ts.messages[spec_msg].ty.fields[pos][0]

    def span_text(self, sp) -> str:
        if sp is None:
            return "?"
        if sp.line == sp.end_line:
            return self.src[sp.line - 1][sp.col - 1:sp.end_col - 1].strip()
        parts = [self.src[sp.line - 1][sp.col - 1:]] + self.src[sp.line:sp.end_line - 1] + \
            [self.src[sp.end_line - 1][:sp.end_col - 1]]
        text = " ".join(p.strip().rstrip("\\").strip() for p in parts)
        return " ".join(text.split())

    # ---- the whole diagnosis ----
    def explain(self, it: Item, frontier: list) -> list[Reason]:
        out: list[Reason] = []
        seen = set()
        for s in frontier[:MAX_CANDIDATES_SHOWN]:
            rs = self.explain_net(it, s) if it.net is not None else \
                [r for a in it.alts for r in self.explain_alt(it, a, s)]
            for r in rs:
                key = (r.step, r.text)
                if key not in seen:
                    seen.add(key)
                    out.append(r)
        return out

    def explain_alt(self, it: Item, a: Alt, s: tuple) -> list[Reason]:
        t = self.t
        pid = it.pid
        k = a.rule.kind
        step = self.step_name(it, a)
        if a.error:
            return [Reason(step, "other", a.error)]
        if k == "stutter":
            rs = self.diffs(it, step, s, s[t.net] if t.net is not None else None, stutter=True)
            return rs or [Reason(step, "other", "the record fits no spec step")]
        down = s[t.down] if t.down is not None else frozenset()
        if k == "crash":
            if t.down is None:
                return [Reason(step, "other", "the spec has no crash of a process")]
            if pid in down:
                return [Reason(step, "down", f"node {pid} is already down in the spec", "node")]
        elif k == "restart":
            if t.down is None or pid not in down:
                return [Reason(step, "down", f"node {pid} is not down in the spec: nothing to restart", "node")]
        elif pid in down:
            return [Reason(step, "down", f"node {pid} is down in the spec (crashed, not restarted)", "node")]
        if k == "deliver" and a.env is not None:
            net = s[t.net]
            e1 = a.env + (1,)
            if e1 not in net:
                return self.not_in_flight(step, a.env, net, "input")
            part = s[t.part] if t.part is not None else None
            if part and ((a.env[1] in part) != (a.env[2] in part)):
                return [Reason(step, "partition", f"the partition {self.sides(part)} separates "
                                                  f"{a.env[1]} and {a.env[2]} in the spec", "input.from")]
        n_err = len(self.m.errors)
        raw = self.m.raw_successors(it, a, s, t)
        if len(self.m.errors) > n_err:
            e = self.m.errors[-1]
            return [Reason(step, "error", f"error[{e.code}]: {e.message}" +
                           (f" at {e.span}" if e.span else ""))]
        if not raw:
            return [self.guard(it, a, s, step)]
        out: list[Reason] = []
        for lab, s2, base, _ in raw[:4]:
            out += self.diffs(it, step, s2, base)
        return out or [Reason(step, "other", "the step fits; another record's effect is missing")]

    def step_name(self, it: Item, a: Alt) -> str:
        r = a.rule
        pid = it.pid
        if r.kind == "deliver":
            if a.env is not None:
                return f"deliver {self.env_text(a.env)}"
            return f"deliver {r.name} to {pid}"
        if r.kind == "timeout":
            return f"timeout {r.name} @{pid}"
        if r.kind == "handler":
            return f"action {r.name} @{pid}"
        if r.kind == "action":
            h = next((x for x in self.t.ts.actions if x.name == r.name), None)
            args = []
            if h is not None and a.params is not None:
                args += [f"{b.name}={v}" for b, v in zip(h.bindings, a.params) if v is not None]
            if a.chosen:
                args += [f"{v}" for v in a.chosen if v is not None]
            return f"{r.name}({', '.join(str(x) for x in args)})"
        if r.kind in ("crash", "restart"):
            return f"{r.kind} {pid}"
        if r.kind == "stutter":
            return f"no spec step ({it.rec.kind} is a stutter in the mapping)"
        return r.kind

    def sides(self, part) -> str:
        a = sorted(part)
        b = [i for i in self.t.all_ids if i not in part]
        return ",".join(map(str, a)) + "|" + ",".join(map(str, b))

    # ---- field and send differences ----
    def diffs(self, it: Item, step: str, s2: tuple, base, stutter: bool = False) -> list[Reason]:
        out = []
        rec_state = it.rec.state or {}
        for slot, i, v, impl in it.obs:
            got = s2[slot][i] if i is not None else s2[slot]
            if got != v:
                ty = it.lane.obs[impl][2]
                sv = self.spec_val(got, ty)
                rv = json.dumps(rec_state.get(impl))
                text = (f"field '{impl}': spec {sv}, recorded {rv}" if not stutter else
                        f"the record changes '{impl}' (spec {sv}, recorded {rv})")
                out.append(Reason(step, "field", text, f"state.{impl}", sv, rv))
        t = self.t
        if t.net is not None and base is not None:
            new = Counter(e[:-1] for e in s2[t.net] - base)
            want = Counter(it.sends)
            if t.down is not None:
                want = Counter({e: c for e, c in want.items() if e[2] not in s2[t.down]})
            missing = list((new - want).elements())      # the spec sends, the record does not
            extra = list((want - new).elements())        # the record sends, the spec does not
            idx = {}
            for i, env in it.send_list:
                idx.setdefault(env, []).append(i)
            for env in extra:
                i = idx.get(env, [None]).pop(0) if idx.get(env) else None
                where = f"effects[{i}]" if i is not None else "effects"
                near = [m for m in missing if m[0] == env[0] and m[2] == env[2]]
                if near:
                    m = near[0]
                    missing.remove(m)
                    out += self.send_field_diffs(step, where, env, m)
                    continue
                near = [m for m in missing if m[0] == env[0] and m[3:] == env[3:]]
                if near:
                    m = near[0]
                    missing.remove(m)
                    out.append(Reason(step, "sends", f"{where}: sent to {env[2]}, the spec sends it to {m[2]}",
                                      f"{where}.to", str(m[2]), str(env[2])))
                    continue
                out.append(Reason(step, "sends", f"{where}: the record sends {self.env_text(env)}, "
                                                 f"which the spec does not", where))
            pats = [p for p in it.patterns if t.down is None or p[2] not in s2[t.down]]
            for p in pats:          # a send with spec-only fields: any value of those fits
                j = next((j for j, m in enumerate(missing)
                          if len(m) == len(p) and all(x is None or x == y for x, y in zip(p, m))), None)
                if j is not None:
                    missing.pop(j)
            for m in missing:
                out.append(Reason(step, "sends", f"the spec sends {self.env_text(m)}, the record does not",
                                  "effects"))
        elif it.spec_sends and t.net is not None and stutter:
            out.append(Reason(step, "sends", "the record sends messages, but a stutter sends nothing", "effects"))
        for slot, i, v, ei, text, var, key, skip in it.gsends:
            if v not in s2[slot][i] and (skip is None or key not in s2[skip]):
                vt = t.ts.vars[var].ty
                out.append(Reason(step, "sends", f"{text}: the spec does not add it to {var}[{key}] "
                                                 f"(= {self.spec_val(s2[slot][i], vt.val)})",
                                  f"effects[{ei}]"))
        return out

    def send_field_diffs(self, step: str, where: str, env: tuple, m: tuple) -> list[Reason]:
        spec_msg = next(n for n, tag in self.t.gen.tags.items() if tag == env[0])
        fts = self.t.ts.messages[spec_msg].ty.fields
        out = []
        for pos, (x, y) in enumerate(zip(env[3:], m[3:])):
            if x != y:
                f = self.impl_field(spec_msg, pos)
                sv, rv = self.spec_val(y, fts[pos][1]), self.spec_val(x, fts[pos][1])
                out.append(Reason(step, "sends", f"{where}: {spec_msg}.{f}: spec {sv}, recorded {rv}",
                                  f"{where}.msg.{f}", sv, rv))
        return out

    def not_in_flight(self, step: str, env: tuple, net, prefix: str, dst_field: str = "node") -> list[Reason]:
        """The message is not in flight: the in-flight messages that differ from it in the
        fewest fields (ties all shown), each naming the record's field that differs."""
        flying = sorted({e[:-1] for e in net if e[-1] == 1}, key=repr)
        spec_msg = next(n for n, tag in self.t.gen.tags.items() if tag == env[0])
        fts = self.t.ts.messages[spec_msg].ty.fields
        scored = []
        for e in flying:
            if e[0] != env[0]:
                continue
            d = []
            if e[1] != env[1]:
                d.append((f"{prefix}.from", str(e[1]), str(env[1])))
            if e[2] != env[2]:
                d.append((dst_field, str(e[2]), str(env[2])))
            for pos, (x, y) in enumerate(zip(e[3:], env[3:])):
                if y is not None and x != y:
                    f = self.impl_field(spec_msg, pos)
                    d.append((f"{prefix}.msg.{f}", self.spec_val(x, fts[pos][1]), self.spec_val(y, fts[pos][1])))
            scored.append((len(d), e, d))
        best = min((n for n, _, _ in scored), default=None)
        if best is not None and best <= 2:
            out = []
            for n, e, d in scored:
                if n != best:
                    continue
                f, sv, rv = d[0]
                detail = "; ".join(f"{x}: in flight {a}, recorded {b}" for x, a, b in d)
                out.append(Reason(step, "not-in-flight", f"no such message in flight in the spec; a close one is "
                                                         f"{self.env_text(e)} ({detail})", f, sv, rv))
            return out[:4]
        shown = "; ".join(self.env_text(e) for e in flying[:5]) or "nothing"
        more = f" and {len(flying) - 5} more" if len(flying) > 5 else ""
        return [Reason(step, "not-in-flight", f"no such message in flight in the spec (in flight: {shown}{more})",
                       f"{prefix}.msg")]

    # ---- guards ----
    def decl_of(self, it: Item, a: Alt):
        r = a.rule
        p = it.lane.info if it.lane is not None else None
        if r.kind == "timeout" and p:
            return next((h for h in p.handlers if h.kind == "timeout" and h.name == r.name), None)
        if r.kind == "handler" and p:
            return next((h for h in p.handlers if h.kind == "action" and h.name == r.name), None)
        if r.kind == "deliver" and p:
            return next((h for h in p.handlers if h.kind == "message" and h.name == r.name), None)
        if r.kind == "action":
            return next((x for x in self.t.ts.actions if x.name == r.name), None)
        return None

    def guard(self, it: Item, a: Alt, s: tuple, step: str) -> Reason:
        """Not enabled: the guard, and the `choose`/`require` statements at the top of the
        body (any of them may be what failed), with the values they read in state s."""
        from ..typecheck import walk_stmts
        d = self.decl_of(it, a)
        conds = []
        if d is not None and getattr(d, "guard", None) is not None:
            conds.append(("guard", d.guard))
        body = getattr(d, "body", []) if d is not None else []
        for st in walk_stmts(body):
            if isinstance(st, A.Require):
                conds.append(("require", st.cond))
            elif isinstance(st, A.Choose):
                conds.append(("choose", st))
        if not conds:
            return Reason(step, "guard", "not enabled in the spec")
        shown = []
        exprs = []
        for kind, x in conds:
            if kind == "choose":
                shown.append(f"`choose {x.name} in {self.span_text(x.src.span)}"
                             + (f" where {self.span_text(x.where.span)}`" if x.where is not None else "`"))
                exprs += [x.src] + ([x.where] if x.where is not None else [])
            else:
                shown.append(f"`{'require ' if kind == 'require' else ''}{self.span_text(x.span)}`")
                exprs.append(x)
        vals, bounds = self.values_read(it, a, d, s, exprs)
        if len(conds) == 1 and conds[0][0] == "guard":
            text = f"guard {shown[0]} is false"
        else:
            text = "not enabled: one of " + ", ".join(shown) + " fails"
        text += f" ({', '.join(vals)})" if vals else ""
        if bounds:
            fixed = [b for b in bounds if b in self.fixed]
            if fixed:
                text += f"; {', '.join(fixed)} is a search bound fixed by -D: raise it"
            else:
                text += f"; {', '.join(bounds)} is a search bound (raised as far as {self.m.cap} without a match)"
        return Reason(step, "guard", text)

    def values_read(self, it: Item, a: Alt, d, s: tuple, exprs: list) -> tuple[list[str], list[str]]:
        """'name = value' for the fields, constants, vars and parameters the expressions read."""
        nodes = [n for e in exprs for n in walk_expr(e) if isinstance(n, (A.Name, A.FieldAccess))]
        nodes.sort(key=lambda n: (n.span.line, n.span.col) if n.span else (0, 0))
        params: dict[str, Any] = {}
        if a.rule.kind == "deliver" and a.env is not None and d is not None:
            for pos, p in enumerate(getattr(d, "params", [])):
                params[p] = ("msg", pos)
        elif a.rule.kind in ("action", "handler") and a.params is not None and d is not None:
            for b, v in zip(d.bindings, a.params):
                if v is not None:
                    params[b.name] = ("value", v)
        vals, seen, bounds = [], set(), []
        for n in nodes:
            if isinstance(n, A.FieldAccess):
                ref = n.ref
                if ref and ref[0] == "pfield" and isinstance(n.obj, A.Name) and params.get(n.obj.id, ("",))[0] == "value":
                    key = f"{n.obj.id}.{n.name}"
                    if key in seen:
                        continue
                    seen.add(key)
                    pid = params[n.obj.id][1]
                    pinfo = self.t.ts.processes[ref[1]]
                    k = self.t.layout.fld[(ref[1], n.name)]
                    lo = self.t.gen.ids[ref[1]][0]
                    vals.append(f"{key} = {self.spec_val(s[k][pid - lo], pinfo.fields[n.name].ty)}")
                continue
            if not n.ref or n.id in seen:
                continue
            seen.add(n.id)
            kind = n.ref[0]
            if kind == "field" and it.lane is not None and it.lane.info is not None and n.id in it.lane.info.fields:
                k = self.t.layout.fld[(it.lane.process, n.id)]
                ty = it.lane.info.fields[n.id].ty
                vals.append(f"{n.id} = {self.spec_val(s[k][it.pid - it.lane.lo], ty)}")
            elif kind == "const":
                c = self.t.consts()[n.id]
                vals.append(f"{n.id} = {str(c).lower() if isinstance(c, bool) else c}")
                if n.id in self.raisable or n.id in self.fixed:
                    bounds.append(n.id)
            elif kind == "var":
                k = self.t.layout.var[n.id]
                vals.append(f"{n.id} = {self.spec_val(s[k], self.t.ts.vars[n.id].ty)}")
            elif kind == "local" and n.id in params:
                how, v = params[n.id]
                if how == "msg":
                    fts = self.t.ts.messages[a.rule.name].ty.fields
                    vals.append(f"{n.id} = {self.spec_val(a.env[3 + v], fts[v][1])}")
                else:
                    vals.append(f"{n.id} = {v}")
        return vals, bounds

    # ---- network records ----
    def explain_net(self, it: Item, s: tuple) -> list[Reason]:
        n = it.net
        t = self.t
        k = n[0]
        step = it.rec.kind
        if k == "bad":
            return [Reason(step, "other", n[1], "input")]
        if k in ("drop", "duplicate"):
            env = n[1]
            step = f"{k} {self.env_text(env)}"
            return self.not_in_flight(step, env, s[t.net], "input", "input.to")
        return [Reason(step, "other", "no spec step fits")]
