"""WEB-01..07 and VC-01..06 judged both ways on canned scans, answers and meetings (no TLS
handshake, no HTTP request, no browser): what roles collaboration and videoconference
build passes; the weakness each control names fails.

The TLS scans are put in the context's memo (``tls:<port>``) as the sslyze scan would;
the HTTP probes and the meeting are replaced for the time of one case. The answers are
those of test_web_controls.py, test_web_groupware_controls.py, test_visio_controls.py and
test_visio_meeting.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.audit.canned import Case
from tests.audit.conftest import Answer, fake_context, params
from tests.audit.test_visio_controls import ROLE_JANUS, ROLE_TURN, STOCK_JANUS, host
from tests.audit.test_visio_meeting import met
from tests.audit.test_web_groupware_controls import BOOKWORM, INSTALLED, THROTTLED
from tests.certs import certificate
from toolkit.adapters import browser
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.context import Context
from toolkit.audit.model import Outcome, Status
from toolkit.audit.registry import implementations
from toolkit.controls import visio_meeting, web, web_groupware
from toolkit.controls.visio_meeting import Candidate
from toolkit.controls.web import TlsScan

PASS, FAIL = Status.PASS, Status.FAIL
WEB = "mail.lab.test"
COLLAB = "collab.lab.test"
VISIO = "visio.lab.test"
STRONG_SUITES = {
    "TLSv1.2": ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"],
    "TLSv1.3": ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"],
}

#: A case's canned host: it may replace probes (the patcher) and gives the context and
#: the control's parameters beyond the catalogue's defaults.
Setup = Callable[[Path, pytest.MonkeyPatch], tuple[Context, dict[str, Any]]]


def judged(control: str, setup: Setup) -> Callable[[Catalogue, Path], Outcome]:
    """Run the real ``control`` on the host ``setup`` builds, probes replaced meanwhile."""

    def judge(catalogue: Catalogue, tmp_path: Path) -> Outcome:
        with pytest.MonkeyPatch.context() as mp:
            ctx, over = setup(tmp_path, mp)
            return implementations()[control].check(ctx, params(catalogue, control, **over))

    return judge


def scanned(accepted: dict[str, list[str]], issued_to: str = WEB, days_left: int = 200) -> Setup:
    """Port 443 scanned: the suites it accepts and a trusted certificate."""

    def setup(tmp_path: Path, mp: pytest.MonkeyPatch) -> tuple[Context, dict[str, Any]]:
        scan = TlsScan(443, accepted=accepted, chain=[certificate(issued_to, days_left)],
                       trusted=True)  # fmt: skip
        ctx = fake_context({}, tls_ports=(443,), server_name=WEB)
        ctx.memo("tls:443", lambda: scan)
        return ctx, {}

    return setup


def http(plain: tuple[int, dict[str, str]], secure: tuple[int, dict[str, str]]) -> Setup:
    """GET on port 80 answers ``plain``, on 443 over TLS ``secure`` (status, headers)."""

    def setup(tmp_path: Path, mp: pytest.MonkeyPatch) -> tuple[Context, dict[str, Any]]:
        answers = {80: plain, 443: secure}

        def get(ctx: Context, port: int, *, tls: bool, server_name: str) -> tuple[int, Any]:
            return answers[port]

        mp.setattr(web, "_get", get)
        return fake_context({}, tls_ports=(443,), http_ports=(80,), server_name=WEB), {}

    return setup


def on_host(answers: Mapping[str, str | Answer]) -> Setup:
    """A host answering commands by pattern (sogo.conf, os-release, dpkg, apt)."""

    def setup(tmp_path: Path, mp: pytest.MonkeyPatch) -> tuple[Context, dict[str, Any]]:
        return fake_context(answers), {}

    return setup


def pages(statuses: dict[str, int]) -> Setup:
    """Port 443 answers each path with its status here, any other with 404."""

    def setup(tmp_path: Path, mp: pytest.MonkeyPatch) -> tuple[Context, dict[str, Any]]:
        mp.setattr(web_groupware, "_status", lambda ctx, port, path: statuses.get(path, 404))
        return fake_context({}, tls_ports=(443,), server_name=COLLAB), {}

    return setup


def videoconference(janus: str | Answer = ROLE_JANUS, turn: str | Answer = ROLE_TURN) -> Setup:
    """Janus' and coturn's configuration as the control reads it on the host."""

    def setup(tmp_path: Path, mp: pytest.MonkeyPatch) -> tuple[Context, dict[str, Any]]:
        return host(janus, turn), {}

    return setup


MEDIA = "203.0.113.5"


def meeting(remote: Candidate) -> Setup:
    """Two probe accounts met; the subscriber's media came from ``remote``."""

    def setup(tmp_path: Path, mp: pytest.MonkeyPatch) -> tuple[Context, dict[str, Any]]:
        mp.setattr(browser, "missing", lambda executable: None)
        mp.setattr(visio_meeting, "_pin", lambda ctx, port: "cGlu")
        seen = met(remote=remote, publisher_remote=Candidate("host", MEDIA, 20010, "udp"))
        mp.setattr(visio_meeting, "meet", lambda *args: seen)
        over: dict[str, Any] = {"media_addresses": [MEDIA]}
        for login in ("audit-probe", "audit-probe-2"):
            (tmp_path / f"{login}.password").write_text(f"secret of {login}\n")
        for role, login in (("publisher", "audit-probe"), ("subscriber", "audit-probe-2")):
            over[f"{role}_login"] = login
            over[f"{role}_password_path"] = str(tmp_path / f"{login}.password")
        return fake_context({}, server_name=VISIO), over

    return setup


