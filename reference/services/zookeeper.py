"""ZooKeeper leader election with kazoo, and the server's side of the story from its logs.

The client (one OS process, `python -m reference.services.zookeeper`) runs the classic
ephemeral-sequential recipe directly, rather than kazoo's `Election`, so that every
decision can be tied to the server's transaction id (zxid) that it was based on:

1. connect: a session (kazoo reconnects on its own and reports SUSPENDED, CONNECTED, LOST);
2. campaign: create `/elect/election/n-` ephemeral and sequential; the 10-digit
   sequence number is the fencing token (it is the parent's cversion, so it grows with
   every create and delete under the election path); recorded at the create's czxid;
3. elected: list the children; when our node has the lowest number we lead (recorded as
   a read of the children list, whose stat.pzxid is the zxid of its last change);
   otherwise watch the next lower node and list again when it goes;
4. while leader, write to the resource with the token;
5. step down on SUSPENDED (the connection dropped: the session may be gone), and forget
   node and token on LOST (the server expired the session); a resumed client that was
   leader hears about this only after it has been scheduled again, which is the window
   in which it still writes.

The server side (`service_records`) is read back from the servers' transaction logs
(`dataDir/version-2/log.*`, the binary jute format: file header "ZKLG", then per entry
crc, length, TxnHeader{clientId, cxid, zxid, time, type}, the record, a digest, 'B') and
from their logs' "Expiring session 0x..., timeout of N ms exceeded" lines: a
closeSession transaction of an expired session becomes an `expire` record at its zxid.
"""
from __future__ import annotations

import re
import struct
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .client import ELECTION, ClientBase, main

# ---- the client ---------------------------------------------------------------------------


class ZooKeeperClient(ClientBase):
    system = "zookeeper"

    def __init__(self, args):
        super().__init__(args)
        from kazoo.client import KazooClient  # only the client process needs kazoo
        hosts = args.hosts.split(",")
        k = (self.id - 1) % len(hosts)
        hosts = hosts[k:] + hosts[:k]  # spread clients over servers, deterministically
        self.connected = False
        self.closing = False
        self.zk = KazooClient(hosts=",".join(hosts), timeout=args.timeout, randomize_hosts=False,
                              connection_retry={"max_tries": -1, "delay": 0.05, "backoff": 1.5,
                                                "max_delay": 0.5})
        self.zk.add_listener(self.on_state)

    def state(self) -> dict[str, Any]:
        s = super().state()
        s["connected"] = self.connected
        return s

    # kazoo calls this from its connection thread; it must not block
    def on_state(self, st: str) -> None:
        from kazoo.client import KazooState
        with self.lock:
            if self.closing:
                return
            if st == KazooState.SUSPENDED:
                if not self.connected:
                    return
                changes: dict[str, Any] = {"connected": False}
                if self.role == "leader":
                    changes["role"] = "candidate"
                self.step({"kind": "suspend"}, **changes)
            elif st == KazooState.LOST:
                if self.session is None:
                    return
                self.step({"kind": "session_lost", "session": self.session},
                          session=None, token=None, role="idle", connected=False)
            elif st == KazooState.CONNECTED:
                cid = self.zk.client_id
                sid = f"0x{cid[0]:x}" if cid else None
                if sid is not None and sid == self.session:
                    self.step({"kind": "reconnect", "session": sid}, connected=True)
                else:
                    changes = {"session": sid, "connected": True}
                    if self.session is not None:  # a new session without LOST: the old one is gone
                        changes.update(role="idle", token=None)
                    self.step({"kind": "connect", "session": sid}, **changes)

    def connect(self) -> None:
        while not self.stopping.is_set():
            try:
                self.zk.start(timeout=5.0)
                return
            except Exception:  # kazoo raises its own timeout type; keep trying until stopped
                time.sleep(0.1)

    def campaign_step(self) -> None:
        from kazoo.exceptions import KazooException
        with self.lock:
            role, token, session, connected = self.role, self.token, self.session, self.connected
        if not connected or session is None:
            time.sleep(0.02)
            return
        try:
            if role == "idle":
                path, st = self.zk.create(f"{ELECTION}/n-", str(self.id).encode(), ephemeral=True,
                                          sequence=True, makepath=True, include_data=True)
                tok = int(path.rsplit("-", 1)[1])
                with self.lock:
                    # a session that changed under us owns this node, not the current one
                    if self.session == session and self.role == "idle":
                        self.step({"kind": "campaign", "token": tok}, pos={"write": st.czxid},
                                  role="candidate", token=tok)
                return
            children, pst = self.zk.get_children(ELECTION, include_data=True)
            seqs = sorted(int(c.rsplit("-", 1)[1]) for c in children if c.startswith("n-"))
            if token not in seqs:
                # our node is gone: the session expired; kazoo will say LOST
                time.sleep(0.02)
                return
            if seqs[0] == token:
                with self.lock:
                    if self.role == "candidate" and self.token == token and self.connected \
                            and self.session == session:
                        self.step({"kind": "elected", "token": token}, pos={"read": pst.pzxid}, role="leader")
                return
            pred = max(s for s in seqs if s < token)
            gone = threading.Event()
            if self.zk.exists(f"{ELECTION}/n-{pred:010d}", watch=lambda _e: gone.set()):
                gone.wait(0.5)
        except KazooException:
            time.sleep(0.05)

    def resign(self) -> None:
        with self.lock:
            self.closing = True
            self.step({"kind": "resign", "session": self.session},
                      role="idle", token=None, session=None, connected=False)
        try:
            self.zk.stop()
            self.zk.close()
        except Exception:
            pass


