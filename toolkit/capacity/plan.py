"""Demand per platform at the peak of concurrent teleworkers, against the declared capacity
and the measured ceilings; the bottleneck is the check with the highest utilisation (A20,
M3). The model is documented in docs/capacity.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from toolkit.capacity.concurrency import Concurrency
from toolkit.capacity.inputs import Ceilings, Declared, Figure
from toolkit.text import printable

#: Measured request names of ``toolkit load`` that rate demands are compared with.
#: Platform -> {demand metric: the request of ``toolkit load`` whose measured rate meets it}.
RATE_OF_REQUEST = {
    "mail": {
        "smtp_submissions_per_s": "smtp submit",
        "imap_logins_per_s": "imap login",
        "imap_fetches_per_s": "imap fetch",
    },
    "vpn": {"handshakes_per_s": "handshake"},
}
#: Throughput ceilings (Mbit/s) and the demands they meet: ceiling platform -> {rate name:
#: (demand platform, metric)}. ``toolkit load tunnel`` measures one tunnel, a lower bound
#: of what the gateway carries.
THROUGHPUT_OF_CEILING = {
    "vpn_tunnel": {
        "into site Mbit/s": ("vpn", "into_site_mbps"),
        "out of site Mbit/s": ("vpn", "out_of_site_mbps"),
    },
}


@dataclass(frozen=True)
class Demand:
    platform: str
    metric: str
    value: float
    unit: str
    formula: str


@dataclass(frozen=True)
class Check:
    """One demand against one capacity; ``capacity`` None when nothing declares it."""

    platform: str
    resource: str
    unit: str
    demand: float
    capacity: float | None
    basis: str

    @property
    def utilisation(self) -> float | None:
        if self.capacity is None:
            return None
        return self.demand / self.capacity if self.capacity > 0 else float("inf")

    @property
    def ok(self) -> bool | None:
        u = self.utilisation
        return None if u is None else u <= 1.0

    def as_json(self) -> dict[str, Any]:
        u = self.utilisation
        return {
            "platform": self.platform,
            "resource": self.resource,
            "unit": self.unit,
            "demand": round(self.demand, 3),
            "capacity": self.capacity,
            "basis": self.basis,
            "utilisation": None if u is None else round(u, 4),
            "ok": self.ok,
        }


@dataclass(frozen=True)
class Plan:
    inventory: str
    roster: str
    week_of: date
    concurrency: Concurrency
    figures: dict[str, Figure]
    demands: tuple[Demand, ...]
    checks: tuple[Check, ...]
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def bottleneck(self) -> Check | None:
        known = [c for c in self.checks if c.utilisation is not None]
        return max(known, key=lambda c: c.utilisation or 0.0) if known else None

    @property
    def verdict(self) -> str:
        """``carries`` (every known check within capacity), ``over capacity`` or
        ``unknown`` (no capacity declared nor measured)."""
        b = self.bottleneck
        if b is None:
            return "unknown"
        return "carries" if b.ok else "over capacity"

    @property
    def undeclared(self) -> list[Check]:
        return [c for c in self.checks if c.capacity is None]

    def as_json(self) -> dict[str, Any]:
        b = self.bottleneck
        return {
            "kind": "capacity-plan",
            "guide": ["A20", "M3", "C1", "C2"],
            "inventory": self.inventory,
            "roster": self.roster,
            "week_of": self.week_of.isoformat(),
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "verdict": self.verdict,
            "bottleneck": b.as_json() if b else None,
            "concurrency": self.concurrency.as_json(),
            "demands": [
                {
                    "platform": d.platform,
                    "metric": d.metric,
                    "value": round(d.value, 3),
                    "unit": d.unit,
                    "formula": d.formula,
                }
                for d in self.demands
            ],
            "checks": [c.as_json() for c in self.checks],
            "profile": {
                f.name: {
                    "value": f.value,
                    "unit": f.unit,
                    "kind": f.kind,
                    "origin": f.origin,
                    "source": f.source,
                }
                for f in self.figures.values()
            },
        }


def demands(n: int, figures: dict[str, Figure], office_hours: float) -> list[Demand]:
    """Demand of ``n`` concurrent teleworkers in the busy hour, platform by platform. The
    VPN carries mail and web (groupware); video reaches the meeting service directly."""
    f = {name: fig.value for name, fig in figures.items()}
    busy, hours = f["busy_hour_factor"], max(office_hours, 1e-9)
    mails = f["mails_handled_per_day"] / hours  # an hour, sent and read
    smtp = n * mails * f["mails_sent_share"] / 3600 * busy
    fetch = n * mails * (1 - f["mails_sent_share"]) / 3600 * busy
    kbit = 8 / 1000  # KB -> Mbit
    mail_in, mail_out = smtp * f["mail_size_kb"] * kbit, fetch * f["mail_size_kb"] * kbit
    pages = n * f["web_pages_per_hour"] / 3600 * busy
    requests = pages * f["web_requests_per_page"]
    web_out, web_in = pages * f["web_page_kb"] * kbit, requests * f["web_request_kb"] * kbit
    vpn_in = (mail_in + web_in) * (1 + f["vpn_overhead"])
    vpn_out = (mail_out + web_out) * (1 + f["vpn_overhead"])
    people = min(float(n), n * f["video_hours_per_day"] / hours * busy)
    video_out, video_in = people * f["video_down_mbps"], people * f["video_up_mbps"]
    relayed = people * f["turn_share"]
    turn = relayed * (f["video_up_mbps"] + f["video_down_mbps"]) * 2
    b = f"x busy_hour_factor {busy:g}"
    return [
        Demand("mail", "smtp_submissions_per_s", smtp, "msg/s", f"N x mails sent an hour {b}"),
        Demand("mail", "imap_fetches_per_s", fetch, "msg/s", f"N x mails read an hour {b}"),
        Demand(
            "mail",
            "imap_logins_per_s",
            n * f["imap_logins_per_hour"] / 3600 * busy,
            "login/s",
            f"N x imap_logins_per_hour {b}",
        ),
        Demand("mail", "imap_connections", float(n), "conn", "one IDLE connection each (RFC 2177)"),
        Demand("mail", "memory_mb", n * f["imap_connection_mb"], "MB", "N x imap_connection_mb"),
        Demand("web", "requests_per_s", requests, "req/s", f"N x pages x requests/page {b}"),
        Demand("vpn", "handshakes_per_s", n / f["vpn_rekey_seconds"], "hs/s", "N / rekey time"),
        Demand("vpn", "into_site_mbps", vpn_in, "Mbit/s", "mail sent + web requests + overhead"),
        Demand("vpn", "out_of_site_mbps", vpn_out, "Mbit/s", "mail read + web pages + overhead"),
        Demand(
            "vpn",
            "cores",
            (vpn_in + vpn_out) / f["vpn_mbps_per_core"],
            "cores",
            "throughput / vpn_mbps_per_core",
        ),
        Demand("video", "participants", people, "people", f"N x video hours / office hours {b}"),
        Demand(
            "video",
            "streams_forwarded",
            people * max(f["meeting_size"] - 1, 0),
            "streams",
            "participants x (meeting_size - 1) through the SFU",
        ),
        Demand("video", "into_site_mbps", video_in, "Mbit/s", "participants x video_up_mbps"),
        Demand("video", "out_of_site_mbps", video_out, "Mbit/s", "participants x video_down_mbps"),
        Demand(
            "video",
            "cores",
            (video_in + video_out) / f["sfu_mbps_per_core"],
            "cores",
            "SFU throughput / sfu_mbps_per_core",
        ),
        Demand("turn", "relayed_mbps", turn, "Mbit/s", "participants x turn_share x (up+down) x 2"),
        Demand("turn", "cores", turn / f["turn_mbps_per_core"], "cores", "relayed / per core"),
    ]


def _value(items: list[Demand], platform: str, metric: str) -> float:
    return next(d.value for d in items if d.platform == platform and d.metric == metric)


def checks(n: int, items: list[Demand], declared: Declared, ceilings: Ceilings) -> list[Check]:
    """Every demand that has a capacity to meet: the Internet connection (M3), the declared
    cores and memory, and the ceilings ``toolkit load`` measured."""
    net = declared.capacity_internet
    into = _value(items, "vpn", "into_site_mbps") + _value(items, "video", "into_site_mbps")
    out = _value(items, "vpn", "out_of_site_mbps") + _value(items, "video", "out_of_site_mbps")
    found = [
        Check("internet", "downlink (into the site)", "Mbit/s", into,
              net.down_mbps if net else None, "declared: capacity_internet.down_mbps"),
        Check("internet", "uplink (out to teleworkers)", "Mbit/s", out,
              net.up_mbps if net else None, "declared: capacity_internet.up_mbps"),
    ]  # fmt: skip
    for platform in ("vpn", "video", "turn"):
        host = declared.capacity_platforms.get(platform)
        found.append(
            Check(platform, "cores", "cores", _value(items, platform, "cores"),
                  float(host.cores) if host else None,
                  f"declared: capacity_platforms.{platform}.cores")
        )  # fmt: skip
    mail = declared.capacity_platforms.get("mail")
    memory = float(mail.memory_mb) if mail else None
    found.append(
        Check("mail", "memory (IMAP connections)", "MB", _value(items, "mail", "memory_mb"),
              memory, "declared: capacity_platforms.mail.memory_mb")
    )  # fmt: skip
    for platform, ceiling in sorted(ceilings.ceilings.items()):
        when = ceiling.measured_at.date().isoformat()
        # the ceilings file is outside input: its text is made printable before any output
        basis = f"measured: toolkit load against {printable(ceiling.target)} on {when}"
        if ceiling.teleworkers > 0:  # a flood run measures rates, not teleworkers
            demand, resource = float(n), "teleworkers carried"
            if platform == "video":  # toolkit load meeting: participants in meetings at once
                demand, resource = _value(items, "video", "participants"), "participants carried"
            found.append(
                Check(platform, resource, "teleworkers", demand, float(ceiling.teleworkers), basis)
            )
        for rate_name, (of, metric) in THROUGHPUT_OF_CEILING.get(platform, {}).items():
            mbps = ceiling.rates.get(rate_name)
            if mbps is not None and mbps > 0:
                resource = f"one tunnel, {rate_name.removesuffix(' Mbit/s')} (iperf3)"
                found.append(Check(of, resource, "Mbit/s", _value(items, of, metric), mbps, basis))
        for metric, request in RATE_OF_REQUEST.get(platform, {}).items():
            rate = ceiling.rates.get(request)
            if rate is not None and rate > 0:
                found.append(
                    Check(platform, request, "/s", _value(items, platform, metric), rate, basis)
                )
    return found


def make_plan(
    *,
    inventory: str,
    roster: str,
    week_of: date,
    concurrency: Concurrency,
    figures: dict[str, Figure],
    declared: Declared,
    ceilings: Ceilings,
) -> Plan:
    peak = concurrency.peak[0]
    items = demands(peak, figures, concurrency.office_hours)
    return Plan(
        inventory,
        roster,
        week_of,
        concurrency,
        figures,
        tuple(items),
        tuple(checks(peak, items, declared, ceilings)),
    )
