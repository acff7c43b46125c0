"""`elect conform`: recorded runs of the reference Raft against spec/raft.elect.

Correct runs (simulator, with loss, duplication, kills, restarts, pauses and partitions;
and a few real-network runs) conform; the broken variants do not, and the diagnosis names
the record and the field; a hand-edited record is rejected at that record and field; a
malformed file gets one line naming its line and exit 2; a real run that breaks the
invariant under the model that allows it exits 10 naming the record.
"""
from __future__ import annotations

import io
import json
import random
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from checker.cli import main
from checker.conform import conform, render_text
from checker.conformance.records import parse_records
from reference.drivers.sim import Sim

ROOT = Path(__file__).resolve().parents[2]
RAFT = str(ROOT / "spec" / "raft.elect")
RECORDED = ROOT / "traces" / "recorded" / "raft"

SCRIPTS = [
    "",
    "1s kill leader; 1.5s restart all",
    "1s partition 1,2|3,4,5; 2s heal",
    "0.5s kill 2; 1s kill leader; 1.8s restart all; 2.2s isolate leader; 2.8s heal",
    "1s pause leader for 0.6s; 2s kill leader; 2.1s restart all",
    "0.8s isolate 1; 1.2s kill 3; 1.6s heal; 2s restart 3",
]


def sim_trace(algo: str, n: int, seed: int, faults: str = "", loss: float = 0.0, dup: float = 0.0,
              ms: int = 3000) -> str:
    sim = Sim(algo, n, seed=seed, loss=loss, duplicate=dup, faults=faults or None)
    sim.run(ms)
    return sim.trace_text()


def run_conform(text: str, model: str | None = None, defines: list[str] | None = None):
    return conform(RAFT, "<trace>", model, defines or [], records=parse_records(text))


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


# ---- correct runs conform -----------------------------------------------------------------

SIM_CASES = [(n, seed, SCRIPTS[seed % len(SCRIPTS)] if n == 5 else "", 0.05 * (seed % 2), 0.03 * (seed % 3 == 0))
             for n, seeds in ((3, range(0, 6)), (4, range(6, 10)), (5, range(10, 22))) for seed in seeds]


@pytest.mark.parametrize("n,seed,faults,loss,dup", SIM_CASES,
                         ids=[f"n{c[0]}-seed{c[1]}" for c in SIM_CASES])
def test_simulated_runs_conform(n, seed, faults, loss, dup):
    res = run_conform(sim_trace("raft", n, seed, faults, loss, dup))
    assert res.verdict == "conforms", render_text(res)
    assert res.outcome.matched == len(res.records)


def test_shipped_example_conforms():
    code, out, err = cli("conform", RAFT, str(RECORDED / "sim-default-n3-seed0.jsonl"))
    assert code == 0, out + err
    assert out.startswith("conforms: ")
    assert "records matched" in out and "spec steps" in out


def test_json_output():
    code, out, _ = cli("conform", RAFT, str(RECORDED / "sim-default-n3-seed0.jsonl"), "--json")
    assert code == 0
    obj = json.loads(out)
    assert obj["verdict"] == "conforms"
    assert obj["matched"] == obj["records"] == 17
    # the safety properties and the helper invariants of Raft's proof, all held by the run
    assert set(obj["invariants"]) == {"OneLeaderPerTerm", "TermsNeverDecrease", "CandidatesVoteForThemselves",
                                      "LeadersHaveQuorum", "VotesAreGranted", "GrantsInFlight", "OneVotePerTerm",
                                      "OneGrantPerTerm"}


def test_long_trace_checks_in_seconds():
    text = sim_trace("raft", 5, 7, SCRIPTS[3], 0.05, 0.02, ms=35_000)
    res = run_conform(text)
    assert res.verdict == "conforms", render_text(res)
    assert len(res.records) > 3000
    assert res.outcome.seconds < 10


@pytest.mark.network
@pytest.mark.parametrize("faults", [
    "1s kill leader; 1.5s restart all; 2s partition 1|2,3; 2.5s heal",
    "0.8s pause leader for 0.7s; 1.8s kill 2; 2.2s restart all",
])
def test_network_runs_conform(tmp_path, faults):
    from reference.drivers.run import run_main
    trace = tmp_path / "net.jsonl"
    code = run_main(["raft", "--nodes", "3", "--duration", "3", "--faults", faults, "--trace", str(trace)],
                    out=io.StringIO(), err=io.StringIO())
    assert code == 0
    res = conform(RAFT, str(trace))
    assert res.verdict == "conforms", render_text(res)


