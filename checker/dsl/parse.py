"""Source text -> syntax tree (`ast.Spec`), every node with its span.

lark parses with LALR(1) and an indentation post-lexer; a Transformer builds the AST.
Syntax errors become E1xx diagnostics: "expected X, found Y" with the expected tokens
named as a person writes them, plus hints for the common slips (`=` for `==`, `then`
after `if`, a missing `:`, tabs and spaces mixed, a property with no condition). A word
of the grammar (`if`, `to`, `final`, ...) is never a name (E108).
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import lark
from lark import Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError
from lark.indenter import DedentError, Indenter

from ..diagnostics import Diagnostic, Span, SpecError
from . import ast as A

GRAMMAR = Path(__file__).with_name("grammar.lark")


class _Indenter(Indenter):
    NL_type = "_NL"
    OPEN_PAREN_types = ["LPAR", "LSQB", "LBRACE"]
    CLOSE_PAREN_types = ["RPAR", "RSQB", "RBRACE"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 4

    def process(self, stream):
        # The lexer is contextual: where only a name may follow (`var if: int`), a keyword
        # is read as a NAME. A keyword is never a name, wherever it stands.
        kws = keywords()
        for tok in super().process(stream):
            if tok.type == "NAME" and tok.value in kws:
                raise _KeywordAsName(tok)
            yield tok


class _KeywordAsName(Exception):
    def __init__(self, tok: Token):
        super().__init__(str(tok))
        self.tok = tok


@lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    return lark.Lark(GRAMMAR.read_text(), parser="lalr", postlex=_Indenter(),
                     propagate_positions=True, maybe_placeholders=False, cache=True)


@lru_cache(maxsize=1)
def keywords() -> frozenset[str]:
    """The words of the grammar (`if`, `in`, `to`, `final`, ...): none of them is a name."""
    name = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
    return frozenset(t.pattern.value for t in _parser().terminals
                     if t.pattern.type == "str" and name.fullmatch(t.pattern.value))


RESERVED = {"then", "do", "end", "fi", "endif", "begin", "elsif", "elseif", "function", "return", "while",
            "True", "False", "None", "null", "nil"}


class _Build(Transformer):
    """lark tree -> ast nodes. Spans come from `meta` (propagate_positions)."""

    def __init__(self, file: str, source: str = ""):
        super().__init__()
        self.file = file
        self.source = source
        self.reserved: list[Token] = []     # reserved words met as names, in source order

    def NAME(self, tok: Token) -> Token:
        """Every name token: a reserved word is noted here; `name` (an expression) takes it
        back, and one left over names something declared or bound (E108, see `transform`)."""
        if str(tok) in RESERVED:
            self.reserved.append(tok)
        return tok

    def transform(self, tree):
        out = super().transform(tree)
        if self.reserved:
            raise SpecError(_keyword_diagnostic(self.reserved[0], self.file, reserved=True), self.source)
        return out

    def sp(self, meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.file, 1, 1, 1, 2)
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def tsp(self, tok: Token) -> Span:
        return Span(self.file, tok.line, tok.column, tok.end_line or tok.line,
                    tok.end_column or tok.column + len(tok))

    # ---- top level ----
    @v_args(meta=True)
    def start(self, meta, items):
        return [i for i in items if isinstance(i, A.Node)]

    @v_args(meta=True)
    def spec_decl(self, meta, c):
        return A.SpecName(self.sp(meta), str(c[0]))

    @v_args(meta=True)
    def const_decl(self, meta, c):
        bound = bool(c and c[0] == "bound")
        if bound:
            c = c[1:]
        return A.Const(self.sp(meta), str(c[0]), c[1], c[2] if len(c) > 2 else None, bound)

    def bound(self, c):
        return "bound"

    def symmetric(self, c):
        return "symmetric"

    @v_args(meta=True)
    def type_decl(self, meta, c):
        return A.TypeDecl(self.sp(meta), str(c[0]), c[1], len(c) > 2)

    @v_args(meta=True)
    def enum_decl(self, meta, c):
        return A.EnumDecl(self.sp(meta), str(c[0]), [str(t) for t in c[1:]], [self.tsp(t) for t in c[1:]])

    @v_args(meta=True)
    def record_decl(self, meta, c):
        return A.RecordDecl(self.sp(meta), str(c[0]), c[1] if len(c) > 1 else [])

    @v_args(meta=True)
    def message_decl(self, meta, c):
        return A.MessageDecl(self.sp(meta), str(c[0]), c[1] if len(c) > 1 else [])

    def params(self, c):
        return list(c)

    @v_args(meta=True)
    def param(self, meta, c):
        return A.Param(self.sp(meta), str(c[0]), c[1])

    @v_args(meta=True)
    def def_decl(self, meta, c):
        if len(c) == 3:
            return A.Def(self.sp(meta), str(c[0]), c[1], c[2])
        return A.Def(self.sp(meta), str(c[0]), [], c[1])

    @v_args(meta=True)
    def process_decl(self, meta, c):
        fields = [x for x in c[1:] if isinstance(x, A.FieldDecl)]
        handlers = [x for x in c[1:] if isinstance(x, A.Handler)]
        return A.Process(self.sp(meta), str(c[0]), fields, handlers)

    def field_mod(self, c):
        return str(c[0])

    def ghost_mod(self, c):
        return str(c[0])

    @v_args(meta=True)
    def field_decl(self, meta, c):
        mods = [x for x in c if isinstance(x, str) and not isinstance(x, Token)]
        rest = [x for x in c if not (isinstance(x, str) and not isinstance(x, Token))]
        name, ty = rest[0], rest[1]
        init = rest[2] if len(rest) > 2 else None
        return A.FieldDecl(self.sp(meta), str(name), ty, init, "durable" in mods, "ghost" in mods)

    @v_args(meta=True)
    def var_decl(self, meta, c):
        f = self.field_decl(meta, c)
        return A.VarDecl(f.span, f.name, f.type, f.init, f.ghost, f.durable)

    @v_args(meta=True)
    def init_value(self, meta, c):
        return A.Init(self.sp(meta), "value", c[0])

    @v_args(meta=True)
    def init_in(self, meta, c):
        return A.Init(self.sp(meta), "in", c[0])

    @v_args(meta=True)
    def init_any(self, meta, c):
        return A.Init(self.sp(meta), "any", None)

    def names(self, c):
        return [str(x) for x in c]

    def requires(self, c):
        return ("requires", c[0])

    def _split(self, c):
        guard = None
        rest = []
        for x in c:
            if isinstance(x, tuple) and x and x[0] == "requires":
                guard = x[1]
            else:
                rest.append(x)
        return guard, rest

    @v_args(meta=True)
    def handler(self, meta, c):
        guard, rest = self._split(c)
        name = rest[0]
        body = rest[-1]
        if len(rest) == 4:
            params, sender = rest[1], rest[2]
        else:
            params, sender = [], rest[1]
        return A.Handler(self.sp(meta), str(name), "message", params, str(sender), [], guard, body,
                         self.tsp(name))

    @v_args(meta=True)
    def timeout_handler(self, meta, c):
        guard, rest = self._split(c)
        return A.Handler(self.sp(meta), str(rest[0]), "timeout", [], None, [], guard, rest[-1],
                         self.tsp(rest[0]))

    @v_args(meta=True)
    def local_action(self, meta, c):
        guard, rest = self._split(c)
        bindings = rest[1] if len(rest) == 3 else []
        return A.Handler(self.sp(meta), str(rest[0]), "action", [], None, bindings, guard, rest[-1],
                         self.tsp(rest[0]))

    def bindings(self, c):
        return list(c)

    @v_args(meta=True)
    def binding(self, meta, c):
        return A.Binding(self.sp(meta), str(c[0]), c[1])

    @v_args(meta=True)
    def action_decl(self, meta, c):
        guard, rest = self._split(c)
        bindings = rest[1] if len(rest) == 3 else []
        return A.Action(self.sp(meta), str(rest[0]), bindings, guard, rest[-1])

    def prop_kind(self, c):
        return str(c[0])

    @v_args(meta=True)
    def property_decl(self, meta, c):
        return A.Property(self.sp(meta), str(c[1]), c[0], c[2])

    def one_conjunct(self, c):
        return [c[0]]

    def many_conjuncts(self, c):
        return list(c)

    @v_args(meta=True)
    def measure_decl(self, meta, c):
        return A.Measure(self.sp(meta), str(c[0]), str(c[1]), self.tsp(c[1]), c[2])

    @v_args(meta=True)
    def model_decl(self, meta, c):
        ext = c[1] if len(c) == 3 else None
        return A.Model(self.sp(meta), str(c[0]), str(ext) if ext else None,
                       self.tsp(ext) if ext else None, c[-1])

    def model_pass(self, c):
        return None

    def model_body(self, c):
        return [x for x in c if isinstance(x, A.ModelItem)]

    @v_args(meta=True)
    def model_const(self, meta, c):
        return A.ModelItem(self.sp(meta), "const", name=str(c[0]), value=c[1])

    @v_args(meta=True)
    def model_network(self, meta, c):
        return A.ModelItem(self.sp(meta), "network", options=[(str(t), None, self.tsp(t)) for t in c])

    @v_args(meta=True)
    def model_faults(self, meta, c):
        return A.ModelItem(self.sp(meta), "faults", options=list(c))

    @v_args(meta=True)
    def model_nofaults(self, meta, c):
        return A.ModelItem(self.sp(meta), "nofaults")

    @v_args(meta=True)
    def fault(self, meta, c):
        return (str(c[0]), c[1] if len(c) > 1 else None, self.tsp(c[0]))

    @v_args(meta=True)
    def model_volatile(self, meta, c):
        return A.ModelItem(self.sp(meta), "volatile", target=(str(c[0]), str(c[1])))

    @v_args(meta=True)
    def model_check(self, meta, c):
        names = [str(x) for x in c]
        return A.ModelItem(self.sp(meta), "check", name=names[0],
                           options=[(n, None, self.tsp(x)) for n, x in zip(names, c)])

    # ---- statements ----
    def block(self, c):
        out = []
        for x in c:
            out.extend(x) if isinstance(x, list) else out.append(x)
        return out

    def simple_stmts(self, c):
        return list(c)

    @v_args(meta=True)
    def assign(self, meta, c):
        return A.Assign(self.sp(meta), c[0], c[1], c[2])

    def assign_op(self, c):
        return str(c[0])

    @v_args(meta=True)
    def let_stmt(self, meta, c):
        return A.Let(self.sp(meta), str(c[0]), c[1])

    @v_args(meta=True)
    def send_stmt(self, meta, c):
        return A.Send(self.sp(meta), c[0], c[1])

    @v_args(meta=True)
    def broadcast_stmt(self, meta, c):
        return A.Broadcast(self.sp(meta), c[0])

    @v_args(meta=True)
    def choose_stmt(self, meta, c):
        return A.Choose(self.sp(meta), str(c[0]), c[1], c[2] if len(c) > 2 else None)

    @v_args(meta=True)
    def require_stmt(self, meta, c):
        return A.Require(self.sp(meta), c[0])

    @v_args(meta=True)
    def pass_stmt(self, meta, c):
        return A.Pass(self.sp(meta))

    @v_args(meta=True)
    def if_stmt(self, meta, c):
        branches = [(c[0], c[1])]
        orelse = None
        for x in c[2:]:
            if isinstance(x, tuple) and x[0] == "elif":
                branches.append((x[1], x[2]))
            else:
                orelse = x[1]
        return A.If(self.sp(meta), branches, orelse)

    def elif_clause(self, c):
        return ("elif", c[0], c[1])

    def else_clause(self, c):
        return ("else", c[0])

    @v_args(meta=True)
    def for_stmt(self, meta, c):
        return A.For(self.sp(meta), str(c[0]), c[1], c[2])

    # ---- types ----
    @v_args(meta=True)
    def type(self, meta, c):
        return self._to_type(c[0])

    @v_args(meta=True)
    def opt_mark(self, meta, c):
        return A.OptMark(self.sp(meta), c[0])

    def _to_type(self, e) -> A.TypeExpr:
        if isinstance(e, A.OptMark):
            return A.TOptional(e.span, self._to_type(e.inner))
        if isinstance(e, A.RangeExpr) and isinstance(e.hi, A.OptMark):     # `0..MAX?`
            return A.TOptional(e.span, A.TRange(e.span, e.lo, e.hi.inner))
        if isinstance(e, A.Name):
            return A.TName(e.span, e.id)
        if isinstance(e, A.Index) and isinstance(e.obj, A.Name):
            return A.TApp(e.span, e.obj.id, [self._to_type(x) for x in e.indices])
        if isinstance(e, A.TupleLit):
            return A.TTuple(e.span, [self._to_type(x) for x in e.items])
        if isinstance(e, A.RangeExpr):
            return A.TRange(e.span, e.lo, e.hi)
        raise SpecError(Diagnostic("E106", "expected a type, found an expression", e.span,
                                   ["a type is a name (int, bool, Node, Role), a range (0..MAX), "
                                    "set[T], map[K, V], seq[T], a tuple (T, U) or T? for an optional"]))

    # ---- expressions ----
    @v_args(meta=True)
    def cond_expr(self, meta, c):
        return A.CondExpr(self.sp(meta), c[0], c[1], c[2])

    @v_args(meta=True)
    def implies_expr(self, meta, c):
        return A.Binary(self.sp(meta), "implies", c[0], c[1])

    @v_args(meta=True)
    def or_chain(self, meta, c):
        return c[0] if len(c) == 1 else A.BoolChain(self.sp(meta), "or", list(c))

    @v_args(meta=True)
    def and_chain(self, meta, c):
        return c[0] if len(c) == 1 else A.BoolChain(self.sp(meta), "and", list(c))

    @v_args(meta=True)
    def not_expr(self, meta, c):
        return A.Unary(self.sp(meta), "not", c[0])

    @v_args(meta=True)
    def compare(self, meta, c):
        self._quant_cut(meta, c[0], str(c[1]))
        return A.Compare(self.sp(meta), str(c[1]), c[0], c[2])

    @v_args(meta=True)
    def in_expr(self, meta, c):
        self._quant_cut(meta, c[0], "in")
        return A.Compare(self.sp(meta), "in", c[0], c[1])

    @v_args(meta=True)
    def notin_expr(self, meta, c):
        self._quant_cut(meta, c[0], "not in")
        return A.Compare(self.sp(meta), "notin", c[0], c[1])

    def _quant_cut(self, meta, left, op: str):
        """`any n in S: n in s == false` parses as `(any n in S: n in s) == false`: a
        comparison inside the body cannot take a second operator, so the body ends early
        and the comparison applies to the whole quantifier. Refused unless parenthesized."""
        if isinstance(left, A.Quant) and (meta.line, meta.column) == (left.span.line, left.span.col):
            span = self.sp(meta)
            raise SpecError(Diagnostic(
                "E102", f"a comparison inside a quantifier's body cannot be followed by '{op}': this would "
                f"compare the whole quantifier", span,
                [f"parenthesize what you mean: `({left.kind} ...: ...) {op} x` or `{left.kind} ...: (...) {op} x`"]),
                self.source)

    @v_args(meta=True)
    def range(self, meta, c):
        return A.RangeExpr(self.sp(meta), c[0], c[1])

    @v_args(meta=True)
    def binop(self, meta, c):
        return A.Binary(self.sp(meta), str(c[1]), c[0], c[2])

    @v_args(meta=True)
    def neg(self, meta, c):
        return A.Unary(self.sp(meta), "-", c[0])

    @v_args(meta=True)
    def field(self, meta, c):
        return A.FieldAccess(self.sp(meta), c[0], str(c[1]))

    @v_args(meta=True)
    def index(self, meta, c):
        return A.Index(self.sp(meta), c[0], list(c[1:]))

    @v_args(meta=True)
    def call(self, meta, c):
        return A.Call(self.sp(meta), c[0], c[1] if len(c) > 1 else [])

    def args(self, c):
        return list(c)

    @v_args(meta=True)
    def arg(self, meta, c):
        return A.Arg(self.sp(meta), None, c[0])

    @v_args(meta=True)
    def kwarg(self, meta, c):
        return A.Arg(self.sp(meta), str(c[0]), c[1])

    @v_args(meta=True)
    def int_lit(self, meta, c):
        return A.IntLit(self.sp(meta), int(c[0]))

    @v_args(meta=True)
    def true_lit(self, meta, c):
        return A.BoolLit(self.sp(meta), True)

    @v_args(meta=True)
    def false_lit(self, meta, c):
        return A.BoolLit(self.sp(meta), False)

    @v_args(meta=True)
    def none_lit(self, meta, c):
        return A.NoneLit(self.sp(meta))

    @v_args(meta=True)
    def self_lit(self, meta, c):
        return A.SelfRef(self.sp(meta))

    @v_args(meta=True)
    def name(self, meta, c):
        n = str(c[0])
        if n in RESERVED:
            self.reserved.pop()
            if self.reserved:      # declared earlier under this word: that is the mistake to show
                raise SpecError(_keyword_diagnostic(self.reserved[0], self.file, reserved=True))
            sp = self.sp(meta)
            line = self.source.splitlines()[sp.line - 1] if self.source else ""
            before = line[:sp.col - 1].rstrip()
            op = next((o for o in ("+=", "-=", "==", "!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "(", ",")
                       if before.endswith(o)), None)
            after = f" after '{op}'" if op else ""
            if n in ("True", "False", "None"):
                hint = f"write `{n.lower()}`"
            elif op in ("=", "+=", "-="):
                hint = "write a value, e.g. `votes = {}`"
            else:
                hint = "blocks follow ':' and are indented on the next lines"
            raise SpecError(Diagnostic("E104", f"expected an expression{after}, found '{n}'", sp, [hint]))
        return A.Name(self.sp(meta), n)

    @v_args(meta=True)
    def tuple_lit(self, meta, c):
        return A.TupleLit(self.sp(meta), list(c))

    @v_args(meta=True)
    def empty_braces(self, meta, c):
        return A.SetLit(self.sp(meta), [])

    @v_args(meta=True)
    def set_lit(self, meta, c):
        return A.SetLit(self.sp(meta), list(c))

    @v_args(meta=True)
    def map_lit(self, meta, c):
        return A.MapLit(self.sp(meta), list(c))

    def pair(self, c):
        return (c[0], c[1])

    @v_args(meta=True)
    def set_comp(self, meta, c):
        fors = [x for x in c[1:] if isinstance(x, A.CompFor)]
        cond = [x for x in c[1:] if isinstance(x, tuple) and x[0] == "if"]
        return A.SetComp(self.sp(meta), c[0], fors, cond[0][1] if cond else None)

    @v_args(meta=True)
    def map_comp(self, meta, c):
        k, v = c[0]
        fors = [x for x in c[1:] if isinstance(x, A.CompFor)]
        cond = [x for x in c[1:] if isinstance(x, tuple) and x[0] == "if"]
        return A.MapComp(self.sp(meta), k, v, fors, cond[0][1] if cond else None)

    @v_args(meta=True)
    def comp_for(self, meta, c):
        return A.CompFor(self.sp(meta), str(c[0]), c[1])

    def comp_if(self, c):
        return ("if", c[0])

    @v_args(meta=True)
    def seq_lit(self, meta, c):
        return A.SeqLit(self.sp(meta), list(c))

    def quant_kind(self, c):
        return str(c[0])

    @v_args(meta=True)
    def quant(self, meta, c):
        bindings = []
        for names, src in c[1:-1]:
            bindings.extend((n, src) for n in names)
        return A.Quant(self.sp(meta), c[0], bindings, c[-1])

    def qbinding(self, c):
        return ([str(x) for x in c[:-1]], c[-1])


# ---- error messages -------------------------------------------------------------------

_TOKEN_NAMES = {
    "NAME": "a name", "INT": "a number", "_NL": "a new line", "_INDENT": "an indented block",
    "_DEDENT": "the end of the block", "$END": "the end of the file", "COLON": "':'",
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "LBRACE": "'{'", "RBRACE": "'}'",
    "COMMA": "','", "EQUAL": "'='", "ASSIGN_OP": "'='", "COMP_OP": "a comparison", "DOT": "'.'",
    "SEMICOLON": "';'", "QMARK": "'?'", "ADD_OP": "'+' or '-'", "MUL_OP": "'*', '/', '%' or '&'",
    "MINUS": "'-'", "STAR": "'*'", "LESSTHAN": "'<'",
}

_EXPR_START = {"NAME", "INT", "LPAR", "LBRACE", "LSQB", "MINUS", "TRUE", "FALSE", "NONE", "SELF",
               "NOT", "ALL", "ANY"}


def _describe_token(tok: Token) -> str:
    if tok.type == "$END":
        return "the end of the file"
    if tok.type == "_NL":
        return "the end of the line"
    if tok.type == "_DEDENT":
        return "the end of the block"
    if tok.type == "_INDENT":
        return "an indented block"
    return f"'{tok.value}'"


def _describe_expected(names: set[str], parser: lark.Lark) -> str:
    words = []
    if names & _EXPR_START and len(names & _EXPR_START) >= 3:
        words.append("an expression")
        names = names - _EXPR_START
    for n in sorted(names):
        if n in _TOKEN_NAMES:
            words.append(_TOKEN_NAMES[n])
            continue
        try:
            term = parser.get_terminal(n)
            pat = term.pattern
            if pat.type == "str":
                words.append(f"'{pat.value}'")
                continue
        except KeyError:
            pass
        words.append(n.lower())
    words = sorted(set(words), key=lambda w: (w.startswith("'"), w))
    if len(words) > 6:
        words = words[:6] + ["..."]
    if len(words) == 1:
        return words[0]
    return "one of " + ", ".join(words)


def _syntax_error(e: UnexpectedInput, file: str, source: str, parser: lark.Lark) -> SpecError:
    if isinstance(e, UnexpectedCharacters):
        ch = source[e.pos_in_stream] if e.pos_in_stream < len(source) else "?"
        hints = []
        if ch == "\t":
            hints.append("indent with spaces")
        elif ch in "\"'":
            hints.append("the spec language has no strings: use an enum member or a number")
        elif ch == "!":
            hints.append("write `not x` for negation and `!=` for inequality")
        elif ch == "&" or ch == "|":
            hints.append("write `and` / `or` for booleans; sets use `+` (union), `-` and `&`")
        span = Span.point(file, e.line, e.column)
        return SpecError(Diagnostic("E101", f"unexpected character '{ch}'", span, hints), source)
    if isinstance(e, UnexpectedToken):
        empty = _empty_property(e, file)
        if empty is not None:
            return SpecError(empty, source)
        kw = _keyword_declared(e, source)
        if kw is not None:
            return SpecError(_keyword_diagnostic(kw, file), source)
        tok = e.token
        expected = set(e.expected) if e.expected else set()
        if tok.type == "$END" or (tok.type in ("_NL", "_DEDENT") and _unclosed(source)):
            lines = source.splitlines() or [""]
            span = Span.point(file, len(lines), len(lines[-1]) + 1)
            open_at = _unclosed(source)
            if open_at:
                ch, ln, cl = open_at
                closer = {"(": ")", "[": "]", "{": "}"}[ch]
                return SpecError(Diagnostic("E103", f"unexpected end of file: '{ch}' opened at {ln}:{cl} "
                                            f"is never closed", Span.point(file, ln, cl),
                                            [f"close it with '{closer}'"]), source)
            return SpecError(Diagnostic("E103", "unexpected end of file: "
                                        f"expected {_describe_expected(expected, parser)}", span), source)
        width = len(str(tok.value)) if tok.type not in ("_NL", "_INDENT", "_DEDENT") else 1
        line = tok.line or 1
        col = tok.column or 1
        if tok.type == "_NL":
            # point at the end of the line that stopped early
            lines = source.splitlines()
            prev = tok.line if tok.line and tok.line <= len(lines) else len(lines)
            line, col = prev, len(lines[prev - 1].rstrip()) + 1 if lines else 1
            width = 1
        span = Span.point(file, line, col, width)
        found = _describe_token(tok)
        hints: list[str] = []
        code = "E102"
        prev_tok = getattr(e, "state", None)
        prev_val = None
        try:
            prev_val = str(e.token_history[-1]) if e.token_history else None
        except Exception:
            prev_val = None
        exp_text = _describe_expected(expected, parser)
        kw_target = prev_val in keywords() and tok.value in ("=", "+=", "-=") and _starts_line(
            source, e.token_history[-1])
        if kw_target:
            # `if = 1`: a keyword where a statement expects a variable
            hints.append(f"'{prev_val}' is a keyword, so it cannot name a variable; rename it (e.g. `{prev_val}_`)")
        if "COLON" in expected and tok.type not in ("_NL",) and not (expected & {"ADD_OP", "COMP_OP"} and
                                                                      tok.type in ("ADD_OP", "COMP_OP")):
            msg = f"expected ':', found {found}"
            if tok.value in ("then", "do"):
                hints.append("write ':' and the block on the next lines, indented")
            if tok.value == "=":
                before = _line(source, line)[:col - 1]
                m = re.match(r"\s*((?:(?:const|var|ghost|durable)\s+)*)(\w+)\s*$", before)
                if m:
                    hints.append(f"a declaration names its type: `{m.group(1)}{m.group(2)}: int = ...` "
                                 f"(or the type it holds)")
        elif exp_text == "an expression" or (expected & _EXPR_START and len(expected & _EXPR_START) >= 3):
            code = "E104"
            after = f" after '{prev_val}'" if prev_val and prev_val.strip() else ""
            msg = f"expected an expression{after}, found {found}"
            if tok.value in ("then", "do", "end"):
                hints.append(f"'{tok.value}' is not a word of the language: blocks follow ':' on the next "
                             "lines, indented")
            if prev_val in ("=", "+=", "-="):
                hints.append("write a value, e.g. `votes = {}`")
            if prev_val == "&" and tok.value == "&":
                hints.append("write `and` for booleans; `&` is set intersection")
        else:
            msg = f"expected {exp_text}, found {found}"
        if tok.value == "=" and not kw_target:
            if "COMP_OP" in expected:
                hints.append("did you mean '=='?")
            elif "EQUAL" not in expected and not hints:
                hints.append("'=' assigns, and only as a statement; compare with '=='")
        if tok.type == "NAME" and tok.value in ("True", "False", "None"):
            hints.append(f"write `{tok.value.lower()}`")
        if tok.type == "_NL" and "COLON" in expected:
            hints.append("a block opens with ':' at the end of the line")
        if tok.type == "_INDENT":
            hints.append("this line is indented more than the one before, but no block was opened with ':'")
        del prev_tok
        return SpecError(Diagnostic(code, msg, span, hints), source)
    if isinstance(e, UnexpectedEOF):
        lines = source.splitlines() or [""]
        span = Span.point(file, len(lines), len(lines[-1]) + 1)
        return SpecError(Diagnostic("E103", "unexpected end of file", span), source)
    return SpecError(Diagnostic("E100", str(e).splitlines()[0], None), source)


def parse(source: str, file: str = "<spec>") -> A.Spec:
    """Parse spec text. Raises SpecError (E1xx) on any syntax problem, never anything else."""
    parser = _parser()
    text = source if source.endswith("\n") else source + "\n"
    try:
        tree = parser.parse(text)
    except UnexpectedInput as e:
        raise _syntax_error(e, file, source, parser) from None
    except _KeywordAsName as e:
        raise SpecError(_keyword_diagnostic(e.tok, file), source) from None
    except DedentError as e:
        line = _dedent_line(text)
        raise SpecError(Diagnostic("E105", "this line's indentation matches no enclosing block",
                                   Span.point(file, line, 1), ["indent it as far as a line above it"]),
                        source) from None
    except RecursionError:
        raise SpecError(Diagnostic("E107", "the spec nests too deeply to parse", Span.point(file, 1, 1)),
                        source) from None
    try:
        decls = _Build(file, text).transform(tree)
    except VisitError as e:
        if isinstance(e.orig_exc, SpecError):
            e.orig_exc.source = source
            raise e.orig_exc from None
        raise
    name = next((d.name for d in decls if isinstance(d, A.SpecName)), Path(file).stem)
    return A.Spec(Span(file, 1, 1, 1, 1), name, decls, file, source)


def _keyword_diagnostic(tok: Token, file: str, reserved: bool = False) -> Diagnostic:
    """E108: a keyword of the language, or a reserved word (RESERVED), where a name goes."""
    what, why = (("reserved word", "kept out of names (a word of other languages that slips in by mistake)")
                 if reserved else ("keyword", "a keyword of the language"))
    return Diagnostic("E108", f"expected a name, found the {what} '{tok}'",
                      Span.point(file, tok.line, tok.column, len(tok)),
                      [f"'{tok}' is {why}; rename it (e.g. `{tok}_`)"])


_DECL_MODS = re.compile(r"\s*((durable|ghost|var|const|bound)\s+)*$")
_TYPE_START = re.compile(r"\s*(int\b|bool\b|set\s*\[|map\s*\[|seq\s*\[|[0-9(]|[A-Z])")


def _keyword_declared(e: UnexpectedToken, source: str) -> Token | None:
    """`on: int = 0` in a process, `durable ghost: bool`: where a keyword may begin the line,
    the lexer reads it as the keyword and the parser stops at the ':'. The line declares
    something named by a keyword: the keyword is returned, to be reported as E108."""
    if e.token.type != "COLON" or "NAME" not in (e.expected or ()) or not e.token_history:
        return None
    kw = e.token_history[-1]
    if str(kw) not in keywords() or not kw.line or not kw.column:
        return None
    if e.token.line != kw.line:
        return None
    line = _line(source, kw.line)
    before, after = line[:kw.column - 1], line[e.token.column:]
    if not _DECL_MODS.fullmatch(before) or not _TYPE_START.match(after):
        return None
    return kw


def _empty_property(e: UnexpectedToken, file: str) -> Diagnostic | None:
    """`invariant Foo:` with nothing after the ':' nor indented below it. The parser notices
    only at the next line (or the end of the file); the diagnostic points at the property."""
    try:
        stack = e.interactive_parser.parser_state.value_stack
    except AttributeError:
        return None
    if len(stack) < 4 or e.token.type == "_INDENT":
        return None
    kind, name, colon, nl = stack[-4:]
    if not (isinstance(kind, lark.Tree) and kind.data == "prop_kind" and isinstance(name, Token)
            and name.type == "NAME" and isinstance(colon, Token) and colon.type == "COLON"
            and isinstance(nl, Token) and nl.type == "_NL"):
        return None
    k = str(kind.children[0])
    span = Span(file, name.line, name.column, colon.end_line or colon.line,
                colon.end_column or colon.column + 1)
    return Diagnostic("E104", f"{k} '{name}' has no condition", span,
                      [f"write the condition after the ':' (`{k} {name}: ...`) or on indented lines below it"])


def _starts_line(source: str, tok: Token) -> bool:
    """Is `tok` the first word on its line?"""
    return bool(tok.line) and not _line(source, tok.line)[:(tok.column or 1) - 1].strip()


def _line(source: str, n: int) -> str:
    """Line n (from 1) of the source; "" outside it."""
    lines = source.splitlines()
    return lines[n - 1] if 0 < n <= len(lines) else ""


def _unclosed(source: str):
    """The first bracket left open at the end of the text, as (char, line, col), or None."""
    stack = []
    for ln, line in enumerate(source.splitlines(), 1):
        for cl, ch in enumerate(line, 1):
            if ch == "#":
                break
            if ch in "([{":
                stack.append((ch, ln, cl))
            elif ch in ")]}" and stack:
                stack.pop()
    return stack[0] if stack else None


def _dedent_line(text: str) -> int:
    levels = [0]
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        ind = len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())
        if ind > levels[-1]:
            levels.append(ind)
        else:
            while levels and ind < levels[-1]:
                levels.pop()
            if not levels or levels[-1] != ind:
                return n
    return 1


def parse_file(path: str | Path) -> A.Spec:
    p = Path(path)
    try:
        source = p.read_text()
    except FileNotFoundError:
        raise SpecError(Diagnostic("E001", f"no such spec file '{p}'", None)) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as e:
        raise SpecError(Diagnostic("E001", f"cannot read spec file '{p}': {e.__class__.__name__}", None)) from None
    return parse(source, str(path))
