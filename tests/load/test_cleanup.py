"""The probe mailbox is cleaned over IMAPS after a run: the certificate is checked for the
server name (the target is an address), and only the messages the search names are
counted and deleted (the run's token header by default, another header when asked)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.load import mailserver
from tests.load.mailserver import MailServer
from toolkit.controls.tls import CertificateRefusedError
from toolkit.load.cleanup import count_messages, delete_messages
from toolkit.load.config import HEADER, LoadConfig, Probe

TOKEN = "0123456789abcdef"
MARK = "telework-toolkit-bench-smtp-source-feedc0de"


def config(server: MailServer, tmp_path: Path, server_name: str = "localhost") -> LoadConfig:
    password = tmp_path / "probe.password"
    password.write_text(mailserver.PASSWORD, encoding="utf-8")
    return LoadConfig(
        target="127.0.0.1", server_name=server_name, ca_file=str(server.cert_file),
        imap_port=server.imaps_port, token=TOKEN, steps=(1,), step_seconds=1,
        probe=Probe(login=mailserver.LOGIN, address="load-probe@lab.telework.test",
                    password_file=str(password)),
    )  # fmt: skip


def fill(server: MailServer) -> None:
    server.box.messages = [
        f"{HEADER}: {TOKEN}\r\nSubject: load\r\n\r\nrun\r\n".encode(),
        f"Subject: {MARK}\r\n\r\nsmtp-source\r\n".encode(),
        f"{HEADER}: {TOKEN}\r\nSubject: load\r\n\r\nrun\r\n".encode(),
        b"Subject: a teleworker's own mail\r\n\r\nkeep me\r\n",
    ]


def test_the_runs_messages_and_those_of_another_search_are_counted_and_deleted_alone(
    server: MailServer, tmp_path: Path
) -> None:
    fill(server)
    run = config(server, tmp_path)
    marked = ("HEADER", "Subject", MARK)
    assert count_messages(run) == 2
    assert count_messages(run, marked) == 1
    assert delete_messages(run, marked) == 1
    assert delete_messages(run) == 2
    assert server.box.messages == [b"Subject: a teleworker's own mail\r\n\r\nkeep me\r\n"]


def test_the_mailbox_is_refused_when_it_cannot_prove_the_server_name(
    server: MailServer, tmp_path: Path
) -> None:
    fill(server)
    with pytest.raises(CertificateRefusedError, match=r"mail\.wrong\.test"):
        delete_messages(config(server, tmp_path, server_name="mail.wrong.test"))
    assert len(server.box.messages) == 4
