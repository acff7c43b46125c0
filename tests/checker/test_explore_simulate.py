"""`elect simulate`: seeded random runs, shrinking, the seed that reproduces a violation."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from checker import api
from checker.cli import main
from checker.explore.bfs import Checks
from checker.explore.simulate import replay_labels, simulate
from checker.trace import read_itf

ROOT = Path(__file__).resolve().parents[2]
RAFT = str(ROOT / "spec" / "raft.elect")


def test_finds_volatile_vote_at_n5_in_seconds(tmp_path, capsys):
    code = main(["simulate", RAFT, "--model", "volatile_vote", "-D", "N=5", "--runs", "20000", "--depth", "60",
                 "--seed", "1", "--json", "--out", str(tmp_path)])
    out = json.loads(capsys.readouterr().out)
    assert code == 10
    assert out["verdict"] == "violated" and out["property"] == "OneLeaderPerTerm"
    assert out["seconds"] < 30
    assert out["steps_shrunk"] <= out["steps_found"]
    tr = read_itf(out["trace"])
    assert tr.meta["simulation"]["seed"] == out["run_seed"]
    assert len(tr.steps) == out["steps_shrunk"] + 1


def test_shrunk_run_is_a_real_run_that_still_violates_and_is_one_minimal():
    m = api.load_model(RAFT, "volatile_vote", ["N=5"])
    res = simulate(m, runs=20000, depth=60, seed=1)
    v = res.violation
    assert v is not None and v.kind == "invariant"
    checks = Checks.of(m)
    init = m.init_states()[v.init]
    assert v.states[0] == init
    for s, lab, t in zip(v.states, v.labels, v.states[1:]):
        assert (lab, t) in m.successors_labeled(s)
    assert not m.properties[0].check(v.states[-1])
    # no single step can be left out
    for i in range(len(v.labels)):
        r = replay_labels(m, checks, init, v.labels[:i] + v.labels[i + 1:], (v.kind, v.prop))
        assert r is None or len(r[0]) >= len(v.labels)


def test_the_printed_seed_reproduces_the_violation(tmp_path, capsys):
    main(["simulate", RAFT, "--model", "volatile_vote", "-D", "N=5", "--runs", "20000", "--depth", "60",
          "--seed", "7", "--json", "--out", str(tmp_path / "a")])
    first = json.loads(capsys.readouterr().out)
    assert first["reproduce"].endswith(f"--runs 1 --depth 60 --seed {first['run_seed']}")
    code = main(["simulate", RAFT, "--model", "volatile_vote", "-D", "N=5", "--runs", "1", "--depth", "60",
                 "--seed", str(first["run_seed"]), "--json", "--out", str(tmp_path / "b")])
    again = json.loads(capsys.readouterr().out)
    assert code == 10 and again["steps_found"] == first["steps_found"]
    assert read_itf(first["trace"]).steps == read_itf(again["trace"]).steps


def test_same_seed_same_trace_under_two_hash_seeds(tmp_path):
    texts = []
    for hs in ("0", "12345"):
        out = tmp_path / hs
        env = dict(os.environ, PYTHONHASHSEED=hs)
        p = subprocess.run([sys.executable, "-m", "checker.cli", "simulate", RAFT, "--model", "volatile_vote",
                            "--runs", "5000", "--depth", "40", "--seed", "3", "--json", "--out", str(out)],
                           cwd=ROOT, env=env, capture_output=True, text=True)
        assert p.returncode == 10, p.stderr
        texts.append(Path(json.loads(p.stdout)["trace"]).read_text().replace(str(out), "OUT"))
    assert texts[0] == texts[1]


def test_no_violation_exit_0(tmp_path, capsys):
    code = main(["simulate", RAFT, "--runs", "200", "--depth", "30", "--seed", "1", "--out", str(tmp_path)])
    text = capsys.readouterr().out
    assert code == 0
    assert "no violation in 200 random runs" in text
    assert "reachable SomeLeader: witnessed" in text


def test_transition_and_deadlock_violations(tmp_path, capsys):
    code = main(["simulate", RAFT, "--model", "volatile_term", "--runs", "2000", "--depth", "30", "--json",
                 "--out", str(tmp_path / "t")])
    out = json.loads(capsys.readouterr().out)
    assert code == 10 and out["property"] == "TermsNeverDecrease" and out["kind"] == "transition"
    cr = str(ROOT / "spec" / "chang_roberts.elect")
    code = main(["simulate", cr, "--model", "crash", "--runs", "2000", "--depth", "30", "--json",
                 "--out", str(tmp_path / "d")])
    out = json.loads(capsys.readouterr().out)
    assert code == 12 and out["verdict"] == "deadlock"


def test_text_output_names_seed_and_trace(tmp_path, capsys):
    code = main(["simulate", RAFT, "--model", "volatile_vote", "--runs", "5000", "--depth", "40", "--seed", "2",
                 "--out", str(tmp_path)])
    text = capsys.readouterr().out
    assert code == 10
    assert "violated: invariant OneLeaderPerTerm after" in text
    assert "reproduce: elect simulate" in text and f"trace: {tmp_path}" in text


def test_bad_runs_is_a_usage_error(capsys):
    assert main(["simulate", RAFT, "--runs", "0"]) == 2
    assert "--runs must be at least 1" in capsys.readouterr().err


def test_evaluation_error_is_a_diagnostic_with_the_seed(tmp_path, capsys):
    p = tmp_path / "err.elect"
    p.write_text("spec Err\nvar x: 0..2 = 0\n\naction inc requires true:\n    x = x + 1\n")
    assert main(["simulate", str(p), "--runs", "3", "--depth", "5", "--seed", "4"]) == 1
    err = capsys.readouterr().err
    assert "error[E501]" in err and "--seed 4" in err


def test_evaluation_error_with_json_prints_the_verdict(tmp_path, capsys):
    spec = tmp_path / "s.elect"
    spec.write_text("spec S\nvar x: 0..1 = 0\naction inc:\n    x += 1\n")
    rc = main(["simulate", str(spec), "--runs", "5", "--depth", "5", "--out", str(tmp_path), "--json"])
    cap = capsys.readouterr()
    assert rc == 1 and "error[E501]" in cap.err
    out = json.loads(cap.out)
    assert out["verdict"] == "error" and out["error"] == "E501: value 2 is outside its declared range 0..1"
