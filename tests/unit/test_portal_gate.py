"""E23, A17, A4, E12, A3, A13, C5: the teleworker portal's gate
(roles/vpn_gateway/files/telework_portal/portal_gate.py) opens a gated group's nft sets for a
teleworker's own device, within their schedule, ends, expires and restores sessions, keeps
them for the retention period, logs printable key=value lines and answers its unix socket
safely (4096-byte cap, read timeout, admin ops for root only). One test runs the real nft in
a network namespace of its own."""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

PORTAL = Path(__file__).resolve().parents[2] / "roles/vpn_gateway/files/telework_portal"
if str(PORTAL) not in sys.path:
    sys.path.insert(0, str(PORTAL))
portal_gate = importlib.import_module("portal_gate")
portal_gate_config = importlib.import_module("portal_gate_config")
GateError = importlib.import_module("portal_errors").GateError

ZONE = ZoneInfo("Africa/Casablanca")
HOSTILE_DEVICE = "lt-0003 \x1b[31mevil\u202e\nsession-start id=99"
TABLE = """table inet telework_vpn {
    set open_finance_v4 { type ipv4_addr; flags timeout; }
    set open_finance_v6 { type ipv6_addr; flags timeout; }
}
"""


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE).timestamp()


class Clock:
    def __init__(self, text: str) -> None:
        self.now = at(text)

    def __call__(self) -> float:
        return self.now


class FakeNft:
    def __init__(self) -> None:
        self.batches: list[str] = []
        self.fail = False

    def __call__(self, batch: str) -> None:
        if self.fail:
            raise GateError("firewall")
        self.batches.append(batch)


def config_data(database: Path, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "socket": str(database.parent / "gate.sock"),
        "database": str(database),
        "retention_days": 180,
        "max_seconds": 36000,
        "table": "telework_vpn",
        "nft": "/usr/sbin/nft",
        "workdays": [0, 1, 2, 3, 4],
        "timezone": "Africa/Casablanca",
        "gated_groups": ["finance"],
        "peers": [
            {
                "user": "AG0002",
                "device": "lt-0002",
                "groups": ["staff", "finance"],
                "address_v4": "10.77.0.3",
                "address_v6": "fd77::3",
                "schedule": {
                    "regular": [{"days": [1], "spans": [[510, 750]]}],
                    "overrides": [],
                },
            },
            {
                "user": "ag0003",
                "device": HOSTILE_DEVICE,
                "groups": ["finance"],
                "address_v4": "10.77.0.4",
                "address_v6": "",
                "schedule": {},
            },
            {
                "user": "ag0004",
                "device": "lt-0004",
                "groups": ["staff"],
                "address_v4": "10.77.0.5",
                "address_v6": "",
                "schedule": {},
            },
        ],
    }
    return data | changes


@pytest.fixture
def clock() -> Clock:
    return Clock("2026-11-24T09:00:00")  # a Tuesday, in ag0002's span 08:30-12:30


@pytest.fixture
def nft() -> FakeNft:
    return FakeNft()


@pytest.fixture
def make_gate(tmp_path: Path, clock: Clock, nft: FakeNft) -> Iterator[Callable[..., Any]]:
    gates: list[Any] = []

    def make(**changes: Any) -> Any:
        config = portal_gate_config.GateConfig.from_dict(
            config_data(tmp_path / "sessions.db", **changes)
        )
        gate = portal_gate.Gate(config, nft=nft, clock=clock)
        gates.append(gate)
        return gate

    yield make
    for gate in gates:
        gate.close()


def rows(gate: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in gate.db.execute("SELECT * FROM sessions ORDER BY id")]


# --- start and end -------------------------------------------------------------------------


