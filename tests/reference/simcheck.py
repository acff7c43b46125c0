"""Helpers for the simulator-based property tests of tests/reference (not a test file)."""
from __future__ import annotations

from hypothesis import HealthCheck, Phase, find, settings, strategies as st

from reference.drivers.sim import Budget, ScheduleError, Sim, replay, shrink

#: Every fault the untimed simulator has, a few of each.
ALL_FAULTS = Budget(crashes=2, restarts=True, partitions=2, drops=6, duplicates=3)
#: Step weights for hunting bugs that need a crash between two votes.
CRASHY = {**Sim.WEIGHTS, "timer": 0.5, "crash": 1.0}

PROPERTY = settings(max_examples=80, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
SEARCH = settings(max_examples=2000, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))

#: Search without shrinking, for searches whose examples are slow to run.
FIRST = settings(SEARCH, phases=[Phase.generate])

SEEDS = st.integers(0, 2 ** 32 - 1)
PICKS = st.lists(st.integers(0, Sim.PICK_RANGE - 1), max_size=150)


def walk(algo: str, seed: int, nodes: int = 3, steps: int = 200, budget: Budget = ALL_FAULTS,
         weights: dict | None = None, options: dict | None = None) -> tuple[Sim, list[dict]]:
    """An untimed random run (the seed picks the ring's initiators too)."""
    sim = Sim(algo, nodes, seed=seed, timed=False, options=options)
    taken = sim.run_random(steps, budget, weights=weights)
    return sim, taken


def picks_run(algo: str, picks: list[int], nodes: int = 3, budget: Budget = ALL_FAULTS,
              options: dict | None = None) -> Sim:
    """An untimed run whose every step Hypothesis picked (weighted by Sim.WEIGHTS)."""
    sim = Sim(algo, nodes, seed=0, timed=False, options=options)
    sim.run_choices(picks, budget, weights=Sim.WEIGHTS)
    return sim


def find_violation(algo: str, nodes: int = 3, steps: int = 60, budget: Budget = ALL_FAULTS,
                   weights: dict | None = None) -> tuple[list[dict], dict, str]:
    """Hypothesis searches seeds of random runs until one breaks safety; the run's
    schedule is then shrunk. Returns (schedule, options, violation)."""
    def breaks(seed: int) -> bool:
        return walk(algo, seed, nodes, steps, budget, weights)[0].violation is not None

    seed = find(SEEDS, breaks, settings=SEARCH)
    sim, taken = walk(algo, seed, nodes, steps, budget, weights)
    small = shrink(algo, nodes, taken, options=sim.options)
    again = replay(algo, nodes, small, options=sim.options)
    assert again.violation is not None
    return small, sim.options, again.violation


def replays_without_violation(algo: str, nodes: int, schedule: list[dict],
                              options: dict | None = None) -> bool:
    """True if the schedule cannot be replayed (the code takes another path) or replays
    without breaking safety."""
    try:
        return replay(algo, nodes, schedule, options=options).violation is None
    except ScheduleError:
        return True
