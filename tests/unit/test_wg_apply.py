"""telework-wg-apply, the helper role vpn_gateway installs on the gateway: it parses wg0.conf
and `wg show wg0 dump`, sends one `wg set` with only the peers that differ, and prints the
JSON line whose `changed` the role reports (M7, C5: a revoked device's peer goes at once,
nobody else's session is touched)."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path
from types import ModuleType
from typing import TypedDict

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "roles/vpn_gateway/files/usr/local/sbin/telework_wg_apply.py"


def load_script() -> ModuleType:
    loader = SourceFileLoader("telework_wg_apply", str(SCRIPT))
    spec = spec_from_loader("telework_wg_apply", loader)
    assert spec is not None
    module = module_from_spec(spec)
    sys.modules["telework_wg_apply"] = module  # dataclasses look their module up
    loader.exec_module(module)
    return module


wg_apply = load_script()

KEY_GW = "oK5ZNbw9yJYbZsCsMw4qVmlVEMGEGq/7O6hZvkDBu1Y="
KEY_GW_PUB = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
KEY_A = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
KEY_B = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0="
KEY_C = "gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA="
PSK_A = "FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE="
PSK_C = "eVnLW3kOaNYpWkhWr9iHGHGGTOA2jFmSGcnDQcPPXEE="

CONFIG = f"""\
# Managed by Ansible: do not edit
[Interface]
Address = 10.66.0.1/24
PrivateKey = {KEY_GW}
ListenPort = 51820
MTU = 1420
PostUp = nft -f /etc/telework/vpn_gateway/peer-sets.nft

# ag0001 lt-0001 (staff)
[Peer]
PublicKey = {KEY_A}
PresharedKey = {PSK_A}
AllowedIPs = 10.66.0.2/32, fd66::2/128

  [peer]   # ag0002 ph-0002: # PublicKey = {KEY_C} [Peer] (a comment, not a peer)
\tpublickey\t=\t{KEY_B}
AllowedIPs=10.66.0.3/32,
PersistentKeepalive = 25
Endpoint = 192.0.2.7:40000
"""

DUMP = (
    f"{KEY_GW}\t{KEY_GW_PUB}\t51820\toff\n"
    f"{KEY_A}\t{PSK_A}\t(none)\t10.66.0.2/32,fd66::2/128\t0\t0\t0\toff\n"
    f"{KEY_B}\t(none)\t192.0.2.7:40000\t10.66.0.3/32\t1700000000\t10\t20\t25\n"
)


def fake_wg(tmp_path: Path, dump: str) -> Path:
    """`wg` and `wg-quick` on PATH that record their argv (and the preshared-key files the
    argv names, read while they exist) and print DUMP for `wg show IFACE dump`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "dump").write_text(dump)
    fake = f"""#!{sys.executable}
import json, os, sys
from pathlib import Path
here = Path({str(tmp_path)!r})
argv = [os.path.basename(sys.argv[0])] + sys.argv[1:]
psks = {{}}
for i, arg in enumerate(argv[:-1]):
    if arg == "preshared-key" and argv[i + 1] != "/dev/null":
        path = argv[i + 1]
        psks[path] = [Path(path).read_text(), oct(os.stat(path).st_mode & 0o777),
                      oct(os.stat(os.path.dirname(path)).st_mode & 0o777)]
stdin = sys.stdin.read() if argv[1:2] == ["syncconf"] else None
with open(here / "calls.jsonl", "a") as out:
    out.write(json.dumps({{"argv": argv, "psks": psks, "stdin": stdin}}) + "\\n")
if argv[0] == "nft":
    sys.exit(1 if os.environ.get("FAKE_NFT_NO_TABLE") else 0)
if argv[1:2] == ["show"]:
    if os.environ.get("FAKE_WG_DOWN"):
        sys.stderr.write("Unable to access interface: No such device\\n")
        sys.exit(1)
    sys.stdout.write((here / "dump").read_text())
elif argv[1:2] == ["pubkey"]:
    sys.stdout.write("public-of-" + sys.stdin.read().strip() + "\\n")
elif argv[1:2] == ["strip"]:
    sys.stdout.write("[Interface]\\nstripped\\n")
elif os.environ.get("FAKE_WG_FAIL") and argv[1:2] == ["set"]:
    sys.stderr.write("Unable to modify interface: Operation not permitted\\n")
    sys.exit(1)
"""
    for name in ("wg", "wg-quick", "nft"):
        path = bin_dir / name
        path.write_text(fake)
        path.chmod(0o755)
    return bin_dir


