"""``toolkit vpn reset-second-factor``: a lost device's second factor reset on every VPN
gateway's teleworker portal (A4), through a fake SSH session: the roster's id and a reason
first (exit 4, nothing run), the admin command as one quoted line run with sudo, each
gateway's answer validated and reported, one journal line once a gateway did the reset."""

from __future__ import annotations

import csv
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
from click.testing import CliRunner, Result

from toolkit.backup.remote import Session, Target, UnreachableError
from toolkit.cli.main import cli
from toolkit.errors import ToolkitError
from toolkit.exitcodes import ExitCode
from toolkit.roster import load_reference
from toolkit.roster.journal import JOURNAL_COLUMNS, JOURNAL_FILE
from toolkit.roster.revoke import revoke
from toolkit.text import unsafe_characters
from toolkit.vpn import portal

T = TypeVar("T")
Answer = tuple[int, bytes, bytes] | Exception

HOSTS = """\
all:
  children:
    vpn_gateways:
      hosts:
        gw1: {ansible_host: 127.0.0.1, ansible_port: 2201}
        gw2: {ansible_host: 127.0.0.1, ansible_port: 2202}
    servers:
      hosts:
        directory: {ansible_host: 127.0.0.1, ansible_port: 2203}
"""
#: A valid roster id that looks like options to the admin command.
HOSTILE_ID = "a2.-rf--user"
MISSING = (127, b"", b"/bin/sh: 1: /usr/local/sbin/telework-portal-admin: not found\n")


def ok(user: str = "a2", ended: int = 1) -> tuple[int, bytes, bytes]:
    return 0, f'{{"user": "{user}", "reset": true, "ended": {ended}}}\n'.encode(), b""


@dataclass
class FakeGateways:
    """Stands for toolkit.backup.remote.with_session: each gateway answers what
    ``answers`` says (or raises it), every command run is recorded."""

    answers: dict[str, Answer]
    runs: list[dict[str, Any]] = field(default_factory=list)

    def with_session(
        self,
        target: Target,
        timeout: float,
        work: Callable[[Session], T],
        *,
        command_timeout: float | None = None,
    ) -> T:
        assert 0 < timeout <= 60 and command_timeout is not None and 0 < command_timeout <= 120
        answer = self.answers[target.name]
        if isinstance(answer, Exception):
            raise answer
        return work(cast(Session, _FakeSession(self, target, answer)))


@dataclass
class _FakeSession:
    gateways: FakeGateways
    target: Target
    answer: tuple[int, bytes, bytes]

    def run(
        self, command: str, *, sudo: bool = False, stdin: bytes | None = None, cap: int
    ) -> tuple[int, bytes, bytes]:
        self.gateways.runs.append(
            {"host": self.target.name, "command": command, "sudo": sudo, "cap": cap}
        )
        return self.answer


@pytest.fixture
def inventory(env_dir: Path) -> Path:
    (env_dir / "hosts.yml").write_text(HOSTS, encoding="utf-8")
    return env_dir


def fake(monkeypatch: pytest.MonkeyPatch, **answers: Answer) -> FakeGateways:
    gateways = FakeGateways(answers)
    monkeypatch.setattr(portal, "with_session", gateways.with_session)
    return gateways


def reset(inventory: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["vpn", "reset-second-factor", "-i", str(inventory), *args], catch_exceptions=False
    )


