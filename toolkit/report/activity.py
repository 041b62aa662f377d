"""The evidence the attendance report (A17, E23) reads, and the parsers that read it as
hostile input: VPN activity samples and the gateway portal's confirmed working sessions.

Both live in the inventory's data folder (:data:`DATA_DIR`, git-ignored), one file a day,
so the retention limit (A3) deletes whole days and never rewrites a file a collector is
appending to::

    .telework-data/vpn/YYYY-MM-DD.tsv       VPN samples taken that day (UTC)
    .telework-data/portal/YYYY-MM-DD.csv    portal sessions started that day (UTC)

VPN samples (``telework-vpn-samples 1``): what ``wg show <interface> dump`` says of each
peer, taken every few minutes, minimised to the counters: no endpoint address, no key but
the peer's public one. Tab-separated, ``#`` starts a comment::

    # telework-vpn-samples 1
    2026-11-23T08:30:00Z<TAB>PUBLIC_KEY<TAB>LATEST_HANDSHAKE<TAB>RX_BYTES<TAB>TX_BYTES

``LATEST_HANDSHAKE`` is seconds since the epoch (0: never), as ``wg`` prints it.
:func:`samples_from_dump` turns one ``wg show`` dump into these lines, dropping the rest.

Portal sessions (``id;started;ended``, ISO 8601 times with their offset, ``ended`` empty
while the session is open): one session a teleworker confirmed starting and ending work.

Any problem is one :class:`~toolkit.errors.Problem` naming the file, line and field, and
the whole file is refused: over :data:`MAX_FILE_BYTES`, not a regular file, not UTF-8, a
line over :data:`MAX_LINE_CHARS`, unsafe characters, a field that does not parse.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from toolkit.errors import InvalidInputError, Problem
from toolkit.text import unsafe_characters

#: The inventory's folder of collected evidence (personal data: git-ignored, pruned).
DATA_DIR = Path(".telework-data")
VPN_DIR = "vpn"
PORTAL_DIR = "portal"
SAMPLES_MAGIC = "# telework-vpn-samples 1"
#: One day of samples every minute for 2,000 peers is about 14 MB.
MAX_FILE_BYTES = 64 * 2**20
MAX_LINE_CHARS = 512
#: Longest a counter may be (wg's are 64-bit).
_MAX_COUNTER = 2**64 - 1
_DAY_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.(tsv|csv)$")
_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


@dataclass(frozen=True)
class Sample:
    """One peer's counters at one time."""

    taken_at: datetime
    public_key: str
    handshake: datetime | None
    rx: int
    tx: int


@dataclass(frozen=True)
class Session:
    """A working session a teleworker confirmed on the portal (E23)."""

    ident: str
    started: datetime
    ended: datetime | None


