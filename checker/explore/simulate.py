"""Random simulation (`elect simulate`): seeded random runs for models too big to exhaust.

Run r starts from an initial state chosen by `random.Random(seed + r)` and takes up to
`depth` steps, each chosen uniformly among the enabled ones; after every step the
invariants and transition properties are checked, and a state with no step enabled is
checked against the `final` properties (and the deadlock check, if the model asks). So
`--seed S --runs 1` replays exactly run r of a search started with seed S - r: the seed
printed with a violation reproduces it.

A violation found is then shrunk: the run is a list of step labels; a shorter list is
kept when replaying it from the same initial state takes only enabled steps and still
breaks the same property (the replay stops at the first state that does). Chunks of
steps are removed, halving the chunk size down to single steps, until no removal
keeps the violation. The result is not always a shortest run (BFS finds those) but is
usually close, and every step of it is a real step of the model.
"""
from __future__ import annotations

import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..diagnostics import EvalError
from ..model import Model
from .bfs import Checks


@dataclass
class Violation:
    kind: str                      # invariant | transition | final | deadlock | error
    prop: str | None
    run: int                       # which run (0-based)
    seed: int                      # the seed that reproduces it with --runs 1
    found_steps: int               # steps of the run as found
    init: int                      # index of the initial state
    labels: list                   # step labels of the (shrunk) run
    states: list[tuple]            # its states (len(labels) + 1)
    error: EvalError | None = None


@dataclass
class SimResult:
    runs: int = 0
    steps: int = 0
    seconds: float = 0.0
    violation: Violation | None = None
    witnessed: dict[str, int] = field(default_factory=dict)   # reachable -> first run that saw it
    unreached: list[str] = field(default_factory=list)
    deepest: int = 0
    stopped: str | None = None         # "interrupted": Ctrl-C before the runs were done

    @property
    def verdict(self) -> str:
        v = self.violation
        if v is None:
            return "limit" if self.stopped else "no-violation"
        return {"invariant": "violated", "transition": "violated", "final": "deadlock",
                "deadlock": "deadlock", "error": "error"}[v.kind]


def _check_state(checks: Checks, prev: tuple | None, s: tuple) -> tuple[str, str] | None:
    if prev is not None:
        for name, fn, _ in checks.transitions:
            if not fn(prev, s):
                return ("transition", name)
    for name, fn in checks.invariants:
        if not fn(s):
            return ("invariant", name)
    return None


def random_run(model: Model, checks: Checks, rng: random.Random, depth: int, inits: list[tuple],
               reach: Callable | None = None):
    """One random run. Returns (finding, init index, states): finding is None or (kind, prop)
    or ("error", EvalError)."""
    succ = model.successors
    i0 = rng.randrange(len(inits))
    s = inits[i0]
    states = [s]
    try:
        f = _check_state(checks, None, s)
        if f is not None:
            return f, i0, states
        if reach is not None:
            reach(s)
        for _ in range(depth):
            ts = succ(s)
            if not ts:
                f = checks.stuck(s)
                return f, i0, states
            t = ts[rng.randrange(len(ts))]
            states.append(t)
            f = _check_state(checks, s, t)
            if f is not None:
                return f, i0, states
            if reach is not None:
                reach(t)
            s = t
    except EvalError as e:
        return ("error", e), i0, states
    return None, i0, states


def labels_of(model: Model, states: list[tuple]) -> list:
    """The label of each step of a run given by its states."""
    out = []
    for a, b in zip(states, states[1:]):
        lab = model.find_step(a, b)
        out.append(lab)
    return out


def replay_labels(model: Model, checks: Checks, init: tuple, labels: list, want: tuple[str, str | None]):
    """Replay labelled steps from init; the run up to the first state that breaks `want`,
    as (labels, states), or None if a step is not enabled or the property never breaks."""
    s = init
    states = [s]
    taken = []
    kind, prop = want
    try:
        if kind == "invariant" and _check_state(checks, None, s) == want:
            return taken, states
        for lab in labels:
            nxt = None
            for l, t in model.successors_labeled(s):
                if l == lab:
                    nxt = t
                    break
            if nxt is None:
                return None
            taken.append(lab)
            states.append(nxt)
            f = _check_state(checks, s, nxt)
            if f is not None:
                return (taken, states) if f == want else None
            s = nxt
        if kind in ("final", "deadlock") and not model.successors(s) and checks.stuck(s) == want:
            return taken, states
    except EvalError:
        return None
    return None


