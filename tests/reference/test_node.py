"""The node protocol shared by every reference implementation."""
from __future__ import annotations

import pytest

from reference.node import (PROTOCOLS, CancelTimer, Output, Persist, Send, SetTimer, load,
                            effect_json, parse_algo)

ALL = [f"{p}:{v}" if v else p for p in sorted(PROTOCOLS) for v in load(p)[0].VARIANTS]


def test_every_protocol_loads_with_its_variants():
    assert sorted(PROTOCOLS) == ["bully", "paxos", "raft", "ring"]
    assert "raft:volatile-vote" in ALL and "bully:no-answer-wait" in ALL
    assert "paxos:minority-quorum" in ALL and "ring:lcr" in ALL
    assert parse_algo("raft:double-vote") == ("raft", "double-vote")
    assert parse_algo("lcr") == ("ring", "lcr") and load("lcr")[1] == "lcr"


def test_unknown_protocol_and_variant_name_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown protocol 'zab' \(known: bully, paxos, raft, ring\)"):
        load("zab")
    with pytest.raises(ValueError, match=r"unknown variant 'nope' of raft \(known: raft, "
                                         r"raft:volatile-vote, raft:volatile-term, raft:double-vote\)"):
        load("raft:nope")
    cls, _ = load("raft")
    with pytest.raises(ValueError, match="unknown variant 'nope' of raft"):
        cls(1, [2, 3], "nope")


@pytest.mark.parametrize("algo", ALL)
def test_start_only_arms_timers_and_state_has_the_documented_fields(algo):
    cls, variant = load(algo)
    for n in (1, 2, 3):
        node = cls(n, [m for m in (1, 2, 3) if m != n], variant)
        effects = node.on_start()
        assert all(isinstance(e, SetTimer) for e in effects)
        state = node.observed_state()
        assert tuple(state) == cls.FIELDS
        assert node.n == 3 and node.others == [m for m in (1, 2, 3) if m != n]


@pytest.mark.parametrize("algo", ALL)
def test_bad_inputs_raise_value_error(algo):
    cls, variant = load(algo)
    node = cls(1, [2, 3], variant)
    node.on_start()
    with pytest.raises(ValueError, match="unknown timer 'nope'"):
        node.on_timer("nope")
    with pytest.raises(ValueError, match="unknown type"):
        node.on_message(2, {"type": "Nope"})


def test_peers_may_include_self_and_ids_must_be_positive():
    cls, _ = load("raft")
    assert cls(2, [1, 2, 3]).others == [1, 3]
    with pytest.raises(ValueError, match="positive int"):
        cls(0, [1, 2])


def test_effect_json():
    assert effect_json(Send(2, {"type": "Vote", "term": 1, "granted": True})) == \
        {"kind": "send", "to": 2, "msg": {"type": "Vote", "term": 1, "granted": True}}
    assert effect_json(SetTimer("election", 150, 300), 201) == \
        {"kind": "set_timer", "name": "election", "min": 150, "max": 300, "after": 201}
    assert effect_json(SetTimer("election", 150, 300)) == \
        {"kind": "set_timer", "name": "election", "min": 150, "max": 300}
    assert effect_json(CancelTimer("heartbeat")) == {"kind": "cancel_timer", "name": "heartbeat"}
    assert effect_json(Persist({"term": 1})) == {"kind": "persist", "durable": {"term": 1}}
    assert effect_json(Output({"event": "Elected"})) == {"kind": "output", "event": {"event": "Elected"}}
