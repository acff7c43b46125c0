"""Hand-written helpers that generated model code calls (kept apart from the generator).

States are tuples of immutable values: ints, bools, tuples and frozensets. An absent
optional is `()`, never `None` (whose hash is its address, so set order would change from
run to run). Multiset networks keep each copy of an envelope as its own member, with
the copy number as the last item: (tag, src, dst, fields..., k), k = 1, 2, ...
"""
from __future__ import annotations

from .diagnostics import EvalError

NONE = ()


def setat(t: tuple, i: int, v) -> tuple:
    return t[:i] + (v,) + t[i + 1:]


def ms_add(net: frozenset, env: tuple) -> frozenset:
    """Add one copy of `env` (without copy number) to a multiset network."""
    k = 1
    e = env + (k,)
    while e in net:
        k += 1
        e = env + (k,)
    return net | {e}


def ms_count(net: frozenset, env: tuple) -> int:
    """How many copies of `env` a multiset network holds (copies are numbered 1, 2, ...)."""
    k = 0
    while env + (k + 1,) in net:
        k += 1
    return k


def ms_add_many(net: frozenset, envs) -> frozenset:
    new = set(net)
    for env in envs:
        k = 1
        e = env + (k,)
        while e in new:
            k += 1
            e = env + (k,)
        new.add(e)
    return frozenset(new)


def ms_remove(net: frozenset, e: tuple) -> frozenset:
    """Remove one copy of the envelope whose first copy is `e` (keeps copy numbers dense)."""
    base = e[:-1]
    k = 2
    while base + (k,) in net:
        k += 1
    return net - {base + (k - 1,)}


def fifo_push(net: tuple, ch: int, msg: tuple) -> tuple:
    return net[:ch] + (net[ch] + (msg,),) + net[ch + 1:]


def fifo_pop(net: tuple, ch: int) -> tuple:
    return net[:ch] + (net[ch][1:],) + net[ch + 1:]


def check_range(v, lo, hi, sid):
    if lo <= v <= hi:
        return v
    raise EvalError("E501", f"value {v} is outside its declared range {lo}..{hi}", sid,
                    "widen the range in the declaration, or add a guard that stops the step")


def check_members(s, lo, hi, sid):
    """check_range for every member of a set stored where the members are ranged."""
    for v in s:
        if not lo <= v <= hi:
            check_range(min(x for x in s if not lo <= x <= hi), lo, hi, sid)   # the least, as text is stable
    return s


def check_tuple(v, checks, sid):
    """check_range for the ranged components of a tuple (checks: (index, lo, hi) each); an
    optional tuple that is none passes."""
    if v == NONE:
        return v
    for i, lo, hi in checks:
        check_range(v[i], lo, hi, sid)
    return v


def check_range_opt(v, lo, hi, sid):
    """check_range for an optional ranged int: none passes."""
    if v == NONE:
        return v
    return check_range(v, lo, hi, sid)


def check_id(v, lo, hi, kind, sid):
    """A number used as the id of a process of an ordered id type."""
    if lo <= v <= hi:
        return v
    raise EvalError("E506", f"there is no {kind} {v}: {kind} ids are {lo}..{hi}", sid,
                    "guard the step so that it sends only to existing processes")


def check_key(k, lo, hi, sid):
    if lo <= k <= hi:
        return k - lo
    raise EvalError("E503", f"key {k} is not in the map's domain {lo}..{hi}", sid)


def div(a, b, sid):
    if b == 0:
        raise EvalError("E502", "division by zero", sid, "test that the divisor is not 0 first")
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def mod(a, b, sid):
    if b == 0:
        raise EvalError("E502", "modulo by zero", sid, "test that the divisor is not 0 first")
    return a - b * div(a, b, sid)


def smin(s, sid):
    if not s:
        raise EvalError("E504", "min of an empty set", sid, "test `size(s) > 0` first")
    return min(s)


def smax(s, sid):
    if not s:
        raise EvalError("E504", "max of an empty set", sid, "test `size(s) > 0` first")
    return max(s)


def head(q, sid):
    if not q:
        raise EvalError("E505", "head of an empty sequence", sid, "test `len(q) > 0` first")
    return q[0]


def last(q, sid):
    if not q:
        raise EvalError("E505", "last of an empty sequence", sid, "test `len(q) > 0` first")
    return q[-1]


def seq_at(q, i, sid):
    if 0 <= i < len(q):
        return q[i]
    raise EvalError("E505", f"index {i} is outside the sequence (length {len(q)})", sid)


def seq_set(q, i, v, sid):
    if 0 <= i < len(q):
        return q[:i] + (v,) + q[i + 1:]
    raise EvalError("E505", f"index {i} is outside the sequence (length {len(q)})", sid)


def ordered_iter(s):
    """Deterministic iteration order for a set value (sorted when the elements allow it)."""
    try:
        return sorted(s)
    except TypeError:
        return sorted(s, key=repr)



