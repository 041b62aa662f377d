"""LOG-01 and LOG-03 on the log collector's canned answers: the listing of
/var/log/remote (the collector's clock, host folders, day files with their mtime) and the
retention job role log_collector installs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.audit.conftest import Answer, fake_context, params
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import ControlError, Outcome, Status
from toolkit.audit.registry import implementations
from toolkit.controls import logs

IMPL = implementations()
NOW = 1_800_000_000
HOUR, DAY = 3600, 86400
#: The lab's inventory: every server but the collector sends its logs.
INVENTORY = {
    "gateway": frozenset({"servers", "vpn_gateways"}),
    "mail": frozenset({"servers", "mail_servers"}),
    "collab": frozenset({"servers", "collaboration_servers"}),
    "logs": frozenset({"servers", "log_collectors"}),
    "laptop01": frozenset({"laptops", "vpn_test_peers"}),
}
#: The unit role log_collector writes (log_collector_retention_days: 180).
RETENTION_UNIT = """\
# /etc/systemd/system/telework-log-retention.service
[Service]
Type=oneshot
ExecStart=/usr/bin/find /var/log/remote -type f -name '*.log' -mtime +180 -delete
ExecStart=/usr/bin/find /var/log/remote -mindepth 1 -type d -empty -delete
"""


def listing(files: dict[str, list[int]], *, born: int = 0, folders: tuple[str, ...] = ()) -> str:
    """The collector's answer: host -> ages (seconds) of its day files."""
    lines = [f"now {NOW}", f"born {NOW - born if born else 0}"]
    lines += [f"dir {host}" for host in sorted({*files, *folders})]
    for host, ages in files.items():
        lines += [f"file {NOW - age}.0123456789 {host}/day-{i}.log" for i, age in enumerate(ages)]
    return "\n".join(lines) + "\n"


def run(catalogue: Catalogue, control: str, answers: dict[str, Any], **over: Any) -> Outcome:
    ctx = fake_context(answers, inventory=INVENTORY)
    return IMPL[control].check(ctx, params(catalogue, control, **over))


def test_log01_passes_when_every_server_wrote_a_day_file_within_24_hours(
    catalogue: Catalogue,
) -> None:
    answers = {"find": listing({"gateway": [HOUR], "mail": [5 * DAY, 23 * HOUR], "collab": [60]})}
    outcome = run(catalogue, "LOG-01", answers)
    assert outcome.status is Status.PASS
    assert outcome.summary == "all 3 in-scope hosts sent events in the last 24 h"


def test_log01_a_silent_host_and_one_that_never_sent_fail_by_name(catalogue: Catalogue) -> None:
    answers = {"find": listing({"gateway": [HOUR], "mail": [3 * DAY, 30 * DAY]})}
    outcome = run(catalogue, "LOG-01", answers)
    assert outcome.status is Status.FAIL
    assert outcome.summary == "2 of 3 hosts sent nothing in the last 24 h: collab, mail"
    assert outcome.details == [
        "collab: no folder /var/log/remote/collab (never sent)",
        "mail: last written 3 days ago",
    ]


def test_log01_an_empty_host_folder_fails_and_the_window_is_a_parameter(
    catalogue: Catalogue,
) -> None:
    answers = {"find": listing({"gateway": [30 * HOUR], "mail": [HOUR]}, folders=("collab",))}
    outcome = run(catalogue, "LOG-01", answers, hours=48)
    assert outcome.details == ["collab: no day file in /var/log/remote/collab"]


def test_log01_without_the_collectors_folder_fails(catalogue: Catalogue) -> None:
    outcome = run(catalogue, "LOG-01", {"find": f"now {NOW}\nmissing\n"})
    assert outcome.summary == "no folder /var/log/remote: no host's logs are collected here"


def test_log01_judges_only_the_groups_in_scope(catalogue: Catalogue) -> None:
    answers = {"find": listing({"mail": [HOUR]})}
    outcome = run(catalogue, "LOG-01", answers, groups=["mail_servers"])
    assert outcome.summary == "all 1 in-scope hosts sent events in the last 24 h"


def test_log01_without_the_inventory_is_an_error_not_a_pass(catalogue: Catalogue) -> None:
    ctx = fake_context({"find": listing({})})
    with pytest.raises(ControlError, match="inventory's hosts are unknown"):
        IMPL["LOG-01"].check(ctx, params(catalogue, "LOG-01"))


