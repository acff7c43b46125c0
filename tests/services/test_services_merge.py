"""The merge of per-process records into one causally ordered trace (merge.py)."""
from __future__ import annotations

import pytest

from reference.services.merge import MergeError, merge


def rec(node, wall, kind, pos=None, **inp):
    r = {"node": node, "wall": wall, "input": {"kind": kind, **inp}, "state": {}, "effects": []}
    if pos:
        r["pos"] = pos
    return r


def kinds(out):
    return [(r["node"], r["input"]["kind"]) for r in out]


def test_message_edges_override_wall_and_clock_is_lamport():
    # the resource's clock ran "fast": its decision is stamped before the client's write
    out = merge([rec(1, 1.0, "write", id=7, token=3),
                 rec("resource", 0.9, "accept", **{"from": 1, "id": 7, "token": 3, "stale": False}),
                 rec(1, 1.2, "write_result", id=7, token=3, accepted=True, highest=3)])
    assert kinds(out) == [(1, "write"), ("resource", "accept"), (1, "write_result")]
    assert [r["seq"] for r in out] == [1, 2, 3]
    assert [r["clock"] for r in out] == [1, 2, 3]


def test_service_order_places_reads_and_expiries():
    # A's session expiry (zxid 10) is seen late (wall 5.0); B's elected read zxid 10
    recs = [rec(1, 1.0, "campaign", {"write": 4}, token=0),
            rec(2, 1.1, "campaign", {"write": 6}, token=1),
            rec("service", 5.0, "expire", {"write": 10}, client=1, session="0x1", tokens=[0]),
            rec(2, 4.5, "elected", {"read": 10}, token=1),
            rec(3, 4.0, "campaign", {"write": 12}, token=2),
            rec(1, 6.0, "session_lost", session="0x1")]
    recs[2]["_wall_estimate"] = True
    out = merge(recs)
    assert kinds(out) == [(1, "campaign"), (2, "campaign"), ("service", "expire"), (2, "elected"),
                          (3, "campaign"), (1, "session_lost")]
    # the estimate is pulled back to the earliest wall that must follow it
    assert out[2]["wall"] == 4.0


def test_program_order_by_wall_within_a_lane():
    out = merge([rec(1, 2.0, "resume"), rec(1, 1.0, "pause", **{"for": 1.0}), rec(1, 3.0, "write", id=1, token=0)])
    assert kinds(out) == [(1, "pause"), (1, "resume"), (1, "write")]


def test_lost_after_the_expiry_it_reports():
    out = merge([rec("service", 3.0, "expire", {"write": 5}, client=1, session="L", tokens=[2]),
                 rec(1, 2.9, "lease_lost", session="L", reason="expired")])
    assert kinds(out) == [("service", "expire"), (1, "lease_lost")]
    # a local deadline is not caused by the server: wall decides
    out = merge([rec("service", 3.0, "expire", {"write": 5}, client=1, session="L", tokens=[2]),
                 rec(1, 2.9, "lease_lost", session="L", reason="deadline")])
    assert kinds(out) == [(1, "lease_lost"), ("service", "expire")]


def test_contradiction_names_a_cycle():
    recs = [rec(1, 1.0, "elected", {"read": 3}, token=1),      # read before write 5 ...
            rec(1, 2.0, "campaign", {"write": 2}, token=9),   # ... but a later record is write 2
            rec(2, 0.5, "campaign", {"write": 5}, token=4)]
    recs[2]["pos"] = {"write": 3}
    with pytest.raises(MergeError) as e:
        merge(recs)
    assert "a cycle of happens-before edges" in str(e.value)
    assert "1 elected" in str(e.value) and "1 campaign" in str(e.value)


def test_deterministic_tie_break():
    a = [rec(2, 1.0, "start"), rec(1, 1.0, "start"), rec("resource", 1.0, "accept",
                                                          **{"from": 9, "id": 1, "token": 0, "stale": False})]
    assert kinds(merge(a)) == [(1, "start"), (2, "start"), ("resource", "accept")]
