"""Fingerprints: what the visited set holds instead of states.

A state's fingerprint is a 64-bit integer: Python's `hash` of the state tuple (states are
tuples of ints, tuples and frozensets, whose hashes do not depend on PYTHONHASHSEED), or,
under symmetry reduction, the orbit's fingerprint from `symmetry.py`. Two different
states share a fingerprint only on a 64-bit hash collision (about one chance in 10^7 for
a few million states), as in TLC.

The visited set is a Python `set` of these ints: the lookup and the insert run in C, and
an entry costs about 60-80 bytes (the int and its slot), against several hundred for a
state. Parent links are kept beside it in `array('q')`s (8 bytes per state). This module
turns both into bytes and back, for checkpoints and for the messages between workers.
"""
from __future__ import annotations

from array import array
from typing import Any, Callable, Iterable

Fingerprint = Callable[[tuple], int]

# hash(-1) == hash(-2) in CPython (-1 is its error code), so two states that differ only
# by -1 against -2 somewhere have the same hash. A model whose states never hold a
# negative int cannot meet this; for the others, "safe" fingerprints hash a copy of the
# state in which every -1 is replaced by MINUS_ONE, whose hash is nobody else's.
MINUS_ONE = (0x5EED_F00D, 0x0E1EC7, 0x7FFF_FFFF_0001)    # ints only: the same hash in every process


def fingerprint_fn(canon, safe: Callable | None = None) -> Fingerprint:
    """The function from a state to its fingerprint: `hash`, or the orbit's fingerprint;
    `safe` (from `safe_hash`) replaces `hash` when states may hold -1."""
    if canon is None:
        return safe or hash
    if safe is not None and hasattr(canon, "with_hash"):
        return canon.with_hash(safe).fingerprint
    direct = getattr(canon, "fingerprint", None)
    if direct is not None:
        return direct
    return lambda s: hash(canon(s))


def _unminus(v: Any) -> Any:
    t = type(v)
    if t is int:
        return MINUS_ONE if v == -1 else v
    if t is tuple:
        return tuple(map(_unminus, v))
    if t is frozenset:
        return frozenset(map(_unminus, v))
    return v


