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
from typing import Callable, Iterable

Fingerprint = Callable[[tuple], int]


def fingerprint_fn(canon) -> Fingerprint:
    """The function from a state to its fingerprint: `hash`, or the orbit's fingerprint."""
    if canon is None:
        return hash
    direct = getattr(canon, "fingerprint", None)
    if direct is not None:
        return direct
    return lambda s: hash(canon(s))


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