class Call(TypedDict):
    """One line of calls.jsonl, as the fake wg writes it."""

    argv: list[str]
    psks: dict[str, list[str]]  # path -> [content, file mode, directory mode]
    stdin: str | None


def calls(tmp_path: Path) -> list[Call]:
    path = tmp_path / "calls.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A gateway in tmp_path: etc/wg0.conf, a run/ directory and the fake wg on PATH."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "run").mkdir()
    (tmp_path / "etc/wg0.conf").write_text(CONFIG)
    bin_dir = fake_wg(tmp_path, DUMP)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return tmp_path


def run_main(
    gateway: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, dict[str, object]]:
    argv = [*extra, "--config-dir", str(gateway / "etc"), "--run-dir", str(gateway / "run")]
    code = wg_apply.main([*argv, "wg0"])
    out = capsys.readouterr().out
    return code, (json.loads(out) if out else {})


# Parsing the configuration file


def test_the_configuration_gives_the_interface_settings_without_wg_quick_keys() -> None:
    settings, _ = wg_apply.parse_config(CONFIG)
    assert settings == {"privatekey": KEY_GW, "listenport": "51820"}


def test_every_peer_of_the_configuration_is_read_with_its_key_and_addresses() -> None:
    _, peers = wg_apply.parse_config(CONFIG)
    assert peers == {
        KEY_A: wg_apply.Peer(
            psk=PSK_A,
            allowed=frozenset({"10.66.0.2/32", "fd66::2/128"}),
            keepalive="off",
            endpoint="(none)",
        ),
        KEY_B: wg_apply.Peer(
            psk="(none)",
            allowed=frozenset({"10.66.0.3/32"}),
            keepalive="25",
            endpoint="192.0.2.7:40000",
        ),
    }


def test_a_comment_naming_a_key_or_a_section_adds_no_peer() -> None:
    _, peers = wg_apply.parse_config(CONFIG)
    assert KEY_C not in peers
    assert len(peers) == 2


def test_windows_line_endings_read_the_same_as_unix_ones() -> None:
    assert wg_apply.parse_config(CONFIG.replace("\n", "\r\n")) == wg_apply.parse_config(CONFIG)


def test_a_keepalive_of_zero_is_off_as_wg_shows_it() -> None:
    _, peers = wg_apply.parse_config(f"[Peer]\nPublicKey={KEY_A}\nPersistentKeepalive = 0\n")
    assert peers[KEY_A].keepalive == "off"


def test_a_peer_without_a_public_key_is_refused() -> None:
    with pytest.raises(ValueError, match="no PublicKey"):
        wg_apply.parse_config("[Peer]\nAllowedIPs = 10.66.0.9/32\n")


# Parsing the running device


def test_the_dump_gives_the_interface_key_port_and_peers() -> None:
    settings, peers = wg_apply.parse_dump(DUMP)
    assert settings == {"privatekey": KEY_GW, "listenport": "51820"}
    assert peers == wg_apply.parse_config(CONFIG)[1]


def test_a_live_peer_without_allowed_ips_has_none() -> None:
    _, peers = wg_apply.parse_dump(
        f"{KEY_GW}\t{KEY_GW_PUB}\t51820\toff\n{KEY_A}\t(none)\t(none)\t(none)\t0\t0\t0\toff\n"
    )
    assert peers[KEY_A].allowed == frozenset()


# The plan


def test_the_same_peers_on_both_sides_mean_nothing_to_do() -> None:
    todo = wg_apply.plan(*wg_apply.parse_config(CONFIG), *wg_apply.parse_dump(DUMP))
    assert not todo.changed
    assert (todo.added, todo.removed, todo.updated) == ([], [], [])