# ---- runtime checking: a real run that breaks the invariant -----------------------------------

def test_counterexample_run_breaks_the_invariant():
    trace = str(RECORDED / "volatile-vote-counterexample.jsonl")
    code, out, _ = cli("conform", RAFT, trace, "--model", "volatile_vote")
    assert code == 10, out
    assert out.startswith("violated: OneLeaderPerTerm breaks at record 11 (line 12, seq 11)")
    assert "node 2: receive Vote{term: 1, granted: true} from 3" in out
    assert "Node.role = {1: Leader, 2: Leader, 3: Follower}" in out


def test_counterexample_run_does_not_conform_to_the_durable_model():
    trace = str(RECORDED / "volatile-vote-counterexample.jsonl")
    code, out, _ = cli("conform", RAFT, trace, "--json")
    assert code == 13
    obj = json.loads(out)
    assert obj["record"]["index"] == 9 and obj["record"]["input"] == {"kind": "restart"}
    assert {"field": "state.voted_for", "spec": "1", "recorded": "null"}.items() <= obj["reasons"][0].items()


# ---- broken variants are caught ----------------------------------------------------------------

@pytest.mark.parametrize("variant,faults,kind,field", [
    ("volatile-vote", "1s kill leader; 1.5s restart all", "restart", "state.voted_for"),
    ("volatile-term", "1s kill leader; 1.5s restart all", "restart", "state.term"),
    ("double-vote", "1s partition 1,2|3,4,5; 2s heal", "receive", "state.voted_for"),
])
def test_broken_variant_is_caught(variant, faults, kind, field):
    for seed in range(20):
        res = run_conform(sim_trace(f"raft:{variant}", 5, seed, faults, loss=0.05))
        if res.verdict != "conforms":
            break
    else:
        pytest.fail(f"no run of raft:{variant} was rejected")
    assert res.verdict == "nonconform"
    rec = res.failed_record
    assert rec.kind == kind
    assert field in [r.field for r in res.reasons], render_text(res)
    text = render_text(res)
    assert f"record {rec.index} (line {rec.line}" in text


# ---- a trace edited by hand in one field ----------------------------------------------------------

ROLES = ["Follower", "Candidate", "Leader"]


def edit(rec: dict, rng: random.Random, nodes: list[int]) -> str | None:
    """Change one field that means something (a term, a vote, a sender, a role, a message
    field, a destination); the field's path, as a diagnosis names it."""
    opts: list[tuple] = [("state", k) for k in (rec.get("state") or {})]
    inp = rec["input"]
    if "from" in inp:
        opts.append(("from",))
    opts += [("msg", k) for k in (inp.get("msg") or {}) if k != "type"]
    for i, e in enumerate(rec.get("effects") or []):
        if e["kind"] == "send":
            opts.append(("eto", i))
            opts += [("emsg", i, k) for k in e["msg"] if k != "type"]
    if not opts:
        return None

    def change(v, key):
        if isinstance(v, bool):
            return not v
        if key in ("voted_for", "to", "from"):
            return rng.choice([n for n in nodes if n != v])
        if isinstance(v, int):
            return v + 1 if v == 0 else v + rng.choice([1, -1])
        if isinstance(v, str):
            return rng.choice([r for r in ROLES if r != v])
        if isinstance(v, list):
            return sorted(set(v) ^ {rng.choice(nodes)})
        raise AssertionError(v)
    o = rng.choice(opts)
    if o[0] == "state":
        rec["state"][o[1]] = change(rec["state"][o[1]], o[1])
        return f"state.{o[1]}"
    if o[0] == "from":
        inp["from"] = change(inp["from"], "from")
        return "input.from"
    if o[0] == "msg":
        inp["msg"][o[1]] = change(inp["msg"][o[1]], o[1])
        return f"input.msg.{o[1]}"
    e = rec["effects"][o[1]]
    if o[0] == "eto":
        e["to"] = change(e["to"], "to")
        return f"effects[{o[1]}].to"
    e["msg"][o[2]] = change(e["msg"][o[2]], o[2])
    return f"effects[{o[1]}].msg.{o[2]}"


def same_effect(rec: dict, a: str, b: str) -> bool:
    """effects[i].x and effects[j].x name the same thing when the two sends are identical."""
    if a == b:
        return True
    if not (a.startswith("effects[") and b.startswith("effects[")):
        return False
    ia, ra = int(a[8:a.index("]")]), a[a.index("]"):]
    ib, rb = int(b[8:b.index("]")]), b[b.index("]"):]
    eff = rec["effects"]
    return ra == rb and eff[ia] == eff[ib]


