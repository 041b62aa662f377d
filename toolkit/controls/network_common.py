"""What the network-device judges share (NET-01..10, docs/controls.md): a verdict that
quotes configuration lines with their numbers, secrets masked before any line is quoted,
and release comparison for NET-01.

A judge gets the parsed configuration (toolkit.netdev) and the control's parameters and
returns a Verdict; toolkit.controls.network turns it into the control's outcome and its
evidence."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from toolkit.audit.model import Params
from toolkit.netdev.model import DeviceConfig, Line

#: Words after which a configuration line carries a secret or a hash: what follows is
#: masked in every finding and evidence line.
_SECRET = re.compile(
    r"(?P<head>\b(?:secret|password|passwd|community|key|psksecret|private-key|"
    r"pre-shared-key|auth-pwd|priv-pwd)\b(?:\s+(?:[0-9]{1,2}|ENC)(?=\s))?\s+)(?P<value>\S+)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` with every secret, community or hash after its keyword masked."""
    return _SECRET.sub(lambda m: f"{m.group('head')}*****", text.strip())


def quote(line: Line) -> str:
    return f"line {line.number}: `{redact(line.text)}`"


@dataclass
class Verdict:
    """Problems and warnings (each quoting its lines), the lines seen, the pass text."""

    ok: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seen: list[Line] = field(default_factory=list)

    def fail(self, why: str, *lines: Line) -> None:
        self.problems.append(why + "".join(f" ({quote(ln)})" for ln in lines))
        self.seen += lines

    def warn(self, why: str, *lines: Line) -> None:
        self.warnings.append(why + "".join(f" ({quote(ln)})" for ln in lines))
        self.seen += lines

    def see(self, *lines: Line | None) -> None:
        self.seen += [ln for ln in lines if ln is not None]

    def evidence(self) -> str:
        lines = sorted(set(self.seen))
        return "\n".join(f"{ln.number}: {redact(ln.text)}" for ln in lines) or "(no such line)"


Judge = Callable[[DeviceConfig, Params], Verdict]


def numbers(version: str) -> tuple[int, ...]:
    """The numbers of a release string: ``17.09.04a`` -> (17, 9, 4), ``9.18(4)22`` ->
    (9, 18, 4, 22), ``15.2(7)E9`` -> (15, 2, 7, 9)."""
    return tuple(int(n) for n in re.findall(r"\d+", version)[:4])


def judge_release(
    found: str | None, where: Line | None, table: object, v: Verdict, *, train_only: bool = False
) -> None:
    """``found`` against ``table`` (train ``MAJOR.MINOR`` -> lowest accepted release): a
    train that is not listed is unsupported, an older release unpatched. With
    ``train_only`` (a configuration that names its train, not its release) the patch level
    is not judged: a warning says so."""
    if not found:
        v.fail("the release could not be read (show version, or the configuration's header)")
        return
    lines = [where] if where is not None else []
    rows = {str(k): str(x) for k, x in table.items()} if isinstance(table, dict) else {}
    have = numbers(found)
    train = ".".join(str(n) for n in have[:2])
    floor = rows.get(train)
    if floor is None:
        known = ", ".join(sorted(rows)) or "none"
        v.fail(f"release {found}: train {train} is not a supported one ({known})", *lines)
    elif train_only:
        v.ok = f"train {train} is supported"
        v.warn(
            f"only the train {train} is known: save the version command's output to judge "
            f"the release against {floor}"
        )
    elif have < numbers(floor):
        v.fail(
            f"release {found} is older than {floor}, the lowest accepted on train {train}",
            *lines,
        )
    else:
        v.ok = f"release {found} (train {train}, at least {floor})"


def int_of(text: str, default: int = -1) -> int:
    try:
        return int(text)
    except ValueError:
        return default