def test_a_start_within_the_schedule_opens_the_gated_group_until_the_end_of_the_span(
    make_gate: Callable[..., Any], nft: FakeNft
) -> None:
    gate = make_gate()
    session = gate.start("ag0002", "10.77.0.3")
    assert session["user"] == "ag0002"
    assert session["groups"] == ["finance"]  # staff is not gated: never touched
    assert session["ends"] == "2026-11-24T12:30:00+01:00"
    seconds = 3 * 3600 + 30 * 60
    assert nft.batches == [
        "add element inet telework_vpn open_finance_v4 { 10.77.0.3 timeout 1s }\n"
        "delete element inet telework_vpn open_finance_v4 { 10.77.0.3 }\n"
        f"add element inet telework_vpn open_finance_v4 {{ 10.77.0.3 timeout {seconds}s }}\n"
        "add element inet telework_vpn open_finance_v6 { fd77::3 timeout 1s }\n"
        "delete element inet telework_vpn open_finance_v6 { fd77::3 }\n"
        f"add element inet telework_vpn open_finance_v6 {{ fd77::3 timeout {seconds}s }}\n"
    ]
    assert "staff" not in "".join(nft.batches)


def test_a_session_ends_after_the_longest_session_when_the_span_is_longer(
    make_gate: Callable[..., Any], nft: FakeNft
) -> None:
    session = make_gate(max_seconds=3600).start("ag0002", "10.77.0.3")
    assert session["ends"] == "2026-11-24T10:00:00+01:00"
    assert "timeout 3600s" in nft.batches[0]


def test_a_start_outside_the_schedule_is_refused_and_opens_nothing(
    make_gate: Callable[..., Any], nft: FakeNft, clock: Clock
) -> None:
    clock.now = at("2026-11-24T13:00:00")
    with pytest.raises(GateError) as refused:
        make_gate().start("ag0002", "10.77.0.3")
    assert refused.value.code == "outside-schedule"
    assert nft.batches == []


def test_a_start_from_an_unknown_address_or_someone_elses_device_is_refused(
    make_gate: Callable[..., Any], nft: FakeNft
) -> None:
    gate = make_gate()
    for user, address, code in [
        ("ag0002", "10.77.0.99", "unknown-address"),
        ("ag0003", "10.77.0.3", "not-your-device"),
        ("ag0004", "10.77.0.5", "not-gated"),
    ]:
        with pytest.raises(GateError) as refused:
            gate.start(user, address)
        assert refused.value.code == code
    assert nft.batches == []
    assert rows(gate) == []


def test_user_ids_and_addresses_compare_in_their_normal_form(make_gate: Callable[..., Any]) -> None:
    session = make_gate().start("AG0002", "fd77:0:0::3")
    assert session["user"] == "ag0002"


def test_a_second_start_on_the_same_device_replaces_the_first(
    make_gate: Callable[..., Any], nft: FakeNft, clock: Clock
) -> None:
    gate = make_gate()
    first = gate.start("ag0002", "10.77.0.3")
    clock.now += 600
    second = gate.start("ag0002", "fd77::3")
    assert [(r["id"], r["how"]) for r in rows(gate)] == [
        (first["id"], "replaced"),
        (second["id"], None),
    ]
    assert [s["id"] for s in gate.status("ag0002")] == [second["id"]]
    assert len(nft.batches) == 3  # open, close of the first, open


def test_end_writes_the_idempotent_add_then_delete_batch(
    make_gate: Callable[..., Any], nft: FakeNft, clock: Clock
) -> None:
    gate = make_gate()
    gate.start("ag0002", "10.77.0.3")
    clock.now += 60
    assert gate.end("ag0002", "10.77.0.3") == 1
    assert nft.batches[-1] == (
        "add element inet telework_vpn open_finance_v4 { 10.77.0.3 timeout 1s }\n"
        "delete element inet telework_vpn open_finance_v4 { 10.77.0.3 }\n"
        "add element inet telework_vpn open_finance_v6 { fd77::3 timeout 1s }\n"
        "delete element inet telework_vpn open_finance_v6 { fd77::3 }\n"
    )
    assert rows(gate)[0]["how"] == "end-work"
    assert rows(gate)[0]["ended"] == clock.now
    assert gate.end("ag0002", "10.77.0.3") == 0  # nothing left to end


def test_a_firewall_failure_refuses_the_start_and_records_no_session(
    make_gate: Callable[..., Any], nft: FakeNft
) -> None:
    gate = make_gate()
    nft.fail = True
    with pytest.raises(GateError) as refused:
        gate.start("ag0002", "10.77.0.3")
    assert refused.value.code == "firewall"
    assert rows(gate) == []


