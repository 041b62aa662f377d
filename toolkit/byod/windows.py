"""The facts of a Windows report, read from the outputs of Windows' own commands that the
PowerShell collector reports (:class:`toolkit.byod.facts.WindowsOutputs`): the edition,
build and licence (Win32_OperatingSystem, SoftwareLicensingProduct), the hotfixes
(Win32_QuickFixEngineering), Defender (Get-MpComputerStatus) and the other antivirus
products Security Center knows (root/SecurityCenter2 AntiVirusProduct), the Wi-Fi
(``netsh wlan show interfaces``, English or French), the groups (``whoami /groups /fo
csv``) and the screen lock settings. The parsing lives here, in Python, tested on
recorded outputs; the collector only runs the commands."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

from toolkit.byod.facts import (
    Antivirus,
    Facts,
    OsFacts,
    Problem,
    Session,
    Wifi,
    WinAvProduct,
    WinDefender,
    WinHotfix,
    WinLock,
)

#: SID of BUILTIN\Administrators: listed for an administrator even when UAC filters it.
ADMINISTRATORS_SID = "S-1-5-32-544"
_DOTNET_DATE = re.compile(r"^/Date\((-?\d+)\)/$")
_FIELD = re.compile(r"^\s*([^:\n]+?)\s*:\s*(.*?)\s*$", re.M)
_STATE_KEYS = {"state", "état", "etat"}
_AUTH_KEYS = {"authentication", "authentification"}
_CIPHER_KEYS = {"cipher", "chiffrement"}


def parse_day(text: str | None) -> date | None:
    """A day as Windows writes it: ``11/20/2026`` (M/d/yyyy), ``20261120``, ISO 8601,
    ``/Date(ms)/`` (Windows PowerShell's JSON) or RFC 1123 (Security Center); None when
    unreadable."""
    text = (text or "").strip()
    if not text:
        return None
    if found := _DOTNET_DATE.match(text):
        return datetime.fromtimestamp(int(found.group(1)) / 1000, UTC).date()
    for pattern in ("%m/%d/%Y", "%Y%m%d"):
        try:
            return datetime.strptime(text.split()[0], pattern).date()
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text).date()
    except (TypeError, ValueError, IndexError):
        return None


def last_update(hotfixes: list[WinHotfix]) -> date | None:
    days = [d for h in hotfixes if (d := parse_day(h.InstalledOn)) is not None]
    return max(days) if days else None


def defender(mp: WinDefender) -> Antivirus:
    running = mp.AMServiceEnabled and mp.AntivirusEnabled and mp.RealTimeProtectionEnabled
    day = parse_day(mp.AntivirusSignatureLastUpdated)
    return Antivirus(name="Microsoft Defender Antivirus", running=running, signatures=day)


def security_center(product: WinAvProduct, collected: date) -> Antivirus:
    """A product Security Center knows: productState's second byte says on (0x10, 0x11)
    or off, its low byte up to date (0x00) or not; an up-to-date product's signatures are
    those of its timestamp, else of the collection day (Security Center's judgement)."""
    state = product.productState
    running = (state >> 12) & 0xF == 1
    current = state & 0xFF == 0
    day = (parse_day(product.timestamp) or collected) if current else None
    return Antivirus(name=product.displayName, running=running, signatures=day)


def wifi(text: str) -> Wifi:
    """``netsh wlan show interfaces``: connected when an interface's state is connected,
    with its authentication and cipher; no wireless interface (no field at all): not
    connected; fields without a state this reads (another language): unknown."""
    fields = [(k.strip().casefold(), v) for k, v in _FIELD.findall(text)]
    # "État" may arrive with its É mangled by a console code page: its "tat" ending stays
    states = [v.casefold() for k, v in fields if k in _STATE_KEYS or k.endswith("tat")]
    if not states:  # no interface (a sentence only), or a language not read here
        return Wifi(connected=None if fields else False)
    if not any(s.startswith("connect") for s in states):
        return Wifi(connected=False)
    auth = next((v for k, v in fields if k in _AUTH_KEYS), "")
    cipher = next((v for k, v in fields if k in _CIPHER_KEYS), "")
    return Wifi(connected=True, security=auth, cipher=cipher)


def screen_lock(lock: WinLock) -> tuple[bool, int | None]:
    """The machine inactivity limit (a policy), else a secure screen saver's timeout."""
    if lock.InactivityTimeoutSecs:
        return True, lock.InactivityTimeoutSecs
    timeout = (lock.ScreenSaveTimeOut or "").strip()
    if lock.ScreenSaveActive == "1" and lock.ScreenSaverIsSecure == "1" and timeout.isdigit():
        return (True, int(timeout)) if int(timeout) else (False, None)
    return False, None


def complete(facts: Facts) -> Facts:
    """``facts`` with os, last_update, antivirus, wifi and session read from its Windows
    outputs; a missing output leaves its fact empty with the collector's reason."""
    out = facts.windows
    if out is None:
        return facts
    problems = list(facts.problems)

    def missing(fact: str, source: str) -> None:
        why = facts.problem(f"windows.{source}") or "not in the report"
        problems.append(Problem(fact=fact, message=why))

    os_facts = None
    if out.os is None:
        missing("os", "os")
    else:
        genuine = None if out.licences is None else any(x.LicenseStatus == 1 for x in out.licences)
        os_facts = OsFacts(
            family="windows",
            id="windows",
            name=out.os.Caption,
            version=out.os.DisplayVersion or out.os.Version,
            build=out.os.BuildNumber,
            genuine=genuine,
        )
    if out.hotfixes is None:
        missing("last_update", "hotfixes")
    products: list[Antivirus] | None = []
    if out.defender is not None and products is not None:
        products.append(defender(out.defender))
    if out.av_products is None and out.defender is None:
        missing("antivirus", "defender")
        products = None
    elif products is not None:
        products += [
            security_center(p, facts.collected_at.date())
            for p in out.av_products or []
            if "defender" not in p.displayName.casefold()
        ]
    if out.wlan is None:
        missing("wifi", "wlan")
    session = None
    if out.groups is None or out.lock is None:
        missing("session", "groups" if out.groups is None else "lock")
    else:
        enabled, after = screen_lock(out.lock)
        session = Session(
            user=out.user,
            admin=ADMINISTRATORS_SID in out.groups,
            lock_enabled=enabled,
            lock_after_s=after,
        )
    return facts.model_copy(
        update={
            "os": os_facts,
            "last_update": last_update(out.hotfixes) if out.hotfixes is not None else None,
            "antivirus": products,
            "wifi": wifi(out.wlan) if out.wlan is not None else None,
            "session": session,
            "problems": problems,
        }
    )
