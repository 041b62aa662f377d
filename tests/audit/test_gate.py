"""The runner, waivers, the go/no-go gate and the baseline, with stand-in implementations
that need no host (M8)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.audit.conftest import plan_for
from toolkit.audit.baseline import compare
from toolkit.audit.catalogue import Catalogue, Severity
from toolkit.audit.context import Context
from toolkit.audit.model import Outcome, Params, Status
from toolkit.audit.registry import Implementation
from toolkit.audit.results import AuditReport, HostResult, build_report
from toolkit.audit.runner import Limits, audit_host, run_audit
from toolkit.audit.waivers import Waiver, load_waivers
from toolkit.errors import InvalidInputError
from toolkit.exitcodes import ExitCode

LIMITS = Limits(workers=4, connect=1, command=1, control=1, host=30)


def impl(cid: str, outcome: Outcome | Exception, delay: float = 0.0) -> Implementation:
    def check(ctx: Context, p: Params) -> Outcome:
        time.sleep(delay)
        ctx.note("stand-in probe", "seen")
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return Implementation(cid, check, needs_ssh=False)


def run_one(
    catalogue: Catalogue,
    outcomes: Mapping[str, Outcome | Exception],
    *,
    waivers: list[Waiver] | None = None,
    fail_on: Severity = Severity.HIGH,
    delay: float = 0.0,
) -> HostResult:
    impls = {cid: impl(cid, o, delay) for cid, o in outcomes.items()}
    return audit_host(
        plan_for(catalogue, "srv1", list(outcomes)),
        impls,
        waivers or [],
        limits=LIMITS,
        fail_on=fail_on,
        today=date(2026, 11, 23),
    )


def report_of(*hosts: HostResult) -> AuditReport:
    return build_report(
        list(hosts),
        tool="telework-toolkit test",
        inventory="/inventories/test",
        started_at=datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
        duration_s=1.0,
        fail_on=Severity.HIGH,
        waivers_file=None,
        requirements={"A13": "Regulate access rights", "M4": "Protection systems"},
    )


def test_an_unwaived_high_failure_blocks_the_gate_and_exits_3(catalogue: Catalogue) -> None:
    host = run_one(catalogue, {"LNX-07": Outcome.failed("no firewall")})
    assert host.results[0].blocking
    report = report_of(host)
    assert (report.verdict, report.exit_code) == ("no-go", ExitCode.CHECK_FAILED)
    assert report.platforms[0].verdict == "no-go"


def test_passing_controls_give_go_and_exit_0(catalogue: Catalogue) -> None:
    report = report_of(run_one(catalogue, {"LNX-07": Outcome.passed("ok")}))
    assert (report.verdict, report.exit_code) == ("go", ExitCode.OK)


def test_fail_on_sets_the_lowest_blocking_severity(catalogue: Catalogue) -> None:
    # LNX-05 is medium
    outcome = {"LNX-05": Outcome.failed("minlen 8")}
    assert not run_one(catalogue, outcome).results[0].blocking
    assert run_one(catalogue, outcome, fail_on=Severity.MEDIUM).results[0].blocking


def test_an_error_blocks_like_a_failure_and_a_warning_does_not(catalogue: Catalogue) -> None:
    host = run_one(
        catalogue, {"LNX-07": Outcome(Status.ERROR, "nft refused"), "LNX-11": Outcome.warned("w")}
    )
    assert [r.blocking for r in host.results] == [True, False]


def test_a_waived_failure_does_not_block(catalogue: Catalogue) -> None:
    waiver = Waiver(
        control="LNX-07",
        hosts="srv*",
        owner="RSSI",
        justification="firewall in front of the host until the baseline role lands",
        expires=date(2026, 12, 31),
    )
    result = run_one(catalogue, {"LNX-07": Outcome.failed("x")}, waivers=[waiver]).results[0]
    assert result.waiver is not None
    assert (result.waiver.expired, result.blocking) == (False, False)


def test_an_expired_waiver_counts_as_a_failure(catalogue: Catalogue) -> None:
    waiver = Waiver(
        control="LNX-07",
        owner="RSSI",
        justification="firewall in front of the host until the baseline role lands",
        expires=date(2026, 11, 22),
    )
    result = run_one(catalogue, {"LNX-07": Outcome.failed("x")}, waivers=[waiver]).results[0]
    assert result.waiver is not None
    assert (result.waiver.expired, result.blocking) == (True, True)


def test_a_waiver_for_another_host_does_not_apply(catalogue: Catalogue) -> None:
    waiver = Waiver(
        control="LNX-07",
        hosts="db*",
        owner="RSSI",
        justification="only the database servers",
        expires=date(2027, 1, 1),
    )
    result = run_one(catalogue, {"LNX-07": Outcome.failed("x")}, waivers=[waiver]).results[0]
    assert (result.waiver, result.blocking) == (None, True)


def test_a_control_that_raises_is_an_error_not_a_pass(catalogue: Catalogue) -> None:
    result = run_one(catalogue, {"LNX-07": KeyError("policy")}).results[0]
    assert result.status is Status.ERROR
    assert result.summary == "internal error: KeyError: 'policy'"


def test_a_control_past_its_time_limit_is_an_error_and_the_next_ones_still_run(
    catalogue: Catalogue,
) -> None:
    impls = {
        "LNX-07": impl("LNX-07", Outcome.passed("late"), delay=3),
        "LNX-11": impl("LNX-11", Outcome.passed("ok")),
    }
    started = time.monotonic()
    host = audit_host(
        plan_for(catalogue, "srv1", ["LNX-07", "LNX-11"]),
        impls,
        [],
        limits=LIMITS,
        fail_on=Severity.HIGH,
    )
    assert time.monotonic() - started < 2.5
    assert [(r.status, r.summary) for r in host.results] == [
        (Status.ERROR, "timed out after 1 s"),
        (Status.PASS, "ok"),
    ]


def test_a_host_that_refuses_ssh_is_unreachable_and_exits_5(catalogue: Catalogue) -> None:
    # port 1 on 127.0.0.1: nothing listens there
    from toolkit.audit.registry import implementations

    hosts = run_audit(
        [plan_for(catalogue, "down", ["LNX-02"])],
        implementations(),
        [],
        limits=LIMITS,
        fail_on=Severity.HIGH,
    )
    assert hosts[0].reachable is False
    assert "Connection refused" in (hosts[0].error or "")
    assert hosts[0].results[0].status is Status.ERROR
    assert report_of(*hosts).exit_code == ExitCode.UNREACHABLE


def test_hosts_are_audited_concurrently_in_a_bounded_pool(catalogue: Catalogue) -> None:
    impls = {"LNX-07": impl("LNX-07", Outcome.passed("ok"), delay=0.3)}
    plans = [plan_for(catalogue, f"h{i}", ["LNX-07"]) for i in range(8)]
    started = time.monotonic()
    hosts = run_audit(plans, impls, [], limits=LIMITS, fail_on=Severity.HIGH)
    elapsed = time.monotonic() - started
    assert [h.host for h in hosts] == [f"h{i}" for i in range(8)]
    assert 0.55 < elapsed < 1.5  # 8 hosts, 4 workers, 0.3 s each: two rounds


def test_baseline_shows_what_got_better_and_worse(catalogue: Catalogue) -> None:
    before = report_of(
        run_one(catalogue, {"LNX-07": Outcome.failed("x"), "LNX-11": Outcome.passed("ok")})
    )
    after = report_of(
        run_one(catalogue, {"LNX-07": Outcome.passed("ok"), "LNX-11": Outcome.failed("toor")})
    )
    changes = compare(before, after, "previous.json").changes
    assert [(c.control, c.before, c.after, c.direction) for c in changes] == [
        ("LNX-07", Status.FAIL, Status.PASS, "better"),
        ("LNX-11", Status.PASS, Status.FAIL, "worse"),
    ]


def test_a_waiver_naming_an_unknown_control_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yml"
    path.write_text(
        "waivers:\n  - control: LNX-99\n    owner: RSSI\n    justification: because it is\n"
        "    expires: 2027-01-01\n"
    )
    with pytest.raises(InvalidInputError) as exc:
        load_waivers(path, {"LNX-07"})
    assert str(exc.value) == f"{path}:2: waivers.0.control: unknown control LNX-99"


def test_a_waiver_without_expiry_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yml"
    path.write_text("waivers:\n  - control: LNX-07\n    owner: RSSI\n    justification: reasons\n")
    with pytest.raises(
        InvalidInputError, match=r"waivers.yml:2: waivers.0.expires: Field required"
    ):
        load_waivers(path, {"LNX-07"})


def test_hostile_hosts_sending_garbage_or_nothing_are_unreachable_within_the_time_limit(
    catalogue: Catalogue,
) -> None:
    import socket
    import threading

    from toolkit.adapters.ssh import Endpoint
    from toolkit.audit.registry import implementations

    servers, accepted = [], []

    def serve(sock: socket.socket, greeting: bytes) -> None:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        accepted.append(conn)
        if greeting:
            conn.sendall(greeting)

    plans = []
    for name, greeting in (("garbage", b"HTTP/1.1 400 Bad Request\r\n\r\n" * 50), ("silent", b"")):
        sock = socket.create_server(("127.0.0.1", 0))
        servers.append(sock)
        threading.Thread(target=serve, args=(sock, greeting), daemon=True).start()
        base = plan_for(catalogue, name, ["LNX-02"])
        endpoint = Endpoint("127.0.0.1", sock.getsockname()[1], "admin", None, Path("/nonexistent"))
        plans.append(base.__class__(**{**base.__dict__, "endpoint": endpoint}))
    started = time.monotonic()
    try:
        hosts = run_audit(plans, implementations(), [], limits=LIMITS, fail_on=Severity.HIGH)
    finally:
        for s in [*servers, *accepted]:
            s.close()
    assert time.monotonic() - started < 4
    assert [(h.host, h.reachable) for h in hosts] == [("garbage", False), ("silent", False)]
    assert "Indecipherable protocol version" in (hosts[0].error or "")
    assert "Error reading SSH protocol banner" in (hosts[1].error or "")
    assert all(r.status is Status.ERROR for h in hosts for r in h.results)
