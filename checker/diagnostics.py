"""Diagnostics: the one place that renders an error.

A `Diagnostic` is data first (a code, a span, a message, hints, notes) and text second:
`render()` gives the `file:line:col: error[E104]: ...` line, the source line with carets
under the span, then `hint:` and `note:` lines. `SpecError` carries one or more
diagnostics up to the command line, which renders them and exits 1.

Code ranges: E1xx syntax, E2xx names, E3xx types and symmetry, E4xx models and command
line values, E5xx evaluation (a value out of its range, division by zero), found while
exploring and reported with the trace that led there.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    file: str
    line: int          # 1-based
    col: int           # 1-based
    end_line: int
    end_col: int       # 1-based, exclusive

    @staticmethod
    def point(file: str, line: int, col: int, width: int = 1) -> "Span":
        return Span(file, line, col, line, col + max(width, 1))

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass
class Diagnostic:
    code: str
    message: str
    span: Span | None = None
    hints: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    severity: str = "error"

    def render(self, source: str | None = None) -> str:
        where = f"{self.span}: " if self.span else ""
        out = [f"{where}{self.severity}[{self.code}]: {self.message}"]
        if self.span and source is not None:
            lines = source.splitlines()
            if 1 <= self.span.line <= len(lines):
                text = lines[self.span.line - 1].expandtabs(4)
                num = str(self.span.line)
                gutter = " " * len(num)
                out.append(f"  {num} | {text}")
                start = self.span.col
                if self.span.end_line == self.span.line:
                    end = max(self.span.end_col, start + 1)
                else:
                    end = max(len(text) + 1, start + 1)
                end = min(end, max(len(text) + 1, start + 1))
                out.append(f"  {gutter} | {' ' * (start - 1)}{'^' * (end - start)}")
        for h in self.hints:
            out.append(f"  hint: {h}")
        for n in self.notes:
            out.append(f"  note: {n}")
        return "\n".join(out)


class SpecError(Exception):
    """One or more diagnostics about a spec, a model choice or a command-line value."""

    def __init__(self, diagnostics: Diagnostic | list[Diagnostic], source: str | None = None):
        self.diagnostics = diagnostics if isinstance(diagnostics, list) else [diagnostics]
        self.source = source
        super().__init__(self.diagnostics[0].message)

    @property
    def code(self) -> str:
        return self.diagnostics[0].code

    @property
    def span(self) -> Span | None:
        return self.diagnostics[0].span

    def render(self) -> str:
        return "\n".join(d.render(self.source) for d in self.diagnostics)


def error(code: str, message: str, span: Span | None = None, hint: str | None = None,
          note: str | None = None) -> SpecError:
    return SpecError(Diagnostic(code, message, span, [hint] if hint else [], [note] if note else []))


class EvalError(Exception):
    """An E5xx problem found while exploring: raised by generated code, given a span and
    the trace that led there by the explorer."""

    def __init__(self, code: str, message: str, span: Span | None = None, hint: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.span = span
        self.hint = hint
        self.trace = None

    def diagnostic(self) -> Diagnostic:
        return Diagnostic(self.code, self.message, self.span, [self.hint] if self.hint else [])

    def render(self) -> str:
        """The diagnostic with the source line it points at (read from the span's file)."""
        src = None
        if self.span is not None:
            try:
                with open(self.span.file) as f:
                    src = f.read()
            except OSError:
                src = None
        return self.diagnostic().render(src)


def span_text(source: str, sp: Span) -> str:
    """The source text a span covers, on one line: the lines of a multi-line span are
    joined by single spaces and a line continuation (a trailing backslash) is dropped."""
    lines = source.splitlines()
    if sp.line == sp.end_line:
        return lines[sp.line - 1][sp.col - 1:sp.end_col - 1].strip()
    parts = [lines[sp.line - 1][sp.col - 1:]]
    parts += [lines[i - 1] for i in range(sp.line + 1, sp.end_line)]
    parts.append(lines[sp.end_line - 1][:sp.end_col - 1])
    parts = [p.strip().removesuffix("\\").strip() for p in parts]
    return " ".join(p for p in parts if p)
