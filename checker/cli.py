"""The `elect` command: a thin layer over `api`.

Exit codes: 0 holds; 1 spec error; 2 usage error; 3 internal error; 10 an invariant or
transition property violated; 11 a `reachable` never reached; 12 deadlock; 13 trace does
not conform; 14 stopped at a limit before a verdict. A user's mistake never shows a
traceback: it is a diagnostic (spec) or a one-line reason (command line, trace file).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

from .diagnostics import SpecError
from .trace import TraceError

USAGE_ERROR = 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _add_model_args(p):
    p.add_argument("--model", "-m", help="the model to check (default: 'default')")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE",
                   help="override a constant")


def build_parser() -> argparse.ArgumentParser:
    top = _Parser(prog="elect", description="Model checking for leader-election protocols.")
    sub = top.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=_Parser)

    c = sub.add_parser("check", help="explore every reachable state of a model")
    c.add_argument("spec")
    _add_model_args(c)
    c.add_argument("--json", action="store_true", help="print one JSON object with the result")
    c.add_argument("--out", help="directory for the counterexample trace")
    c.add_argument("--workers", type=int, default=1)
    c.add_argument("--no-symmetry", action="store_true", help="count states without symmetry reduction")
    c.add_argument("--max-states", type=int)
    c.add_argument("--max-depth", type=int)
    c.add_argument("--max-memory", type=float, metavar="MIB")
    c.add_argument("--checkpoint", metavar="DIR")
    c.add_argument("--resume", metavar="DIR")
    c.add_argument("--html", metavar="FILE", help="write an HTML report of the counterexample")
    c.add_argument("--dot", metavar="FILE", help="write the state graph (small models)")
    c.add_argument("--color", choices=("auto", "always", "never"), default="auto")

    s = sub.add_parser("show", help="render a saved trace")
    s.add_argument("trace")
    s.add_argument("--html", metavar="FILE")
    s.add_argument("--format", choices=("text", "mermaid", "json"), default="text")
    s.add_argument("--color", choices=("auto", "always", "never"), default="auto")

    sim = sub.add_parser("simulate", help="random runs of a model too large to exhaust")
    sim.add_argument("spec")
    _add_model_args(sim)
    sim.add_argument("--runs", type=int, default=1000)
    sim.add_argument("--depth", type=int, default=50)
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--json", action="store_true")
    sim.add_argument("--out")

    b = sub.add_parser("bmc", help="bounded model checking with z3")
    b.add_argument("spec")
    _add_model_args(b)
    b.add_argument("--depth", type=int, required=True)
    b.add_argument("--json", action="store_true")
    b.add_argument("--out")

    pr = sub.add_parser("prove", help="check that invariants are inductive (z3)")
    pr.add_argument("spec")
    _add_model_args(pr)
    pr.add_argument("--invariant", action="append", default=[])
    pr.add_argument("--with", dest="helpers", action="append", default=[])
    pr.add_argument("--json", action="store_true")

    r = sub.add_parser("replay", help="drive an implementation through a counterexample")
    r.add_argument("trace")
    r.add_argument("--impl", required=True, metavar="ALGO[:VARIANT]")

    cf = sub.add_parser("conform", help="is a recorded run a behaviour of the spec?")
    cf.add_argument("spec")
    cf.add_argument("trace")
    _add_model_args(cf)
    cf.add_argument("--json", action="store_true")

    tg = sub.add_parser("testgen", help="runs covering every action and fault kind")
    tg.add_argument("spec")
    _add_model_args(tg)
    tg.add_argument("--out", required=True)

    t = sub.add_parser("table", help="regenerate the table of shipped specs")
    t.add_argument("dir", nargs="?", default="spec")
    t.add_argument("--check", action="store_true", help="fail if the README table is out of date")

    co = sub.add_parser("cost", help="exact best and worst cost of an election")
    co.add_argument("specs", nargs="+")
    _add_model_args(co)
    co.add_argument("--json", action="store_true")
    co.add_argument("--plot", metavar="FILE")
    co.add_argument("--impl", metavar="ALGO")
    co.add_argument("--runs", type=int, default=1000)

    sub.add_parser("run", help="run an implementation (see 'elect run --help')", add_help=False)
    return top


class _ClosedPipeSafe:
    """stdout (or stderr) for a process whose reader may go away (`elect check ... | head -1`): once the
    pipe is closed the rest of the output is dropped, and the command still ends with its
    own exit code (a BrokenPipeError used to end it with 0, whatever the verdict)."""

    def __init__(self, stream):
        self._s = stream
        self._gone = False

    def _closed(self):
        self._gone = True
        try:        # so that the interpreter's last flush at exit finds somewhere to write
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._s.fileno())
        except (OSError, ValueError):
            pass

    def write(self, text):
        if not self._gone:
            try:
                return self._s.write(text)
            except BrokenPipeError:
                self._closed()
        return len(text)

    def flush(self):
        if not self._gone:
            try:
                self._s.flush()
            except BrokenPipeError:
                self._closed()

    def __getattr__(self, name):
        return getattr(self._s, name)


def main(argv: list[str] | None = None) -> int:
    if argv is None and not isinstance(sys.stdout, _ClosedPipeSafe):
        sys.stdout = _ClosedPipeSafe(sys.stdout)
        sys.stderr = _ClosedPipeSafe(sys.stderr)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "run":
            return cmd_run(argv[1:])
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except UsageError as e:
            print(f"error: {e}", file=sys.stderr)
            return USAGE_ERROR
        if args.cmd is None:
            parser.print_help()
            return USAGE_ERROR
        out = getattr(args, "out", None)
        if out is not None and (not out.strip() or os.path.exists(out) and not os.path.isdir(out)):
            raise UsageError(f"elect {args.cmd}: --out {out!r}: " +
                             ("needs a directory" if not out.strip() else "not a directory"))
        return globals()[f"cmd_{args.cmd}"](args)
    except SpecError as e:
        print(e.render(), file=sys.stderr)
        # -D values, model names and prove's property names come from the command line: a
        # usage error, not the spec's
        return USAGE_ERROR if e.code in ("E407", "E408", "E604") else 1
    except TraceError as e:
        print(f"error: {e}", file=sys.stderr)
        return USAGE_ERROR
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 14
    except OSError as e:         # a path the user gave: missing, a directory, unwritable, a loop, too long
        where = f"{e.filename}: " if e.filename else ""
        print(f"error: {where}{e.strerror or e}", file=sys.stderr)
        return USAGE_ERROR
    except RecursionError:
        print("error: an input value is nested too deeply to read", file=sys.stderr)
        return USAGE_ERROR
    except Exception:
        print("internal error: this is a bug in elect, please report it with the output below",
              file=sys.stderr)
        traceback.print_exc()
        return 3


def _color(args, stream) -> bool:
    if args.color == "always":
        return True
    if args.color == "never":
        return False
    from .report.text import wants_color
    return wants_color(stream)


def fmt_stats(st) -> str:
    rate = st.distinct / st.seconds if st.seconds > 0 else 0
    return (f"states {st.transitions + 0:,}  distinct {st.distinct:,}  depth {st.depth}  "
            f"seconds {st.seconds:.2f}  states/s {rate:,.0f}")


MAX_WORKERS = 64


def cmd_check(args) -> int:
    from . import api
    from .modelconfig import resolve_model
    for flag, least in (("workers", 1), ("max_states", 1), ("max_depth", 0), ("max_memory", 1)):
        v = getattr(args, flag)
        if v is not None and v < least:
            raise UsageError(f"elect check: --{flag.replace('_', '-')} must be at least {least}, found {v:g}")
    if args.workers > MAX_WORKERS:
        raise UsageError(f"elect check: --workers {args.workers}: at most {MAX_WORKERS} (this machine has "
                         f"{os.cpu_count()} cores; more workers than cores only adds overhead)")
    if args.workers > 1 and (args.checkpoint or args.resume):
        raise UsageError("elect check: --checkpoint and --resume work with one worker; drop --workers")
    if args.checkpoint == "" or args.resume == "":
        raise UsageError("elect check: --checkpoint and --resume need a directory")
    if args.checkpoint and args.resume:
        raise UsageError("elect check: --checkpoint and --resume cannot be used together "
                         "(--resume keeps checkpointing into its directory)")
    for flag, path in (("--html", args.html), ("--dot", args.dot)):
        _writable(flag, path)        # before the search, not after it
    progress = not args.json and sys.stderr.isatty()
    res = api.check(args.spec, args.model, args.defines, out_dir=args.out, max_states=args.max_states,
                    max_depth=args.max_depth, max_memory_mib=args.max_memory, symmetry=not args.no_symmetry,
                    progress=progress or bool(args.checkpoint or args.resume), workers=args.workers,
                    checkpoint=args.checkpoint, resume=args.resume)
    if res.error is not None:
        if args.json:            # as bmc --json: the verdict on stdout, the diagnostic on stderr
            print(json.dumps({**res.to_json(), "verdict": "error", "error": f"{res.error.code}: {res.error.message}"},
                             sort_keys=True))
        return _eval_error(res)
    if args.html and res.trace is not None:
        from .report.html import render_html
        _write(args.html, render_html(res.trace))
    if args.json:
        print(json.dumps(res.to_json(), sort_keys=True))
    else:
        print(render_check(res, color=_color(args, sys.stdout), html=args.html))
    if args.html and res.trace is None:
        print(f"note: no counterexample, so nothing was written to {args.html}", file=sys.stderr)
    if args.dot:
        from .report.dot import dot_for
        sys.stdout.flush()
        text, note = dot_for(args.spec, args.model, args.defines, res, max_states=args.max_states,
                             max_depth=args.max_depth)
        _write(args.dot, text)
        if note:                     # the graph is an extra: the verdict's exit code stands
            print(f"note: {note}", file=sys.stderr)
        if not args.json:
            print(f"state graph: {args.dot}")
    return res.exit_code


def _eval_error(res) -> int:
    from .report.text import render_text
    print(res.error.render(), file=sys.stderr)
    if res.trace is not None:
        print("  note: the run that led there:", file=sys.stderr)
        print(render_text(res.trace, color=False), file=sys.stderr)
    return 1


def render_check(res, color: bool = False, html: str | None = None) -> str:
    from .report.text import render_text
    cfg = res.config
    st = res.search.stats
    lines = [f"{res.spec}, model {res.model}: {cfg.describe()}"
             + ("; symmetry reduction on" if res.symmetry else "")]
    v = res.verdict
    if v == "holds":
        props = ", ".join(p for p in _prop_names(res, ("invariant", "transition", "final"))) or "no properties"
        lines.append(f"holds: {props}")
        for name, d in res.search.witnessed.items():
            lines.append(f"  reachable {name}: witnessed at depth {d}")
    elif v == "unreached":
        for name, d in res.search.witnessed.items():
            lines.append(f"  reachable {name}: witnessed at depth {d}")
        for name in res.search.unreached:
            lines.append(f"unreached: reachable {name} never holds in any of the {st.distinct:,} states")
        lines.append("  hint: a property that is never exercised cannot fail; check the guards that lead to it")
    elif v == "limit":
        what = {"max-states": "the state limit (--max-states)", "max-depth": "the depth limit (--max-depth)",
                "max-memory": "the memory limit (--max-memory)", "interrupted": "Ctrl-C"}[res.search.stopped]
        lines.append(f"stopped by {what} before a verdict: no violation in the {st.distinct:,} states "
                     f"explored, to depth {st.depth}")
    else:
        f = res.search.found
        n = len(res.trace.steps) - 1
        if f.kind == "deadlock":
            lines.append(f"deadlock: no step is enabled after {n} steps")
        elif f.kind == "final":
            lines.append(f"deadlock: final property {f.prop} is false in a state where no step is enabled "
                         f"(after {n} steps)")
        else:
            lines.append(f"violated: {f.kind} {f.prop} after {n} step{'s' if n != 1 else ''}")
        lines.append("")
        lines.append(render_text(res.trace, color=color).rstrip("\n"))
        if res.trace_path:
            lines.append(f"trace: {res.trace_path}")
        if html:
            lines.append(f"html report: {html}")
    lines.append(fmt_stats(st))
    return "\n".join(lines)


def _prop_names(res, kinds):
    from . import api
    try:
        ts = api.load_spec(res.spec)
        return [p.name for p in ts.properties if p.kind in kinds and res.config.checks(p.name)]
    except Exception:
        return []


def _writable(flag: str, path: str | None) -> None:
    """A report file the user asked for can be written (its directory exists, it is no
    directory): a usage error now rather than after a long search."""
    if path is None:
        return
    parent = os.path.dirname(os.path.abspath(path))
    if not path.strip() or os.path.isdir(path):
        raise UsageError(f"{flag} {path!r}: needs a file name")
    if not os.path.isdir(parent):
        raise UsageError(f"{flag} {path}: no directory {parent}")
    if not os.access(parent, os.W_OK) or os.path.exists(path) and not os.access(path, os.W_OK):
        raise UsageError(f"{flag} {path}: not writable")


def _write(path: str, text: str) -> None:
    """Write a report the user asked for: rendered first, so a failure leaves an existing
    file as it was."""
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError as e:         # a full disk is found on write: name the file then too
        raise OSError(e.errno, e.strerror, e.filename or path) from None


def cmd_show(args) -> int:
    from .trace import read_itf
    if args.html and args.format != "text":
        raise UsageError(f"elect show: --html and --format {args.format} are two renderings: give one")
    _writable("--html", args.html)
    tr = read_itf(args.trace)
    if args.html:
        from .report.html import render_html
        _write(args.html, render_html(tr))
        print(f"wrote {args.html}")
        return 0
    if args.format == "mermaid":
        from .report.mermaid import render_mermaid
        print(render_mermaid(tr))
        return 0
    if args.format == "json":
        print(tr.dumps(), end="")
        return 0
    from .report.text import render_text
    print(render_text(tr, color=_color(args, sys.stdout)))
    return 0


def cmd_run(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: elect run ALGO[:VARIANT] --nodes N [--duration S] [--faults SCRIPT] [--seed S] "
              "[--trace FILE] [--sim]\n"
              "       elect run zookeeper|etcd[:VARIANT] --servers 1|3 --clients N --duration S "
              "--faults SCRIPT --trace FILE\n\n"
              "ALGO: raft, bully, ring, lcr, paxos (with variants such as raft:volatile-vote)")
        return 0 if argv else USAGE_ERROR
    algo = argv[0].split(":")[0]
    if algo in ("zookeeper", "etcd"):
        from reference.services.run import run_main
    else:
        from reference.drivers.run import run_main
    return run_main(argv)


def _not_yet(name):
    def f(args):
        print(f"error: 'elect {name}' is not available in this build", file=sys.stderr)
        return USAGE_ERROR
    return f


def cmd_simulate(args) -> int:
    from .explore.simulate import cmd_simulate as run
    return run(args)


def cmd_bmc(args) -> int:
    from .symbolic import cmd_bmc as run
    return run(args)


def cmd_prove(args) -> int:
    from .symbolic import cmd_prove as run
    return run(args)


def cmd_replay(args) -> int:
    from .replay import cmd_replay as run
    return run(args)


def cmd_conform(args) -> int:
    from .conform import cmd_conform as run
    return run(args)


def cmd_testgen(args) -> int:
    from .testgen import cmd_testgen as run
    return run(args)


def cmd_table(args) -> int:
    from .table import cmd_table as run
    return run(args)


def cmd_cost(args) -> int:
    from .cost import cmd_cost as run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
