"""The load classes' HTTPS client (toolkit/load/https.py) against the SOGo stand-in: the
certificate is checked for the server name before anything is sent, an answer longer
than the cap is a failure, the session cookie is kept and sent back, the Host is the
service's name."""

from __future__ import annotations

import json

import pytest

from tests.load import httpservers
from tests.load.mailserver import PASSWORD
from toolkit.controls import tls
from toolkit.load.https import Client, HttpError


def client(running: httpservers.Running, name: str = "localhost") -> Client:
    context = tls.verifying_context(str(running.cert_file))
    return Client("127.0.0.1", running.port, name, context, timeout=5)


def login(c: Client, password: str = PASSWORD) -> int:
    body = json.dumps({"userName": httpservers.LOGIN, "password": password}).encode()
    return c.request("POST", "/SOGo/connect", body, {"Content-Type": "application/json"}).status


def test_the_session_cookie_is_kept_and_sent_back_under_the_services_name(
    sogo: tuple[httpservers.Sogo, httpservers.Running],
) -> None:
    state, running = sogo
    c = client(running)
    assert login(c) == 200 and httpservers.SESSION in c.cookies
    page = c.request("GET", f"/SOGo/so/{httpservers.LOGIN}/Calendar/view").expect(200)
    assert page.body == b"<html>calendar</html>"
    assert state.hosts == {f"localhost:{running.port}"}
    c.close()


def test_a_certificate_for_another_name_is_refused_before_anything_is_sent(
    sogo: tuple[httpservers.Sogo, httpservers.Running],
) -> None:
    state, running = sogo
    with pytest.raises(tls.CertificateRefusedError, match="does not match the name"):
        login(client(running, name="collab.example.test"))
    assert state.logins == []


def test_an_answer_longer_than_the_cap_is_a_failure(
    sogo: tuple[httpservers.Sogo, httpservers.Running],
) -> None:
    state, running = sogo
    state.hostile = "huge"
    c = client(running)
    with pytest.raises(HttpError, match="longer than 1000 bytes"):
        c.request("POST", "/SOGo/connect", b"{}", max_body=1000)
    assert c._conn is None  # a connection left mid-answer is not reused