def test_log01_a_listing_line_it_does_not_print_is_an_error(catalogue: Catalogue) -> None:
    with pytest.raises(ControlError, match="unexpected line"):
        run(catalogue, "LOG-01", {"find": f"now {NOW}\nfile ²³ gateway/x.log\n"})


def retention_answers(listed: str, unit: str = RETENTION_UNIT, **extra: Any) -> dict[str, Any]:
    return {
        "systemctl cat": unit,
        "is-enabled telework-log-retention.timer": "enabled\n",
        "grep -rsH": "",
        "find": listed,
        **extra,
    }


def test_log03_the_roles_180_day_job_passes_on_a_collector_younger_than_90_days(
    catalogue: Catalogue,
) -> None:
    answers = retention_answers(listing({"gateway": [40 * DAY, HOUR]}, born=41 * DAY))
    outcome = run(catalogue, "LOG-03", answers)
    assert outcome.status is Status.PASS
    assert outcome.summary == (
        "collected logs kept 181 days (at least 90); collecting for 41 days, oldest file 40 days"
    )


def test_log03_a_job_deleting_after_30_days_fails(catalogue: Catalogue) -> None:
    unit = RETENTION_UNIT.replace("-mtime +180", "-mtime +29")
    answers = retention_answers(listing({"gateway": [20 * DAY]}), unit=unit)
    outcome = run(catalogue, "LOG-03", answers)
    assert outcome.status is Status.FAIL
    assert outcome.summary.startswith("telework-log-retention.service: ExecStart=")
    assert outcome.summary.endswith("keeps files 30 days (at least 90)")


def test_log03_a_tmpfiles_age_shorter_than_the_retention_fails(catalogue: Catalogue) -> None:
    tmpfiles = "/etc/tmpfiles.d/remote.conf:d /var/log/remote 0750 root adm 4w\n"
    answers = retention_answers(listing({"gateway": [DAY]}), **{"grep -rsH": tmpfiles})
    outcome = run(catalogue, "LOG-03", answers)
    assert outcome.summary == (
        "/etc/tmpfiles.d/remote.conf: d /var/log/remote 0750 root adm 4w keeps files 28 days "
        "(at least 90)"
    )


def test_log03_files_younger_than_90_days_gone_from_an_older_collector_fail(
    catalogue: Catalogue,
) -> None:
    listed = listing({"gateway": [10 * DAY, HOUR], "mail": [12 * DAY]}, born=200 * DAY)
    outcome = run(catalogue, "LOG-03", retention_answers(listed))
    assert outcome.status is Status.FAIL
    assert outcome.summary == (
        "the collector has run 200 days but keeps no file older than 12 days: files younger "
        "than 90 days were deleted"
    )


def test_log03_one_host_with_only_young_files_on_an_old_collector_is_a_warning(
    catalogue: Catalogue,
) -> None:
    listed = listing({"gateway": [150 * DAY, HOUR], "mail": [12 * DAY]}, born=200 * DAY)
    outcome = run(catalogue, "LOG-03", retention_answers(listed))
    assert outcome.status is Status.WARN
    assert outcome.summary == (
        "oldest file younger than 90 days for mail (hosts added since, or their older files "
        "deleted)"
    )


def test_log03_no_retention_job_keeps_personal_data_without_limit(catalogue: Catalogue) -> None:
    answers = retention_answers(listing({"gateway": [DAY]}), unit="")
    answers["systemctl cat"] = Answer(1, "", "No files found for telework-log-retention.service.")
    outcome = run(catalogue, "LOG-03", answers)
    assert outcome.status is Status.WARN
    assert "personal data kept without limit" in outcome.summary


@pytest.mark.parametrize(
    ("line", "days"),
    [
        ("find /d -type f -mtime +89 -delete", 90),
        ("find /d -type f -mmin +1440 -delete", 1),
        ("find /d -type f -mtime -5 -delete", 0),
        ("find /d -type f -delete", 0),
        ("find /d -type f -mtime +200 -exec rm -f {} +", 201),
    ],
)
def test_log03_reads_how_long_a_find_keeps_files(line: str, days: float) -> None:
    assert logs._find_keeps(line) == days


def test_log03_a_find_that_only_removes_empty_folders_deletes_no_log() -> None:
    assert logs._find_keeps("find /d -mindepth 1 -type d -empty -delete") is None


def test_log03_reads_logrotate_rotate_count_by_frequency_and_maxage() -> None:
    assert logs._logrotate_keeps("/var/log/remote/*/*.log {\n  weekly\n  rotate 4\n}\n") == 28
    assert logs._logrotate_keeps("x {\n  daily\n  rotate 365\n  maxage 60\n}\n") == 60
