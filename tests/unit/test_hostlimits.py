"""The lab raises the inotify instance limit that systemd containers share."""

from pathlib import Path

import pytest

from toolkit.errors import ToolkitError
from toolkit.lab import hostlimits


def test_a_low_inotify_limit_is_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    limit = tmp_path / "max_user_instances"
    limit.write_text("128\n")
    monkeypatch.setattr("toolkit.lab.hostlimits.os.geteuid", lambda: 0)
    assert hostlimits.ensure_inotify_instances(1024, limit) == 1024
    assert limit.read_text() == "1024\n"


def test_a_high_enough_limit_is_left_alone(tmp_path: Path) -> None:
    limit = tmp_path / "max_user_instances"
    limit.write_text("8192\n")
    assert hostlimits.ensure_inotify_instances(1024, limit) == 8192
    assert limit.read_text() == "8192\n"


def test_without_root_a_low_limit_is_an_error_naming_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = tmp_path / "max_user_instances"
    limit.write_text("128\n")
    monkeypatch.setattr("toolkit.lab.hostlimits.os.geteuid", lambda: 1000)
    with pytest.raises(ToolkitError, match=r"sysctl -w fs.inotify.max_user_instances=1024"):
        hostlimits.ensure_inotify_instances(1024, limit)
