"""After a run: every message carrying the run's token is deleted from the probe mailbox
(IMAP SEARCH HEADER, STORE \\Deleted, EXPUNGE), every groupware event carrying it from the
probe's calendar, so both are left as they were."""

from __future__ import annotations

import contextlib
import imaplib
import re
import urllib.parse
from collections.abc import Iterator

from toolkit.controls import tls
from toolkit.load.config import HEADER, LoadConfig, calendar_path, event_prefix, read_password
from toolkit.load.https import Client, basic_auth

#: Messages deleted per STORE command (bounded command lines).
BATCH = 500


def run_criteria(config: LoadConfig) -> tuple[str, ...]:
    """IMAP SEARCH criteria of the run's messages: its token in :data:`HEADER`."""
    return ("HEADER", HEADER, config.token)


@contextlib.contextmanager
def _mailbox(config: LoadConfig) -> Iterator[imaplib.IMAP4]:
    """The probe's INBOX over IMAPS, the certificate checked for the server name (the
    target is often an address)."""
    imap = tls.IMAPS(
        config.target, config.imap_port, server_name=config.server_name,
        context=tls.verifying_context(config.ca_file), timeout=config.timeout * 3,
    )  # fmt: skip
    try:
        imap.login(config.account.login, read_password(config.account))
        imap.select("INBOX")
        yield imap
    finally:
        try:
            imap.logout()
        except (OSError, imaplib.IMAP4.error):
            imap.shutdown()


def _search(imap: imaplib.IMAP4, criteria: tuple[str, ...]) -> list[str]:
    _, data = imap.search(None, *criteria)
    return (data[0] or b"").decode().split()


def count_messages(config: LoadConfig, criteria: tuple[str, ...] | None = None) -> int:
    """How many messages of the probe's INBOX match ``criteria`` (default: the run's)."""
    with _mailbox(config) as imap:
        return len(_search(imap, criteria or run_criteria(config)))


def delete_messages(config: LoadConfig, criteria: tuple[str, ...] | None = None) -> int:
    """Delete the run's messages (or those matching ``criteria``); how many were found
    and deleted."""
    with _mailbox(config) as imap:
        numbers = _search(imap, criteria or run_criteria(config))
        for i in range(0, len(numbers), BATCH):
            imap.store(",".join(numbers[i : i + BATCH]), "+FLAGS", r"(\Deleted)")
        if numbers:
            imap.expunge()
        return len(numbers)


#: Largest calendar listing read (hrefs of a probe's calendar), and events deleted a run.
MAX_LISTING = 20_000_000
MAX_DELETIONS = 100_000
_HREF = re.compile(rb"<(?:[A-Za-z0-9_]+:)?href>([^<]{1,1000})</(?:[A-Za-z0-9_]+:)?href>")


def delete_events(config: LoadConfig) -> int:
    """Delete every event of the run left in the probe's personal calendar (PROPFIND
    Depth 1, then DELETE of each file named with the run's token); how many."""
    prefix = event_prefix(config.token)
    collection = calendar_path(config.account.login)
    auth = {"Authorization": basic_auth(config.account.login, read_password(config.account))}
    context = tls.verifying_context(config.ca_file)
    client = Client(config.target, config.https_port, config.server_name, context, config.timeout)
    try:
        listing = client.request(
            "PROPFIND", collection, b'<?xml version="1.0"?><propfind xmlns="DAV:"><prop>'
            b"<getetag/></prop></propfind>",
            {**auth, "Depth": "1", "Content-Type": "application/xml"}, max_body=MAX_LISTING,
        ).expect(207)  # fmt: skip
        ours = sorted(
            {
                collection + name
                for href in _HREF.findall(listing.body)
                if (
                    name := urllib.parse.unquote(href.decode("utf-8", "replace")).rsplit("/", 1)[-1]
                ).startswith(prefix)
                and re.fullmatch(r"[A-Za-z0-9-]{1,80}\.ics", name)
            }
        )[:MAX_DELETIONS]
        for path in ours:
            client.request("DELETE", path, headers=auth).expect(204, 200, 404)
        return len(ours)
    finally:
        client.close()
