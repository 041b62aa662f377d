"""The teleworker portal's store (A4 second factor, WEB-05 throttling): one sqlite3 file
(WAL, shared by the gunicorn workers), owned by the portal's user, holding nothing but

- ``users(user, secret, last_step, enrolled)``: each teleworker's TOTP secret, encrypted
  with Fernet under a key kept in a file of its own (never beside the database), and the
  time step of the last code accepted (a code of that step or an older one is a replay);
- ``recovery(user, hash, used)``: the ten recovery codes of each teleworker, stored as
  SHA-256 hashes (80 random bits each: no dictionary to try), each usable once;
- ``failures(key, at)``: the failed logins of the last window, per login and per address.

``reset(user)`` (the admin CLI's ``reset-totp``, lost device) deletes a teleworker's secret
and recovery codes: their next login enrols again. Runs on Debian's Python 3 with
python3-cryptography."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

#: Recovery codes given at enrolment.
RECOVERY_CODES = 10
#: Alphabet of the recovery codes (RFC 4648 base32: no 0/O or 1/I to confuse).
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
#: Characters of a recovery code: 16 base32 characters, 80 random bits.
RECOVERY_LENGTH = 16
#: Seconds sqlite3 waits for another worker's write before giving up.
BUSY_TIMEOUT = 5.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user TEXT PRIMARY KEY, secret BLOB NOT NULL, last_step INTEGER NOT NULL, enrolled REAL
);
CREATE TABLE IF NOT EXISTS recovery (user TEXT NOT NULL, hash TEXT NOT NULL, used REAL);
CREATE INDEX IF NOT EXISTS recovery_user ON recovery (user);
CREATE TABLE IF NOT EXISTS failures (key TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS failures_key ON failures (key, at);
"""


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """``count`` fresh recovery codes, ``ABCD-EFGH-JKLM-NPQR`` (16 base32 characters)."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(RECOVERY_LENGTH))
        codes.append("-".join(raw[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4)))
    return codes


def normal_code(code: str) -> str | None:
    """A recovery code as typed (any case, with spaces or dashes) in its stored form, or None
    when it cannot be one."""
    plain = "".join(code.split()).replace("-", "").upper()
    if len(plain) != RECOVERY_LENGTH or any(ch not in _ALPHABET for ch in plain):
        return None
    return plain


def code_hash(user: str, code: str) -> str:
    """The stored form of a teleworker's recovery code (already normalised)."""
    return hashlib.sha256(f"{user.lower()}:{code}".encode()).hexdigest()