def test_added_removed_and_changed_peers_are_each_listed_once() -> None:
    config = CONFIG.replace("AllowedIPs=10.66.0.3/32,", "AllowedIPs=10.66.0.4/32")
    config = config.replace(f"PublicKey = {KEY_A}", f"PublicKey = {KEY_C}")
    todo = wg_apply.plan(*wg_apply.parse_config(config), *wg_apply.parse_dump(DUMP))
    assert (todo.added, todo.removed, todo.updated) == ([KEY_C], [KEY_A], [KEY_B])
    assert todo.changed
    assert not todo.interface_changed


def test_a_roaming_endpoint_alone_is_not_a_change() -> None:
    dump = DUMP.replace("192.0.2.7:40000", "198.51.100.9:1234")
    todo = wg_apply.plan(*wg_apply.parse_config(CONFIG), *wg_apply.parse_dump(dump))
    assert not todo.changed


@pytest.mark.parametrize(
    ("old", "new"),
    [(f"PrivateKey = {KEY_GW}", f"PrivateKey = {PSK_C}"), ("51820", "51821")],
    ids=["private key", "listen port"],
)
def test_a_new_interface_key_or_port_falls_back_to_syncconf(old: str, new: str) -> None:
    config = CONFIG.replace(old, new, 1)
    todo = wg_apply.plan(*wg_apply.parse_config(config), *wg_apply.parse_dump(DUMP))
    assert todo.interface_changed
    assert todo.changed


# The `wg set` command


def test_wg_set_removes_then_sets_peers_and_keeps_preshared_keys_off_the_argv(
    tmp_path: Path,
) -> None:
    _, want = wg_apply.parse_config(CONFIG.replace(KEY_B, KEY_C))
    todo = wg_apply.Plan(added=[KEY_A, KEY_C], removed=[KEY_B], updated=[], interface_changed=False)
    argv = wg_apply.wg_set_argv("wg0", todo, want, tmp_path)
    assert argv == [
        "wg", "set", "wg0",
        "peer", KEY_B, "remove",
        "peer", KEY_A, "preshared-key", str(tmp_path / "psk0"),
        "allowed-ips", "10.66.0.2/32,fd66::2/128", "persistent-keepalive", "0",
        "peer", KEY_C, "preshared-key", "/dev/null",
        "allowed-ips", "10.66.0.3/32", "persistent-keepalive", "25",
        "endpoint", "192.0.2.7:40000",
    ]  # fmt: skip
    assert PSK_A not in " ".join(argv)
    assert (tmp_path / "psk0").read_text() == PSK_A + "\n"
    assert stat.S_IMODE((tmp_path / "psk0").stat().st_mode) == 0o600


# The whole script against a fake `wg`