@pytest.mark.parametrize("seed", range(3))
def test_hand_edited_record_is_rejected_at_that_record_and_field(seed):
    rng = random.Random(seed)
    lines = sim_trace("raft", 3, 40 + seed, "1s kill leader; 1.5s restart all; 2s partition 1|2,3; 2.5s heal",
                      loss=0.05).splitlines()
    done = 0
    while done < 12:
        i = rng.randrange(1, len(lines))
        rec = json.loads(lines[i])
        path = edit(rec, rng, [1, 2, 3])
        if path is None:
            continue
        done += 1
        text = "\n".join(lines[:i] + [json.dumps(rec)] + lines[i + 1:])
        res = run_conform(text)
        shown = render_text(res)
        assert res.verdict == "nonconform", f"edit of {path} at line {i + 1} accepted"
        assert res.failed_record.line == i + 1, f"edit of {path} at line {i + 1}:\n{shown}"
        fields = [r.field for r in res.reasons]
        assert any(f and same_effect(rec, f, path) for f in fields), \
            f"edit of {path} at line {i + 1} not named:\n{shown}"
        assert f"line {i + 1}" in shown


# ---- malformed files: one line naming the line, exit 2 -----------------------------------------

GOOD = (RECORDED / "sim-default-n3-seed0.jsonl").read_text().splitlines()


@pytest.mark.parametrize("line,new,expect", [
    (3, '{"seq": 2, "clock": 2, "node": 2, "input": {"kind": "start"', ":3: not JSON"),
    (4, '{"seq": 3, "clock": 3, "node": 3, "state": {}, "effects": []}', ":4: missing field 'input'"),
    (5, '{"seq": 4, "clock": 4, "node": 7, "input": {"kind": "timer", "name": "election"}, "state": {}, '
        '"effects": []}', ":5: unknown node 7 in 'node'"),
    (6, '{"seq": 5, "node": 1, "input": {"kind": "start"}, "state": {}}', ":6: missing field 'clock'"),
    (7, '{"seq": 6, "clock": 6, "node": 2, "input": {"kind": "receive", "from": 9, "msg": {"type": "Vote"}}, '
        '"state": {}, "effects": []}', ":7: unknown node 9 in 'input.from'"),
])
def test_malformed_trace_is_one_line_and_exit_2(tmp_path, line, new, expect):
    lines = list(GOOD)
    lines[line - 1] = new
    p = tmp_path / "bad.jsonl"
    p.write_text("\n".join(lines) + "\n")
    code, out, err = cli("conform", RAFT, str(p))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and expect in err, err


def test_unknown_message_type_is_exit_2(tmp_path):
    lines = list(GOOD)
    rec = json.loads(lines[4])
    rec["input"] = {"kind": "receive", "from": 1, "msg": {"type": "AppendEntries", "term": 1}}
    lines[4] = json.dumps(rec)
    p = tmp_path / "bad.jsonl"
    p.write_text("\n".join(lines) + "\n")
    code, _, err = cli("conform", RAFT, str(p))
    assert code == 2 and "line 5" in err and "AppendEntries" in err


def test_wrong_node_count_is_exit_2():
    code, _, err = cli("conform", RAFT, str(RECORDED / "sim-default-n3-seed0.jsonl"), "-D", "N=5")
    assert code == 2 and "N=5" in err and "3 nodes" in err


# ---- search bounds ---------------------------------------------------------------------------------

def test_a_bound_fixed_on_the_command_line_is_named():
    text = sim_trace("raft", 3, 3, "1s kill leader; 1.5s restart all", ms=3000)
    res = run_conform(text, defines=["MAX_TERM=1"])
    assert res.verdict == "nonconform"
    assert res.bound_note and "MAX_TERM=1" in res.bound_note
    assert any(r.what == "guard" and "MAX_TERM" in r.text for r in res.reasons)


def test_bounds_are_lifted_without_changing_the_verdict():
    res = run_conform(sim_trace("raft", 3, 3, "1s kill leader; 1.5s restart all", ms=3000))
    assert res.verdict == "conforms"
    assert set(res.outcome.bounds) == {"MAX_TERM", "MAX_BEATS"}


def test_a_trace_of_another_protocol_is_exit_2():
    code, out, err = cli("conform", RAFT, str(ROOT / "traces" / "recorded" / "bully" / "sim-default-n3-seed0.jsonl"))
    assert code == 2 and out == ""
    assert "a run of 'bully'" in err and "raft.map.json" in err