def test_revocation_ends_every_open_session_of_the_teleworker(
    make_gate: Callable[..., Any],
) -> None:
    gate = make_gate()
    gate.start("ag0002", "10.77.0.3")
    assert gate.end_user("AG0002", "revoked") == 1
    assert gate.status("ag0002") == []
    assert rows(gate)[0]["how"] == "revoked"


# --- expiry, retention, restart ------------------------------------------------------------


def test_expiry_marks_sessions_expired_and_retention_deletes_old_rows(
    make_gate: Callable[..., Any], clock: Clock
) -> None:
    gate = make_gate()
    gate.start("ag0002", "10.77.0.3")
    clock.now = at("2026-11-24T12:30:00")
    gate.sweep()
    [row] = rows(gate)
    assert (row["how"], row["ended"]) == ("expired", at("2026-11-24T12:30:00"))
    clock.now = row["started"] + 180 * 86400 - 60
    gate.sweep()
    assert len(rows(gate)) == 1  # still within 180 days of its start
    clock.now += 120
    gate.sweep()
    assert rows(gate) == []


def test_at_start_up_open_sessions_are_re_added_with_their_remaining_time(
    make_gate: Callable[..., Any], nft: FakeNft, clock: Clock
) -> None:
    make_gate().start("ag0002", "10.77.0.3")
    nft.batches.clear()
    clock.now = at("2026-11-24T12:00:00")
    gate = make_gate()  # the gate restarted
    gate.restore()
    assert len(nft.batches) == 1
    assert "{ 10.77.0.3 timeout 1800s }" in nft.batches[0]
    assert "{ fd77::3 timeout 1800s }" in nft.batches[0]
    assert gate.status("ag0002")[0]["ended"] is None


def test_a_reload_puts_back_open_sessions_and_ends_those_of_devices_gone_from_the_roster(
    make_gate: Callable[..., Any], nft: FakeNft, tmp_path: Path
) -> None:
    gate = make_gate()
    gate.start("ag0002", "10.77.0.3")
    gate.start("ag0003", "10.77.0.4")
    nft.batches.clear()
    data = config_data(tmp_path / "sessions.db")
    data["peers"] = [p for p in data["peers"] if p["user"] != "ag0003"]  # ag0003 revoked
    gate.reload(portal_gate_config.GateConfig.from_dict(data))
    assert [r["how"] for r in rows(gate)] == [None, "revoked"]
    assert len(nft.batches) == 1  # the table may have been reloaded: ag0002's put back
    assert "10.77.0.3 timeout" in nft.batches[0]
    with pytest.raises(GateError, match="unknown-address"):
        gate.start("ag0003", "10.77.0.4")


def test_a_teleworkers_devices_are_known_and_a_revoked_one_has_none(
    make_gate: Callable[..., Any], tmp_path: Path
) -> None:
    gate = make_gate()
    assert gate.devices_of("AG0002") == [
        {"device": "lt-0002", "groups": ["staff", "finance"], "gated": ["finance"]}
    ]
    assert gate.devices_of("ag0099") == []
    assert gate.handle({"op": "devices", "user": "ag0004"}, admin=False) == {
        "ok": True,
        "devices": [{"device": "lt-0004", "groups": ["staff"], "gated": []}],
    }


def test_the_peers_come_from_the_peers_file_and_none_while_it_is_missing(tmp_path: Path) -> None:
    data = config_data(tmp_path / "sessions.db")
    peers = data.pop("peers")
    config_file = tmp_path / "gate.json"
    config_file.write_text(json.dumps(data | {"peers_file": str(tmp_path / "peers.json")}))
    assert portal_gate_config.GateConfig.load(config_file).peers == ()
    (tmp_path / "peers.json").write_text(json.dumps(peers))
    loaded = portal_gate_config.GateConfig.load(config_file)
    assert [p.user for p in loaded.peers] == ["ag0002", "ag0003", "ag0004"]
    (tmp_path / "peers.json").write_text('{"not": "a list"}')
    with pytest.raises(ValueError, match="not a JSON list"):
        portal_gate_config.GateConfig.load(config_file)


def test_at_start_up_expired_sessions_are_ended_and_not_re_added(
    make_gate: Callable[..., Any], nft: FakeNft, clock: Clock
) -> None:
    make_gate().start("ag0002", "10.77.0.3")
    nft.batches.clear()
    clock.now = at("2026-11-24T13:00:00")
    gate = make_gate()
    gate.restore()
    assert nft.batches == []
    assert rows(gate)[0]["how"] == "expired"


