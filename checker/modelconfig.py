"""A named model of a spec, resolved: constants with values, the network and the faults.

A model starts from the spec's defaults (each constant's default, a reliable unordered
network, no faults), applies the model it `extends` first, then its own settings, then
the command line's `-D NAME=VALUE` overrides. Constant expressions are evaluated here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from difflib import get_close_matches

from .diagnostics import Diagnostic, SpecError
from .dsl import ast as A
from .typecheck import TypedSpec
from .types import BoolT, IntT


@dataclass
class ModelConfig:
    name: str
    consts: dict[str, int | bool]
    network: str = "unordered"           # unordered | set | fifo
    lossy: bool = False
    duplicating: bool = False
    crash: int = 0
    restart: bool = False
    partition: int = 0
    tick: int | None = None
    volatile: set[tuple[str, str]] = field(default_factory=set)
    check_deadlock: bool = False
    only: tuple[str, ...] | None = None   # `check P, Q`: the properties this model checks (None: all)
    overrides: dict[str, int | bool] = field(default_factory=dict)

    def checks(self, prop: str) -> bool:
        """Does this model check the property named `prop`?"""
        return self.only is None or prop in self.only

    def describe(self) -> str:
        net = [self.network] + (["lossy"] if self.lossy else []) + (["duplicating"] if self.duplicating else [])
        faults = []
        if self.crash:
            faults.append(f"crash <= {self.crash}")
        if self.restart:
            faults.append("restart")
        if self.partition:
            faults.append(f"partition <= {self.partition}")
        if self.tick is not None:
            faults.append(f"tick <= {self.tick}")
        consts = ", ".join(f"{k}={fmt_const(v)}" for k, v in self.consts.items())
        rest = f"network {', '.join(net)}; faults {', '.join(faults) or 'none'}"
        return f"{consts}; {rest}" if consts else rest


def fmt_const(v) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


class ConstEvalError(Exception):
    def __init__(self, message, span):
        super().__init__(message)
        self.span = span


def const_eval(e: A.Expr, consts: dict[str, int | bool]):
    if isinstance(e, A.IntLit):
        return e.value
    if isinstance(e, A.BoolLit):
        return e.value
    if isinstance(e, A.Name):
        if e.id in consts:
            return consts[e.id]
        raise ConstEvalError(f"'{e.id}' has no value in this model", e.span)
    if isinstance(e, A.Unary):
        v = const_eval(e.operand, consts)
        return (not v) if e.op == "not" else -v
    if isinstance(e, A.Binary):
        a = const_eval(e.left, consts)
        b = const_eval(e.right, consts)
        if e.op == "+":
            return a + b
        if e.op == "-":
            return a - b
        if e.op == "*":
            return a * b
        if e.op in ("/", "%"):
            if b == 0:
                raise ConstEvalError("division by zero in a constant", e.span)
            q = abs(a) // abs(b)
            q = q if (a >= 0) == (b >= 0) else -q
            return q if e.op == "/" else a - b * q
        if e.op == "implies":
            return (not a) or b
    if isinstance(e, A.BoolChain):
        vals = [const_eval(x, consts) for x in e.items]
        return all(vals) if e.op == "and" else any(vals)
    if isinstance(e, A.Compare):
        a = const_eval(e.left, consts)
        b = const_eval(e.right, consts)
        return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[e.op]
    if isinstance(e, A.CondExpr):
        return const_eval(e.then if const_eval(e.cond, consts) else e.orelse, consts)
    if isinstance(e, A.Call) and isinstance(e.func, A.Name) and e.func.id in ("min", "max", "abs"):
        vals = [const_eval(a.value, consts) for a in e.args]
        return {"min": min, "max": max}[e.func.id](vals) if e.func.id != "abs" else abs(vals[0])
    raise ConstEvalError("this is not a constant expression", e.span)


def parse_override(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise SpecError(Diagnostic("E407", f"-D expects NAME=VALUE, found '{text}'", None,
                                   ["write e.g. -D N=5"]))
    k, v = text.split("=", 1)
    return k.strip(), v.strip()


def resolve_model(ts: TypedSpec, name: str | None, defines: list[str] | None = None) -> ModelConfig:
    diags: list[Diagnostic] = []
    if name is None:
        name = "default" if "default" in ts.models else None
    elif name not in ts.models:
        close = get_close_matches(name, list(ts.models), n=1)
        known = ", ".join(ts.models) or "none"
        raise SpecError(Diagnostic("E408", f"no model '{name}' in {ts.file}", None,
                                   ([f"did you mean '{close[0]}'?"] if close else []) + [f"models: {known}"]))
    cfg = ModelConfig(name or "(spec defaults)", {})
    # defaults
    raw: dict[str, A.Expr | None] = {n: c.default for n, c in ts.consts.items()}
    chain: list[A.Model] = []
    seen = set()
    m = ts.models.get(name) if name else None
    while m is not None:
        if m.name in seen:
            raise SpecError(Diagnostic("E405", f"model '{m.name}' extends itself", m.span), ts.source)
        seen.add(m.name)
        chain.append(m)
        m = ts.models.get(m.extends) if m.extends else None
    settings: list[A.ModelItem] = [it for mm in reversed(chain) for it in mm.items]
    for it in settings:
        if it.kind == "const":
            raw[it.name] = it.value
    overrides: dict[str, int | bool] = {}
    for d in defines or []:
        k, v = parse_override(d)
        if k not in ts.consts:
            close = get_close_matches(k, list(ts.consts), n=1)
            raise SpecError(Diagnostic("E407", f"-D {k}: no constant '{k}' in {ts.file}", None,
                                       ([f"did you mean '{close[0]}'?"] if close else []) +
                                       [f"constants: {', '.join(ts.consts) or 'none'}"]))
        is_bool = isinstance(getattr(ts.consts[k], "ty", None), BoolT)
        if is_bool:
            if v not in ("true", "false"):
                raise SpecError(Diagnostic("E407", f"-D {k}: '{v}' is not a bool (true or false)", None))
            overrides[k] = v == "true"
        else:
            try:
                overrides[k] = int(v)
            except ValueError:
                raise SpecError(Diagnostic("E407", f"-D {k}: '{v}' is not an integer", None)) from None
    # evaluate in declaration order (a default may use earlier constants)
    consts: dict[str, int | bool] = {}
    for n, c in ts.consts.items():
        if n in overrides:
            consts[n] = overrides[n]
            continue
        e = raw.get(n)
        if e is None:
            diags.append(Diagnostic("E409", f"constant '{n}' has no value in model '{cfg.name}'", c.span,
                                    [f"give it a default (`const {n}: int = 3`), set it in the model, "
                                     f"or pass -D {n}=..."]))
            continue
        try:
            consts[n] = const_eval(e, consts)
        except ConstEvalError as err:
            diags.append(Diagnostic("E410", str(err), err.span))
    if diags:
        raise SpecError(diags, ts.source)
    _consts_in_range(ts, consts, overrides, raw, cfg.name)
    cfg.consts = consts
    cfg.overrides = overrides
    for it in settings:
        if it.kind == "network":
            for opt, _, _ in it.options:
                if opt in ("unordered", "set", "fifo"):
                    cfg.network = opt
                elif opt == "lossy":
                    cfg.lossy = True
                elif opt == "duplicating":
                    cfg.duplicating = True
                elif opt == "reliable":
                    cfg.lossy = False
                    cfg.duplicating = False
        elif it.kind == "nofaults":
            cfg.crash, cfg.restart, cfg.partition, cfg.tick = 0, False, 0, None
        elif it.kind == "faults":
            for opt, val, sp in it.options:
                v = None
                if val is not None:
                    try:
                        v = const_eval(val, consts)
                    except ConstEvalError as err:
                        raise SpecError(Diagnostic("E410", str(err), err.span), ts.source) from None
                    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                        raise SpecError(Diagnostic("E403", f"a fault budget must be a number >= 0, found {v}",
                                                   val.span), ts.source)
                if opt == "crash":
                    cfg.crash = v
                elif opt == "restart":
                    cfg.restart = True
                elif opt == "partition":
                    cfg.partition = v
                elif opt == "tick":
                    cfg.tick = v
        elif it.kind == "volatile":
            cfg.volatile.add(it.target)
        elif it.kind == "check":
            for name, _, _ in it.options:
                if name == "deadlock":
                    cfg.check_deadlock = True
                else:
                    cfg.only = (cfg.only or ()) + (name,)
    if cfg.network == "fifo" and ts.fifo_order_sends:
        raise SpecError(ts.fifo_order_sends[0], ts.source)
    if cfg.restart and not cfg.crash:
        decl = ts.models.get(cfg.name)
        raise SpecError(Diagnostic("E403", f"model '{cfg.name}' allows restart but no crash",
                                   getattr(decl, "span", None), ["add `crash <= k` to its faults"]), ts.source)
    return cfg


def _consts_in_range(ts, consts: dict, overrides: dict, raw: dict, model: str) -> None:
    """A constant of a ranged type (`const R: 0..3`) holds a value in range: -D is a usage
    error (E407), a default or a model's value a spec error (E419) at that value."""
    diags = []
    for n, c in ts.consts.items():
        ty = getattr(c, "ty", None)
        if not isinstance(ty, IntT) or ty.lo is None or n not in consts:
            continue
        try:
            lo, hi = const_eval(ty.lo, consts), const_eval(ty.hi, consts)
        except ConstEvalError:
            continue        # a bound that is not constant: reported by the type checker
        v = consts[n]
        if lo <= v <= hi:
            continue
        if n in overrides:
            raise SpecError(Diagnostic("E407", f"-D {n}: {v} is outside its declared range {lo}..{hi}", None,
                                       [f"pass a value in {lo}..{hi}, or widen `const {n}` in the spec"]))
        e = raw.get(n)
        diags.append(Diagnostic("E419", f"constant '{n}' is {v} in model '{model}', outside its declared range "
                                f"{lo}..{hi}", getattr(e, "span", None) or c.span,
                                [f"give it a value in {lo}..{hi}, or widen its type"]))
    if diags:
        raise SpecError(diags, ts.source)
