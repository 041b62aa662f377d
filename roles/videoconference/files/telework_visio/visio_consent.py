"""Recording only with every participant's prior consent (guide clause A14), for
telework-visio.

The rules, in one place:

- recording is off unless the administration switches it on (the role's
  ``videoconference_recording``); while off every consent or recording request is refused;
- a participant gives (or withdraws) consent for one room; the application keeps consents
  in memory only, and the journal keeps one line for each: who, room, time (A3);
- any participant present may start the recording, and only while every participant
  present (Janus' list of the room's participants, plus those the application let in who
  are still connecting) has consented; any participant of the room may stop it;
- "prior" consent: while a room records, the application refuses to let in anyone who has
  not consented to that room; the guard stops the recording as soon as Janus shows a
  participant without consent (someone who came in with an earlier token), when the room
  is empty, or when a recording runs that the application did not start (after a restart
  of the application, whose consents were in memory);
- withdrawing one's consent stops the room's recording at once.

Self-contained (Debian's Python 3 only): the role installs it beside telework_visio.py.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("telework-visio")

ROOM_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
LOGIN_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: Seconds a participant the application let in counts as present before Janus lists them.
PENDING_SECONDS = 60.0
#: Rooms whose consents the application keeps at most (memory stays bounded).
MAX_ROOMS = 10_000
#: Longest name from outside (a Janus display name) shown or logged.
MAX_NAME = 64

# --- text from outside (the rules of the project's toolkit/text.py, kept here because the
# application is installed on its own) ----------------------------------------------------

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_UNSAFE_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs", "Cn"})
_PLAIN = re.compile(r"[\x20-\x7e]*")


def printable(value: object) -> str:
    """``value`` with every control, separator, bidi control, lone surrogate and
    non-character shown as a visible escape (``\\x1b``, ``\\u202e``), as toolkit/text.py's
    ``printable``: safe in a log line, HTML text and JSON."""
    text = value if isinstance(value, str) else str(value)
    if _PLAIN.fullmatch(text):
        return text
    out = []
    for ch in text:
        if (
            ch in _BIDI_CONTROLS
            or unicodedata.category(ch) in _UNSAFE_CATEGORIES
            or ch in "\ufffe\uffff"
        ):
            code = ord(ch)
            out.append(
                f"\\x{code:02x}"
                if code < 0x100
                else (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
            )
        else:
            out.append(ch)
    return "".join(out)


def name_field(value: str) -> str:
    """A participant's name as one field of a log line: a login as it is; anything else
    (a display name a browser chose) made printable, cut to MAX_NAME and quoted as JSON,
    so that no name can add a field or a line."""
    if LOGIN_RE.match(value):
        return value
    return json.dumps(printable(value[:MAX_NAME]), ensure_ascii=False)


# --- Janus, as far as recording needs it ----------------------------------------------


class RecordingJanus(Protocol):
    def participants(self, room: str) -> list[str]:
        """The display names of the room's participants (those Janus would record)."""

    def set_recording(self, room: str, on: bool) -> None:
        """Start or stop the recording of every participant of the room."""

    def recording_rooms(self) -> list[str]:
        """The rooms Janus records now."""


# --- consents and recordings ------------------------------------------------------------


@dataclass
class Room:
    consents: dict[str, float] = field(default_factory=dict)  # login: when given
    members: set[str] = field(default_factory=set)  # logins let in since the start
    pending: dict[str, float] = field(default_factory=dict)  # let in, not yet seen
    recording: bool = False


@dataclass
class Refusal:
    """A refused request: HTTP status, a code the page turns into French or Arabic, the
    English error for machines, and the logins still missing a consent."""

    status: int
    code: str
    error: str
    missing: list[str] = field(default_factory=list)

    def answer(self) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {"error": self.error, "code": self.code}
        if self.missing:
            body["missing"] = [printable(m[:MAX_NAME]) for m in self.missing]
        return self.status, body


OFF = Refusal(403, "recording_off", "recording is switched off by the administration (A14)")
NOT_IN = Refusal(403, "not_participant", "join the meeting first")
NO_JANUS = Refusal(502, "janus", "the meeting server did not answer")


