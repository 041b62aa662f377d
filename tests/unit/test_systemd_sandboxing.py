"""Every service unit the project writes runs sandboxed (#20; A10): no privilege gained,
/usr and /etc read-only, no kernel tunables or control groups changed, no set-user-ID
files made, only the socket families it needs. A packaged service the project configures
through a drop-in is listed here when the drop-in sandboxes it; the others keep their
package's unit, each for the reason written below."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO

UNITS_DIR = "templates/etc/systemd/system"
#: Every project-written service unit, and the drop-ins that sandbox a packaged service.
SANDBOXED = [
    *sorted(REPO.glob(f"roles/*/{UNITS_DIR}/*.service.j2")),
    REPO / f"roles/videoconference/{UNITS_DIR}/janus.service.d/telework.conf.j2",
]
#: Drop-ins that leave their packaged service as Debian ships it, and why.
NOT_SANDBOXED = {
    # wg-quick creates the interface, runs its PostUp/PreDown hooks (nft, ip) as root
    "wg-quick@.service.d/10-telework.conf.j2": "wg-quick's hooks need the whole system",
    # clamd: Debian's unit; the drop-ins only let it start without the public database
    "clamav-daemon.service.d/telework.conf.j2": "Debian's unit, started offline",
    "clamav-daemon.service.d/10-telework.conf.j2": "Debian's unit, started offline",
    # these only skip a unit inside a container
    "acct.service.d/10-telework-no-container.conf.j2": "a condition, no service change",
    "auditd.service.d/10-telework-no-container.conf.j2": "a condition, no service change",
    "usbguard.service.d/10-telework-no-usb.conf.j2": "a condition, no service change",
    # slapd's drop-in belongs with the role's own unit, which is sandboxed
    "slapd.service.d/telework.conf.j2": "the role's own slapd.service is sandboxed",
}
REQUIRED = {
    "NoNewPrivileges": {"yes"},
    "ProtectSystem": {"strict", "full"},
    "ProtectKernelTunables": {"yes"},
    "ProtectControlGroups": {"yes"},
    "RestrictSUIDSGID": {"yes"},
    "LockPersonality": {"yes"},
    "RestrictRealtime": {"yes"},
    "SystemCallArchitectures": {"native"},
}


def _settings(path: Path) -> dict[str, str]:
    settings: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith(("#", "{")):
            settings[key.strip()] = value.strip()
    return settings


def test_the_project_writes_service_units() -> None:
    assert len(SANDBOXED) >= 10


@pytest.mark.parametrize("unit", SANDBOXED, ids=lambda p: p.relative_to(REPO).as_posix())
def test_each_service_the_project_writes_runs_sandboxed(unit: Path) -> None:
    settings = _settings(unit)
    missing = {
        key: sorted(values) for key, values in REQUIRED.items() if settings.get(key) not in values
    }
    assert not missing, f"{unit.relative_to(REPO)} lacks {missing}"
    assert settings.get("RestrictAddressFamilies"), (
        f"{unit.relative_to(REPO)} names no socket family"
    )


def test_every_other_drop_in_is_accounted_for() -> None:
    drop_ins = {
        f"{path.parent.name}/{path.name}"
        for path in REPO.glob(f"roles/*/{UNITS_DIR}/*.service.d/*.conf.j2")
        if path not in SANDBOXED
    }
    assert drop_ins <= set(NOT_SANDBOXED), sorted(drop_ins - set(NOT_SANDBOXED))