# ---- the server side: transaction logs ----------------------------------------------------

TXN_CREATE = (1, 15, 19, 21)  # create, create2, createContainer, createTTL
TXN_DELETE = 2
TXN_CREATE_SESSION = -10
TXN_CLOSE_SESSION = -11
_MAGIC = 0x5A4B4C47  # "ZKLG"


@dataclass(frozen=True)
class Txn:
    zxid: int
    time_ms: int
    type: int
    session: int
    path: str | None


def _ustring(buf: bytes, off: int) -> str | None:
    if off + 4 > len(buf):
        return None
    (n,) = struct.unpack_from(">i", buf, off)
    if n < 0 or off + 4 + n > len(buf):
        return None
    return buf[off + 4: off + 4 + n].decode(errors="replace")


def read_txn_log(path: Path) -> list[Txn]:
    """The transactions of one log file, stopping at the preallocated zeros or a torn entry."""
    data = path.read_bytes()
    if len(data) < 16 or struct.unpack_from(">i", data, 0)[0] != _MAGIC:
        return []
    out = []
    off = 16
    while off + 12 <= len(data):
        crc, length = struct.unpack_from(">qi", data, off)
        if length <= 0 or off + 12 + length + 1 > len(data):
            break
        body = data[off + 12: off + 12 + length]
        if zlib.adler32(body) != (crc & 0xFFFFFFFF) or len(body) < 32:
            break
        off += 12 + length + 1  # the trailing 'B'
        client, _cxid, zxid, tms, typ = struct.unpack_from(">qiqqi", body, 0)
        p = _ustring(body, 32) if typ in TXN_CREATE or typ == TXN_DELETE else None
        out.append(Txn(zxid, tms, typ, client, p))
    return out


_EXPIRING = re.compile(r"Expiring session (0x[0-9a-f]+)")


def expired_sessions(logs: list[Path]) -> set[str]:
    out = set()
    for p in logs:
        try:
            text = p.read_text(errors="replace")
        except OSError:
            continue
        out.update(_EXPIRING.findall(text))
    return out


def token_of(path: str) -> int | None:
    if not path.startswith(ELECTION + "/n-"):
        return None
    try:
        return int(path.rsplit("-", 1)[1])
    except ValueError:
        return None


def service_records(txn_logs: list[list[Path]], server_logs: list[Path], client_records: list[dict[str, Any]],
                    unix_epoch: float) -> tuple[list[dict[str, Any]], list[str]]:
    """The service lane of a run: one `expire` record per session the server expired.

    Also gives client `resign` records the zxid of their closeSession (pos write). Returns
    (records, notes); the records are unsorted, with `wall` from the transaction's time.
    """
    txns: dict[int, Txn] = {}
    for files in txn_logs:
        for f in files:
            for t in read_txn_log(f):
                txns.setdefault(t.zxid, t)
    expired = expired_sessions(server_logs)
    owner: dict[str, int] = {}
    for r in client_records:
        s = r["input"].get("session")
        if r["input"]["kind"] == "connect" and s:
            owner[s] = r["node"]
    resigns = {r["input"].get("session"): r for r in client_records
               if r["input"]["kind"] == "resign" and r["input"].get("session")}
    holders: dict[int, tuple[int | None, str]] = {}  # token -> (client, session)
    out: list[dict[str, Any]] = []
    notes: list[str] = []
    for zxid in sorted(txns):
        t = txns[zxid]
        sid = f"0x{t.session:x}"
        if t.type in TXN_CREATE and t.path is not None:
            tok = token_of(t.path)
            if tok is not None:
                holders[tok] = (owner.get(sid), sid)
        elif t.type == TXN_DELETE and t.path is not None:
            holders.pop(token_of(t.path) or -1, None)
        elif t.type == TXN_CLOSE_SESSION:
            gone = sorted(tok for tok, (_c, s) in holders.items() if s == sid)
            for tok in gone:
                del holders[tok]
            live = [[tok, c] for tok, (c, _s) in sorted(holders.items())]
            if sid in expired or sid not in resigns:
                if sid not in owner:
                    continue  # not one of our clients (or a session of a client that never recorded it)
                out.append({"wall": round(t.time_ms / 1000.0 - unix_epoch, 6), "node": "service",
                            "input": {"kind": "expire", "client": owner[sid], "session": sid, "tokens": gone},
                            "state": {"holders": live}, "effects": [], "pos": {"write": zxid}})
            else:
                resigns[sid]["pos"] = {"write": zxid}
                resigns[sid]["effects"] = resigns[sid].get("effects", []) + [
                    {"kind": "deleted", "tokens": gone}]
    if not txns:
        notes.append("no ZooKeeper transaction log could be read; the service lane is empty")
    return out, notes


if __name__ == "__main__":
    sys.exit(main(ZooKeeperClient))