def test_the_sessions_database_is_in_wal_mode(
    make_gate: Callable[..., Any], tmp_path: Path
) -> None:
    make_gate()
    with contextlib.closing(sqlite3.connect(tmp_path / "sessions.db")) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# --- log lines -----------------------------------------------------------------------------


def test_log_lines_are_printable_key_value_lines_whatever_the_names(
    make_gate: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    gate = make_gate()
    with caplog.at_level(logging.INFO):
        gate.start("ag0003", "10.77.0.4")
        gate.end("ag0003", "10.77.0.4")
    lines = [r.getMessage() for r in caplog.records]
    assert [line.split()[0] for line in lines] == ["session-start", "session-end"]
    for line in lines:
        assert line.isascii() and line.isprintable()
        fields = line.split(" ")[1:]
        assert all(f.count("=") == 1 for f in fields), line
    start = dict(f.split("=") for f in lines[0].split(" ")[1:])
    assert start["device"] == "lt-0003\\x20\\x1b[31mevil\\u202e\\x0asession-start\\x20id\\x3d99"
    assert start["ends"] == "2026-11-24T19:00:00+01:00"  # a whole workday, 10 h at most
    assert portal_gate_config.logvalue("ag\u0000 x=y\\") == "ag\\x00\\x20x\\x3dy\\x5c"
    assert portal_gate_config.logvalue("") == "-"


# --- the socket ----------------------------------------------------------------------------


@contextlib.contextmanager
def serving(gate: Any, **options: Any) -> Iterator[str]:
    folder = tempfile.mkdtemp(prefix="pg-", dir="/tmp")  # a unix socket path is short
    path = os.path.join(folder, "gate.sock")
    server = portal_gate.GateServer(gate, path, **options)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        server.stop()
        thread.join(timeout=5)
        shutil.rmtree(folder, ignore_errors=True)


def raw_request(path: str, data: bytes, timeout: float = 5.0) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(path)
        conn.sendall(data)
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            reply += chunk
        return reply


def test_the_client_starts_shows_and_ends_work_through_the_socket(
    make_gate: Callable[..., Any],
) -> None:
    with serving(make_gate()) as path:
        client = portal_gate.GateClient(path, timeout=5.0)
        assert client.whois("10.77.0.3") == {
            "user": "ag0002",
            "device": "lt-0002",
            "groups": ["staff", "finance"],
            "gated": ["finance"],
        }
        assert client.whois("10.77.0.99") is None
        assert [d["device"] for d in client.devices("ag0002")] == ["lt-0002"]
        assert client.devices("ag0099") == []
        session = client.start("ag0002", "10.77.0.3")
        assert client.status("ag0002") == [session]
        assert client.end("ag0002", "10.77.0.3") == 1
        with pytest.raises(GateError) as refused:
            client.start("ag0002", "10.77.0.4")
        assert refused.value.code == "not-your-device"
        # The tests run as root: the real SO_PEERCRED check lets root's admin ops through.
        assert [s["how"] for s in client.sessions(False)] == ["end-work"]
        assert client.end_user("ag0002", "revoked") == 0


def test_admin_ops_are_refused_to_a_peer_that_is_not_root(make_gate: Callable[..., Any]) -> None:
    with serving(make_gate(), uid_of=lambda _conn: 1000) as path:
        client = portal_gate.GateClient(path)
        with pytest.raises(GateError) as refused:
            client.sessions(True)
        assert refused.value.code == "forbidden"
        with pytest.raises(GateError) as refused:
            client.end_user("ag0002", "revoked")
        assert refused.value.code == "forbidden"
        assert client.status("ag0002") == []  # a teleworker's own ops still answered
    assert portal_gate.is_admin(0)
    assert not portal_gate.is_admin(1000)


def test_the_peer_uid_comes_from_the_kernel() -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        assert portal_gate.peer_uid(left) == os.getuid()


@pytest.mark.parametrize(
    "request_line",
    [
        b"x" * 5000 + b"\n",
        b'{"op": "whois", "address": "' + b"1" * 4100 + b'"}\n',
        b"not json\n",
        b"[1, 2]\n",
        b'{"op": "start", "user": "ag 0002", "address": "10.77.0.3"}\n',
        b'{"op": "start", "user": "ag0002", "address": "not an address"}\n',
        b'{"op": "sessions", "open": "yes"}\n',
        b'{"op": "end-user", "user": "ag0002", "how": "end-work"}\n',
        b'{"op": "reboot"}\n',
    ],
)
def test_a_bad_request_gets_bad_request_and_the_server_stays_up(
    make_gate: Callable[..., Any], request_line: bytes
) -> None:
    with serving(make_gate()) as path:
        assert json.loads(raw_request(path, request_line)) == {"ok": False, "error": "bad-request"}
        assert portal_gate.GateClient(path).whois("10.77.0.3") is not None


def test_a_client_that_sends_nothing_is_dropped_after_the_timeout(
    make_gate: Callable[..., Any],
) -> None:
    with serving(make_gate(), timeout=0.2) as path:
        began = time.monotonic()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(5.0)
            conn.connect(path)
            assert conn.recv(100) == b""  # closed by the gate, no reply
        assert 0.15 <= time.monotonic() - began < 3.0
        assert portal_gate.GateClient(path).whois("10.77.0.3") is not None


def test_the_socket_is_for_its_owner_and_group_only(make_gate: Callable[..., Any]) -> None:
    with serving(make_gate()) as path:
        assert os.stat(path).st_mode & 0o777 == 0o660


# --- real nftables ---------------------------------------------------------------------------


def _missing_tools() -> str:
    if os.geteuid() != 0:
        return "needs root to create a network namespace"
    missing = [t for t in ("ip", "nft") if shutil.which(t) is None]
    return f"needs {' and '.join(missing)}" if missing else ""


@pytest.fixture
def namespace() -> Iterator[str]:
    reason = _missing_tools()
    if reason:
        pytest.skip(reason)
    name = f"pgate-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        subprocess.run(
            ["ip", "netns", "exec", name, "nft", "-f", "-"],
            input=TABLE.encode(),
            check=True,
            timeout=10,
        )
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False, timeout=10)


