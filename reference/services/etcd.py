"""etcd leader election over etcd 3.4's JSON gateway, and the server's side from a watch.

The client (one OS process, `python -m reference.services.etcd`) uses the election
service that etcd itself implements (`/v3/election/campaign`), with httpx:

1. lease_grant: `/v3/lease/grant` with the TTL; a keepalive thread renews it every TTL/3
   and declares it lost when a renewal answers TTL 0 (the server revoked it) or, when
   the server does not answer, once no renewal succeeded for a whole TTL (the local
   deadline, as etcd's Go client keeps);
2. campaign: `/v3/election/campaign` with the lease blocks until the server elects us.
   The server puts the key `/elect/election/<lease hex>` (its create revision is the
   fencing token) and waits until every older key under the prefix is deleted;
3. elected: by default the client then reads its key back and leads only if the key
   still exists with that create revision (recorded as a read at the range's header
   revision); if not, `campaign_stale`. The `trust-campaign` variant leads on the
   campaign's answer alone. etcd 3.4 answers a campaign whose own key was deleted while
   it waited (its lease expired) as a success, so a trusting client can lead with a key
   that no longer exists while a younger contender leads too;
4. while leader, write to the resource with the token; lease loss ends leadership.

The server side (`Watcher`, `service_records`) comes from a watch on the election prefix
from revision 1, kept open during the run: each put of a new key is a `register`, each
delete an `expire` (the lease had gone) or a `cancel` (the lease was still alive: the
server removed the key of a campaign whose request was abandoned), at its revision.
"""
from __future__ import annotations

import base64
import json
import queue
import sys
import threading
import time
from typing import Any

import httpx

from .client import ELECTION, ClientBase, main

PREFIX = ELECTION + "/"


def b64(s: str | bytes) -> str:
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def unb64(s: str) -> str:
    return base64.b64decode(s).decode(errors="replace")


def prefix_end(p: str) -> str:
    b = p.encode()
    return b64(b[:-1] + bytes([b[-1] + 1]))


class Unavailable(Exception):
    pass


class Etcd:
    """The JSON gateway of a cluster: POSTs tried on each endpoint in turn."""

    def __init__(self, endpoints: list[str], timeout: float = 1.0):
        self.endpoints = list(endpoints)
        self.timeout = timeout
        self.http = httpx.Client(timeout=timeout)

    def post(self, path: str, body: dict[str, Any], timeout: float | None = -1.0) -> dict[str, Any]:
        last = None
        for _ in range(len(self.endpoints)):
            ep = self.endpoints[0]
            try:
                t = self.timeout if timeout == -1.0 else timeout
                r = self.http.post(ep + path, json=body, timeout=httpx.Timeout(self.timeout, read=t))
                out = r.json()
                if r.status_code >= 500 and "error" in out and "not found" not in str(out.get("error")):
                    raise Unavailable(str(out.get("error")))
                return out
            except (httpx.HTTPError, ValueError, Unavailable) as e:
                last = e
                self.endpoints.append(self.endpoints.pop(0))
        raise Unavailable(str(last))

    def close(self) -> None:
        self.http.close()


# ---- the client ---------------------------------------------------------------------------


