"""The command line: exit codes (each one of DESIGN.md's table), one-line usage errors,
byte-identical output and traces under different PYTHONHASHSEED values."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "tests" / "specs"


def elect(*args, cwd=ROOT, env=None, timeout=300):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "checker.cli", *map(str, args)], cwd=cwd, env=e,
                          capture_output=True, text=True, timeout=timeout)


def test_exit_0_holds(tmp_path):
    r = elect("check", SPECS / "ok" / "counter.elect", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    assert "holds: Bounded" in r.stdout


def test_exit_1_spec_error():
    r = elect("check", SPECS / "type_error" / "unknown_name.elect")
    assert r.returncode == 1
    assert "error[E201]: unknown name 'y'" in r.stderr
    assert "Traceback" not in r.stderr


def test_exit_1_eval_error_shows_the_run(tmp_path):
    r = elect("check", SPECS / "eval_error" / "range.elect", "--out", tmp_path)
    assert r.returncode == 1
    assert "error[E501]" in r.stderr and "the run that led there" in r.stderr


def test_eval_error_with_json_prints_the_verdict(tmp_path):
    r = elect("check", SPECS / "eval_error" / "range.elect", "--out", tmp_path, "--json")
    assert r.returncode == 1 and "error[E501]" in r.stderr
    out = json.loads(r.stdout)
    assert out["verdict"] == "error" and out["error"].startswith("E501: value ")


def test_exit_2_usage():
    r = elect("check")
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1
    r = elect("check", SPECS / "ok" / "counter.elect", "--max-states", "many")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    r = elect("frobnicate")
    assert r.returncode == 2


def test_exit_2_unknown_model():
    r = elect("check", ROOT / "spec" / "raft.elect", "--model", "yardstik")
    assert r.returncode == 2
    assert "no model 'yardstik'" in r.stderr and "did you mean 'yardstick'" in r.stderr


def test_exit_2_bad_define():
    r = elect("check", SPECS / "ok" / "counter.elect", "-D", "NOPE=3")
    assert r.returncode == 2 and "E407" in r.stderr
    for bad in ("N", "N=abc"):
        r = elect("check", ROOT / "spec" / "raft.elect", "-D", bad)
        assert r.returncode == 2 and "E407" in r.stderr and "Traceback" not in r.stderr


def test_exit_2_malformed_trace(tmp_path):
    bad = tmp_path / "bad.itf.json"
    bad.write_text("{not json")
    r = elect("show", bad)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "not JSON" in r.stderr
    bad.write_text(json.dumps({"vars": ["x"]}))
    r = elect("show", bad)
    assert r.returncode == 2 and "missing field 'states'" in r.stderr
    r = elect("show", tmp_path / "missing.json")
    assert r.returncode == 2 and "no such file" in r.stderr


def test_exit_10_violated(tmp_path):
    r = elect("check", SPECS / "violation" / "counter.elect", "--out", tmp_path)
    assert r.returncode == 10
    assert "violated: invariant Small after 3 steps" in r.stdout
    trace = tmp_path / "Small.itf.json"
    assert trace.exists()
    assert f"elect show {trace}" in r.stdout
    shown = elect("show", trace)
    assert shown.returncode == 0 and "inc()" in shown.stdout


def test_exit_10_transition(tmp_path):
    r = elect("check", SPECS / "violation" / "transition.elect", "--out", tmp_path, "--json")
    assert r.returncode == 10
    d = json.loads(r.stdout)
    assert (d["verdict"], d["property"], d["depth"]) == ("violated", "NeverDown", 2)


def test_exit_11_unreached(tmp_path):
    r = elect("check", SPECS / "violation" / "unreached.elect", "--out", tmp_path)
    assert r.returncode == 11
    assert "reachable Never never holds" in r.stdout


def test_exit_12_deadlock(tmp_path):
    r = elect("check", SPECS / "violation" / "deadlock.elect", "--out", tmp_path, "--json")
    assert r.returncode == 12
    assert json.loads(r.stdout)["verdict"] == "deadlock"
    r = elect("check", SPECS / "violation" / "final.elect", "--out", tmp_path, "--json")
    assert r.returncode == 12
    assert json.loads(r.stdout)["property"] == "Done"


def test_exit_13_nonconform_is_reserved_for_conform():
    # 13 is produced by `elect conform` (tested with conformance); here: its documented meaning
    from checker.api import EXIT
    assert EXIT["nonconform"] == 13


def test_exit_14_limit(tmp_path):
    r = elect("check", ROOT / "spec" / "raft.elect", "--model", "yardstick", "-D", "N=3", "--max-states", "100",
              "--out", tmp_path)
    assert r.returncode == 14
    assert "stopped by the state limit" in r.stdout
    r = elect("check", ROOT / "spec" / "raft.elect", "--model", "yardstick", "-D", "N=3", "--max-depth", "2",
              "--json", "--out", tmp_path)
    assert r.returncode == 14 and json.loads(r.stdout)["verdict"] == "limit"


def test_exit_3_internal_error_asks_for_a_report(tmp_path, monkeypatch):
    from checker import cli
    import checker.api as api

    def boom(*a, **k):
        raise RuntimeError("boom")
    monkeypatch.setattr(api, "check", boom)
    assert cli.main(["check", str(SPECS / "ok" / "counter.elect")]) == 3


def _strip_timing(text: str) -> str:
    import re
    text = re.sub(r"seconds [0-9.]+", "seconds X", text)
    text = re.sub(r"states/s [0-9,]+", "states/s X", text)
    return text


@pytest.mark.parametrize("args", [
    ["check", "spec/raft.elect", "--model", "volatile_vote"],
    ["check", "spec/chang_roberts.elect", "--model", "crash"],
])
def test_same_output_under_two_hash_seeds(tmp_path, args):
    outs = []
    d = tmp_path / "out"
    for seed in ("1", "12345"):
        r = elect(*args, "--out", d, env={"PYTHONHASHSEED": seed})
        traces = {p.name: p.read_bytes() for p in sorted(d.glob("*.json"))}
        outs.append((r.returncode, _strip_timing(r.stdout), traces))
    assert outs[0] == outs[1]
    assert outs[0][2], "a trace file was written"


def test_exit_2_define_outside_the_constants_range(tmp_path):
    spec = tmp_path / "r.elect"
    spec.write_text("spec R\nconst R: 0..3 = 2\nvar x: 0..9 = 0\naction a requires x < R:\n    x += 1\n")
    r = elect("check", spec, "-D", "R=7", "--out", tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines()[0] == "error[E407]: -D R: 7 is outside its declared range 0..3"
    assert elect("check", spec, "-D", "R=3", "--out", tmp_path).returncode == 0


def test_a_closed_pipe_keeps_the_verdicts_exit_code(tmp_path):
    """`elect check ... | head -1`: the reader goes away, the exit code is still the verdict's
    (a BrokenPipeError ended the command with 0)."""
    for spec, model, code in (("raft.elect", "volatile_vote", 10), ("raft.elect", "default", 0)):
        p = subprocess.Popen([sys.executable, "-m", "checker.cli", "check", str(ROOT / "spec" / spec), "--model",
                              model, "--out", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             cwd=ROOT)
        p.stdout.close()           # before the first line is written
        p.stderr.close()
        assert p.wait(timeout=120) == code


def test_json_limit_does_not_call_reachables_unreached(tmp_path):
    r = elect("check", ROOT / "spec" / "raft.elect", "--max-states", "2", "--json", "--out", tmp_path)
    out = json.loads(r.stdout)
    assert (r.returncode, out["verdict"], out["unreached"]) == (14, "limit", [])
    assert out["not_witnessed"] == ["SomeLeader", "LeaderInLaterTerm"]


def test_out_must_name_a_directory(tmp_path):
    f = tmp_path / "afile"
    f.write_text("")
    for args in (["testgen", ROOT / "spec" / "raft.elect", "--out", ""], ["check", SPECS / "ok" / "counter.elect",
                                                                         "--out", f]):
        r = elect(*args)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "--out" in r.stderr


def test_show_html_and_mermaid_together_is_a_usage_error(tmp_path):
    trace = next((ROOT / "traces" / "counterexamples").glob("*/*.itf.json"))
    r = elect("show", trace, "--html", tmp_path / "x.html", "--format", "mermaid")
    assert r.returncode == 2 and "give one" in r.stderr and not (tmp_path / "x.html").exists()


@pytest.mark.parametrize("flag", ["--html", "--dot"])
def test_a_report_path_that_cannot_be_written_is_refused_before_the_search(tmp_path, flag):
    r = elect("check", ROOT / "spec" / "raft.elect", "--model", "volatile_vote", flag, tmp_path / "no" / "x",
              "--out", tmp_path)
    assert r.returncode == 2 and r.stdout == "" and r.stderr.startswith(f"error: {flag} ")
    assert "no directory" in r.stderr and not list(tmp_path.glob("*.itf.json"))


@pytest.mark.parametrize("value,text", [("0", "-D N=0: id type 'Node' is empty in this model: 1..0"),
                                        ("100000", "-D N=100000: id type 'Node' has 100,000 ids")])
def test_an_id_type_sized_by_define_is_a_usage_error(tmp_path, value, text):
    r = elect("check", ROOT / "spec" / "raft.elect", "-D", f"N={value}", "--out", tmp_path)
    assert r.returncode == 2 and r.stderr.startswith(f"error[E407]: {text}"), r.stderr
