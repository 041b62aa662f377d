"""Web groupware, WEB-05 to WEB-07 (docs/controls.md).

WEB-05 reads the groupware's login settings on the host: only the throttling and
second-factor lines of SOGo's ``sogo.conf``, searched there (the file holds passwords,
which never leave the host). WEB-06 asks each TLS port, from where the audit runs
(outside the host), for the status and administration pages and wants them refused.
WEB-07 reads the installed versions of the groupware's packages (dpkg) against the table
of its parameters and the security updates waiting for them (LNX-01's ``apt-get -s`` run,
shared).
"""

from __future__ import annotations

import http.client
import logging
import re

from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Params, as_list
from toolkit.audit.registry import control
from toolkit.controls import end_of_life
from toolkit.controls import linux_parsers as parsers
from toolkit.controls import tls as tlslib
from toolkit.controls.vpn_software import installed_versions, judge_versions, pending_security
from toolkit.text import one_line

log = logging.getLogger(__name__)

#: The sogo.conf keys WEB-05 judges (nothing else of the file leaves the host).
LOGIN_KEYS = (
    "SOGoMaximumFailedLoginCount",
    "SOGoMaximumFailedLoginInterval",
    "SOGoFailedLoginBlockInterval",
    "SOGoTOTPEnabled",
)
_SETTING = re.compile(r"^\s*(SOGo[A-Za-z]+)\s*=\s*\"?([A-Za-z0-9]+)\"?\s*;", re.M)
_PATH = re.compile(r"/[A-Za-z0-9._~/{}-]{0,200}")


def login_settings(text: str) -> dict[str, str]:
    """LOGIN_KEYS found in sogo.conf lines (the last one wins, as in SOGo)."""
    return {k: v for k, v in _SETTING.findall(text) if k in LOGIN_KEYS}


def judge_login(settings: dict[str, str], p: Params) -> tuple[list[str], str]:
    """(problems, what is in place) of the login settings."""
    count = parsers.ascii_int(settings.get("SOGoMaximumFailedLoginCount", "0")) or 0
    block = parsers.ascii_int(settings.get("SOGoFailedLoginBlockInterval", "300")) or 0
    totp = settings.get("SOGoTOTPEnabled", "NO").upper() in ("YES", "TRUE", "1")
    problems = []
    if count <= 0:
        problems.append(
            "no login throttling (SOGoMaximumFailedLoginCount unset or 0)"
            + ("; TOTP is per user and never covers CalDAV/CardDAV" if totp else "")
        )
    elif count > int(p["max_failed_logins"]):
        problems.append(
            f"{count} failed logins allowed before a block (at most {p['max_failed_logins']})"
        )
    if count > 0 and block < int(p["min_block_seconds"]):
        problems.append(f"a block of {block} s (at least {p['min_block_seconds']})")
    shown = f"blocked {block} s after {count} failed logins" if count > 0 else "no throttling"
    return problems, f"{shown}; per-user TOTP {'offered' if totp else 'off'}"


@control("WEB-05")
def login_throttling(ctx: Context, p: Params) -> Outcome:
    """Password guessing is slowed on every way in (web and DAV): failed logins block the
    account for a while (E12, A10)."""
    path = str(p["config_path"])
    if not _PATH.fullmatch(path):
        raise ControlError(f"config_path {one_line(path)!r} is not an absolute path")
    # grep on the host: the file's passwords never leave it.
    res = ctx.run(f"grep -E '^ *SOGo(MaximumFailedLogin|FailedLogin|TOTP)' {path}", sudo=True)
    if res.rc == 2 and "No such file" in res.stderr:
        return Outcome.skipped(f"no {path} on this host (no SOGo)")
    if res.rc not in (0, 1):
        raise ControlError(f"`{res.command}` exited {res.rc}: {res.stderr.strip()[:300]}")
    problems, shown = judge_login(login_settings(res.stdout), p)
    return Outcome.of(problems, shown)


def _status(ctx: Context, port: int, path: str) -> int:
    conn = tlslib.HTTPS(
        ctx.address,
        port,
        server_name=ctx.server_name,
        context=tlslib.verifying_context(ctx.ca_file),
        timeout=ctx.probe_timeout,
    )
    try:
        conn.request(
            "GET", path, headers={"Host": ctx.server_name, "User-Agent": "telework-toolkit audit"}
        )
        response = conn.getresponse()
        response.read(65536)
        return response.status
    finally:
        conn.close()


@control("WEB-06", needs_ssh=False)
def admin_pages_hidden(ctx: Context, p: Params) -> Outcome:
    """Status and administration pages are refused to whoever reaches the service from
    outside (A10): each listed path answers one of the refused statuses."""
    if not ctx.tls_ports:
        return Outcome.skipped("the host's profiles list no TLS port")
    refused = {int(s) for s in as_list(p["refused_statuses"])}
    paths = [str(x) for x in as_list(p["paths"]) if x]
    bad = [x for x in paths if not _PATH.fullmatch(x)]
    if bad:
        raise ControlError(f"not URL paths: {', '.join(one_line(b) for b in bad)}")
    problems = []
    try:
        for port in ctx.tls_ports:
            for path in paths:
                status = _status(ctx, port, path)
                ctx.note(
                    f"GET https://{ctx.address}:{port}{path} (Host: {ctx.server_name})", str(status)
                )
                if status not in refused:
                    problems.append(f"port {port}: {path} answers {status}")
    except (OSError, http.client.HTTPException) as exc:
        raise ControlError(f"HTTPS probe of {ctx.address}: {exc}") from exc
    return Outcome.of(problems, f"{len(paths)} status and administration paths refused")


@control("WEB-07")
def groupware_software(ctx: Context, p: Params) -> Outcome:
    """The groupware's packages (SOGo, its SOPE libraries, nginx) are at least the table's
    versions for the release and none waits for a security update (A10)."""
    info = parsers.os_release(ctx.output("cat /etc/os-release"))
    name = info.get("PRETTY_NAME", "?")
    if info.get("ID") != "debian":
        raise ControlError(f"{name}: WEB-07's table covers Debian releases only")
    if end_of_life.support_end("debian", info.get("VERSION_ID", "?")) is None:
        raise ControlError(f"{name}: not in the end-of-life table (audits/end_of_life.yml)")
    table = p["releases"] if isinstance(p["releases"], dict) else {}
    row = table.get(info.get("VERSION_ID", "?")) or {}
    minimum = {str(k): str(v) for k, v in (row.get("minimum") or {}).items()}
    required = [str(x) for x in as_list(p["required"]) if x]
    versions = installed_versions(ctx, sorted(set(minimum) | set(required)))
    if not versions and "sogo" in required:
        return Outcome.skipped("no groupware package installed on this host")
    problems = judge_versions(versions, minimum, required)
    pending = pending_security(ctx, [str(x) for x in as_list(p["watched"]) if x])
    if pending:
        problems.append(f"security updates pending: {', '.join(pending[:8])}")
    shown = ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) or "none"
    return Outcome.of(problems, f"{name}: {shown}; no security update pending")