class EtcdClient(ClientBase):
    system = "etcd"

    def __init__(self, args):
        super().__init__(args)
        eps = args.hosts.split(",")
        k = (self.id - 1) % len(eps)
        self.endpoints = eps[k:] + eps[:k]
        self.api = Etcd(self.endpoints)
        self.ttl = max(1, int(round(args.timeout)))
        self.trust = args.trust_campaign
        self.deadline = 0.0  # local lease deadline (monotonic)
        self.campaign_q: queue.Queue | None = None  # the campaign in flight, if any
        self.campaign_lease: str | None = None

    # -- lease --
    def connect(self) -> None:
        threading.Thread(target=self.keepalive_loop, daemon=True).start()

    def grant(self) -> None:
        try:
            r = self.api.post("/v3/lease/grant", {"TTL": self.ttl})
        except Unavailable:
            time.sleep(0.1)
            return
        if "ID" not in r:
            time.sleep(0.1)
            return
        with self.lock:
            self.deadline = time.monotonic() + int(r.get("TTL", self.ttl))
            self.step({"kind": "lease_grant", "session": r["ID"], "ttl": int(r.get("TTL", self.ttl))},
                      session=r["ID"])

    def lease_lost(self, lease: str, reason: str) -> None:
        with self.lock:
            if self.session != lease or self.stopping.is_set():
                return
            self.step({"kind": "lease_lost", "session": lease, "reason": reason},
                      session=None, role="idle", token=None)

    def keepalive_loop(self) -> None:
        api = Etcd(self.endpoints)
        while not self.stopping.is_set():
            with self.lock:
                lease, deadline = self.session, self.deadline
            if lease is not None:
                # the server's word first; the local deadline only when the server is silent
                sent = time.monotonic()
                try:
                    r = api.post("/v3/lease/keepalive", {"ID": lease})
                    ttl = int(r.get("result", {}).get("TTL", 0))
                    if ttl > 0:
                        with self.lock:
                            if self.session == lease:
                                self.deadline = sent + ttl
                    elif "result" in r:
                        self.lease_lost(lease, "expired")
                        continue
                except (Unavailable, ValueError):
                    pass
                if time.monotonic() > deadline:
                    self.lease_lost(lease, "deadline")
                    continue
            self.stopping.wait(max(0.2, self.ttl / 3.0))
        api.close()

    # -- campaign --
    def _campaign(self, lease: str, q: queue.Queue) -> None:
        api = Etcd(self.endpoints)
        while True:
            try:
                q.put(api.post("/v3/election/campaign",
                               {"name": b64(ELECTION), "lease": lease, "value": b64(str(self.id))}, timeout=None))
                return
            except Unavailable:
                # the server we waited on went away; the key stays, campaign again elsewhere
                with self.lock:
                    if self.campaign_q is not q:
                        return
                time.sleep(0.1)

    def campaign_step(self) -> None:
        with self.lock:
            role, lease = self.role, self.session
        if lease is None:
            self.grant()
            return
        if role == "idle":
            with self.lock:
                if self.session != lease:
                    return
                self.step({"kind": "campaign", "session": lease}, role="candidate")
        if self.campaign_q is None or self.campaign_lease != lease:
            self.campaign_q, self.campaign_lease = queue.Queue(), lease
            threading.Thread(target=self._campaign, args=(lease, self.campaign_q), daemon=True).start()
        try:
            ans = self.campaign_q.get(timeout=0.1)
        except queue.Empty:
            return
        self.campaign_q = None
        if "leader" not in ans:
            err = str(ans.get("error", ans.get("message", "")))
            if "lease not found" in err:
                self.lease_lost(lease, "not_found")
            else:
                time.sleep(0.1)
            return
        token = int(ans["leader"]["rev"])
        if self.trust:
            with self.lock:
                if self.session == lease and self.role == "candidate":
                    self.step({"kind": "elected", "token": token}, role="leader", token=token)
            return
        key = ans["leader"]["key"]
        try:
            got = self.api.post("/v3/kv/range", {"key": key})
        except Unavailable:
            # cannot confirm: campaign again (with this lease the server returns the same key)
            return
        rev = int(got.get("header", {}).get("revision", 0))
        kvs = got.get("kvs", [])
        alive = bool(kvs) and int(kvs[0].get("create_revision", 0)) == token and kvs[0].get("lease") == lease
        with self.lock:
            if self.session != lease or self.role != "candidate":
                return
            if alive:
                self.step({"kind": "elected", "token": token}, pos={"read": rev}, role="leader", token=token)
            else:
                self.step({"kind": "campaign_stale", "token": token}, pos={"read": rev}, role="idle", token=None)

    def resign(self) -> None:
        with self.lock:
            lease = self.session
        pos = None
        if lease is not None:
            try:
                r = self.api.post("/v3/lease/revoke", {"ID": lease}, timeout=1.0)
                if "header" in r:
                    pos = {"read": int(r["header"]["revision"])}
            except Unavailable:
                pass
        self.step({"kind": "resign", "session": lease}, pos=pos, role="idle", token=None, session=None)


# ---- the server side: a watch on the election prefix ---------------------------------------


class Watcher(threading.Thread):
    """Collects every event under the election prefix, with the time it was seen."""

    def __init__(self, endpoints: list[str], epoch: float):
        super().__init__(daemon=True)
        self.endpoints = list(endpoints)
        self.epoch = epoch
        self.events: dict[int, list[dict[str, Any]]] = {}  # revision -> events
        self.next_rev = 1
        self.lease_of: dict[str, str] = {}
        self.halt = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        i = 0
        while not self.halt.is_set():
            ep = self.endpoints[i % len(self.endpoints)]
            i += 1
            try:
                self._stream(ep)
            except (httpx.HTTPError, ValueError, OSError):
                self.halt.wait(0.1)

    def _stream(self, ep: str) -> None:
        body = {"create_request": {"key": b64(PREFIX), "range_end": prefix_end(PREFIX),
                                   "start_revision": self.next_rev}}
        with httpx.Client(timeout=httpx.Timeout(1.0, read=0.5)) as http:
            lease_api = Etcd([ep], timeout=0.5)
            try:
                with http.stream("POST", ep + "/v3/watch", json=body) as r:
                    for line in r.iter_lines():
                        if self.halt.is_set():
                            return
                        if line.strip():
                            self._take(json.loads(line).get("result", {}), lease_api)
            except httpx.ReadTimeout:
                return
            finally:
                lease_api.close()

    def _take(self, result: dict[str, Any], lease_api: Etcd) -> None:
        wall = round(time.monotonic() - self.epoch, 6)
        for ev in result.get("events", []):
            kv = ev.get("kv", {})
            key = unb64(kv.get("key", ""))
            rev = int(kv.get("mod_revision", 0))
            if rev < self.next_rev:
                continue
            item = {"type": ev.get("type", "PUT"), "key": key, "rev": rev, "wall": wall,
                    "create_revision": int(kv.get("create_revision", 0) or 0), "lease": kv.get("lease")}
            if item["type"] == "PUT":
                self.lease_of[key] = kv.get("lease", "0")
            else:
                item["lease"] = self.lease_of.get(key)
                item["lease_alive"] = self._lease_alive(lease_api, item["lease"])
            with self.lock:
                self.events.setdefault(rev, []).append(item)
        revs = [int(ev.get("kv", {}).get("mod_revision", 0)) for ev in result.get("events", [])]
        if revs:
            self.next_rev = max(self.next_rev, max(revs) + 1)

    @staticmethod
    def _lease_alive(api: Etcd, lease: str | None) -> bool | None:
        if not lease or lease == "0":
            return None
        try:
            r = api.post("/v3/lease/timetolive", {"ID": lease})
            return int(r.get("TTL", -1)) > 0
        except (Unavailable, ValueError):
            return None

    def catch_up(self, timeout: float = 3.0) -> bool:
        """Wait until every revision up to the cluster's current one has been seen."""
        api = Etcd(self.endpoints, timeout=0.5)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    cur = int(api.post("/v3/kv/range", {"key": b64(PREFIX), "range_end": prefix_end(PREFIX),
                                                       "count_only": True})["header"]["revision"])
                except (Unavailable, KeyError, ValueError):
                    return False
                if self.next_rev > cur or not self.is_alive():
                    return self.next_rev > cur
                time.sleep(0.05)
            return False
        finally:
            api.close()

    def stop(self) -> None:
        self.halt.set()
        self.join(2.0)