class _Scan:
    """Generated code that tells whether a state holds an int satisfying `pred` (type-directed:
    only where the types allow negative ints)."""

    def __init__(self, model, neg: bool):
        self.model = model
        self.neg = neg
        self.n = 0

    def var(self) -> str:
        self.n += 1
        return f"v{self.n}"

    def scalar(self, x: str) -> str:
        return f"{x} < 0" if self.neg else f"{x} == -1"

    def code(self, t, x: str) -> str | None:
        from ..types import BoolT, EnumT, IdT, IntT, MapT, OptT, RecordT, SeqT, SetT, TupleT
        gen = self.model.gen
        if isinstance(t, (BoolT, EnumT)) or t is None:
            return None
        if isinstance(t, (IntT, IdT)):
            try:
                b = gen.bounds(t)
            except Exception:  # noqa: BLE001 - unknown bounds: assume the worst
                b = None
            if b is not None and b[0] >= 0:
                return None
            return self.scalar(x)
        if isinstance(t, OptT):
            inner = self.code(t.inner, x)
            return None if inner is None else f"({x} != () and {inner})"
        if isinstance(t, (TupleT, RecordT)):
            items = t.items if isinstance(t, TupleT) else tuple(y for _, y in t.fields)
            parts = [c for c in (self.code(it, f"{x}[{i}]") for i, it in enumerate(items)) if c]
            return "(" + " or ".join(parts) + ")" if parts else None
        if isinstance(t, (SetT, SeqT, MapT)):
            elem = t.val if isinstance(t, MapT) else t.elem
            return self.each(elem, x)
        return self.scalar(x) if isinstance(x, int) else None

    def each(self, elem, x: str) -> str | None:
        from ..types import IdT, IntT
        v = self.var()
        inner = self.code(elem, v)
        if inner is None:
            return None
        if isinstance(elem, (IntT, IdT)):
            return f"(min({x}, default=0) < 0)" if self.neg else f"(-1 in {x})"
        return f"any([{inner} for {v} in {x}])"

    def slot_scans(self) -> dict[int, str]:
        """slot index -> code scanning s<k> (the slot's value)."""
        m = self.model
        out = {}
        for k, sl in enumerate(m.layout.slots):
            x = f"s{k}"
            if sl.kind == "var":
                c = self.code(sl.ty, x)
            elif sl.kind == "field":
                c = self.each(sl.ty, x)
            elif sl.kind == "network":
                c = self.network(x)
            else:
                c = None       # ids of processes, fault budgets, the clock: never negative
            if c:
                out[k] = c
        return out

    def source(self) -> str | None:
        scans = self.slot_scans()
        if not scans:
            return None
        loads = "".join(f"    s{k} = s[{k}]\n" for k in scans)
        return "def scan(s):\n" + loads + "    return " + " or ".join(scans.values()) + "\n"

    # ---- the state with -1 replaced by MINUS_ONE (generated, slot by slot) ----
    def subst(self, t, x: str) -> str | None:
        from ..types import BoolT, EnumT, IdT, IntT, MapT, OptT, RecordT, SeqT, SetT, TupleT
        if t is None or isinstance(t, (BoolT, EnumT)):
            return None
        if isinstance(t, (IntT, IdT)):
            return None if self.code(t, x) is None else f"(M1 if {x} == -1 else {x})"
        if isinstance(t, OptT):
            inner = self.subst(t.inner, x)
            return None if inner is None else f"({x} if {x} == () else {inner})"
        if isinstance(t, (TupleT, RecordT)):
            items = t.items if isinstance(t, TupleT) else tuple(y for _, y in t.fields)
            parts = [self.subst(it, f"{x}[{i}]") for i, it in enumerate(items)]
            if all(p is None for p in parts):
                return None
            return "(" + ", ".join(p if p is not None else f"{x}[{i}]" for i, p in enumerate(parts)) + ",)"
        if isinstance(t, (SetT, SeqT, MapT)):
            elem = t.val if isinstance(t, MapT) else t.elem
            v = self.var()
            inner = self.subst(elem, v)
            if inner is None:
                return None
            return f"{'frozenset' if isinstance(t, SetT) else 'tuple'}([{inner} for {v} in {x}])"
        return None

    def subst_slot(self, k: int) -> str:
        m = self.model
        sl = m.layout.slots[k]
        x = f"s{k}"
        if sl.kind == "var":
            return self.subst(sl.ty, x) or x
        if sl.kind == "field":
            v = self.var()
            inner = self.subst(sl.ty, v)
            return f"tuple([{inner} for {v} in {x}])" if inner else x
        # the network: envelopes (or fifo messages) with their int fields replaced
        tags = m.gen.tags
        fifo = m.config.network == "fifo"
        off = 1 if fifo else 3
        expr = "e"
        for name, mi in sorted(m.spec.messages.items(), reverse=True):
            n = len(mi.ty.fields)
            parts = [self.subst(ft, f"e[{off + i}]") for i, (_, ft) in enumerate(mi.ty.fields)]
            if all(p is None for p in parts):
                continue
            code = ("(" + ", ".join([f"e[{i}]" for i in range(off)] +
                                    [p if p is not None else f"e[{off + i}]" for i, p in enumerate(parts)])
                    + f",) + e[{off + n}:]")
            expr = f"({code} if e[0] == {tags[name]} else {expr})"
        if fifo:
            return f"tuple([tuple([{expr} for e in q]) for q in {x}])"
        return f"frozenset([{expr} for e in {x}])"

    def safe_source(self) -> str | None:
        scans = self.slot_scans()
        if not scans:
            return None
        n = len(self.model.layout.slots)
        lines = ["def safe(s):"]
        for k, c in scans.items():
            lines.append(f"    s{k} = s[{k}]")
            lines.append(f"    a{k} = {c}")
        lines.append(f"    if not ({' or '.join(f'a{k}' for k in scans)}):")
        lines.append("        return HASH(s)")
        parts = []
        for k in range(n):
            parts.append(f"({self.subst_slot(k)} if a{k} else s{k})" if k in scans else f"s[{k}]")
        lines.append("    return HASH((" + ", ".join(parts) + ",))")
        return "\n".join(lines) + "\n"

    def network(self, x: str) -> str | None:
        m = self.model
        tags = m.gen.tags
        fifo = m.config.network == "fifo"
        off = 1 if fifo else 3
        conds = []
        for name, mi in sorted(m.spec.messages.items()):
            fs = [c for c in (self.code(ft, f"e[{off + i}]") for i, (_, ft) in enumerate(mi.ty.fields)) if c]
            if fs:
                conds.append(f"(e[0] == {tags[name]} and ({' or '.join(fs)}))")
        if not conds:
            return None
        body = " or ".join(conds)
        if fifo:
            return f"any([{body} for q in {x} for e in q])"
        return f"any([{body} for e in {x}])"


