"""Canned cases of the logging and backup controls, LOG-01 to LOG-04 and BCK-01 to BCK-05
(audits/controls/logging.yml, backup.yml): each passes on what roles log_collector,
baseline and backup and ``toolkit backup drill`` leave, and fails on the weakness it
names. The answers are those of test_log_collector_controls.py,
test_database_controls.py, test_controls.py and test_backup_controls.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from tests.audit.canned import Case, Judge, judged
from tests.audit.conftest import Answer
from tests.audit.test_backup_controls import FORCED, KEY, file_answer, keys
from tests.audit.test_backup_controls import INVENTORY as BACKUP_INVENTORY
from tests.audit.test_database_controls import CLUSTER, settings
from tests.audit.test_log_collector_controls import (
    DAY,
    HOUR,
    RETENTION_UNIT,
    listing,
    retention_answers,
)
from tests.audit.test_log_collector_controls import INVENTORY as LOG_INVENTORY
from tests.backup.samples import drill, status
from tests.backup.test_continuity import plan as continuity_plan
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import Outcome, Status
from toolkit.audit.registry import implementations
from toolkit.backup import continuity
from toolkit.controls import backup

IMPL = implementations()
PASS, FAIL = Status.PASS, Status.FAIL


# --- LOG-01, LOG-03: the log collector ----------------------------------------------------

ALL_SENT = listing({"gateway": [HOUR], "mail": [5 * DAY, 23 * HOUR], "collab": [60]})
MAIL_SILENT = listing({"gateway": [HOUR], "mail": [3 * DAY], "collab": [60]})
YOUNG_COLLECTOR = retention_answers(listing({"gateway": [40 * DAY, HOUR]}, born=41 * DAY))
THIRTY_DAYS = retention_answers(
    listing({"gateway": [20 * DAY]}), unit=RETENTION_UNIT.replace("-mtime +180", "-mtime +29")
)

# --- LOG-02, LOG-04: each server --------------------------------------------------------

NO_DDL = {"pgrep": CLUSTER, "psql": settings(log_statement="none")}
#: role baseline's 90-telework-forward.conf, as LOG-04's grep prints it.
TLS_FORWARD = (
    '/etc/rsyslog.d/90-telework-forward.conf: action(type="omfwd" target="logs" port="6514" '
    'protocol="tcp" StreamDriver="gtls" StreamDriverMode="1")\n'
)
FORWARDED = {
    "is-active rsyslog": "active\n",
    "rsyslog.conf": TLS_FORWARD,
    "find /var/log": "/var/log/wtmp\n/var/log/lastlog\n",
}
NOT_FORWARDED = {**FORWARDED, "rsyslog.conf": "/etc/rsyslog.conf: # *.* @@logs:514\n"}
READABLE = {**FORWARDED, "find /var/log": "/var/log/dpkg.log\n/var/log/wtmp\n"}

# --- BCK-01 to BCK-04 -----------------------------------------------------------------------


def status_file(data: dict[str, Any] | None) -> dict[str, Answer | str]:
    return {r"status\.json": file_answer(data)}


def drill_file(data: dict[str, Any] | None) -> dict[str, Answer | str]:
    return {r"last-drill\.json": file_answer(data)}


def borg_server(listing: str, authorized: str) -> dict[str, Answer | str]:
    """The backup server's answers: borg's home, its authorized_keys, each repository's
    first stored object."""
    return {
        r"getent passwd borg": "/srv/backup\n",
        r"authorized_keys": authorized,
        r"for d in": listing,
    }


ENCRYPTED = "seg directory " + " ".join(["0"] * 33 + ["5"]) + "\nrepo directory\n"
PLAIN = "seg directory " + " ".join(["0"] * 33 + ["2"]) + "\nrepo directory\n"
FORCED_KEY = keys(f"{FORCED.format(h='directory')} {KEY} telework-backup:directory")
FREE_KEY = keys(
    f'command="borg serve --restrict-to-repository /srv/backup/directory",restrict {KEY} directory'
)
ON_ITSELF = status(
    repository="ssh://borg@localhost/srv/backup/directory", backup_server="directory"
)

# --- BCK-05: the continuity plan --------------------------------------------------------------


def complete(plan: continuity.Continuity) -> continuity.Continuity:
    """The plan once every platform has its owner, RPO, backup and measured RTO."""
    for p in plan.platforms:
        p.state, p.missing = ("repositories" if p.platform == "backup_servers" else "ok"), []
    return plan


def plan_judge(make: Callable[[continuity.Continuity], continuity.Continuity]) -> Judge:
    """BCK-05 on the backup server of a project whose reports/continuity/lab/ holds the
    plan ``make`` gives, written yesterday in the case's scratch folder."""

    def judge(catalogue: Catalogue, scratch: Path) -> Outcome:
        plan = make(continuity_plan())
        plan.generated_at = datetime.now(UTC) - timedelta(days=1)
        continuity.write(plan, scratch / "reports" / "continuity" / "lab")
        inventory = str(scratch / "inventories" / "lab")
        with mock.patch.object(backup, "work_dir", return_value=scratch):
            return judged("BCK-05", {}, context={"inventory": BACKUP_INVENTORY}, host="backup",
                          inventory_path=inventory)(catalogue, scratch)  # fmt: skip

    return judge


