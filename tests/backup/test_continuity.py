"""A5: the continuity plan's figures per platform from the lab-like inventory, canned
status files and drill evidence: owners, RPO, last backup, last drill, measured RTO, what
is missing said by name, golden JSON and HTML files with French and Arabic headings.

After a deliberate change of the output regenerate the golden files with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/backup/test_continuity.py

and review the diff."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from tests.backup.samples import NOW, drill, raw, status
from toolkit.adapters.ssh import Endpoint
from toolkit.backup import continuity
from toolkit.backup.remote import Target
from toolkit.backup.status import parse_drill
from toolkit.backup.survey import HostBackup, judge_host

GOLDEN = Path(__file__).parent / "golden"
SERVERS = frozenset({"servers"})
INVENTORY: dict[str, tuple[frozenset[str], dict[str, object]]] = {
    "directory": (
        SERVERS | {"directory_servers"},
        {"continuity_owner": "Unité systèmes", "continuity_rto_hours": 4},
    ),
    "mail": (SERVERS | {"mail_servers"}, {"continuity_owner": "Unité messagerie"}),
    "collab": (SERVERS | {"collaboration_servers"}, {}),
    "backup": (SERVERS | {"backup_servers"}, {"continuity_owner": "Unité systèmes"}),
    "laptop01": (frozenset({"laptops"}), {}),
}


def found() -> list[HostBackup]:
    def one(name: str, status_raw: bytes | None) -> HostBackup:
        groups = INVENTORY[name][0]
        return judge_host(Target(name, groups, Endpoint(name), {}), status_raw, None, NOW)

    mail_sources = [{"name": "mail", "rpo_hours": 12}, {"name": "system", "rpo_hours": 24}]
    return [
        one("directory", raw(status("directory"))),
        one("mail", raw(status("mail", hours_ago=30, sources=mail_sources))),
        one("collab", None),
        HostBackup(host="backup", groups=["backup_servers", "servers"]),
    ]


def plan() -> continuity.Continuity:
    drills = {"directory": parse_drill(raw(drill("directory")), "directory-drill.json")}
    return continuity.build("lab", INVENTORY, found(), drills, NOW)


def test_each_platform_of_servers_is_listed_with_its_owner_rpo_and_figures() -> None:
    rows = {p.platform: p for p in plan().platforms}
    assert list(rows) == [
        "backup_servers",
        "collaboration_servers",
        "directory_servers",
        "mail_servers",
    ]
    directory = rows["directory_servers"]
    assert (directory.owner, directory.sources, directory.rpo_hours) == (
        "Unité systèmes",
        ["directory", "system"],
        24,
    )
    assert directory.last_backup == NOW - timedelta(hours=2)
    assert directory.last_drill == NOW - timedelta(days=3) + timedelta(seconds=95)
    assert (directory.rto_seconds, directory.rto_target_hours, directory.state) == (42.5, 4, "ok")


def test_what_a_platform_lacks_is_said_by_name_and_the_plan_is_incomplete() -> None:
    result = plan()
    rows = {p.platform: p for p in result.platforms}
    assert rows["mail_servers"].rpo_hours == 12  # the strictest of its sources
    assert rows["mail_servers"].missing == ["an RTO measured by a passed drill of every host"]
    assert rows["collaboration_servers"].missing == [
        "owner (continuity_owner)",
        "RPO (no backup source reported)",
        "a successful backup of every host",
        "an RTO measured by a passed drill of every host",
    ]
    assert rows["backup_servers"].state == "repositories"
    assert not result.complete


def test_a_failed_drill_measures_no_rto_and_the_newer_evidence_wins(tmp_path: Path) -> None:
    folder = tmp_path / "drills"
    folder.mkdir()
    (folder / "directory-1.json").write_bytes(raw(drill(days_ago=10)))
    (folder / "directory-2.json").write_bytes(raw(drill(days_ago=1, result="failed")))
    local = continuity.newest_drills(folder)
    assert local["directory"].result == "failed"
    result = continuity.build("lab", INVENTORY, found(), local, NOW)
    directory = next(p for p in result.platforms if p.platform == "directory_servers")
    assert directory.rto_seconds is None and directory.state == "incomplete"
    copy = found()
    copy[0].drill = parse_drill(raw(drill(days_ago=0.5)), "copy")
    assert continuity.merge_drills(local, copy)["directory"].result == "passed"


def test_the_json_and_html_reports_match_the_golden_files() -> None:
    result = plan()
    text = continuity.json_text(result)
    page = continuity.html(result)
    if os.environ.get("UPDATE_GOLDEN"):
        (GOLDEN / "continuity.json").write_text(text, encoding="utf-8")
        (GOLDEN / "continuity.html").write_text(page, encoding="utf-8")
    assert text == (GOLDEN / "continuity.json").read_text(encoding="utf-8")
    assert page == (GOLDEN / "continuity.html").read_text(encoding="utf-8")
    assert "Plan de continuité d&#39;activité" in page and "مخطط استمرارية النشاط" in page


def test_the_plans_json_reads_back_as_the_newest_of_its_folder(tmp_path: Path) -> None:
    written = continuity.write(plan(), tmp_path)
    assert written["json"].name == "continuity-2026-11-25.json"
    loaded = continuity.latest(tmp_path)
    assert loaded is not None and loaded[0] == plan()
    assert continuity.latest(tmp_path / "none") is None


def test_hostile_owner_text_is_escaped_in_the_plan() -> None:
    inventory = dict(INVENTORY)
    inventory["mail"] = (INVENTORY["mail"][0], {"continuity_owner": "x\u202e<script>"})
    result = continuity.build("lab", inventory, found(), {}, NOW)
    mail = next(p for p in result.platforms if p.platform == "mail_servers")
    assert mail.owner == "x\\u202e<script>"
    assert "<script>" not in continuity.html(result)