class _RefusedError(ValueError):
    def __init__(self, field: str, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.field, self.line = field, line


def read_capped(path: Path) -> str:
    """The text of a data file, refused before reading when it is not a regular file or is
    over :data:`MAX_FILE_BYTES`; never blocks on a FIFO."""

    def refuse(message: str) -> InvalidInputError:
        return InvalidInputError([Problem(str(path), 1, "-", message)])

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise refuse(f"cannot read: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise refuse("not a regular file")
        raw = handle.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise refuse(f"over the {MAX_FILE_BYTES // 2**20} MiB a data file may have")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidInputError([Problem(str(path), line, "-", "not UTF-8")]) from exc


#: A text of printable ASCII, tabs and line ends needs no per-line character check.
_PLAIN_TEXT = re.compile(r"[\x20-\x7e\t\r\n]*")


def _lines(text: str) -> Iterator[tuple[int, str]]:
    plain = _PLAIN_TEXT.fullmatch(text) is not None
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.removesuffix("\r")
        if len(line) > MAX_LINE_CHARS:
            message = f"line of {len(line)} characters, over {MAX_LINE_CHARS}"
            raise _RefusedError("-", message, number)
        if not plain and (codes := unsafe_characters(line.replace("\t", " "))):
            raise _RefusedError("-", f"contains {', '.join(codes)}", number)
        if "\r" in line:
            raise _RefusedError("-", "contains U+000D", number)
        if line.strip() and not line.lstrip().startswith("#"):
            yield number, line


def _time(field: str, value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _RefusedError(field, f"{value[:40]!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise _RefusedError(field, f"{value[:40]!r} has no UTC offset")
    return parsed.astimezone(UTC)


def _counter(field: str, value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 20:
        raise _RefusedError(field, f"{value[:40]!r} is not a counter")
    number = int(value)
    if number > _MAX_COUNTER:
        raise _RefusedError(field, f"{value[:40]!r} is over 2^64")
    return number


def public_key(value: str, field: str = "public_key") -> str:
    """A WireGuard public key: 44 characters of base64 for 32 bytes."""
    try:
        ok = len(value) == 44 and len(base64.b64decode(value, validate=True)) == 32
    except (binascii.Error, ValueError):
        ok = False
    if not ok:
        raise _RefusedError(field, f"{value[:60]!r} is not a WireGuard public key")
    return value


def _handshake(value: str) -> datetime | None:
    seconds = _counter("latest_handshake", value)
    if seconds == 0:
        return None
    if seconds > 2**33:
        raise _RefusedError("latest_handshake", f"{value} is not a time")
    return datetime.fromtimestamp(seconds, UTC)


#: A sample line whose numbers need no further check (time and key are checked once each).
_WELL_FORMED = re.compile(r"[^\t]+\t[^\t]+\t[0-9]{1,9}\t[0-9]{1,19}\t[0-9]{1,19}")


def parse_samples(text: str, file: str) -> list[Sample]:
    """The samples of one file; InvalidInputError naming the first bad line and field."""
    samples: list[Sample] = []
    number = 1
    # Every peer of a sample shares its time, every sample repeats the peers' keys: each
    # distinct value is parsed once.
    times: dict[str, datetime] = {}
    keys: set[str] = set()
    try:
        if text.split("\n", 1)[0].removesuffix("\r").strip() != SAMPLES_MAGIC:
            raise _RefusedError(
                "-", f"not a VPN samples file: the first line must be {SAMPLES_MAGIC}"
            )
        for number, line in _lines(text):  # noqa: B007 (named in the problem)
            cells = line.split("\t")
            if _WELL_FORMED.fullmatch(line) and cells[0] in times and cells[1] in keys:
                handshake = int(cells[2])
                samples.append(
                    Sample(
                        times[cells[0]],
                        cells[1],
                        datetime.fromtimestamp(handshake, UTC) if handshake else None,
                        int(cells[3]),
                        int(cells[4]),
                    )
                )
                continue
            if len(cells) != 5:
                raise _RefusedError("-", f"{len(cells)} fields, expected 5 (tab-separated)")
            taken_at = times.get(cells[0]) or times.setdefault(
                cells[0], _time("taken_at", cells[0])
            )
            if cells[1] not in keys:
                keys.add(public_key(cells[1]))
            samples.append(
                Sample(
                    taken_at,
                    cells[1],
                    _handshake(cells[2]),
                    _counter("rx_bytes", cells[3]),
                    _counter("tx_bytes", cells[4]),
                )
            )
    except _RefusedError as exc:
        raise InvalidInputError([Problem(file, exc.line or number, exc.field, str(exc))]) from None
    return samples


def samples_from_dump(dump: str, taken_at: datetime) -> list[str]:
    """Sample lines from the output of ``wg show <interface> dump`` (or ``all dump``):
    public key, latest handshake and counters of each peer; the interface line, private and
    preshared keys, endpoints and allowed IPs are dropped here, never stored (A3)."""
    when = taken_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = []
    try:
        for _, line in _lines(dump):
            cells = line.split("\t")
            if len(cells) == 9:  # `wg show all dump`: the interface name first
                cells = cells[1:]
            if len(cells) != 8:
                continue  # the interface's own line (4 or 5 fields)
            key = public_key(cells[0])
            _handshake(cells[4])
            rx, tx = _counter("rx_bytes", cells[5]), _counter("tx_bytes", cells[6])
            lines.append(f"{when}\t{key}\t{cells[4]}\t{rx}\t{tx}")
    except _RefusedError as exc:
        raise InvalidInputError([Problem("wg show dump", 1, exc.field, str(exc))]) from None
    return lines


def parse_sessions(text: str, file: str) -> list[Session]:
    """The portal sessions of one file (``id;started;ended`` after a header line)."""
    sessions: list[Session] = []
    number = 1
    try:
        rows = iter(_lines(text))
        header = next(rows, None)
        if header is None or [c.strip() for c in header[1].split(";")] != [
            "id",
            "started",
            "ended",
        ]:
            raise _RefusedError("-", "the first line must be the header id;started;ended")
        for number, line in rows:  # noqa: B007 (named in the problem)
            cells = [c.strip() for c in line.split(";")]
            if len(cells) != 3:
                raise _RefusedError("-", f"{len(cells)} fields, expected 3 (id;started;ended)")
            if not _IDENT.match(cells[0]):
                raise _RefusedError("id", f"{cells[0][:40]!r} is not a teleworker id")
            started = _time("started", cells[1])
            ended = _time("ended", cells[2]) if cells[2] else None
            if ended and ended < started:
                raise _RefusedError("ended", "ends before it starts")
            sessions.append(Session(cells[0], started, ended))
    except _RefusedError as exc:
        raise InvalidInputError([Problem(file, exc.line or number, exc.field, str(exc))]) from None
    return sessions


def day_files(folder: Path, first: date, last: date) -> dict[date, Path]:
    """The day files of ``folder`` from ``first`` to ``last`` (inclusive) that exist."""
    found = {}
    if folder.is_dir():
        for entry in folder.iterdir():
            match = _DAY_FILE.match(entry.name)
            if match:
                day = date.fromisoformat(match[1])
                if first <= day <= last:
                    found[day] = entry
    return found


def prune(data_dir: Path, keep_days: int, today: date) -> list[Path]:
    """Delete the day files of every evidence folder older than ``keep_days`` (A3's
    retention limit); the paths deleted."""
    limit = today - timedelta(days=keep_days)
    removed = []
    for kind in (VPN_DIR, PORTAL_DIR):
        old = day_files(data_dir / kind, date.min, limit - timedelta(days=1))
        for path in old.values():
            if path.is_file() and not path.is_symlink():
                path.unlink()
                removed.append(path)
    return sorted(removed)


def append_samples(data_dir: Path, lines: list[str], now: datetime) -> Path:
    """Append sample lines to the day file of ``now`` (created 0600 with its format line,
    in a 0700 folder; a symbolic link in its place is refused)."""
    folder = data_dir / VPN_DIR
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{now.astimezone(UTC).date().isoformat()}.tsv"
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
    with os.fdopen(os.open(path, flags, 0o600), "a", encoding="utf-8") as handle:
        if handle.tell() == 0:  # a new day file starts with its format line
            handle.write(f"{SAMPLES_MAGIC}\n")
        handle.writelines(f"{line}\n" for line in lines)
    return path
