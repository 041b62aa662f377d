"""``toolkit byod enrol``: a one-time token kept only as its SHA-256, private files, a
handout with both collectors and what to look for; refused for a teleworker or device
that may not have one (M9, M10)."""

from __future__ import annotations

import hashlib
import stat
import zipfile
from pathlib import Path

from click.testing import CliRunner

from tests.byod.conftest import enrolment_of
from toolkit.byod.enrol import Enrolment
from toolkit.byod.store import STATE_DIR, TOKENS_DIR, load_token
from toolkit.cli.main import cli
from toolkit.exitcodes import ExitCode
from toolkit.vpn.layout import VPN_DIR


def test_the_token_is_shown_once_and_kept_only_as_its_digest(enrolled: Enrolment) -> None:
    inventory = enrolled.handout.parents[3]
    record = load_token(inventory, enrolled.record.token_id)
    assert record.key_sha256 == hashlib.sha256(enrolled.token.encode()).hexdigest()
    assert enrolled.token.startswith(f"{record.token_id}.")
    secret = enrolled.token.split(".", 1)[1].encode()
    for path in (inventory / STATE_DIR).rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), path
    for path in [enrolled.handout, inventory / TOKENS_DIR / f"{record.token_id}.json"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_the_handout_holds_both_collectors_and_what_the_controls_look_for(
    enrolled: Enrolment,
) -> None:
    with zipfile.ZipFile(enrolled.handout) as zf:
        assert sorted(zf.namelist()) == ["byod_collect.ps1", "byod_collect.py", "enrolment.json"]
    enrolment = enrolment_of(enrolled)
    assert (enrolment["teleworker"], enrolment["device"]) == ("a3", "pc-3")
    assert enrolment["token_id"] == enrolled.record.token_id
    search = enrolment["search"]
    assert {"nmap", "hydra", "john", "hashcat"} <= set(search["tools"])
    assert "@example.gov.ma" in search["markers"]  # the roster's mail domain
    assert "DIFFUSION RESTREINTE" in search["markers"]


def test_the_state_lives_in_the_inventorys_vpn_folder_that_git_ignores() -> None:
    assert STATE_DIR.parent == VPN_DIR


def test_the_cli_prints_the_token_and_the_handout(env_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["byod", "enrol", "-i", str(env_dir), "a3", "pc-3"])
    assert result.exit_code == 0, result.output
    assert "token:" in result.stdout and "collector:" in result.stdout
    assert "toolkit byod review REPORT" in result.stdout


def test_a_revoked_teleworker_a_phone_or_an_unknown_device_gets_no_token(env_dir: Path) -> None:
    for args, message in (
        (["a4", "pc-4"], "a4: telework revoked (C5)"),
        (["a2", "ph-2"], "a2: ph-2 is not a personal computer of the roster"),
        (["a3", "pc-9"], "a3: pc-9 is not a personal computer of the roster"),
        (["zz9", "pc-3"], "zz9: no such teleworker"),
    ):
        result = CliRunner().invoke(cli, ["byod", "enrol", "-i", str(env_dir), *args])
        assert result.exit_code == ExitCode.INVALID_INPUT, result.output
        assert message in result.stderr
    assert not (env_dir / TOKENS_DIR).exists()


def test_who_enrols_is_one_plain_line(env_dir: Path) -> None:
    args = ["byod", "enrol", "-i", str(env_dir), "a3", "pc-3", "--by", "Unit\x1b[2J\nSSI"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == ExitCode.USAGE
    assert "a name on one line, without control characters" in result.stderr
