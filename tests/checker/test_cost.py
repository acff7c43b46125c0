"""`elect cost`: exact best and worst cost of an election, and the implementations held to it.

The closed forms (CLOSED_FORMS in checker/cost.py, with their assumptions) are pinned
against the exact numbers for Chang-Roberts, LCR and Bully at N = 3..6; the reference
implementations' message counts over seeded simulator runs must stay inside them. Specs
that do not exist yet are skipped with the reason.
"""
from __future__ import annotations

import functools
import json
import re
import textwrap
from pathlib import Path

import pytest

from checker import cost as C
from checker.api import check, load_model
from checker.cli import main
from checker.diagnostics import SpecError

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "spec"
SIZES = (3, 4, 5, 6)


def spec_path(stem: str) -> Path:
    p = SPEC / f"{stem}.elect"
    if not p.exists():
        pytest.skip(f"spec/{stem}.elect does not exist yet (the spec library writes it)")
    return p


@functools.lru_cache(maxsize=None)
def exact(stem: str, n: int, until: str | None = None) -> C.CostRow:
    """The spec's exact cost at size n (shared between tests: Bully at N = 6 takes minutes)."""
    return C.cost(str(spec_path(stem)), None, [f"N={n}"], until=[until] if until else None, traces=False)


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text).lstrip())
    return p


# ---------------------------------------------------------------- closed forms, exact
EXACT_CASES = [(stem, n) for stem in ("chang_roberts", "lcr", "bully") for n in SIZES if (stem, n) != ("bully", 6)]
# Bully at N = 6: 1.6 million states (any node may crash at any moment), minutes
EXACT_CASES.append(pytest.param("bully", 6, marks=pytest.mark.slow))


@pytest.mark.parametrize("stem,n", EXACT_CASES)
def test_exact_best_and_worst_equal_the_closed_forms(stem, n):
    spec_path(stem)
    cf = C.CLOSED_FORMS[stem]
    row = exact(stem, n, C.IMPLS[stem].known)
    m = row.main
    assert m.counter == "messages"
    assert (m.best, m.worst) == (cf.best(n), cf.worst(n)), \
        f"{stem} N={n}: exact {m.best}..{m.worst}, closed form {cf.best_text}..{cf.worst_text}"
    assert row.stopped is None


ALL_INITIATE = ("AllInitiate: messages until (all n in Node: initiator[n]) and "
                "(any n in Node: state[n] == won)")