def set_elements(namespace: str, name: str) -> list[dict[str, Any]]:
    listed = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            namespace,
            "nft",
            "-j",
            "list",
            "set",
            "inet",
            "telework_vpn",
            name,
        ],
        capture_output=True,
        check=True,
        timeout=10,
    )
    sets = [i["set"] for i in json.loads(listed.stdout)["nftables"] if "set" in i]
    return [e["elem"] for e in sets[0].get("elem", [])]


def test_real_nft_start_adds_the_element_with_its_timeout_and_end_removes_it(
    tmp_path: Path, clock: Clock, namespace: str
) -> None:
    argv = ["ip", "netns", "exec", namespace, "nft"]
    config = portal_gate_config.GateConfig.from_dict(config_data(tmp_path / "s.db", nft=argv))
    gate = portal_gate.Gate(config, clock=clock)  # the real runner, from the config
    try:
        gate.start("ag0002", "10.77.0.3")
        [v4] = set_elements(namespace, "open_finance_v4")
        [v6] = set_elements(namespace, "open_finance_v6")
        assert (v4["val"], v4["timeout"]) == ("10.77.0.3", 12600)
        assert (v6["val"], v6["timeout"]) == ("fd77::3", 12600)
        gate.start("ag0002", "10.77.0.3")  # again: replaced, still one element each
        assert len(set_elements(namespace, "open_finance_v4")) == 1
        assert gate.end("ag0002", "10.77.0.3") == 1
        assert set_elements(namespace, "open_finance_v4") == []
        assert set_elements(namespace, "open_finance_v6") == []
        gate.end_user("ag0002", "revoked")  # nothing open: nothing to do, no error
    finally:
        gate.close()


def test_real_nft_failure_is_a_firewall_error(tmp_path: Path, namespace: str) -> None:
    runner = portal_gate_config.NftRunner(["ip", "netns", "exec", namespace, "nft"])
    with pytest.raises(GateError) as failed:
        runner("add element inet telework_vpn no_such_set { 10.0.0.1 }\n")
    assert failed.value.code == "firewall"
