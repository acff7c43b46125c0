"""The visited set shared by the worker processes of `elect check --workers N`.

sharedset.c holds the table's code, as the extension module `_elect_sharedset`; this
module builds it once with the C compiler and Python's headers (cached under
$XDG_CACHE_HOME/elect, named by the source's and the interpreter's hash) and loads it.
Where it cannot be built, or ELECT_SHARED_SET=0, `library()` is None and the workers
partition the visited set among themselves instead (workers.py).

A table lives in a memfd (shared memory with a file descriptor), so that a bigger one made
during a search can be handed to the running workers (`send_handle`).
"""
from __future__ import annotations

import ctypes
import hashlib
import importlib.machinery
import importlib.util
import mmap
import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from types import ModuleType

SOURCE = Path(__file__).with_name("sharedset.c")
HEADER_BYTES = 512 * 8
SLOT_BYTES = 16
COORD = 56                      # the header's counter for the entries a rehash copied
MAX_WORKERS = COORD             # the header counts the slots each worker below it filled
LOAD = 0.7                      # a table is grown when this share of its slots is filled
FIRST_SLOTS = 1 << 18
LEVEL_SHIFT = 40                # a claim: ((level + 1) << 40) | (parent's rank in the level + 1)
MAX_LEVEL = (1 << 23) - 2

_lib: ModuleType | None | bool = False
why_not: str = ""               # why library() is None


def _cache_dirs() -> list[Path]:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return [Path(base) / "elect", Path(tempfile.gettempdir()) / f"elect-{os.getuid()}"]


def _build() -> Path:
    src = SOURCE.read_bytes()
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    key = hashlib.sha256(src + sys.version.encode() + sys.executable.encode()).hexdigest()[:16]
    errors = []
    for d in _cache_dirs():
        so = d / f"_elect_sharedset-{key}{suffix}"
        if so.exists():
            return so
        try:
            d.mkdir(parents=True, exist_ok=True)
            tmp = d / f".build-{key}-{os.getpid()}{suffix}"
            cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
            cmd = cc.split() + ["-O2", "-shared", "-fPIC", "-I", sysconfig.get_paths()["include"],
                                "-o", str(tmp), str(SOURCE)]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                raise OSError(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"exit {r.returncode}")
            os.replace(tmp, so)         # atomic: two processes building at once both succeed
            return so
        except (OSError, subprocess.SubprocessError) as e:
            errors.append(f"{d}: {e}")
    raise OSError("; ".join(errors))


def library() -> ModuleType | None:
    """The extension module, or None (see `why_not`)."""
    global _lib, why_not
    if _lib is not False:
        return _lib          # type: ignore[return-value]
    _lib = None
    if os.environ.get("ELECT_SHARED_SET", "1") == "0":
        why_not = "ELECT_SHARED_SET=0"
        return None
    if not hasattr(os, "memfd_create"):
        why_not = "no memfd_create on this system"
        return None
    try:
        so = _build()
        spec = importlib.util.spec_from_file_location("_elect_sharedset", so)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    except (OSError, ImportError) as e:
        why_not = f"cannot build {SOURCE.name}: {e}"
        return None
    _lib = mod
    return mod


def claim_base(level: int) -> int:
    """The claim of a state at `level` whose parent has rank r is claim_base(level) | (r + 1)."""
    if level > MAX_LEVEL:
        raise RuntimeError(f"shared visited set: more than {MAX_LEVEL} levels")
    return (level + 1) << LEVEL_SHIFT


class Table:
    """One table in shared memory: made by the coordinator (`Table.new`), opened by each
    worker from the descriptor (`Table(fd)`)."""

    def __init__(self, fd: int):
        self.fd = fd
        size = os.fstat(fd).st_size
        self.mm = mmap.mmap(fd, size)
        self._cbuf = ctypes.c_char.from_buffer(self.mm)
        self.addr = ctypes.addressof(self._cbuf)
        self.slots = (size - HEADER_BYTES) // SLOT_BYTES
        self.limit = int(self.slots * LOAD)

    @classmethod
    def new(cls, slots: int) -> "Table":
        fd = os.memfd_create("elect-visited")
        os.ftruncate(fd, HEADER_BYTES + slots * SLOT_BYTES)
        t = cls(fd)
        t.mm[:8] = slots.to_bytes(8, sys.byteorder)
        return t

    def grown(self, lib: ModuleType, need: int) -> "Table":
        """A table with room for `need` entries below the load limit, holding this one's
        (no worker may be using this one meanwhile)."""
        t = Table.new(slots_for(need, self.slots))
        if lib.rehash(self.addr, t.addr) < 0:
            raise RuntimeError("shared visited set: the entries did not fit the bigger table")
        return t

    def close(self):
        del self._cbuf
        self.mm.close()
        os.close(self.fd)


def slots_for(entries: int, slots: int | None = None) -> int:
    """Slots for a table with room for `entries` below the load limit: `slots` (a first
    table's by default), doubled as often as needed."""
    slots = slots or FIRST_SLOTS
    while slots * LOAD < entries:
        slots *= 2
    return slots
