"""Symmetry reduction: one fingerprint per orbit of states under permutations of ids.

A `symmetric` id type may only be compared with ==/!= and used as a key or a set element
(the type checker enforces it), so renaming its ids maps runs to runs and keeps every
property's truth. The canonical fingerprint of a state is the least hash over the images
of the state under every permutation of every symmetric type: the same number for every
state of one orbit, so `distinct` counts orbits. (Two orbits share it only on a 64-bit
hash collision, as with any fingerprint.)

Permuting is type-directed: a field slot indexed by a symmetric process id has its
positions permuted and its values renamed; envelopes rename src, dst and fields; `down`
renames its members; a partition is renamed and then stored, as always, as the side
holding the lowest id.

Trying every permutation costs n! per state; above `MAX_PERMUTATIONS` the reduction is
switched off for that type (counting more states, never merging states of different
orbits).
"""
from __future__ import annotations

import itertools
from typing import Callable

from ..model import Model
from ..types import IdT, MapT, OptT, RecordT, SeqT, SetT, TupleT, Ty

MAX_PERMUTATIONS = 720   # 6!


def _value_fn(t: Ty, sym: set[str], model: Model) -> Callable | None:
    """f(value, perm) renaming symmetric ids inside a value of type t; None if t has none."""
    if isinstance(t, IdT):
        if t.name in sym:
            return lambda v, p: p[v]
        return None
    if isinstance(t, OptT):
        f = _value_fn(t.inner, sym, model)
        if f is None:
            return None
        return lambda v, p: v if v == () else f(v, p)
    if isinstance(t, (TupleT, RecordT)):
        items = t.items if isinstance(t, TupleT) else tuple(x for _, x in t.fields)
        fs = [_value_fn(x, sym, model) for x in items]
        if all(f is None for f in fs):
            return None
        return lambda v, p: tuple(v[i] if f is None else f(v[i], p) for i, f in enumerate(fs))
    if isinstance(t, SetT):
        f = _value_fn(t.elem, sym, model)
        if f is None:
            return None
        return lambda v, p: frozenset(f(x, p) for x in v)
    if isinstance(t, SeqT):
        f = _value_fn(t.elem, sym, model)
        if f is None:
            return None
        return lambda v, p: tuple(f(x, p) for x in v)
    if isinstance(t, MapT):
        fv = _value_fn(t.val, sym, model)
        if isinstance(t.key, IdT) and t.key.name in sym:
            lo, hi = model.gen.ids[t.key.name]
            n = hi - lo + 1
            if fv is None:
                return lambda v, p: tuple(v[p.inv[lo + j] - lo] for j in range(n))
            return lambda v, p: tuple(fv(v[p.inv[lo + j] - lo], p) for j in range(n))
        if fv is None:
            return None
        return lambda v, p: tuple(fv(x, p) for x in v)
    return None


class Perm(dict):
    """id -> id, with its inverse."""
    def __init__(self, mapping):
        super().__init__(mapping)
        self.inv = {v: k for k, v in mapping.items()}

    def __missing__(self, k):
        return k


def canonicalizer(model: Model) -> Callable | None:
    ts = model.spec
    sym = {name for name, t in ts.idtypes.items() if t.symmetric}
    groups = []
    for name in sorted(sym):
        lo, hi = model.gen.ids[name]
        ids = list(range(lo, hi + 1))
        n_perm = 1
        for k in range(2, len(ids) + 1):
            n_perm *= k
        if n_perm > MAX_PERMUTATIONS:
            sym.discard(name)
            continue
        groups.append([dict(zip(ids, perm)) for perm in itertools.permutations(ids)])
    if not groups:
        return None
    perms = []
    for combo in itertools.product(*groups):
        m: dict[int, int] = {}
        for g in combo:
            m.update(g)
        if all(k == v for k, v in m.items()):
            continue
        perms.append(Perm(m))
    L = model.layout
    slot_fns: list[tuple[int, Callable]] = []
    for k, sl in enumerate(L.slots):
        if sl.kind == "var":
            f = _value_fn(sl.ty, sym, model)
            if f:
                slot_fns.append((k, f))
        elif sl.kind == "field":
            fv = _value_fn(sl.ty, sym, model)
            if sl.proc in sym:
                lo, hi = model.gen.ids[sl.proc]
                n = hi - lo + 1
                if fv is None:
                    slot_fns.append((k, (lambda lo, n: lambda v, p: tuple(v[p.inv[lo + j] - lo] for j in range(n)))(lo, n)))
                else:
                    slot_fns.append((k, (lambda lo, n, fv: lambda v, p: tuple(fv(v[p.inv[lo + j] - lo], p)
                                                                            for j in range(n)))(lo, n, fv)))
            elif fv is not None:
                slot_fns.append((k, (lambda fv: lambda v, p: tuple(fv(x, p) for x in v))(fv)))
        elif sl.kind == "network":
            slot_fns.append((k, _network_fn(model, sym)))
        elif sl.kind == "down":
            slot_fns.append((k, lambda v, p: frozenset(p[x] for x in v)))
        elif sl.kind == "partition":
            first = model.gen.all_ids[0]
            everyone = frozenset(model.gen.all_ids)

            def part(v, p, first=first, everyone=everyone):
                if not v:
                    return v
                w = frozenset(p[x] for x in v)
                return w if first in w else everyone - w
            slot_fns.append((k, part))
    n_slots = len(L.slots)

    def canon_hash(s: tuple) -> int:
        best = hash(s)
        for p in perms:
            lst = list(s)
            for k, f in slot_fns:
                lst[k] = f(s[k], p)
            h = hash(tuple(lst))
            if h < best:
                best = h
        return best

    # the explorer calls fp = hash(canon(s)); return an object whose hash is the orbit's
    return lambda s: _Fingerprint(canon_hash(s))


class _Fingerprint:
    __slots__ = ("h",)

    def __init__(self, h: int):
        self.h = h

    def __hash__(self) -> int:
        return self.h


def _network_fn(model: Model, sym: set[str]):
    ts = model.spec
    cfg = model.config
    tags = model.gen.tags
    per_tag = {}
    for name, mi in ts.messages.items():
        fs = [_value_fn(ft, sym, model) for _, ft in mi.ty.fields]
        src_sym = mi.sender in sym if mi.sender else False
        dst_sym = mi.receiver in sym if mi.receiver else False
        per_tag[tags[name]] = (fs, src_sym, dst_sym)

    def env(e, p):
        fs, ss, ds = per_tag[e[0]]
        out = [e[0], p[e[1]] if ss else e[1], p[e[2]] if ds else e[2]]
        for i, f in enumerate(fs):
            x = e[3 + i]
            out.append(x if f is None else f(x, p))
        out.extend(e[3 + len(fs):])
        return tuple(out)

    if cfg.network == "fifo":
        keys = model.ns["FIFO_KEYS"]
        index = {k: i for i, k in enumerate(keys)}

        def fifo(v, p):
            out = [()] * len(v)
            for (src, dst), q in zip(keys, v):
                if q:
                    newq = tuple(env((m[0], src, dst) + m[1:], p) for m in q)
                    ns, nd = newq[0][1], newq[0][2]
                    out[index[(ns, nd)]] = tuple((m[0],) + m[3:] for m in newq)
            return tuple(out)
        return fifo
    return lambda v, p: frozenset(env(e, p) for e in v)