def service_records(watcher: Watcher, client_records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """The service lane: `register`, `expire`, `cancel` records at their revisions.

    Also gives client `resign` records whose revoke deleted the key the write position of
    that delete, and `elected` records of trusting clients an `after` position: the
    revision by which every older key was gone (the campaign cannot answer before that).
    """
    owner: dict[str, int] = {}
    for r in client_records:
        if r["input"]["kind"] == "lease_grant":
            owner[r["input"]["session"]] = r["node"]
    resign_at = {}
    for r in client_records:
        if r["input"]["kind"] == "resign" and r.get("pos", {}).get("read") is not None:
            resign_at[(r["input"].get("session"), r["pos"]["read"])] = r
    holders: dict[int, tuple[int | None, str | None]] = {}  # token -> (client, lease)
    token_of_key: dict[str, int] = {}
    deleted_at: dict[int, int] = {}  # token -> revision of its delete
    out: list[dict[str, Any]] = []
    with watcher.lock:
        revs = sorted(watcher.events)
        events = {r: list(watcher.events[r]) for r in revs}
    for rev in revs:
        for e in events[rev]:
            if e["type"] == "PUT" and e["create_revision"] == rev:
                holders[rev] = (owner.get(e["lease"]), e["lease"])
                token_of_key[e["key"]] = rev
                live = [[t, c] for t, (c, _l) in sorted(holders.items())]
                out.append({"wall": e["wall"], "node": "service",
                            "input": {"kind": "register", "client": owner.get(e["lease"]), "token": rev,
                                      "session": e["lease"]},
                            "state": {"holders": live}, "effects": [], "pos": {"write": rev}})
        by_lease: dict[str, list[int]] = {}
        alive_flags: dict[str, bool | None] = {}
        dels = [e for e in events[rev] if e["type"] == "DELETE" and e["key"] in token_of_key]
        wall = max((e["wall"] for e in dels), default=0.0)
        for e in dels:
            tok = token_of_key.pop(e["key"])
            _client, lease = holders.pop(tok, (None, e["lease"]))
            deleted_at[tok] = rev
            by_lease.setdefault(str(lease), []).append(tok)
            alive_flags[str(lease)] = e.get("lease_alive")
        for lease in sorted(by_lease):
            toks = sorted(by_lease[lease])
            live = [[t, c] for t, (c, _l) in sorted(holders.items())]
            rr = resign_at.get((lease, rev))
            if rr is not None:
                rr["pos"] = {"write": rev}
                rr["effects"] = rr.get("effects", []) + [{"kind": "deleted", "tokens": toks}]
                continue
            kind = "cancel" if alive_flags.get(lease) else "expire"
            out.append({"wall": wall, "node": "service",
                        "input": {"kind": kind, "client": owner.get(lease), "session": lease, "tokens": toks},
                        "state": {"holders": live}, "effects": [], "pos": {"write": rev}})
    # trusting clients: elected no earlier than the deletion of every older key
    all_tokens = sorted(set(deleted_at) | {int(r["input"]["token"]) for r in client_records
                                           if r["input"]["kind"] == "elected"})
    for r in client_records:
        if r["input"]["kind"] == "elected" and "pos" not in r:
            tok = r["input"]["token"]
            older = [deleted_at[t] for t in all_tokens if t < tok and t in deleted_at]
            r["pos"] = {"after": max(older + [tok])}
    notes = [] if revs else ["the etcd watch saw no events; the service lane is empty"]
    return out, notes


if __name__ == "__main__":
    sys.exit(main(EtcdClient))