def journal_rows(inventory: Path) -> list[dict[str, str]]:
    with (inventory / JOURNAL_FILE).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def test_an_unknown_id_is_refused_naming_the_roster_and_its_field_and_nothing_runs(
    inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateways = fake(monkeypatch, gw1=ok(), gw2=ok())
    result = reset(inventory, "nobody", "--reason", "lost phone")
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "roster.csv:1: id: no teleworker 'nobody' in the roster" in result.stderr
    assert gateways.runs == []
    assert not (inventory / JOURNAL_FILE).exists()


def test_an_empty_reason_is_refused_the_same_way_and_nothing_runs(
    inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateways = fake(monkeypatch, gw1=ok(), gw2=ok())
    result = reset(inventory, "a2", "--reason", "  ")
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "roster.csv:1: reason: give the reason for the reset" in result.stderr
    assert gateways.runs == []
    assert not (inventory / JOURNAL_FILE).exists()


def test_a_gateway_that_is_not_one_of_the_inventory_s_is_a_usage_error_naming_them(
    inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateways = fake(monkeypatch, gw1=ok(), gw2=ok())
    result = reset(inventory, "a2", "--reason", "lost phone", "--gateway", "directory")
    assert result.exit_code == ExitCode.USAGE
    assert "--gateway 'directory': not a host of" in result.stderr
    assert "vpn_gateways (gw1, gw2)" in result.stderr
    assert gateways.runs == []


def test_a_hostile_looking_id_reaches_the_admin_command_as_one_word_run_with_sudo(
    inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    roster = inventory / "roster.csv"
    roster.write_text(
        roster.read_text(encoding="utf-8").replace("\na2,", f"\n{HOSTILE_ID},"), encoding="utf-8"
    )
    gateways = fake(monkeypatch, gw1=ok(HOSTILE_ID, 0))
    result = reset(inventory, HOSTILE_ID.upper(), "--reason", "lost phone", "--gateway", "gw1")
    assert result.exit_code == 0, result.output
    [run] = gateways.runs
    assert run["sudo"] is True and run["cap"] == portal.MAX_OUTPUT
    assert shlex.split(run["command"]) == [
        "/usr/local/sbin/telework-portal-admin",
        "reset-totp",
        "--user",
        HOSTILE_ID,
        "--json",
    ]
    assert [r["id"] for r in journal_rows(inventory)] == [HOSTILE_ID]


@pytest.mark.parametrize("ident", ["a2; id", "a2$(id)", "a2 --json", "-", "", "a" * 65, "a2\n"])
def test_an_id_the_portal_would_not_take_never_becomes_a_command(ident: str) -> None:
    with pytest.raises(ToolkitError, match="is not a user id of the portal"):
        portal.admin_command(ident)


def test_a_reset_on_two_gateways_is_printed_for_each_and_journaled_once_beside_a_revocation(
    inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    revoke(inventory / "roster.csv", load_reference(inventory), "a1", "Fin de mission")
    gateways = fake(monkeypatch, gw1=ok(ended=2), gw2=ok(ended=0))
    result = reset(inventory, "a2", "--reason", "téléphone perdu; réenrôlement au bureau")
    assert result.exit_code == 0, result.output
    assert [r["host"] for r in gateways.runs] == ["gw1", "gw2"]
    lines = [line.split() for line in result.stdout.splitlines()]
    assert ["│", "gw1", "│", "reset", "│", "2", "│"] in lines
    assert ["│", "gw2", "│", "reset", "│", "0", "│"] in lines
    assert "reset journaled in" in result.stdout
    header = (inventory / JOURNAL_FILE).read_text(encoding="utf-8").splitlines()[0]
    assert header == ";".join(JOURNAL_COLUMNS)
    rows = journal_rows(inventory)
    assert [(r["id"], r["action"], r["reason"]) for r in rows] == [
        ("a1", "revoke", "Fin de mission"),
        ("a2", "second-factor-reset", "téléphone perdu; réenrôlement au bureau"),
    ]
    assert rows[1]["operator"] and rows[1]["when"].endswith("+00:00")
    assert rows[1]["equipment_to_return"] == ""


def test_a_gateway_without_the_portal_is_reported_and_skipped(
    inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake(monkeypatch, gw1=MISSING, gw2=ok(ended=1))
    result = reset(inventory, "a2", "--reason", "lost phone")
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.stdout.splitlines()]
    assert ["│", "gw1", "│", "no", "portal", "│", "-", "│"] in lines
    assert ["│", "gw2", "│", "reset", "│", "1", "│"] in lines
    assert [r["action"] for r in journal_rows(inventory)] == ["second-factor-reset"]


def test_no_gateway_with_the_portal_is_an_error_and_nothing_is_journaled(
    inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sudo_says = (1, b"", b"sudo: telework-portal-admin: command not found\n")
    fake(monkeypatch, gw1=MISSING, gw2=sudo_says)
    result = reset(inventory, "a2", "--reason", "lost phone")
    assert result.exit_code == ExitCode.ERROR
    assert "no VPN gateway has the teleworker portal (gw1, gw2:" in result.stderr
    assert "nothing was reset" in result.stderr
    assert not (inventory / JOURNAL_FILE).exists()


def test_a_garbled_answer_is_an_error_naming_the_host_and_nothing_is_journaled(
    inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake(monkeypatch, gw1=(0, b"Traceback (most recent call last):\n\x1b[2J", b""), gw2=ok())
    result = reset(inventory, "a2", "--reason", "lost phone", "--gateway", "gw1")
    assert result.exit_code == ExitCode.ERROR
    assert "gw1: the admin command's answer is not understood (field -: Invalid JSON" in (
        result.stderr
    )
    assert "second factor of a2 not reset everywhere (nothing journaled)" in result.stderr
    assert "\x1b" not in result.output
    assert not (inventory / JOURNAL_FILE).exists()


@pytest.mark.parametrize(
    ("stdout", "said"),
    [
        (b'{"user": "a2", "reset": true, "ended": "3"}', "field ended: Input should be a valid"),
        (b'{"user": "a2", "reset": true, "ended": -1}', "field ended: Input should be greater"),
        (b'{"user": "a2", "reset": true, "ended": 1e9}', "field ended: Input should be a valid"),
        (b'{"user": "a2", "reset": "yes", "ended": 1}', "field reset: Input should be a valid"),
        (b'{"user": "a2", "ended": 1}', "field reset: Field required"),
        (b'[{"user": "a2"}]', "field -: Input should be an object"),
        (b"", "field -: Invalid JSON"),
        (b'{"user": "a3", "reset": true, "ended": 1}', "answered for user 'a3'"),
        (
            b'{"user": "\\u001b[31ma2", "reset": true, "ended": 1}',
            "answered for user '\\x1b[31ma2'",
        ),
        (b'{"user": "a2", "reset": false, "ended": 1}', "reset=False"),
        (b'{"user": "a2", "reset": true, "ended": 1, "x": "' + b"A" * 1100 + b'"}', "longer than"),
    ],
    ids=[
        "ended-text",
        "ended-negative",
        "ended-float",
        "reset-text",
        "no-reset",
        "a-list",
        "empty",
        "another-user",
        "escape-in-user",
        "not-reset",
        "oversized",
    ],
)
def test_an_answer_of_the_wrong_shape_or_size_is_a_failure_of_that_gateway(
    stdout: bytes, said: str
) -> None:
    result = portal.read_answer("gw1", "a2", 0, stdout, b"")
    assert result.outcome is portal.Outcome.FAILED and not result.reset
    assert said in result.detail
    assert not unsafe_characters(result.detail)


def test_an_answer_over_the_session_s_cap_is_a_failure_naming_the_host(
    inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    too_long = ToolkitError(
        "gw2: `/usr/local/sbin/telework-portal-admin`: answer longer than 65536"
    )
    fake(monkeypatch, gw1=ok(), gw2=too_long)
    result = reset(inventory, "a2", "--reason", "lost phone")
    assert result.exit_code == ExitCode.ERROR
    assert "gw2: `/usr/local/sbin/telework-portal-admin`: answer longer than 65536" in (
        result.stderr
    )
    assert "(what was reset is journaled)" in result.stderr  # gw1 did it
    assert len(journal_rows(inventory)) == 1


def test_a_gateway_that_cannot_be_reached_exits_5_after_the_others_did_the_reset(
    inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = UnreachableError("gw1 (admin@127.0.0.1:2201): connection refused")
    fake(monkeypatch, gw1=gone, gw2=ok())
    result = reset(inventory, "a2", "--reason", "lost phone")
    assert result.exit_code == ExitCode.UNREACHABLE
    assert "gw1: (admin@127.0.0.1:2201): connection refused" in result.stderr
    assert [r["id"] for r in journal_rows(inventory)] == ["a2"]


def test_a_secret_deleted_before_the_gate_failed_is_journaled_and_reported_as_a_failure() -> None:
    stderr = (
        b"error: the gate refused or is unreachable: unreachable\n"
        b"the second factor of a2 was reset; end the sessions again\n"
    )
    result = portal.read_answer("gw1", "a2", 1, b"", stderr)
    assert result.outcome is portal.Outcome.FAILED and result.reset
    assert result.detail.startswith("error: the gate refused or is unreachable: unreachable")
    assert "end the sessions again" in result.detail


def test_an_error_of_the_admin_command_is_a_failure_with_its_message_made_printable() -> None:
    result = portal.read_answer("gw1", "a2", 1, b"", b"error: \x1b[31mdatabase is locked\n")
    assert result.outcome is portal.Outcome.FAILED and not result.reset
    assert result.detail == "error: \\x1b[31mdatabase is locked"