@dataclass
class Consents:
    """Who consented to which room's recording, and which rooms record (A14)."""

    enabled: bool
    janus: RecordingJanus
    clock: Callable[[], float] = time.time
    event: Callable[..., None] = lambda *args, **kwargs: None
    rooms: dict[str, Room] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def _room(self, room: str) -> Room | None:
        found = self.rooms.get(room)
        if found is None and len(self.rooms) < MAX_ROOMS:
            found = self.rooms[room] = Room()
        return found

    def may_join(self, uid: str, room: str) -> Refusal | None:
        """None when ``uid`` may enter ``room`` now: a room that records lets in only
        those who consented beforehand."""
        with self.lock:
            state = self.rooms.get(room)
            if state is not None and state.recording and uid not in state.consents:
                return Refusal(
                    409,
                    "consent_required",
                    "this meeting is being recorded: give your consent before joining (A14)",
                )
            return None

    def joined(self, uid: str, room: str) -> None:
        with self.lock:
            state = self._room(room)
            if state is not None:
                state.members.add(uid)
                state.pending[uid] = self.clock()

    def left(self, uid: str, room: str) -> None:
        with self.lock:
            state = self.rooms.get(room)
            if state is not None:
                state.pending.pop(uid, None)

    def consent(self, uid: str, room: str, given: bool) -> tuple[int, dict[str, Any]]:
        """Give or withdraw ``uid``'s consent to the recording of ``room``; withdrawing
        stops a recording under way."""
        if not self.enabled:
            return OFF.answer()
        with self.lock:
            state = self._room(room)
            if state is None:
                return Refusal(503, "busy", "too many rooms").answer()
            if given:
                if uid not in state.consents:
                    state.consents[uid] = self.clock()
                    self.event("consent", uid, room)
            elif state.consents.pop(uid, None) is not None:
                self.event("consent-withdrawn", uid, room)
                if state.recording:
                    self._stop(room, state, uid, "withdrawn")
            return 200, self._view(uid, room, state)

    def start(self, uid: str, room: str) -> tuple[int, dict[str, Any]]:
        """Start the room's recording when every participant present has consented."""
        if not self.enabled:
            return OFF.answer()
        with self.lock:
            state = self.rooms.get(room)
            refusal = self._refuse_start(uid, room, state)
            if refusal is not None or state is None:
                return (refusal or NOT_IN).answer()
            if not state.recording:
                try:
                    self.janus.set_recording(room, True)
                except (RuntimeError, OSError, KeyError, ValueError) as exc:
                    log.warning("room %s: recording not started: %s", room, printable(exc))
                    return NO_JANUS.answer()
                state.recording = True
                self.event("recording-start", uid, room)
            return 200, self._view(uid, room, state)

    def _refuse_start(self, uid: str, room: str, state: Room | None) -> Refusal | None:
        """Why ``uid`` may not start the recording now, or None."""
        if state is None or uid not in state.members:
            return NOT_IN
        if state.recording:
            return None
        try:
            present = self._present(room, state)
        except (RuntimeError, OSError, KeyError, ValueError) as exc:
            log.warning("room %s: participants unknown: %s", room, printable(exc))
            return NO_JANUS
        if uid not in present:
            return NOT_IN
        missing = sorted(p for p in present if p not in state.consents)
        if missing:
            return Refusal(
                409,
                "consent_missing",
                "recording refused: not every participant has consented (A14)",
                missing,
            )
        return None

    def stop(self, uid: str, room: str) -> tuple[int, dict[str, Any]]:
        """Any participant of the room may stop its recording."""
        if not self.enabled:
            return OFF.answer()
        with self.lock:
            state = self.rooms.get(room)
            if state is None or uid not in state.members:
                return NOT_IN.answer()
            if state.recording and not self._stop(room, state, uid, ""):
                return NO_JANUS.answer()
            return 200, self._view(uid, room, state)

    def view(self, uid: str, room: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            state = self.rooms.get(room) or Room()
            return 200, self._view(uid, room, state)

    def guard(self) -> None:
        """Stop every recording that runs without the consent of everyone in its room, in
        an empty room, or that the application did not start."""
        with self.lock:
            try:
                on_janus = set(self.janus.recording_rooms())
            except (RuntimeError, OSError, KeyError, ValueError) as exc:
                log.warning("recordings unknown: %s", printable(exc))
                return
            for room in sorted(on_janus | {r for r, s in self.rooms.items() if s.recording}):
                state = self.rooms.get(room)
                if state is None or not state.recording:
                    self._stop(room, state or Room(recording=True), "-", "unknown")
                    continue
                if room not in on_janus:  # Janus restarted: nothing records any more
                    state.recording = False
                    self.event("recording-stop", "-", room, reason="janus")
                    continue
                try:
                    present = self.janus.participants(room)
                except (RuntimeError, OSError, KeyError, ValueError) as exc:
                    log.warning("room %s: participants unknown: %s", room, printable(exc))
                    continue
                self._seen(state, present)
                missing = sorted(p for p in present if p not in state.consents)
                if missing:
                    self._stop(room, state, missing[0], "no-consent")
                elif not present:
                    self._stop(room, state, "-", "empty")

    def _present(self, room: str, state: Room) -> set[str]:
        present = self.janus.participants(room)
        self._seen(state, present)
        return set(present) | set(state.pending)

    def _seen(self, state: Room, present: Iterable[str]) -> None:
        """Forget the pending entries Janus now lists, and those too old to be coming."""
        horizon = self.clock() - PENDING_SECONDS
        for uid in set(present) | {u for u, t in state.pending.items() if t < horizon}:
            state.pending.pop(uid, None)

    def _stop(self, room: str, state: Room, uid: str, reason: str) -> bool:
        try:
            self.janus.set_recording(room, False)
        except (RuntimeError, OSError, KeyError, ValueError) as exc:
            log.warning("room %s: recording not stopped: %s", room, printable(exc))
            return False
        state.recording = False
        self.event("recording-stop", uid, room, reason=reason)
        return True

    def _view(self, uid: str, room: str, state: Room) -> dict[str, Any]:
        return {
            "room": room,
            "enabled": self.enabled,
            "recording": state.recording,
            "consented": uid in state.consents,
        }
