"""The fault script of `elect run zookeeper|etcd`: what to break, and when.

A script is a list of steps separated by ';' or newlines (or a file holding them); `#`
starts a comment. Each step is a time (`5s`, `1.5s`, `500ms`, counted from the clients'
start) and an action; the words are those of reference/drivers/faults.py where they
overlap:

    5s pause leader for 4s        SIGSTOP the client that is leader now, SIGCONT 4 s later
    3s pause candidate for 5s     the contender next in line (lowest token after the leader's)
    2.5s pause client 2 for 3s    a client by number (`pause 2 for 3s` too)
    8s kill leader                SIGKILL a client (kill client 3, kill candidate)
    9s restart client 3           start a killed client again (a new incarnation)
    6s kill server leader         SIGKILL the server-side leader (kill server 2)
    7s pause server 1 for 2s      SIGSTOP a server
    10s restart server 2          start a killed server again, with its data

`leader` and `candidate` are resolved when the step runs, from what the clients recorded
(and, for an etcd candidate, from the server's keys), waiting up to 5 s for one; a step
whose target cannot be found is skipped and listed in the trace header's `notes`. A
pause lasts from the moment the process is stopped. Errors are one line naming the step.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


class FaultScriptError(Exception):
    pass


@dataclass(frozen=True)
class Fault:
    at: float
    action: str          # pause | kill | restart
    target: str          # client | server
    which: str | int     # "leader", "candidate" or a number
    duration: float = 0.0
    text: str = ""

    def describe(self) -> str:
        return self.text


_TIME = re.compile(r"^(\d+(?:\.\d+)?|\.\d+)(s|ms)$")


def _seconds(tok: str, step: str) -> float:
    m = _TIME.match(tok)
    if not m:
        raise FaultScriptError(f"fault script: step '{step}': expected a time such as '5s' or '500ms', "
                               f"found '{tok}'")
    v = float(m.group(1))
    return v / 1000.0 if m.group(2) == "ms" else v


def parse(script: str, clients: int, servers: int, duration: float | None = None) -> list[Fault]:
    """Parse a script (or the name of a file holding one) into faults sorted by time."""
    first = next(iter(re.split(r"[;\s]+", re.sub(r"#[^\n]*", "", script or "").strip(" ;\n\t"))), "")
    if first and not _TIME.match(first):
        # not a script (it does not start with a time): the name of a file holding one
        try:
            script = Path(script).read_text()
        except (OSError, UnicodeDecodeError) as e:
            raise FaultScriptError(f"fault script: '{script}' is neither a script (e.g. '5s kill leader') "
                                   f"nor a readable file ({e.__class__.__name__})") from None
    out: list[Fault] = []
    for raw in re.split(r"[;\n]", script or ""):
        step = raw.split("#", 1)[0].strip()
        if not step:
            continue
        toks = step.split()
        at = _seconds(toks[0], step)
        rest = toks[1:]
        if not rest:
            raise FaultScriptError(f"fault script: step '{step}': expected pause, kill or restart after the time")
        action = rest[0]
        if action not in ("pause", "kill", "restart"):
            raise FaultScriptError(f"fault script: step '{step}': expected pause, kill or restart, found '{action}'")
        args = rest[1:]
        dur = 0.0
        if action == "pause":
            if len(args) < 2 or args[-2] != "for":
                raise FaultScriptError(f"fault script: step '{step}': a pause needs 'for TIME', "
                                       f"e.g. '5s pause leader for 4s'")
            dur = _seconds(args[-1], step)
            args = args[:-2]
        target, which = _target(args, step, clients, servers)
        if action == "restart" and which in ("leader", "candidate"):
            raise FaultScriptError(f"fault script: step '{step}': restart needs a number "
                                   f"(e.g. 'restart {target} 2'), not '{which}'")
        if duration is not None and at > duration:
            raise FaultScriptError(f"fault script: step '{step}' is at {at:g}s, after the run ends "
                                   f"(--duration {duration:g})")
        out.append(Fault(at, action, target, which, dur, step))
    return sorted(out, key=lambda f: f.at)


def _target(args: list[str], step: str, clients: int, servers: int) -> tuple[str, str | int]:
    if args in (["leader"], ["candidate"]):
        return "client", args[0]
    if len(args) == 1 and args[0].isdigit():
        args = ["client", args[0]]
    if len(args) == 2 and args[0] in ("client", "server"):
        kind, which = args
        if which == "leader" or (which == "candidate" and kind == "client"):
            return kind, which
        if which.isdigit():
            n = int(which)
            limit = clients if kind == "client" else servers
            if not 1 <= n <= limit:
                raise FaultScriptError(f"fault script: step '{step}': there is no {kind} {n} "
                                       f"(this run has {kind}s 1..{limit})")
            return kind, n
    raise FaultScriptError(f"fault script: step '{step}': expected a target: leader, candidate, "
                           f"client N, server N or server leader; found '{' '.join(args)}'")
