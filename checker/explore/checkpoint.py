"""Checkpoints: `elect check --checkpoint DIR` saves the search so that, after the process
is killed (even with SIGKILL), `elect check --resume DIR` finishes it with exactly the
counts of an uninterrupted run.

What is saved is the whole `bfs.Search`: the visited fingerprints, the parent links and
fingerprints of every state so far, the level being expanded and how far (`pos`), the
next level found so far, the counts, and the `reachable` properties witnessed. The level
loop stops at a consistent point every 1024 states (everything before `pos` fully
expanded), which is where a checkpoint is taken: every `ELECT_CHECKPOINT_SECONDS`
seconds (default 300), and at the end of every level when that variable is 0 (what the
tests use). The file is written beside the old one, flushed to disk and renamed over it,
so a kill at any moment leaves one complete checkpoint. A finished search saves its
final state too: resuming it just reports the result again.

`meta.json` records the spec (and a hash of its text), the model, the -D overrides and
whether symmetry reduction is on; resuming with different ones is refused, since the
saved fingerprints would mean nothing.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import sys
import time
from array import array
from pathlib import Path
from typing import Any

from ..model import Model
from .bfs import Found, Search, SearchResult
from .visited import dump_set, load_array, load_set

FORMAT = 1
STATE_FILE = "search.ckpt"
META_FILE = "meta.json"


def interval() -> float:
    try:
        return float(os.environ.get("ELECT_CHECKPOINT_SECONDS", "300"))
    except ValueError:
        return 300.0


def _meta(model: Model, spec_path: str, model_name: str | None, defines: list[str] | None, symmetry: bool) -> dict:
    return {"format": FORMAT, "spec": str(spec_path),
            "spec_sha256": hashlib.sha256(model.spec.source.encode()).hexdigest(),
            "model": model.config.name, "defines": list(defines or []), "symmetry": bool(symmetry)}


class CheckpointError(Exception):
    pass


def save(search: Search, directory: Path, meta: dict, done: bool = False) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    data = {
        "format": FORMAT,
        "seen": dump_set(search.seen),
        "parent": search.parent.tobytes(),
        "fparr": search.fparr.tobytes(),
        "frontier": search.frontier,
        "pos": search.pos,
        "nxt": search.nxt,
        "base": search.base,
        "depth": search.depth,
        "transitions": search.transitions,
        "level_transitions": search.level_transitions,
        "witnessed": search.witnessed,
        "pending": search.pending,
        "found": _found_data(search.found),
        "stopped": search.stopped,
        "elapsed": search.elapsed(),
        "done": done,
    }
    tmp = directory / (STATE_FILE + ".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, directory / STATE_FILE)
    m = dict(meta, distinct=len(search.parent), depth=search.depth, done=done, saved=time.time())
    mtmp = directory / (META_FILE + ".tmp")
    mtmp.write_text(json.dumps(m, indent=1, sort_keys=True) + "\n")
    os.replace(mtmp, directory / META_FILE)
    try:
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # pragma: no cover - directories cannot be fsynced everywhere
        pass


def _found_data(f: Found | None):
    if f is None or f.kind == "error":
        return None
    return (f.kind, f.prop, f.state_id, f.from_id, f.target)


class _DataOnly(pickle.Unpickler):
    """A checkpoint holds data only (states are tuples, ints, strings, frozensets): a
    pickle that names any class or function is not one of ours, and nothing it names is
    imported or called."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"it names {module}.{name}")


# field -> the type it must have in a checkpoint
_FIELDS = {"seen": bytes, "parent": bytes, "fparr": bytes, "frontier": list, "pos": int, "nxt": list,
           "base": int, "depth": int, "transitions": int, "level_transitions": int, "witnessed": dict,
           "pending": list, "elapsed": float}


def restore(search: Search, directory: Path) -> bool:
    """Load a saved search into `search`; False when the directory holds none yet."""
    path = directory / STATE_FILE
    if not path.exists():
        return False
    damaged = f"'{path}' is damaged or not a checkpoint"
    try:
        with open(path, "rb") as f:
            data = _DataOnly(f).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError,
            KeyError, MemoryError, RecursionError) as e:
        raise CheckpointError(f"{damaged} ({e.__class__.__name__}: {str(e)[:80]}); "
                              f"start again with --checkpoint") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        fmt = data.get("format") if isinstance(data, dict) else None
        raise CheckpointError(f"'{path}' was written by another version of elect (format {fmt})")
    bad = next((k for k, ty in _FIELDS.items() if not isinstance(data.get(k), ty) or isinstance(data.get(k), bool)),
               None)
    found = data.get("found")
    if bad is None and found is not None and not (isinstance(found, tuple) and len(found) == 5):
        bad = "found"
    if bad is None:          # arrays of 8-byte fingerprints and ids
        bad = next((k for k in ("seen", "parent", "fparr") if len(data[k]) % 8), None)
    if bad is not None:
        raise CheckpointError(f"{damaged} (its field '{bad}' is missing or of the wrong type); "
                              f"start again with --checkpoint")
    search.seen = load_set(data["seen"])
    search.parent = load_array(data["parent"])
    search.fparr = load_array(data["fparr"])
    search.frontier = data["frontier"]
    search.pos = data["pos"]
    search.nxt = data["nxt"]
    search.base = data["base"]
    search.depth = data["depth"]
    search.transitions = data["transitions"]
    search.level_transitions = data["level_transitions"]
    search.witnessed.clear()
    search.witnessed.update(data["witnessed"])
    search.pending[:] = data["pending"]
    if data["found"] is not None:
        search.found = Found(*data["found"])
    search.stopped = None
    search.elapsed_before = data["elapsed"]
    search.t0 = time.perf_counter()
    search.started = True
    return True


