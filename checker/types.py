"""Semantic types of the spec language, shared by the type checker, the compiler and the
symbolic encoder.

Integer ranges and id-type bounds are kept as syntax (they depend on constants that a
model may override) and evaluated when a model is compiled. Ids of a non-symmetric id
type behave as integers; ids of a `symmetric` type may only be compared with ==/!= and
used as keys or set elements, which is what makes permuting them sound.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Ty:
    def show(self) -> str:
        return "?"

    def __str__(self) -> str:
        return self.show()


@dataclass(frozen=True, eq=False)
class IntT(Ty):
    lo: Any = None      # ast.Expr or None (unbounded)
    hi: Any = None

    def __eq__(self, o):
        return isinstance(o, IntT)

    def __hash__(self):
        return hash("int")

    def show(self):
        return "int"


@dataclass(frozen=True)
class BoolT(Ty):
    def show(self):
        return "bool"


@dataclass(frozen=True)
class EnumT(Ty):
    name: str
    members: tuple[str, ...]

    def show(self):
        return self.name


@dataclass(frozen=True, eq=False)
class IdT(Ty):
    name: str
    lo: Any = None
    hi: Any = None
    symmetric: bool = False

    def __eq__(self, o):
        return isinstance(o, IdT) and o.name == self.name

    def __hash__(self):
        return hash(("id", self.name))

    def show(self):
        return self.name


@dataclass(frozen=True)
class OptT(Ty):
    inner: Ty

    def show(self):
        return f"{self.inner.show()}?"


@dataclass(frozen=True)
class TupleT(Ty):
    items: tuple[Ty, ...]

    def show(self):
        return "(" + ", ".join(t.show() for t in self.items) + ")"


@dataclass(frozen=True)
class RecordT(Ty):
    name: str
    fields: tuple[tuple[str, Ty], ...]

    def field_index(self, name: str) -> int | None:
        for i, (n, _) in enumerate(self.fields):
            if n == name:
                return i
        return None

    def show(self):
        return self.name


@dataclass(frozen=True)
class MsgT(RecordT):
    def show(self):
        return f"message {self.name}"


@dataclass(frozen=True)
class SetT(Ty):
    elem: Ty

    def show(self):
        return f"set[{self.elem.show()}]"


@dataclass(frozen=True)
class MapT(Ty):
    key: Ty
    val: Ty

    def show(self):
        return f"map[{self.key.show()}, {self.val.show()}]"


@dataclass(frozen=True)
class SeqT(Ty):
    elem: Ty

    def show(self):
        return f"seq[{self.elem.show()}]"


@dataclass(frozen=True)
class NoneT(Ty):
    def show(self):
        return "none"


@dataclass(frozen=True)
class EmptyT(Ty):
    """The type of `{}` before its context says whether it is a set or a map."""
    def show(self):
        return "{}"


@dataclass(frozen=True)
class AnyT(Ty):
    """Stands in after an error so one mistake is reported once."""
    def show(self):
        return "?"


INT = IntT()
BOOL = BoolT()
NONE = NoneT()
EMPTY = EmptyT()
ANY = AnyT()


def assignable(target: Ty, source: Ty) -> bool:
    """Can a value of type `source` be stored where `target` is expected?"""
    if isinstance(source, AnyT) or isinstance(target, AnyT):
        return True
    if isinstance(target, OptT):
        if isinstance(source, NoneT):
            return True
        if isinstance(source, OptT):
            return assignable(target.inner, source.inner)
        return assignable(target.inner, source)
    if isinstance(target, IntT):
        return isinstance(source, IntT) or (isinstance(source, IdT) and not source.symmetric)
    if isinstance(target, IdT):
        if isinstance(source, IdT):
            return source.name == target.name
        return isinstance(source, IntT) and not target.symmetric
    if isinstance(target, (SetT, MapT)) and isinstance(source, EmptyT):
        return True
    if isinstance(target, SetT) and isinstance(source, SetT):
        return assignable(target.elem, source.elem) and (
            not isinstance(target.elem, IdT) or not isinstance(source.elem, IntT) or not target.elem.symmetric)
    if isinstance(target, SeqT) and isinstance(source, SeqT):
        return assignable(target.elem, source.elem) or isinstance(source.elem, AnyT)
    if isinstance(target, MapT) and isinstance(source, MapT):
        return assignable(target.key, source.key) and assignable(target.val, source.val)
    if isinstance(target, TupleT) and isinstance(source, TupleT):
        return len(target.items) == len(source.items) and all(
            assignable(a, b) for a, b in zip(target.items, source.items))
    return target == source


def join(a: Ty, b: Ty) -> Ty | None:
    """The least type holding both (for `{none, c}`, branches of `x if c else y`)."""
    if isinstance(a, AnyT):
        return b
    if isinstance(b, AnyT):
        return a
    if isinstance(a, NoneT) and isinstance(b, NoneT):
        return a
    if isinstance(a, NoneT):
        return b if isinstance(b, OptT) else OptT(b)
    if isinstance(b, NoneT):
        return a if isinstance(a, OptT) else OptT(a)
    if isinstance(a, OptT) or isinstance(b, OptT):
        ia = a.inner if isinstance(a, OptT) else a
        ib = b.inner if isinstance(b, OptT) else b
        j = join(ia, ib)
        return OptT(j) if j is not None else None
    if isinstance(a, EmptyT) and isinstance(b, (SetT, MapT, EmptyT)):
        return b
    if isinstance(b, EmptyT) and isinstance(a, (SetT, MapT)):
        return a
    if isinstance(a, IntT) and isinstance(b, IntT):
        return INT
    if isinstance(a, IdT) and isinstance(b, IntT) and not a.symmetric:
        return a
    if isinstance(b, IdT) and isinstance(a, IntT) and not b.symmetric:
        return b
    if isinstance(a, SetT) and isinstance(b, SetT):
        j = join(a.elem, b.elem)
        return SetT(j) if j is not None else None
    if isinstance(a, TupleT) and isinstance(b, TupleT) and len(a.items) == len(b.items):
        items = [join(x, y) for x, y in zip(a.items, b.items)]
        return None if any(i is None for i in items) else TupleT(tuple(items))
    if isinstance(a, SeqT) and isinstance(b, SeqT):
        j = join(a.elem, b.elem)
        return SeqT(j) if j is not None else None
    if a == b:
        return a
    return None


def comparable(a: Ty, b: Ty) -> bool:
    """May a == b be asked? (Optional against its inner type and none included.)"""
    return join(a, b) is not None


def ordered(t: Ty) -> bool:
    """May values of t be ordered with < (ints, non-symmetric ids, tuples/records of those)?"""
    if isinstance(t, (IntT, AnyT)):
        return True
    if isinstance(t, IdT):
        return not t.symmetric
    if isinstance(t, EnumT):
        return True
    if isinstance(t, TupleT):
        return all(ordered(x) for x in t.items)
    if isinstance(t, RecordT):
        return all(ordered(x) for _, x in t.fields)
    return False


def unsymmetric(t: Ty) -> Ty:
    """t with every symmetric id type made an ordered one (to tell a comparison refused only
    because of symmetry)."""
    if isinstance(t, IdT):
        return IdT(t.name, t.lo, t.hi, False) if t.symmetric else t
    if isinstance(t, SetT):
        return SetT(unsymmetric(t.elem))
    if isinstance(t, SeqT):
        return SeqT(unsymmetric(t.elem))
    if isinstance(t, OptT):
        return OptT(unsymmetric(t.inner))
    if isinstance(t, TupleT):
        return TupleT(tuple(unsymmetric(x) for x in t.items))
    if isinstance(t, MapT):
        return MapT(unsymmetric(t.key), unsymmetric(t.val))
    return t


def mentions_symmetric(t: Ty) -> str | None:
    """The name of a symmetric id type inside t, if any."""
    if isinstance(t, IdT):
        return t.name if t.symmetric else None
    for sub in children(t):
        n = mentions_symmetric(sub)
        if n:
            return n
    return None


def children(t: Ty) -> list[Ty]:
    if isinstance(t, OptT):
        return [t.inner]
    if isinstance(t, TupleT):
        return list(t.items)
    if isinstance(t, RecordT):
        return [x for _, x in t.fields]
    if isinstance(t, SetT):
        return [t.elem]
    if isinstance(t, SeqT):
        return [t.elem]
    if isinstance(t, MapT):
        return [t.key, t.val]
    return []


def is_finite_key(t: Ty) -> bool:
    return isinstance(t, (BoolT, EnumT, IdT)) or (isinstance(t, IntT) and t.lo is not None)
