"""A mail server on 127.0.0.1 (tests/load/mailserver.py), a SOGo stand-in
(tests/load/httpservers.py) and an inventory to save to."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.load import httpservers, mailserver


@pytest.fixture
def server(tmp_path: Path) -> Iterator[mailserver.MailServer]:
    running = mailserver.start(tmp_path)
    yield running
    running.stop()


@pytest.fixture
def sogo(tmp_path: Path) -> Iterator[tuple[httpservers.Sogo, httpservers.Running]]:
    state = httpservers.Sogo()
    running = httpservers.serve(state.handler(), tmp_path)
    yield state, running
    running.stop()


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    folder = tmp_path / "inventory"
    (folder / "group_vars" / "all").mkdir(parents=True)
    lab = REPO / "inventories" / "lab" / "group_vars" / "all"
    shutil.copy(lab / "telework.yml", folder / "group_vars" / "all" / "telework.yml")
    return folder


def probe_args(server: mailserver.MailServer, tmp_path: Path) -> list[str]:
    password = tmp_path / "probe.password"
    password.write_text(mailserver.PASSWORD, encoding="utf-8")
    return [
        "--target", "127.0.0.1", "--server-name", "localhost",
        "--ca-file", str(server.cert_file), "--smtp-port", str(server.submission_port),
        "--imap-port", str(server.imaps_port), "--login", mailserver.LOGIN,
        "--address", "load-probe@lab.telework.test", "--password-file", str(password),
    ]  # fmt: skip
