"""toolkit init's variable files stay within the project's yamllint line length (120) when
a comment names a long path of the machine (a deep home folder, pytest's per-worker
temporary folders)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from toolkit.init.varsfile import VarsFile

LONG = "/home/a-sysadmin-with-a-long-name/telework/environments/prodlike-2026/" + "x" * 30


def test_a_comment_naming_a_long_path_is_wrapped_and_passes_yamllint(tmp_path: Path) -> None:
    text = VarsFile(("Header.",)).set("known", LONG, f"Add each host's key to {LONG} first.").text()
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert comments == ["# Header.", "# Add each host's key to", f"# {LONG} first."]
    path = tmp_path / "connection.yml"
    path.write_text(text)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "yamllint"), "--strict", "-c",
         str(REPO / ".yamllint"), str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout


def test_a_short_comment_is_kept_as_it_is() -> None:
    text = VarsFile(("Header.",)).set("user", "admin", "  Admin account, indented.").text()
    assert "#   Admin account, indented.\n" in text