class Store:
    """The portal's sqlite3 store at ``path``; ``key`` (a Fernet key, from the key file) is
    needed for the secrets only: the admin CLI's ``reset`` does without it."""

    def __init__(self, path: str | Path, key: bytes | None = None) -> None:
        self.path = Path(path)
        self._fernet = Fernet(key) if key is not None else None
        if not self.path.exists():  # readable by the portal's user only, from the start
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own (one per call: gunicorn's workers and threads share
        nothing but the file), committed when the block ends without an exception."""
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT)
        try:
            with db:
                yield db
        finally:
            db.close()

    # --- secrets ------------------------------------------------------------------------

    def _key(self) -> Fernet:
        if self._fernet is None:
            raise RuntimeError("the store was opened without the secrets' key")
        return self._fernet

    def seal(self, text: str, now: float) -> str:
        """``text`` encrypted and authenticated under the store's key, stamped ``now``."""
        return self._key().encrypt_at_time(text.encode(), int(now)).decode()

    def unseal(self, token: str, now: float, ttl: int) -> str | None:
        """What ``seal`` sealed at most ``ttl`` seconds before ``now``; None when forged,
        expired or malformed."""
        try:
            return self._key().decrypt_at_time(token.encode(), ttl, int(now)).decode()
        except (InvalidToken, ValueError, UnicodeError):
            return None

    def enrolled(self, user: str) -> bool:
        with self._db() as db:
            row = db.execute("SELECT 1 FROM users WHERE user = ?", (user.lower(),)).fetchone()
        return row is not None

    def secret(self, user: str) -> tuple[str, int] | None:
        """The teleworker's TOTP secret and the step of their last accepted code, or None
        when they have not enrolled."""
        with self._db() as db:
            row = db.execute(
                "SELECT secret, last_step FROM users WHERE user = ?", (user.lower(),)
            ).fetchone()
        if row is None:
            return None
        return self._key().decrypt(bytes(row[0])).decode(), int(row[1])

    def enrol(self, user: str, secret: str, step: int, codes: Iterable[str], now: float) -> bool:
        """Store the teleworker's secret (encrypted), the step of the code that confirmed
        it and the hashes of their recovery codes; False when they are enrolled already."""
        user = user.lower()
        sealed = self._key().encrypt(secret.encode())
        hashes = []
        for code in codes:
            plain = normal_code(code)
            if plain is None:
                raise ValueError("not a recovery code")
            hashes.append((user, code_hash(user, plain)))
        try:
            with self._db() as db:
                db.execute(
                    "INSERT INTO users (user, secret, last_step, enrolled) VALUES (?, ?, ?, ?)",
                    (user, sealed, step, now),
                )
                db.execute("DELETE FROM recovery WHERE user = ?", (user,))
                db.executemany("INSERT INTO recovery (user, hash) VALUES (?, ?)", hashes)
        except sqlite3.IntegrityError:
            return False
        return True

    def accept_step(self, user: str, step: int) -> bool:
        """Record ``step`` as the teleworker's last accepted one, in one statement (two
        workers given the same code cannot both accept it); False when it is not newer
        than the last accepted step: a replayed code."""
        with self._db() as db:
            cursor = db.execute(
                "UPDATE users SET last_step = ? WHERE user = ? AND last_step < ?",
                (step, user.lower(), step),
            )
        return cursor.rowcount == 1

    def use_recovery(self, user: str, code: str, now: float) -> bool:
        """Spend one of the teleworker's recovery codes: True the first time only."""
        plain = normal_code(code)
        if plain is None:
            return False
        with self._db() as db:
            cursor = db.execute(
                "UPDATE recovery SET used = ? WHERE user = ? AND hash = ? AND used IS NULL",
                (now, user.lower(), code_hash(user, plain)),
            )
        return cursor.rowcount >= 1

    def recovery_left(self, user: str) -> int:
        with self._db() as db:
            row = db.execute(
                "SELECT COUNT(*) FROM recovery WHERE user = ? AND used IS NULL", (user.lower(),)
            ).fetchone()
        return int(row[0])

    def reset(self, user: str) -> bool:
        """Forget the teleworker's secret and recovery codes (lost device): their next
        login enrols again. True when there was something to forget."""
        user = user.lower()
        with self._db() as db:
            gone = db.execute("DELETE FROM users WHERE user = ?", (user,)).rowcount
            gone += db.execute("DELETE FROM recovery WHERE user = ?", (user,)).rowcount
        return gone > 0

    # --- throttling (WEB-05) ------------------------------------------------------------

    def add_failure(self, keys: Iterable[str], now: float, forget_before: float) -> None:
        """One failed login for each key (``login:ID``, ``address:IP``); failures older
        than ``forget_before`` are deleted on the way (the table stays small)."""
        with self._db() as db:
            db.execute("DELETE FROM failures WHERE at < ?", (forget_before,))
            db.executemany("INSERT INTO failures (key, at) VALUES (?, ?)", [(k, now) for k in keys])

    def failures(self, key: str, since: float) -> list[float]:
        """When the key's failures since ``since`` happened, oldest first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT at FROM failures WHERE key = ? AND at >= ? ORDER BY at", (key, since)
            ).fetchall()
        return [float(r[0]) for r in rows]

    def clear_failures(self, key: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM failures WHERE key = ?", (key,))