def shrink(model: Model, checks: Checks, init: tuple, labels: list, want: tuple[str, str | None],
           budget: float = 30.0) -> tuple[list, list[tuple]]:
    """Remove chunks of steps while the run stays valid and still breaks `want`."""
    best = replay_labels(model, checks, init, labels, want)
    assert best is not None, "the run found does not replay"
    labels, states = best
    deadline = time.perf_counter() + budget
    chunk = max(1, len(labels) // 2)
    while chunk >= 1 and time.perf_counter() < deadline:
        i = 0
        changed = False
        while i < len(labels) and time.perf_counter() < deadline:
            cand = labels[:i] + labels[i + chunk:]
            r = replay_labels(model, checks, init, cand, want)
            if r is not None and len(r[0]) < len(labels):
                labels, states = r
                changed = True
            else:
                i += chunk
        if not changed:
            if chunk == 1:
                break
            chunk //= 2
    return labels, states


def simulate(model: Model, *, runs: int, depth: int, seed: int, progress: Callable | None = None,
             shrink_run: bool = True) -> SimResult:
    t0 = time.perf_counter()
    checks = Checks.of(model)
    res = SimResult()
    inits = list(model.init_states())
    fns = dict(checks.reachables)
    pending = list(fns)
    current = [0]

    def reach(t):
        for name in list(pending):
            if fns[name](t):
                res.witnessed[name] = current[0]
                pending.remove(name)

    last = t0
    for r in range(runs):
        current[0] = r
        rng = random.Random(seed + r)
        try:
            f, i0, states = random_run(model, checks, rng, depth, inits, reach if pending else None)
        except KeyboardInterrupt:
            res.stopped = "interrupted"
            break
        res.runs += 1
        res.steps += len(states) - 1
        res.deepest = max(res.deepest, len(states) - 1)
        if f is not None:
            kind, what = f
            if kind == "error":
                res.violation = Violation("error", None, r, seed + r, len(states) - 1, i0,
                                          labels_of(model, states), states, error=what)
            else:
                found_len = len(states) - 1
                labels = labels_of(model, states)
                if shrink_run:
                    labels, states = shrink(model, checks, inits[i0], labels, (kind, what))
                res.violation = Violation(kind, what, r, seed + r, found_len, i0, labels, states)
            break
        if progress is not None:
            now = time.perf_counter()
            if now - last >= 2.0:
                last = now
                progress(res, now - t0)
    res.seconds = time.perf_counter() - t0
    res.unreached = pending
    return res


# ---------------------------------------------------------------------------- the command
EXIT = {"no-violation": 0, "violated": 10, "deadlock": 12, "error": 1, "limit": 14}


def _command(args, run_seed: int) -> str:
    import shlex
    parts = ["elect", "simulate", args.spec]
    if args.model:
        parts += ["--model", args.model]
    for d in args.defines or []:
        parts += ["-D", d]
    parts += ["--runs", "1", "--depth", str(args.depth), "--seed", str(run_seed)]
    return " ".join(shlex.quote(p) for p in parts)


def to_trace(model: Model, v: Violation, spec_path: str, command: str):
    """The run as an ITF trace, with the same #meta as `elect check` writes."""
    from ..api import check_command, explain_run
    labels = [None] + list(v.labels)
    prop = v.prop if v.kind not in ("deadlock", "error") else v.kind if v.kind == "deadlock" else v.error.code
    meta: dict[str, Any] = {
        "property": prop,
        "verdict": {"final": "deadlock"}.get(v.kind, "violated" if v.kind != "deadlock" else "deadlock"),
        "violation": {"property": prop, "kind": v.kind, "step": len(v.states) - 1},
        "check": check_command(spec_path, model.config),
        "simulation": {"seed": v.seed, "run": v.run, "steps_found": v.found_steps,
                       "steps_shrunk": len(v.states) - 1, "reproduce": command},
    }
    ex = explain_run(model, v.kind, v.prop, v.states)
    if ex:
        meta["violation"]["explanation"] = ex
    return model.trace(v.states, labels, meta)


def cmd_simulate(args) -> int:
    from ..api import load_model, replay_command, spec_stem
    from ..cli import UsageError
    for flag in ("runs", "depth"):
        v = getattr(args, flag)
        if v is None or v < 1:
            raise UsageError(f"elect simulate: --{flag} must be at least 1, found {v}")
    model = load_model(args.spec, args.model, args.defines)
    show_progress = not args.json and sys.stderr.isatty()

    def progress(res: SimResult, el: float):
        if show_progress:
            print(f"simulate: {el:6.1f}s  runs {res.runs:,}/{args.runs:,}  steps {res.steps:,}  "
                  f"{res.steps / el if el else 0:,.0f} steps/s", file=sys.stderr, flush=True)

    res = simulate(model, runs=args.runs, depth=args.depth, seed=args.seed, progress=progress)
    v = res.violation
    out: dict[str, Any] = {"verdict": res.verdict, "property": None, "spec": args.spec,
                           "model": model.config.name, "runs": res.runs, "steps": res.steps,
                           "seconds": round(res.seconds, 3), "seed": args.seed, "depth": args.depth,
                           "witnessed": dict(res.witnessed), "unreached": list(res.unreached), "trace": None,
                           "stopped": res.stopped}
    tr = None
    if v is not None:
        command = _command(args, v.seed)
        out.update({"property": v.prop if v.kind != "deadlock" else "deadlock", "kind": v.kind,
                    "run": v.run, "run_seed": v.seed, "steps_found": v.found_steps,
                    "steps_shrunk": len(v.states) - 1, "reproduce": command})
        if v.kind == "error":
            e = v.error
            print(e.render(), file=sys.stderr)
            print(f"  note: found by run {v.run}; reproduce it with: {command}", file=sys.stderr)
            if v.states:
                from ..report.text import render_text
                tr = to_trace(model, v, args.spec, command)
                tr.meta["violation"]["explanation"] = f"{e.code}: {e.message}"
                print("  note: the run that led there:", file=sys.stderr)
                print(render_text(tr, color=False), file=sys.stderr)
            if args.json:        # as check --json: the verdict on stdout, the diagnostic on stderr
                out.update({"verdict": "error", "property": None, "error": f"{e.code}: {e.message}"})
                print(json.dumps(out, sort_keys=True))
            return EXIT["error"]
        tr = to_trace(model, v, args.spec, command)
        base = Path(args.out) if args.out else Path("traces") / "simulations" / spec_stem(args.spec)
        path = base / f"{out['property']}.itf.json"
        tr.meta["replay"] = replay_command(str(path))
        tr.path = str(path)
        tr.write(path)
        out["trace"] = str(path)
    if args.json:
        print(json.dumps(out, sort_keys=True))
        return EXIT[res.verdict]
    head = f"{args.spec}, model {model.config.name}: {model.config.describe()}"
    print(head)
    if v is None:
        stop = "stopped by Ctrl-C: " if res.stopped else ""
        print(f"{stop}no violation in {res.runs:,} random runs of up to {args.depth} steps "
              f"({res.steps:,} steps, seed {args.seed})")
        for name, r in res.witnessed.items():
            print(f"  reachable {name}: witnessed in run {r}")
        for name in res.unreached:
            print(f"  reachable {name}: not seen (a simulation is not exhaustive)")
    else:
        from ..report.text import render_text
        what = (f"deadlock: no step is enabled" if v.kind == "deadlock" else
                f"deadlock: final property {v.prop} is false where no step is enabled" if v.kind == "final" else
                f"violated: {v.kind} {v.prop}")
        n = len(v.states) - 1
        print(f"{what} after {n} step{'s' if n != 1 else ''} (run {v.run} of seed {args.seed} found it after "
              f"{v.found_steps} steps; shrunk to {n})")
        print()
        from ..report.text import wants_color
        print(render_text(tr, color=wants_color(sys.stdout)).rstrip("\n"))
        print(f"trace: {out['trace']}")
        print(f"reproduce: {out['reproduce']}")
    print(f"runs {res.runs:,}  steps {res.steps:,}  seconds {res.seconds:.2f}  "
          f"steps/s {res.steps / res.seconds if res.seconds else 0:,.0f}")
    return EXIT[res.verdict]