OLD_TLS = {**STRONG_SUITES, "TLSv1.0": ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"]}
CBC_TLS12 = {"TLSv1.2": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                         "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"]}  # fmt: skip
REDIRECT = (301, {"location": f"https://{WEB}/"})
HSTS_YEAR = (200, {"strict-transport-security": "max-age=31536000"})
OLD_SOGO = INSTALLED.replace("5.8.0-2+deb12u4", "5.8.0-2+deb12u1")
NGINX_UPDATE = (
    "Inst nginx [1.22.1-9+deb12u11] (1.22.1-9+deb12u12 Debian-Security:12/stable-security "
    "[amd64])\n"
)
BOOKWORM_HOST = {"os-release": BOOKWORM, "dpkg-query": INSTALLED, "apt-get -s": ""}
RECORDING = ROLE_JANUS.replace("admin_key = (set)\n", "admin_key = (set)\n[salle]\nrecord = true\n")
LOOPBACK_TURN = ROLE_TURN + "allow-loopback-peers\n"
ODD_TURN = ROLE_TURN.replace("tls-listening-port=5349", "tls-listening-port=45349")

CASES: list[Case] = [
    Case("WEB-01", PASS, "port 443 accepts only TLS 1.2 and 1.3",
         judged("WEB-01", scanned(STRONG_SUITES)), "only TLSv1.2, TLSv1.3 accepted"),
    Case("WEB-01", FAIL, "port 443 still accepts TLS 1.0",
         judged("WEB-01", scanned(OLD_TLS)), "port 443 accepts TLSv1.0"),
    Case("WEB-02", PASS, "port 443 accepts ECDHE and AEAD suites only",
         judged("WEB-02", scanned(STRONG_SUITES)), "ECDHE + AEAD suites only"),
    Case("WEB-02", FAIL, "port 443 accepts a CBC suite in TLS 1.2",
         judged("WEB-02", scanned(CBC_TLS12)),
         "port 443 TLSv1.2: TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    Case("WEB-03", PASS, "a trusted P-256 certificate for the name has 200 days left",
         judged("WEB-03", scanned(STRONG_SUITES)),
         "strong, trusted certificate for the right name"),
    Case("WEB-03", FAIL, "the certificate is issued to another name",
         judged("WEB-03", scanned(STRONG_SUITES, issued_to="other.lab.test")),
         f"port 443: not valid for {WEB} (other.lab.test)"),
    Case("WEB-03", FAIL, "the certificate expires in 10 days",
         judged("WEB-03", scanned(STRONG_SUITES, days_left=10)),
         "port 443: expires in 10 days (at least 30)"),
    Case("WEB-04", PASS, "http redirects to https and HSTS lasts a year",
         judged("WEB-04", http(REDIRECT, HSTS_YEAR)),
         "HTTP redirects to HTTPS, HSTS set"),
    Case("WEB-04", FAIL, "http serves content without a redirect",
         judged("WEB-04", http((200, {}), HSTS_YEAR)),
         "http port 80: 200 without a redirect to https"),
    Case("WEB-04", FAIL, "HSTS lasts one day only",
         judged("WEB-04", http(REDIRECT, (200, {"strict-transport-security": "max-age=86400"}))),
         "port 443: HSTS max-age 86400 s (at least 15552000)"),
    Case("WEB-05", PASS, "five failed logins block the account for a quarter of an hour",
         judged("WEB-05", on_host({"grep -E": THROTTLED})),
         "blocked 900 s after 5 failed logins"),
    Case("WEB-05", FAIL, "only TOTP is set and logins are never throttled",
         judged("WEB-05", on_host({"grep -E": "  SOGoTOTPEnabled = YES;\n"})),
         "never covers CalDAV/CardDAV"),
    Case("WEB-06", PASS, "every status and administration page is refused",
         judged("WEB-06", pages({"/SOGo/so/audit/Administration": 403})),
         "5 status and administration paths refused"),
    Case("WEB-06", FAIL, "nginx's status page answers from outside",
         judged("WEB-06", pages({"/nginx_status": 200})), "port 443: /nginx_status answers 200"),
    Case("WEB-07", PASS, "bookworm's current SOGo and nginx are installed",
         judged("WEB-07", on_host(BOOKWORM_HOST)), "sogo 5.8.0-2+deb12u4"),
    Case("WEB-07", FAIL, "SOGo lacks bookworm's latest fix",
         judged("WEB-07", on_host({**BOOKWORM_HOST, "dpkg-query": OLD_SOGO})),
         "sogo 5.8.0-2+deb12u1 is older than 5.8.0-2+deb12u4"),
    Case("WEB-07", FAIL, "a security update of nginx is pending",
         judged("WEB-07", on_host({**BOOKWORM_HOST, "apt-get -s": NGINX_UPDATE})),
         "security updates pending: nginx"),
    Case("VC-01", PASS, "VideoRoom needs its admin key and has no static room",
         judged("VC-01", videoconference()),
         "rooms created only with VideoRoom's admin key; no static room"),
    Case("VC-01", FAIL, "Debian's stock VideoRoom lets any session create rooms",
         judged("VC-01", videoconference(janus=STOCK_JANUS)),
         "VideoRoom has no admin_key: any session may create rooms"),
    Case("VC-02", PASS, "every Janus session needs a signed token",
         judged("VC-02", videoconference()), "every Janus session needs a token (signed)"),
    Case("VC-02", FAIL, "Debian's stock Janus asks no token",
         judged("VC-02", videoconference(janus=STOCK_JANUS)),
         "Janus accepts sessions without a token or API secret (token_auth off)"),
    Case("VC-03", PASS, "Janus listens on loopback and TURN over TLS on 5349",
         judged("VC-03", videoconference()),
         "Janus behind TLS only; TURN over TLS offered"),
    Case("VC-03", FAIL, "Janus' plain transports listen on every address",
         judged("VC-03", videoconference(janus=STOCK_JANUS)), "plain http on every address"),
    Case("VC-03", FAIL, "TURN over TLS listens on port 45349",
         judged("VC-03", videoconference(turn=ODD_TURN)),
         "TURN over TLS on 45349, not on 443 or 5349"),
    Case("VC-04", PASS, "coturn needs credentials and denies private peers",
         judged("VC-04", videoconference()),
         "shared-secret credentials; private ranges denied as peers"),
    Case("VC-04", FAIL, "Debian's stock coturn relays without credentials",
         judged("VC-04", videoconference(turn=Answer(1, ""))),
         "TURN allocations without credentials"),
    Case("VC-04", FAIL, "coturn relays to loopback peers",
         judged("VC-04", videoconference(turn=LOOPBACK_TURN)),
         "loopback peers allowed (allow-loopback-peers)"),
    Case("VC-05", PASS, "no room records by default", judged("VC-05", videoconference()),
         "no room records by default"),
    Case("VC-05", FAIL, "a room records by default",
         judged("VC-05", videoconference(janus=RECORDING)), "rooms recording by default: salle"),
    Case("VC-06", PASS, "the subscriber decodes the publisher's video from the server",
         judged("VC-06", meeting(Candidate("host", MEDIA, 20012, "udp"))),
         f"decoded 87 frames of audit-probe's video from the server at {MEDIA}:20012/udp"),
    Case("VC-06", FAIL, "the media goes around the server",
         judged("VC-06", meeting(Candidate("prflx", "10.88.0.7", 40000, "udp"))),
         "audit-probe-2's media went to 10.88.0.7:40000/udp (prflx), not through the server"),
]  # fmt: skip
