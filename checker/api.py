"""Library entry points: load a spec, pick a model, check it, write its counterexample.

`cli.py` is a thin layer over these. Nothing here prints: results are data (a
`CheckResult` with the verdict, statistics and the counterexample as a `Trace`).
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .compile import compile_model
from .diagnostics import Diagnostic, EvalError, SpecError
from .dsl.parse import parse_file
from .explore.bfs import SearchResult, bfs
from .model import Model
from .modelconfig import ModelConfig, resolve_model
from .trace import Trace
from .typecheck import TypedSpec, typecheck

EXIT = {"holds": 0, "violated": 10, "unreached": 11, "deadlock": 12, "nonconform": 13, "limit": 14, "error": 1}


def load_spec(path: str | Path) -> TypedSpec:
    return typecheck(parse_file(path))


def load_model(path: str | Path, model: str | None = None, defines: list[str] | None = None,
               ts: TypedSpec | None = None) -> Model:
    ts = ts or load_spec(path)
    cfg = resolve_model(ts, model, defines)
    m = compile_model(ts, cfg)
    _some_initial_state(m)
    return m


def _some_initial_state(m: Model) -> None:
    """A model with no initial state would pass every check vacuously: E418."""
    from .diagnostics import Diagnostic, EvalError, SpecError
    try:
        if m.init_states():
            return
    except EvalError:
        return              # the search reports it, with the run that leads there
    ts = m.spec
    decls = [v.decl for v in ts.vars.values()] + [f.decl for p in ts.processes.values() for f in p.fields.values()]
    where = next((d.init for d in decls if d.init is not None and d.init.kind == "in"), None)
    raise SpecError(Diagnostic("E418", f"model '{m.config.name}' has no initial state: every check would pass "
                               f"vacuously", where.span if where is not None else None,
                               ["an initial value is chosen `in` an empty set here; give it at least one value"]
                               if where is not None else []), ts.source)


@dataclass
class CheckResult:
    spec: str
    model: str
    config: ModelConfig
    search: SearchResult
    trace: Trace | None = None
    trace_path: str | None = None
    error: EvalError | None = None
    symmetry: bool = False

    @property
    def verdict(self) -> str:
        return self.search.verdict

    @property
    def exit_code(self) -> int:
        return EXIT[self.verdict]

    @property
    def property(self) -> str | None:
        f = self.search.found
        if f is None:
            if self.verdict == "unreached":
                return self.search.unreached[0]
            return None
        if f.kind == "deadlock":
            return "deadlock"
        return f.prop

    def to_json(self) -> dict[str, Any]:
        st = self.search.stats
        # a reachable property is unreached only when the whole graph was seen; a search
        # stopped early (a limit, a violation) has only not witnessed it yet
        complete = self.verdict in ("holds", "unreached")
        pending = list(self.search.unreached)
        return {
            "verdict": self.verdict,
            "property": self.property,
            "spec": self.spec,
            "model": self.model,
            "distinct": st.distinct,
            "transitions": st.transitions,
            "depth": st.depth,
            "seconds": round(st.seconds, 3),
            "states_per_second": round(st.distinct / st.seconds) if st.seconds > 0 else None,
            "peak_memory_mib": round(st.peak_rss_mib, 1),
            "trace": self.trace_path,
            "witnessed": dict(self.search.witnessed),
            "unreached": pending if complete else [],
            "not_witnessed": [] if complete else pending,
            "stopped": self.search.stopped,
            "symmetry": self.symmetry,
        }


def spec_stem(path: str | Path) -> str:
    return Path(path).stem


def replay_command(trace_path: str) -> str:
    return f"elect show {shlex.quote(trace_path)}"


def check_command(spec_path: str, cfg: ModelConfig) -> str:
    parts = ["elect", "check", spec_path]
    if cfg.name and cfg.name != "(spec defaults)" and cfg.name != "default":
        parts += ["--model", cfg.name]
    for k, v in cfg.overrides.items():
        parts += ["-D", f"{k}={str(v).lower() if isinstance(v, bool) else v}"]
    return " ".join(shlex.quote(p) for p in parts)


def false_conjunct(properties, source: str, name: str, state: tuple, before: tuple | None = None) -> str | None:
    """Which part of property `name` is false in `state` (after `before`, for a
    transition property): its first false conjunct, as written (first line, then ...)."""
    prop = next((p for p in properties if p.name == name), None)
    if prop is None or prop.kind not in ("invariant", "final", "transition"):
        return None
    src = source.splitlines()
    for fn, c in zip(prop.conjuncts, prop.decl.conjuncts):
        try:
            ok = fn(before, state) if prop.kind == "transition" else fn(state)
        except Exception:  # noqa: BLE001 - an error in one conjunct is explained elsewhere
            continue
        if not ok:
            sp = c.span
            if sp.line == sp.end_line:
                return src[sp.line - 1][sp.col - 1:sp.end_col - 1].strip()
            return src[sp.line - 1][sp.col - 1:].strip() + " ..."
    return None


def explain_run(model: Model, kind: str, prop: str | None, states: list[tuple]) -> str | None:
    """Which part of the violated property is false in the last state of a run (check,
    simulate and bmc all show it)."""
    if kind not in ("invariant", "final", "transition") or not states:
        return None
    return false_conjunct(model.properties, model.spec.source, prop, states[-1],
                          states[-2] if len(states) > 1 else None)


def explain(model: Model, res: SearchResult) -> str | None:
    f = res.found
    return None if f is None else explain_run(model, f.kind, f.prop, res.states)


def check(spec_path: str, model: str | None = None, defines: list[str] | None = None, *,
          out_dir: str | None = None, max_states: int | None = None, max_depth: int | None = None,
          max_memory_mib: float | None = None, symmetry: bool = True, progress: bool = False,
          write_trace: bool = True, workers: int = 1, checkpoint: str | None = None,
          resume: str | None = None) -> CheckResult:
    m = load_model(spec_path, model, defines)
    canon = None
    use_sym = False
    if symmetry:
        from .explore.symmetry import canonicalizer
        canon = canonicalizer(m)
        use_sym = canon is not None
    if workers > 1:
        from .explore.workers import parallel_bfs
        res = parallel_bfs(m, workers=workers, spec_path=spec_path, model_name=model, defines=defines,
                           symmetry=use_sym, max_states=max_states, max_depth=max_depth, progress=progress,
                           max_memory_mib=max_memory_mib)
    elif checkpoint or resume:
        from .explore.checkpoint import bfs_checkpointed
        res = bfs_checkpointed(m, spec_path=spec_path, model_name=model, defines=defines, symmetry=use_sym,
                               checkpoint=checkpoint, resume=resume, max_states=max_states, max_depth=max_depth,
                               progress=progress, max_memory_mib=max_memory_mib)
    else:
        res = bfs(m, max_states=max_states, max_depth=max_depth, max_memory_mib=max_memory_mib, canon=canon,
                  progress=progress)
    cr = CheckResult(spec_path, m.config.name, m.config, res, symmetry=use_sym)
    if res.found is not None and res.found.kind == "error" and res.found.error is not None and not res.states:
        cr.error = res.found.error            # raised by the initial states: there is no run to show
    if res.states is not None:
        f = res.found
        prop = f.prop if f.kind != "deadlock" else "deadlock"
        if f.kind == "error":
            prop = f.error.code
        kind = f.kind
        meta: dict[str, Any] = {
            "property": prop,
            "verdict": res.verdict,
            "violation": {"property": prop, "kind": kind, "step": len(res.states) - 1},
            "check": check_command(spec_path, m.config),
        }
        if f.kind == "error":
            meta["violation"]["explanation"] = f"{f.error.code}: {f.error.message}"
            cr.error = f.error
        else:
            ex = explain(m, res)
            if ex:
                meta["violation"]["explanation"] = ex
        tr = m.trace(res.states, res.labels, meta)
        if write_trace and f.kind != "error":
            base = Path(out_dir) if out_dir else Path("traces") / "counterexamples" / spec_stem(spec_path)
            path = base / f"{prop}.itf.json"
            tr.meta["replay"] = replay_command(str(path))
            tr.path = str(path)
            tr.write(path)
            cr.trace_path = str(path)
        cr.trace = tr
    return cr
