"""After a run: every message carrying the run's token is deleted from the probe mailbox
(IMAP SEARCH HEADER, STORE \\Deleted, EXPUNGE), so the mailbox is left as it was."""

from __future__ import annotations

import imaplib

from toolkit.controls import tls
from toolkit.load.config import HEADER, LoadConfig, read_password

#: Messages deleted per STORE command (bounded command lines).
BATCH = 500


def delete_messages(config: LoadConfig) -> int:
    """Delete the run's messages; how many were found and deleted."""
    context = tls.verifying_context(config.ca_file)
    imap = imaplib.IMAP4_SSL(
        config.target, config.imap_port, ssl_context=context, timeout=config.timeout * 3
    )
    try:
        imap.login(config.probe.login, read_password(config.probe))
        imap.select("INBOX")
        _, data = imap.search(None, "HEADER", HEADER, config.token)
        numbers = (data[0] or b"").decode().split()
        for i in range(0, len(numbers), BATCH):
            imap.store(",".join(numbers[i : i + BATCH]), "+FLAGS", r"(\Deleted)")
        if numbers:
            imap.expunge()
        return len(numbers)
    finally:
        try:
            imap.logout()
        except (OSError, imaplib.IMAP4.error):
            imap.shutdown()