@pytest.mark.parametrize("n", (3, 4, 5))
def test_chang_roberts_when_every_node_initiates(n):
    """The textbook's case: every node initiates (the condition can only hold in runs
    where all do, so min and max are over those runs): best 2N-1, worst N(N+1)/2."""
    row = exact("chang_roberts", n, ALL_INITIATE)
    m = next(x for x in row.measures if x.name == "AllInitiate")
    assert (m.best, m.worst) == (2 * n - 1, n * (n + 1) // 2)


def test_chang_roberts_pinned_numbers():
    path = spec_path("chang_roberts")
    got = []
    for n in (3, 4, 5):
        r = C.cost(str(path), None, [f"N={n}"], traces=False)
        got.append((n, r.main.best, r.main.worst, r.main.steps_best, r.main.steps_worst, r.distinct, r.main.never))
    # best: one initiator (N messages, its start and N receives); worst: everyone initiates
    assert got == [(3, 3, 6, 6, 9, 137, 1), (4, 4, 10, 8, 14, 823, 1), (5, 5, 15, 10, 20, 5455, 1)]


def test_counting_changes_no_state_count():
    path = spec_path("chang_roberts")
    C.cost(str(path), None, ["N=3"])
    res = check(str(path), None, ["N=3"], write_trace=False)
    assert res.search.stats.distinct == 137          # TLC's count for MCChangRoberts, N = 3
    assert res.verdict == "holds"


# ---------------------------------------------------------------- traces attaining the extremes
def test_the_runs_shown_attain_the_extremes():
    path = spec_path("chang_roberts")
    m = load_model(str(path), None, ["N=4"])
    row = C.cost_model(m, str(path))
    mc = row.main
    cond = C.measures_for(m)[0].cond
    count = C.counter_fn(m, "messages")
    for tr, value in ((mc.best_trace, mc.best), (mc.worst_trace, mc.worst)):
        states, labels = _concrete(m, tr)
        assert [cond(s) for s in states].index(True) == len(states) - 1, "the condition holds first at the end"
        assert sum(count(a, b, lab) for a, b, lab in zip(states, states[1:], labels[1:])) == value
        assert tr.meta["measure"] == "Election" and tr.meta["value"] == value
    # the best run: one initiator's id once round the ring
    acts = [C.short_action(s.action) for s in mc.best_trace.steps[1:]]
    assert sorted(acts[:4]) == ["start(1)", "start(2)", "start(3)", "start(4)"]
    assert sorted(acts[4:]) == ["receive(1)", "receive(2)", "receive(3)", "receive(4)"]
    assert sum(v for _, v in mc.best_trace.steps[0].state["initiator"]["#map"]) == 1


def _concrete(m, tr):
    """Replay a trace's steps through the model: the concrete states and labels."""
    states = [next(s for s in m.init_states() if m.state_itf(s) == tr.steps[0].state)]
    labels = [None]
    for step in tr.steps[1:]:
        lab, t = next((lab, t) for lab, t in m.successors_labeled(states[-1]) if m.state_itf(t) == step.state)
        states.append(t)
        labels.append(lab)
    return states, labels


# ---------------------------------------------------------------- counters
MESSAGES_RAFT = """
spec Tiny
const N: int = 3
type Node = 1..N symmetric
enum Role { Follower, Candidate, Leader }
message Ask(term: int)
message Yes(term: int)
process Node:
    role: Role = Follower
    term: int = 0
    votes: set[Node] = {}
    on timeout go requires role == Follower and term < 1:
        term += 1
        role = Candidate
        votes = {self}
        broadcast Ask(term)
    on Ask(t) from c:
        if t > term:
            term = t
            send Yes(t) to c
    on Yes(t) from v:
        if role == Candidate and t == term:
            votes += {v}
            if size(votes) * 2 > N:
                role = Leader
reachable SomeLeader: any n in Node: n.role == Leader
model default:
    pass
model lossy:
    network unordered, lossy, duplicating
    faults crash <= 1, restart
model setnet:
    network set
model fifo:
    network fifo
"""


@pytest.mark.parametrize("model", ["default", "lossy", "setnet", "fifo"])
def test_messages_counter_agrees_with_the_traces_sent_envelopes(tmp_path, model):
    p = write(tmp_path, "tiny.elect", MESSAGES_RAFT)
    m = load_model(p, model)
    count = C.counter_fn(m, "messages")
    seen, todo, edges = set(), list(m.init_states()), 0
    while todo and edges < 4000:
        s = todo.pop()
        for lab, t in m.successors_labeled(s):
            edges += 1
            assert count(s, t, lab) == len(m.sent_envelopes(s, t, lab)), (lab, model)
            if t not in seen:
                seen.add(t)
                todo.append(t)
    assert edges > 50


def test_actor_spec_best_and_worst(tmp_path):
    p = write(tmp_path, "tiny.elect", MESSAGES_RAFT)
    row = C.cost(str(p))
    m = row.main
    # best: a candidate asks the two others (2), one says yes (1). Worst: two candidates
    # ask (4) and the third node, which granted the first Ask, cannot grant the second:
    # one Yes (1). A node that has seen term 1 can no longer stand.
    assert (m.best, m.worst) == (3, 5)
    assert m.origin == "reachable SomeLeader" and row.symmetry
    d = C.cost(str(p), until=["Deliveries: deliveries until any n in Node: n.role == Leader"])
    dm = next(x for x in d.measures if x.name == "Deliveries")
    assert dm.origin == "given" and dm.counter == "deliveries"
    assert dm.best == 2                                   # an Ask, then a Yes


UNBOUNDED = """
spec Chatter
const N: int = 2
type Node = 1..N
message Ping()
message Pong()
process Node:
    leader: bool = false
    waiting: bool = false
    on timeout chat requires not leader and not waiting:
        waiting = true
        broadcast Ping()
    on Ping() from q:
        send Pong() to q
    on Pong() from q:
        waiting = false
    on timeout win requires not leader:
        leader = true
measure Election: messages until any n in Node: n.leader
measure Steps: steps until any n in Node: n.leader
model default:
    pass
"""


def test_a_cycle_that_sends_before_the_condition_is_unbounded_and_shown(tmp_path):
    p = write(tmp_path, "chatter.elect", UNBOUNDED)
    row = C.cost(str(p))
    el = row.measures[0]
    assert el.origin == "spec"
    assert (el.best, el.worst) == (0, C.UNBOUNDED)
    tr = el.worst_trace
    assert tr.loop is not None
    acts = [C.short_action(s.action) for s in tr.steps[1:]]
    assert acts[tr.loop:] in (["chat at 1", "deliver Ping 1->2", "deliver Pong 2->1"],
                              ["chat at 2", "deliver Ping 2->1", "deliver Pong 1->2"])
    assert tr.steps[tr.loop].state == tr.steps[-1].state           # the lasso closes
    assert row.measures[1].worst == C.UNBOUNDED
    text = C.render_table([row])
    assert "Election is unbounded" in text and "repeat: chat at" in " ".join(text.split())


def test_never_reached_is_reported(tmp_path):
    p = write(tmp_path, "stuck.elect", """
        spec Stuck
        var x: int in 0..1
        var done: bool = false
        action go requires x == 1 and not done:
            done = true
        measure Done: steps until done
        model default:
            pass
        """)
    row = C.cost(str(p))
    m = row.measures[0]
    assert (m.best, m.worst, m.never) == (1, 1, 1)
    p2 = write(tmp_path, "never.elect", """
        spec Never
        var done: bool = false
        measure Done: steps until done
        model default:
            pass
        """)
    m2 = C.cost(str(p2)).measures[0]
    assert (m2.best, m2.worst, m2.best_trace) == (None, None, None)


def test_a_given_measure_is_type_checked(tmp_path):
    path = spec_path("chang_roberts")
    r = C.cost(str(path), None, ["N=3"], until=["messages until any n in Node: state[n] == won",
                                                  "Starts: steps until all n in Node: pc[n] == n1"])
    assert [(m.name, m.origin, m.best, m.worst) for m in r.measures] == \
        [("Election", "reachable SomeoneWins", 3, 6), ("Given", "given", 3, 6), ("Starts", "given", 3, 4)]
    # Starts, worst: start(1), start(2), node 2 handles id 1 and passes it to node 3, which
    # has not started: nothing else can happen before start(3)
    with pytest.raises(SpecError) as e:
        C.cost(str(path), None, ["N=3"], until=["messages until any n in Node: stat[n] == won"])
    assert "E2" in e.value.render()
    with pytest.raises(SpecError):
        C.cost(str(path), None, ["N=3"], until=["furlongs until any n in Node: state[n] == won"])


def test_spec_declared_measures_are_used_and_not_added_twice(tmp_path, capsys):
    src = spec_path("lcr").read_text()
    p = tmp_path / "lcr.elect"
    p.write_text(src + "\nmeasure Election: messages until any n in Node: n.state == won\n"
                 "measure Known: messages until any w in Node: w.state == won and (all n in Node: n.leader == w)\n")
    r = C.cost(str(p), None, ["N=3"], traces=False)
    assert [(m.name, m.origin, m.best, m.worst) for m in r.measures] == \
        [("Election", "spec", 4, 7), ("Known", "spec", 6, 9)]
    assert main(["cost", str(p), "-D", "N=3", "--impl", "lcr", "--runs", "20", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [m["measure"] for m in data["rows"][0]["measures"]] == ["Election", "Known"]
    assert [(x["metric"], x["measure"], x["within"]) for x in data["impl"]] == \
        [("elected", "Election", True), ("known", "Known", True)]


# ---------------------------------------------------------------- sizes
def test_expand_defines():
    assert C.expand_defines(["N=3..5"]) == [(["N=3"], {"N": 3}), (["N=4"], {"N": 4}), (["N=5"], {"N": 5})]
    assert C.expand_defines(["MAX_TERM=1", "N=3,5"]) == [(["MAX_TERM=1", "N=3"], {"N": 3}),
                                                         (["MAX_TERM=1", "N=5"], {"N": 5})]
    assert C.expand_defines([]) == [([], {})]
    for bad in (["N=5..3"], ["N=3..x"], ["N=3,x"]):
        with pytest.raises(C.CostUsageError):
            C.expand_defines(bad)


# ---------------------------------------------------------------- implementations
IMPL_CASES = [("chang_roberts", "ring"), ("lcr", "lcr"), ("bully", "bully")]


def _impl_within_spec(stem, algo, runs, sizes=SIZES):
    spec_path(stem)
    mp = C.IMPLS[stem]
    for n in sizes:
        row = exact(stem, n, mp.known)
        ic = C.impl_costs(algo, n, runs, types=mp.types)
        assert ic.unfinished == 0 and len(ic.elected) == runs
        checks = C.impl_checks(ic, row, mp)
        assert len(checks) == (2 if mp.known else 1)
        for c in checks:
            m = c.measure
            assert c.within, (f"{algo} N={n}: measured {min(c.values)}..{max(c.values)} ({c.metric}) "
                              f"outside the spec's exact {m.best}..{m.worst} ({m.name})")


@pytest.mark.parametrize("stem,algo", IMPL_CASES)
def test_implementation_counts_stay_within_the_spec(stem, algo):
    """100 seeded runs per size (a few seconds); Bully's bounds at N = 6 take a search of
    1.6 million states, so that size is left to the 1,000-run test below."""
    _impl_within_spec(stem, algo, 100, sizes=SIZES if stem != "bully" else (3, 4, 5))


@pytest.mark.slow
@pytest.mark.parametrize("stem,algo", IMPL_CASES)
def test_implementation_counts_stay_within_the_spec_1000_runs(stem, algo):
    _impl_within_spec(stem, algo, 1000)


def test_impl_statistics_are_seeded():
    a = C.impl_costs("ring", 4, 30, types=("Election",))
    b = C.impl_costs("ring", 4, 30, types=("Election",))
    assert a.elected == b.elected and a.known == b.known
    assert C.stats([5, 1, 3, 100]) == {"min": 1, "median": 4, "p99": 100, "max": 100}
    assert C.stats([1, 2]) == {"min": 1, "median": 1.5, "p99": 2, "max": 2}


# ---------------------------------------------------------------- command line
def _text_rows(out: str) -> list[tuple]:
    """(spec, size, measure, best, worst, steps best, steps worst, distinct) per table row."""
    rows = []
    for line in out.splitlines():
        m = re.match(r"^(\w+)\s+(N=\d+)\s+(\w+)\s+messages\s+(\d+)\s+(\d+)\s+(\d+)\.\.(\d+)\s+([\d,]+)\s", line)
        if m:
            rows.append((m[1], m[2], m[3], *(int(m[k].replace(",", "")) for k in range(4, 9))))
    return rows


def test_cli_table_json_and_plot(tmp_path, capsys):
    paths = [str(spec_path(s)) for s in ("bully", "chang_roberts", "lcr")]
    png, svg = tmp_path / "c.png", tmp_path / "c.svg"
    assert main(["cost", *paths, "-D", "N=3..4", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "N(N+1)/2=10 (equal)" in out and "chart written" in out and "DIFFERS" not in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert main(["cost", *paths, "-D", "N=3..4", "--json", "--plot", str(svg)]) == 0
    data = json.loads(capsys.readouterr().out)
    got = [(Path(r["spec"]).stem, f"N={r['size']['N']}", m["measure"], m["best"], m["worst"], m["steps_best"],
            m["steps_worst"], r["distinct"]) for r in data["rows"] for m in r["measures"]]
    assert got == _text_rows(out), "--json gives the numbers of the table"
    assert [(g[0], g[1], g[3], g[4]) for g in got] == [
        ("bully", "N=3", 1, 7), ("bully", "N=4", 2, 13), ("chang_roberts", "N=3", 3, 6),
        ("chang_roberts", "N=4", 4, 10), ("lcr", "N=3", 4, 7), ("lcr", "N=4", 5, 11)]
    data["rows"] = [r for r in data["rows"] if Path(r["spec"]).stem == "chang_roberts"]
    assert data["rows"][0]["closed_form"]["worst"] == "N(N+1)/2"
    assert svg.read_text().lstrip().startswith("<?xml")


def test_cli_impl(capsys):
    path = spec_path("chang_roberts")
    assert main(["cost", str(path), "-D", "N=3..4", "--impl", "ring", "--runs", "50", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(x["N"], x["metric"], x["within"], x["runs"]) for x in data["impl"]] == \
        [(3, "elected", True, 50), (4, "elected", True, 50)]
    assert all(set(x) >= {"min", "median", "p99", "max"} for x in data["impl"])


@pytest.mark.parametrize("argv,msg", [
    (["-D", "N=6..3"], "empty range"),
    (["--plot", "chart.pdf"], "PNG or SVG"),
    (["--impl", "nosuch"], "unknown protocol"),
    (["--runs", "0"], "at least 1 run"),
    (["-D", "N=3..4", "-D", "N=5"], "-D N is given twice"),
])
def test_cli_usage_errors(argv, msg, capsys):
    path = spec_path("chang_roberts")
    assert main(["cost", str(path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and msg in err and "Traceback" not in err


def test_cli_spec_error_is_a_diagnostic(tmp_path, capsys):
    p = write(tmp_path, "none.elect", """
        spec Nothing
        var x: bool = false
        model default:
            pass
        """)
    assert main(["cost", str(p)]) == 1
    assert "no measure to compute" in capsys.readouterr().err


# ---------------------------------------------------------------- spec/README.md section
def test_cost_section_from_the_cache(tmp_path):
    src = spec_path("chang_roberts")
    d = tmp_path / "spec"
    d.mkdir()
    (d / "chang_roberts.elect").write_text(src.read_text())
    text = C.cost_section(d)
    assert "| chang_roberts | default | 3 | | | | | not computed: no row in cost.json |" in text
    rows = [C.cost(str(d / "chang_roberts.elect"), None, [f"N={n}"], traces=False, varied={"N": n}) for n in (3, 4)]
    C.write_cost_cache(rows, d)
    text = C.cost_section(d)
    assert "| chang_roberts | default | 3 | 3 | 6 | 6..9 | 137 | N = 3, N(N+1)/2 = 6 |" in text
    assert "messages until `any n in Node: state[n] == won`" in text
    assert "| chang_roberts | default | 5 | | | | | not computed: no row in cost.json |" in text
    assert "![Best and worst messages to elect a leader against N](cost.png)" in text
    assert "- **Chang-Roberts** (`chang_roberts.elect`, model `default`: N=3/4/5/6, CRASHES=0; network unordered; " \
        "faults none): messages until `any n in Node: state[n] == won`. Closed form (Chang & Roberts, CACM 22(5), " \
        "1979): best N, worst N(N+1)/2." in text
    (d / "chang_roberts.elect").write_text(src.read_text() + "\n# a comment changes nothing\n")
    assert "| chang_roberts | default | 3 | 3 | 6 |" in C.cost_section(d)
    # nor does a property that cannot change a cost: an invariant, a transition, a final
    extra = ("\ninvariant Extra:\n    all n in Node: state[n] != won or initiator[n]\n"
             "transition Extra2: true\nfinal Extra3: true\n")
    with_props = src.read_text().replace("\nmodel default:", extra + "\nmodel default:", 1)
    assert with_props != src.read_text()
    (d / "chang_roberts.elect").write_text(with_props)
    assert "| chang_roberts | default | 3 | 3 | 6 |" in C.cost_section(d)
    # a reachable property may be the election measure: changing one is a change
    (d / "chang_roberts.elect").write_text(src.read_text().replace("reachable SomeoneWins:", "reachable Other:", 1))
    assert "| chang_roberts | default | 3 | | | | | out of date: the spec changed since cost.json was written |" \
        in C.cost_section(d)
    # nor does another model
    (d / "chang_roberts.elect").write_text(src.read_text() + "\nmodel other:\n    N = 4\n")
    assert "| chang_roberts | default | 3 | 3 | 6 |" in C.cost_section(d)
    # the model itself does
    (d / "chang_roberts.elect").write_text(src.read_text().replace("model default:\n    pass",
                                                                   "model default:\n    network set", 1))
    assert "| chang_roberts | default | 3 | | | | | out of date: the spec changed since cost.json was written |" \
        in C.cost_section(d)


def test_refresh_cost_cache_stops_large_rows(tmp_path, monkeypatch):
    src = spec_path("chang_roberts")
    d = tmp_path / "spec"
    d.mkdir()
    (d / "chang_roberts.elect").write_text(src.read_text())
    monkeypatch.setattr(C, "SECTION_SIZES", (3, 5, 6))
    C.refresh_cost_cache(d, max_seconds=0.0)                # the clock is read every 1024 states
    text = C.cost_section(d)
    assert "| chang_roberts | default | 3 | 3 | 6 |" in text
    assert "not computed: the search had not finished after 0 s (" in text
    assert "| chang_roberts | default | 6 | | | | | not computed: N=5 did not finish, so not tried |" in text


def test_shipped_cost_cache_is_current():
    """spec/cost.json (read by the README section) agrees with the specs as they are."""
    path = SPEC / C.CACHE
    if not path.exists():
        pytest.skip("spec/cost.json not generated yet")
    cache = C._read_cache(path)
    for (stem, model, n), row in sorted(cache.items()):
        spec = SPEC / f"{stem}.elect"
        if not spec.exists() or row["digest"] != C._digest(spec, model) or row.get("stopped") \
                or row["distinct"] > 5_000:
            continue                                     # out of date, or too slow to redo here
        r = C.cost(str(spec), None if model == "default" else model, [f"N={n}"], traces=False)
        assert (r.main.best, r.main.worst, r.distinct) == \
            (row["measures"][0]["best"], row["measures"][0]["worst"], row["distinct"]), (stem, n)


def test_shipped_section_has_every_size_or_says_why():
    """spec/README.md's section: a row per spec and size, with numbers or the reason there
    are none (a search that did not finish in time), never a stale or missing row."""
    text = C.cost_section(SPEC)
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and not ln.startswith("| spec")]
    stems = [s for s in C.SECTION_SPECS if (SPEC / f"{s}.elect").exists()]
    assert [tuple(c.strip() for c in ln.strip("|").split("|")[:3]) for ln in rows] == \
        [(s, C.SECTION_MODELS.get(s, "default"), str(n)) for s in stems for n in C.SECTION_SIZES]
    for ln in rows:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        if cells[3]:
            assert cells[4] and cells[7] and "differs" not in cells[7], ln
        else:
            assert cells[7].startswith("not computed: ") and "no row" not in cells[7], \
                f"{ln}: refresh spec/cost.json with python -m checker.cost spec"
    assert "QUORUM=2/3/3/4" in text                   # a constant that follows N, per size
    assert "![Best and worst messages to elect a leader against N](cost.png)" in text


def test_chart_of_the_cache(tmp_path):
    series = C.series_of_cache(SPEC)
    names = [s.name for s in series]
    assert names[:3] == ["Bully", "Chang-Roberts", "LCR"]
    for s in series[:3]:
        assert s.missing == [] and [p[0] for p in s.points] == list(C.SECTION_SIZES)
        assert all((b, w) == (s.closed_form.best(n), s.closed_form.worst(n)) for n, b, w in s.points)
    out = C.plot_cache(SPEC, tmp_path / "cost.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000


def test_spec_readme_ends_with_the_section():
    """`elect table spec/` appends the section to spec/README.md (the whole file is
    compared with the generator's output by the slow table test; this is the fast part)."""
    from checker.table import render
    text = (SPEC / "README.md").read_text()
    section = C.cost_section(SPEC)
    assert section and text.endswith("\n" + section), "run `elect table spec/`"
    assert render([], SPEC).endswith("\n" + section)
