"""Reading ZooKeeper transaction logs (zookeeper.py) from bytes laid out as ZooKeeper
3.8 writes them, and turning them into the service lane."""
from __future__ import annotations

import struct
import zlib

from reference.services.zookeeper import expired_sessions, read_txn_log, service_records


def ustring(s: str) -> bytes:
    b = s.encode()
    return struct.pack(">i", len(b)) + b


def entry(session: int, zxid: int, time_ms: int, typ: int, body: bytes = b"") -> bytes:
    txn = struct.pack(">qiqqi", session, 0, zxid, time_ms, typ) + body + struct.pack(">iq", 2, 12345)
    return struct.pack(">qi", zlib.adler32(txn), len(txn)) + txn + b"B"


def create(path: str) -> bytes:  # CreateTxn: path, data, acl vector, ephemeral, parentCVersion
    return ustring(path) + struct.pack(">i", 0) + struct.pack(">i", 0) + b"\x01" + struct.pack(">i", 1)


def write_log(path, entries: list[bytes], torn: bool = False) -> None:
    data = struct.pack(">iiq", 0x5A4B4C47, 2, 0) + b"".join(entries)
    if torn:
        data += entries[-1][: len(entries[-1]) // 2]
    path.write_bytes(data + b"\x00" * 64)


def test_read_txn_log(tmp_path):
    f = tmp_path / "log.1"
    write_log(f, [entry(0x100, 1, 1000, -10, struct.pack(">i", 2000)),
                  entry(0x100, 2, 1001, 15, create("/elect/election/n-0000000000")),
                  entry(0x100, 3, 1002, -11)], torn=True)
    got = read_txn_log(f)
    assert [(t.zxid, t.type, t.session, t.path) for t in got] == [
        (1, -10, 0x100, None), (2, 15, 0x100, "/elect/election/n-0000000000"), (3, -11, 0x100, None)]
    (tmp_path / "log.bad").write_bytes(b"nope")
    assert read_txn_log(tmp_path / "log.bad") == []


def test_service_records_expire_and_resign(tmp_path):
    log = tmp_path / "log.1"
    write_log(log, [entry(0x100, 1, 1000, -10, struct.pack(">i", 2000)),
                    entry(0x200, 2, 1000, -10, struct.pack(">i", 2000)),
                    entry(0x100, 3, 1001, 15, create("/elect/election/n-0000000000")),
                    entry(0x200, 4, 1002, 15, create("/elect/election/n-0000000001")),
                    entry(0x100, 5, 4000, -11),
                    entry(0x200, 6, 6000, -11)])
    server_log = tmp_path / "zk1.log"
    server_log.write_text("2026-01-01 INFO  ZooKeeperServer - Expiring session 0x100, timeout of 2000ms exceeded\n")
    assert expired_sessions([server_log]) == {"0x100"}
    clients = [{"node": 1, "input": {"kind": "connect", "session": "0x100"}},
               {"node": 2, "input": {"kind": "connect", "session": "0x200"}},
               {"node": 2, "input": {"kind": "resign", "session": "0x200"}, "effects": []}]
    recs, notes = service_records([[log]], [server_log], clients, unix_epoch=0.5)
    assert notes == []
    assert recs == [{"wall": 3.5, "node": "service",
                     "input": {"kind": "expire", "client": 1, "session": "0x100", "tokens": [0]},
                     "state": {"holders": [[1, 2]]}, "effects": [], "pos": {"write": 5}}]
    # the client's own close is its resign, placed at the closeSession's zxid
    assert clients[2]["pos"] == {"write": 6}
    assert clients[2]["effects"] == [{"kind": "deleted", "tokens": [1]}]
