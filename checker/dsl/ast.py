"""The syntax tree of a spec. Every node carries the `Span` of its source text.

The parser builds these; the type checker reads them and records, on expression nodes,
the type it found (`ty`) and on names what they resolve to (`ref`), so later stages
never resolve a name twice. Room is kept for liveness: a `Property` has a `kind`, and
`eventually` properties will be one more kind.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from ..diagnostics import Span


@dataclass(eq=False)
class Node:
    span: Span


# ---- type syntax ----------------------------------------------------------------------

@dataclass(eq=False)
class TypeExpr(Node):
    pass


@dataclass(eq=False)
class TName(TypeExpr):
    name: str


@dataclass(eq=False)
class TApp(TypeExpr):            # set[T], map[K, V], seq[T]
    name: str
    args: list[TypeExpr]


@dataclass(eq=False)
class TTuple(TypeExpr):
    items: list[TypeExpr]


@dataclass(eq=False)
class TRange(TypeExpr):          # lo..hi, bounds are constant expressions
    lo: "Expr"
    hi: "Expr"


@dataclass(eq=False)
class TOptional(TypeExpr):
    inner: TypeExpr


# ---- expressions ----------------------------------------------------------------------

@dataclass(eq=False)
class Expr(Node):
    def __post_init__(self):
        self.ty: Any = None


@dataclass(eq=False)
class IntLit(Expr):
    value: int


@dataclass(eq=False)
class BoolLit(Expr):
    value: bool


@dataclass(eq=False)
class NoneLit(Expr):
    pass


@dataclass(eq=False)
class OptMark(Expr):             # `T?` where the expression grammar reads a type
    inner: Expr


@dataclass(eq=False)
class SelfRef(Expr):
    pass


@dataclass(eq=False)
class Name(Expr):
    id: str

    def __post_init__(self):
        super().__post_init__()
        self.ref: Any = None     # set by the type checker: ("const"|"var"|"field"|"local"|"enum"|..., target)


@dataclass(eq=False)
class FieldAccess(Expr):
    obj: Expr
    name: str

    def __post_init__(self):
        super().__post_init__()
        self.ref: Any = None


@dataclass(eq=False)
class Index(Expr):
    obj: Expr
    indices: list[Expr]


@dataclass(eq=False)
class Arg(Node):
    name: str | None
    value: Expr


@dataclass(eq=False)
class Call(Expr):
    func: Expr
    args: list[Arg]

    def __post_init__(self):
        super().__post_init__()
        self.ref: Any = None


@dataclass(eq=False)
class Unary(Expr):
    op: str                      # "-" or "not"
    operand: Expr


@dataclass(eq=False)
class Binary(Expr):
    op: str                      # + - * / % & and or implies
    left: Expr
    right: Expr


@dataclass(eq=False)
class BoolChain(Expr):
    op: str                      # "and" | "or"
    items: list[Expr]


@dataclass(eq=False)
class Compare(Expr):
    op: str                      # == != < <= > >= in notin
    left: Expr
    right: Expr


@dataclass(eq=False)
class RangeExpr(Expr):
    lo: Expr
    hi: Expr


@dataclass(eq=False)
class CondExpr(Expr):
    then: Expr
    cond: Expr
    orelse: Expr


@dataclass(eq=False)
class TupleLit(Expr):
    items: list[Expr]


@dataclass(eq=False)
class SetLit(Expr):
    items: list[Expr]            # empty list: `{}` (a set or a map, by context)


@dataclass(eq=False)
class MapLit(Expr):
    pairs: list[tuple[Expr, Expr]]


@dataclass(eq=False)
class SeqLit(Expr):
    items: list[Expr]


@dataclass(eq=False)
class CompFor(Node):
    var: str
    src: Expr


@dataclass(eq=False)
class SetComp(Expr):
    elem: Expr
    fors: list[CompFor]
    cond: Expr | None


@dataclass(eq=False)
class MapComp(Expr):
    key: Expr
    value: Expr
    fors: list[CompFor]
    cond: Expr | None


@dataclass(eq=False)
class Quant(Expr):
    kind: str                    # "all" | "any"
    bindings: list[tuple[str, Expr]]
    body: Expr


# ---- statements -----------------------------------------------------------------------

@dataclass(eq=False)
class Stmt(Node):
    pass


@dataclass(eq=False)
class Assign(Stmt):
    target: Expr
    op: str                      # = += -=
    value: Expr


@dataclass(eq=False)
class Let(Stmt):
    name: str
    value: Expr


@dataclass(eq=False)
class Send(Stmt):
    msg: Expr
    to: Expr


@dataclass(eq=False)
class Broadcast(Stmt):
    msg: Expr


@dataclass(eq=False)
class Choose(Stmt):
    name: str
    src: Expr
    where: Expr | None


@dataclass(eq=False)
class Require(Stmt):
    cond: Expr


@dataclass(eq=False)
class Pass(Stmt):
    pass


@dataclass(eq=False)
class If(Stmt):
    branches: list[tuple[Expr, list[Stmt]]]
    orelse: list[Stmt] | None


@dataclass(eq=False)
class For(Stmt):
    name: str
    src: Expr
    body: list[Stmt]


# ---- declarations ---------------------------------------------------------------------

@dataclass(eq=False)
class Param(Node):
    name: str
    type: TypeExpr


@dataclass(eq=False)
class Binding(Node):
    name: str
    src: Expr


@dataclass(eq=False)
class Decl(Node):
    name: str


@dataclass(eq=False)
class SpecName(Decl):
    pass


@dataclass(eq=False)
class Const(Decl):
    type: TypeExpr
    default: Expr | None
    bound: bool


@dataclass(eq=False)
class TypeDecl(Decl):
    type: TypeExpr
    symmetric: bool


@dataclass(eq=False)
class EnumDecl(Decl):
    members: list[str]
    member_spans: list[Span]


@dataclass(eq=False)
class RecordDecl(Decl):
    fields: list[Param]


@dataclass(eq=False)
class MessageDecl(Decl):
    fields: list[Param]


@dataclass(eq=False)
class Def(Decl):
    params: list[Param]
    body: Expr


@dataclass(eq=False)
class Init(Node):
    kind: str                    # "value" | "in" | "any"
    expr: Expr | None


@dataclass(eq=False)
class FieldDecl(Decl):
    type: TypeExpr
    init: Init | None
    durable: bool
    ghost: bool


@dataclass(eq=False)
class Handler(Decl):
    kind: str                    # "message" | "timeout" | "action"
    params: list[str]            # message fields bound by position
    sender: str | None
    bindings: list[Binding]
    guard: Expr | None
    body: list[Stmt]
    name_span: Span | None = None


@dataclass(eq=False)
class Process(Decl):
    fields: list[FieldDecl]
    handlers: list[Handler]


@dataclass(eq=False)
class VarDecl(Decl):
    type: TypeExpr
    init: Init | None
    ghost: bool
    durable: bool = False


@dataclass(eq=False)
class Action(Decl):
    bindings: list[Binding]
    guard: Expr | None
    body: list[Stmt]


@dataclass(eq=False)
class Property(Decl):
    kind: str                    # invariant | transition | reachable | final
    conjuncts: list[Expr]


@dataclass(eq=False)
class Measure(Decl):
    counter: str
    counter_span: Span
    cond: Expr


@dataclass(eq=False)
class ModelItem(Node):
    kind: str                    # const | network | faults | nofaults | volatile | check
    name: str | None = None
    value: Expr | None = None
    options: list[tuple[str, Expr | None, Span]] = field(default_factory=list)
    target: tuple[str, str] | None = None


@dataclass(eq=False)
class Model(Decl):
    extends: str | None
    extends_span: Span | None
    items: list[ModelItem]


@dataclass(eq=False)
class Spec(Node):
    name: str
    decls: list[Decl]
    file: str
    source: str


def nodes(root: Any):
    """Every node under root (root included), whatever its kind: declarations, statements,
    expressions, types, models."""
    stack = [root]
    while stack:
        n = stack.pop()
        if isinstance(n, (list, tuple)):
            stack.extend(n)
        elif isinstance(n, dict):
            stack.extend(n.values())
        elif isinstance(n, Node):
            yield n
            stack.extend(getattr(n, f.name) for f in fields(n) if f.name != "span")