def bfs_checkpointed(model: Model, *, spec_path: str, model_name: str | None = None,
                     defines: list[str] | None = None, symmetry: bool = False, checkpoint: str | None = None,
                     resume: str | None = None, max_states: int | None = None, max_depth: int | None = None,
                     progress: bool = False, max_memory_mib: float | None = None) -> SearchResult:
    directory = Path(resume or checkpoint)
    meta = _meta(model, spec_path, model_name, defines, symmetry)
    canon = None
    if symmetry:
        from .symmetry import canonicalizer
        canon = canonicalizer(model)
    every = interval()
    last = [time.perf_counter()]

    def report(search: Search):
        if progress:
            print(f"checkpoint: saved {len(search.parent):,} distinct states (depth {search.depth}) to {directory}",
                  file=sys.stderr, flush=True)

    def on_tick(search: Search, level_end: bool):
        now = time.perf_counter()
        if (every <= 0 and level_end) or (every > 0 and now - last[0] >= every):
            save(search, directory, meta)
            last[0] = time.perf_counter()
            report(search)

    search = Search(model, canon=canon, max_states=max_states, max_depth=max_depth,
                    max_memory_mib=max_memory_mib, progress=progress, on_tick=on_tick)
    if resume:
        mpath = directory / META_FILE
        if not directory.exists():
            raise _usage(f"elect check: no checkpoint directory '{directory}' (start one with --checkpoint)")
        if not directory.is_dir():
            raise _usage(f"elect check: '{directory}' is not a directory (--resume takes the --checkpoint directory)")
        if mpath.exists():
            other = _other_search(_saved_meta(mpath), meta)
            if other:
                raise _usage(f"elect check: the checkpoint in '{directory}' is of another search ({other})")
        elif (directory / STATE_FILE).exists():
            raise _usage(f"elect check: '{directory}' has a search but no {META_FILE}: it cannot be told "
                         f"which search it is; start again with --checkpoint")
        elif any(directory.iterdir()):
            raise _usage(f"elect check: '{directory}' holds no checkpoint (no {META_FILE}, no {STATE_FILE})")
        try:
            resumed = restore(search, directory)
        except CheckpointError as e:
            raise _usage(f"elect check: {e}") from None
        if resumed and progress:
            print(f"checkpoint: resumed {len(search.parent):,} distinct states (depth {search.depth}) "
                  f"from {directory}", file=sys.stderr, flush=True)
    else:
        if directory.exists() and not directory.is_dir():
            raise _usage(f"elect check: '{directory}' is not a directory (--checkpoint takes a directory)")
        mpath = directory / META_FILE
        if mpath.exists():       # starting again here would overwrite it: only a finished one of this search
            old = _saved_meta(mpath)
            other = _other_search(old, meta)
            if other:
                raise _usage(f"elect check: '{directory}' holds the checkpoint of another search ({other}); "
                             f"give another directory, or remove it first")
            if not old.get("done"):
                raise _usage(f"elect check: '{directory}' holds an unfinished checkpoint of this search "
                             f"({old.get('distinct', 0):,} states): go on with --resume {directory}, or remove "
                             f"it to start again")
        directory.mkdir(parents=True, exist_ok=True)
    if search.found is None:
        search.run()
    if search.consistent:
        save(search, directory, meta, done=search.stopped is None)
        if search.stopped is not None:
            print(f"checkpoint: saved {len(search.parent):,} distinct states (depth {search.depth}) to {directory}; "
                  f"go on with --resume {directory}", file=sys.stderr, flush=True)
    else:
        print(f"checkpoint: the search was broken off mid-state; {directory} keeps the last checkpoint saved",
              file=sys.stderr, flush=True)
    return search.result()


def _saved_meta(mpath: Path) -> dict:
    try:
        old = json.loads(mpath.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise _usage(f"elect check: '{mpath}' is damaged ({e.__class__.__name__}); "
                     f"start again with --checkpoint in another directory") from None
    if not isinstance(old, dict) or old.get("format") != FORMAT:
        raise _usage(f"elect check: '{mpath}' is not a checkpoint of this version of elect")
    return old


def _other_search(old: dict, meta: dict) -> str | None:
    """How a saved checkpoint's search differs from this one (None: the same search)."""
    if _defines_key(old.get("defines")) != _defines_key(meta["defines"]):
        return f"-D: saved {old.get('defines')!r}, now {meta['defines']!r}"
    for key in ("spec_sha256", "model", "symmetry"):
        if old.get(key) != meta[key]:
            return f"{key}: saved {old.get(key)!r}, now {meta[key]!r}"
    return None


def _defines_key(defines) -> list[tuple[str, str]] | None:
    """-D overrides as a sorted list of (name, value): their order does not matter."""
    if not isinstance(defines, list):
        return None
    out = []
    for d in defines:
        name, _, value = str(d).partition("=")
        out.append((name.strip(), value.strip()))
    return sorted(dict(out).items())


def _usage(msg: str) -> Exception:
    try:
        from ..cli import UsageError
        return UsageError(msg)
    except ImportError:  # pragma: no cover
        return CheckpointError(msg)