def _negative_value(v: Any) -> bool:
    if isinstance(v, dict):
        return _negative_value(tuple(v.items()))
    if isinstance(v, (tuple, frozenset, set, list)):
        return any(map(_negative_value, v))
    return type(v) is int and v < 0


def never_negative(model) -> bool:
    """True when no state of the model can hold a negative int, whatever its types say: the
    spec has no minus (no `-x`, and `a - b` and `-=` only on sets) and no constant is given a
    negative value. Every int a state holds is then built from non-negative literals and
    constants, ids, sizes, `+ * / % &`, min, max and abs, which stay non-negative."""
    from ..dsl import ast as A
    from ..types import SetT
    if any(_negative_value(v) for v in model.config.consts.values()):
        return False
    for n in A.nodes(model.spec.ast):
        if isinstance(n, A.Unary) and n.op == "-":
            return False
        if isinstance(n, A.Binary) and n.op == "-" and not isinstance(getattr(n, "ty", None), SetT):
            return False
        if isinstance(n, A.Assign) and n.op == "-=" and not (isinstance(getattr(n.target, "ty", None), SetT) or
                                                             isinstance(getattr(n.value, "ty", None), SetT)):
            return False
    return True


def scanner(model, neg: bool = True) -> Callable[[tuple], bool] | None:
    """f(state) -> does it hold a negative int (neg) / a -1 (not neg); None when the model's
    types or its spec (`never_negative`) rule that out."""
    if never_negative(model):
        return None
    src = _Scan(model, neg).source()
    if src is None:
        return None
    ns: dict[str, Any] = {}
    exec(compile(src, "<elect fingerprint scan>", "exec"), ns)
    return ns["scan"]


def safe_hash(model) -> Callable[[tuple], int]:
    """hash(s), except that a state holding -1 is hashed with MINUS_ONE in its place
    (only the slots that hold one are rebuilt)."""
    src = _Scan(model, neg=False).safe_source()
    if src is None:
        return hash
    ns: dict[str, Any] = {"M1": MINUS_ONE, "HASH": hash}
    exec(compile(src, "<elect safe fingerprint>", "exec"), ns)
    return ns["safe"]


def owner(h: int, workers: int) -> int:
    """The worker that owns fingerprint h (the same in every process)."""
    return (h >> 7) % workers


def to_array(fps: Iterable[int]) -> array:
    a = array("q")
    a.extend(fps)
    return a


def dump_set(seen: set[int]) -> bytes:
    return to_array(seen).tobytes()


def load_set(data: bytes) -> set[int]:
    a = array("q")
    a.frombytes(data)
    return set(a)


def load_array(data: bytes, code: str = "q") -> array:
    a = array(code)
    a.frombytes(data)
    return a