def on_client(control: str, answers: dict[str, Answer | str]) -> Judge:
    return judged(control, answers, context={"inventory": BACKUP_INVENTORY}, host="directory")


def on_server(answers: dict[str, Answer | str]) -> Judge:
    return judged("BCK-02", answers, context={"inventory": BACKUP_INVENTORY}, host="backup")


CASES: list[Case] = [
    Case("LOG-01", PASS, "every server wrote a day file within 24 hours",
         judged("LOG-01", {"find": ALL_SENT}, context={"inventory": LOG_INVENTORY}),
         "all 3 in-scope hosts sent events in the last 24 h"),
    Case("LOG-01", FAIL, "the mail server has been silent for 3 days",
         judged("LOG-01", {"find": MAIL_SILENT}, context={"inventory": LOG_INVENTORY}),
         "mail: last written 3 days ago"),
    Case("LOG-02", PASS, "postgresql logs connections, disconnections and ddl with who",
         judged("LOG-02", {"pgrep": CLUSTER, "psql": settings()}),
         "1 PostgreSQL servers log connections, disconnections and DDL"),
    Case("LOG-02", FAIL, "postgresql logs no statement", judged("LOG-02", NO_DDL),
         "log_statement = none, DDL not logged"),
    Case("LOG-03", PASS, "the collector's job deletes after 180 days",
         judged("LOG-03", YOUNG_COLLECTOR, context={"inventory": LOG_INVENTORY}),
         "collected logs kept 181 days (at least 90)"),
    Case("LOG-03", FAIL, "the collector's job deletes after 30 days",
         judged("LOG-03", THIRTY_DAYS, context={"inventory": LOG_INVENTORY}),
         "keeps files 30 days (at least 90)"),
    Case("LOG-04", PASS, "rsyslog forwards over tls and only login records are world-readable",
         judged("LOG-04", FORWARDED), "logs forwarded off the host, files not world-readable"),
    Case("LOG-04", FAIL, "rsyslog forwards nothing", judged("LOG-04", NOT_FORWARDED),
         "no forwarding to a log collector (omfwd or @@host)"),
    Case("LOG-04", FAIL, "dpkg's log is world-readable", judged("LOG-04", READABLE),
         "world-readable logs: /var/log/dpkg.log"),
    Case("BCK-01", PASS, "every source was backed up 3 hours ago",
         on_client("BCK-01", status_file(status(hours_ago=3))),
         "directory 3.0 h (RPO 24 h), system 3.0 h (RPO 24 h)"),
    Case("BCK-01", FAIL, "the last success is 25 hours old for a 24-hour rpo",
         on_client("BCK-01", status_file(status(hours_ago=25))),
         "directory: late (last success 25.0 h ago, RPO 24 h)"),
    Case("BCK-01", FAIL, "the host was never backed up", on_client("BCK-01", status_file(None)),
         "never backed up: no /var/lib/telework-backup/status.json"),
    Case("BCK-02", PASS, "the client key is forced append-only to its encrypted repository",
         on_server(borg_server(ENCRYPTED, FORCED_KEY)),
         "1 client keys append-only, each on its own repository; 1 repositories encrypted"),
    Case("BCK-02", FAIL, "a client key may rewrite its repository",
         on_server(borg_server(ENCRYPTED, FREE_KEY)),
         "line 1 (directory): borg serve without --append-only"),
    Case("BCK-02", FAIL, "a repository is stored in clear",
         on_server(borg_server(PLAIN, FORCED_KEY)), "repository directory: none, not encrypted"),
    Case("BCK-03", PASS, "the repository is append-only on the backup server",
         on_client("BCK-03", status_file(status())), "copied to backup, append-only"),
    Case("BCK-03", FAIL, "the repository is on the host itself",
         on_client("BCK-03", status_file(ON_ITSELF)),
         "repository ssh://borg@localhost/srv/backup/directory is on the host itself"),
    Case("BCK-03", FAIL, "the client's key may delete archives",
         on_client("BCK-03", status_file(status(append_only=False))),
         "the client's key is not restricted to append-only"),
    Case("BCK-04", PASS, "last week's drill restored and verified every file",
         on_client("BCK-04", drill_file(drill(days_ago=3))),
         "57 files verified, RTO 42 s"),
    Case("BCK-04", FAIL, "the last drill is 120 days old",
         on_client("BCK-04", drill_file(drill(days_ago=120))),
         "last drill 119 days ago (at most 90)"),
    Case("BCK-05", PASS, "yesterday's plan lists every platform complete",
         plan_judge(complete), "4 platforms with owner, RPO and measured RTO"),
    Case("BCK-05", FAIL, "the collaboration platform has no owner in the plan",
         plan_judge(lambda plan: plan),
         "collaboration_servers: missing owner (continuity_owner)"),
]  # fmt: skip