def test_nothing_to_do_prints_unchanged_and_sends_no_wg_set(
    gateway: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = run_main(gateway, capsys)
    assert code == 0
    assert result == {
        "changed": False,
        "added": [],
        "removed": [],
        "updated": [],
        "interface_changed": False,
    }
    assert [call["argv"] for call in calls(gateway)] == [["wg", "show", "wg0", "dump"]]


def test_a_revoked_and_a_new_device_go_in_one_wg_set_with_the_key_in_a_private_file(
    gateway: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (gateway / "etc/wg0.conf").write_text(CONFIG.replace(KEY_A, KEY_C).replace(PSK_A, PSK_C))
    code, result = run_main(gateway, capsys)
    assert code == 0
    assert result == {
        "changed": True,
        "added": [KEY_C],
        "removed": [KEY_A],
        "updated": [],
        "interface_changed": False,
    }
    wg_set = calls(gateway)[1]
    assert wg_set["argv"][:6] == ["wg", "set", "wg0", "peer", KEY_A, "remove"]
    assert PSK_C not in " ".join(wg_set["argv"])
    assert isinstance(wg_set["psks"], dict)
    [(psk_path, (content, file_mode, dir_mode))] = wg_set["psks"].items()
    assert Path(psk_path).parent.parent == gateway / "run"
    assert (content, file_mode, dir_mode) == (PSK_C + "\n", "0o600", "0o700")
    assert list((gateway / "run").iterdir()) == []  # the key files are gone


def test_dry_run_prints_the_plan_and_changes_nothing(
    gateway: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (gateway / "etc/wg0.conf").write_text(CONFIG.replace(KEY_A, KEY_C))
    code, result = run_main(gateway, capsys, "--dry-run")
    assert (code, result["changed"], result["added"]) == (0, True, [KEY_C])
    assert len(calls(gateway)) == 1


def test_a_new_interface_port_hands_the_stripped_file_to_syncconf(
    gateway: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (gateway / "etc/wg0.conf").write_text(CONFIG.replace("51820", "51821"))
    code, result = run_main(gateway, capsys)
    assert (code, result["changed"], result["interface_changed"]) == (0, True, True)
    argvs = [call["argv"] for call in calls(gateway)]
    assert argvs[1:] == [["wg-quick", "strip", "wg0"], ["wg", "syncconf", "wg0", "/dev/stdin"]]
    assert calls(gateway)[2]["stdin"] == "[Interface]\nstripped\n"


def test_a_failing_wg_set_exits_1_with_wgs_message_and_prints_no_json(
    gateway: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("FAKE_WG_FAIL", "1")
    (gateway / "etc/wg0.conf").write_text(CONFIG.replace(KEY_A, KEY_C))
    code, result = run_main(gateway, capsys)
    assert (code, result) == (1, {})
    assert "wg set wg0: Unable to modify interface: Operation not permitted" in caplog.text


def test_a_missing_configuration_exits_1_naming_the_interface(
    gateway: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    (gateway / "etc/wg0.conf").unlink()
    code, _ = run_main(gateway, capsys)
    assert code == 1
    assert "wg0:" in caplog.text
    assert "wg0.conf" in caplog.text


def test_a_missing_interface_argument_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exit_info:
        wg_apply.main([])
    assert exit_info.value.code == 2


def test_the_installed_script_runs_alone_and_prints_one_json_line(gateway: Path) -> None:
    import subprocess

    (gateway / "etc/wg0.conf").write_text(CONFIG.replace(KEY_A, KEY_C))
    argv = [sys.executable, str(SCRIPT), "--config-dir", str(gateway / "etc")]
    done = subprocess.run(
        [*argv, "--run-dir", str(gateway / "run"), "wg0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.count("\n") == 1
    assert json.loads(done.stdout)["removed"] == [KEY_A]
    assert SCRIPT.read_text().startswith("#!/usr/bin/python3\n")


# Reading the gateway's state in one round trip (--read-state)


def read_state(gateway: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    return run_main(
        gateway,
        capsys,
        "--read-state",
        "--state-file",
        str(gateway / "allocation.json"),
        "--table",
        "telework_vpn",
    )


def test_read_state_gives_the_allocation_keys_interface_and_table_and_changes_nothing(
    gateway: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (gateway / "etc/wg0.key").write_text(KEY_GW + "\n")
    (gateway / "allocation.json").write_text('{"version": 1}\n')
    code, state = read_state(gateway, capsys)
    assert code == 0
    assert state == {
        "allocation": base64.b64encode(b'{"version": 1}\n').decode(),
        "private_key": KEY_GW,
        "public_key": f"public-of-{KEY_GW}",
        "interface_up": True,
        "table_loaded": True,
    }
    assert [c["argv"][:2] for c in calls(gateway)] == [
        ["wg", "pubkey"],
        ["wg", "show"],
        ["nft", "list"],
    ]


def test_read_state_on_a_new_gateway_says_no_allocation_interface_down_no_table(
    gateway: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (gateway / "etc/wg0.key").write_text(KEY_GW + "\n")
    monkeypatch.setenv("FAKE_WG_DOWN", "1")
    monkeypatch.setenv("FAKE_NFT_NO_TABLE", "1")
    code, state = read_state(gateway, capsys)
    assert code == 0
    assert (state["allocation"], state["interface_up"], state["table_loaded"]) == ("", False, False)


def test_read_state_without_the_interface_key_exits_1_and_prints_nothing(
    gateway: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, state = read_state(gateway, capsys)
    assert (code, state) == (1, {})
