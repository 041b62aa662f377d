"""The settings of one ``toolkit load`` run, from the command's options, the inventory
(the target it allows, the name and CA its TLS services present, the directory's probe
account its audit uses) and the capacity profile (the teleworker's pacing). Usage errors
name what is wrong (exit code 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from toolkit.adapters.ansible import InventoryHost, load_inventory
from toolkit.capacity.inputs import load_declared, load_profile
from toolkit.errors import ToolkitError
from toolkit.exitcodes import ExitCode
from toolkit.load.config import (
    LOOPBACK,
    LoadConfig,
    Probe,
    Slo,
    allowed_target,
    read_password,
    stepped,
)
from toolkit.load.vpn_peers import gateway_export
from toolkit.paths import inventory_path
from toolkit.roster.reference import REFERENCE_FILE, load_reference
from toolkit.text import printable

#: Where each platform finds its probe account in the inventory: (audit_params control,
#: login key, password path key). The groupware logs in with the directory's password, as
#: the mail probe does; the meeting service with VC-06's publisher.
PROBE_PARAMS = {
    "mail": (("MAIL-11", "login", "password_path"),),
    "groupware": (("MAIL-11", "login", "password_path"), ("MAIL-10", "login", "password_path")),
    "meeting": (("VC-06", "publisher_login", "publisher_password_path"),),
}


#: The inventory group whose first host a platform's load targets when --target is not given.
PLATFORM_GROUPS = {
    "mail": "mail_servers",
    "groupware": "collaboration_servers",
    "meeting": "videoconference_servers",
    "vpn": "vpn_gateways",
}


def platform_host(platform: str, hosts: dict[str, InventoryHost]) -> str:
    """The first host (by name) of the platform's group, else 127.0.0.1."""
    members = sorted(n for n, h in hosts.items() if PLATFORM_GROUPS[platform] in h.groups)
    return members[0] if members else "127.0.0.1"


def inventory_hosts(inventory: Path) -> dict[str, dict[str, Any]]:
    return {name: dict(h.vars) for name, h in load_inventory(inventory, with_roster=False).items()}


def addresses(hosts: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Inventory host name -> the address its services are reached at."""
    found = {}
    for name, hvars in hosts.items():
        address = hvars.get("audit_address") or hvars.get("ansible_host")
        if address:
            found[name] = str(address)
    return found


def probe_from_inventory(platform: str, hosts: dict[str, dict[str, Any]], inventory: Path) -> Probe:
    """The audit's probe account for ``platform``: the directory role's probe accounts."""
    for control, login_key, password_key in PROBE_PARAMS[platform]:
        for hvars in hosts.values():
            params = (hvars.get("audit_params") or {}).get(control) or {}
            if params.get(login_key) and params.get(password_key):
                if platform == "mail" and not params.get("address"):
                    continue
                return Probe(
                    login=str(params[login_key]),
                    address=str(params.get("address") or ""),
                    password_file=str(inventory_path(str(params[password_key]), inventory)),
                )
    control, login_key, password_key = PROBE_PARAMS[platform][0]
    extra = ", address" if platform == "mail" else ""
    give = (
        "--login, --address and --password-file"
        if platform == "mail"
        else "--login and --password-file"
    )
    raise ToolkitError(
        f"{inventory}: no probe account (audit_params {control} {login_key}{extra}, "
        f"{password_key} of a host); give {give}",
        exit_code=ExitCode.USAGE,
    )


def pacing(platform: str, inventory: Path) -> dict[str, float]:
    """Per-user hourly rates of the teleworker profile, from the capacity profile."""
    figures = load_profile(load_declared(inventory).capacity_profile, {})
    f = {name: fig.value for name, fig in figures.items()}
    if platform == "groupware":
        return {"pages_per_hour": f["web_pages_per_hour"]}
    if platform == "meeting":
        return {"meeting_size": max(1, round(f["meeting_size"]))}
    if platform == "vpn":  # a session renewed every rekey time
        rekey = f["vpn_rekey_seconds"]
        return {"handshakes_per_hour": 3600 / rekey if rekey > 0 else 0.0}
    hours = 8.0
    if (inventory / REFERENCE_FILE).is_file():
        span = load_reference(inventory).office_span
        hours = (span.end - span.start) / 60
    mails = f["mails_handled_per_day"] / hours
    return {
        "sent_per_hour": mails * f["mails_sent_share"],
        "read_per_hour": mails * (1 - f["mails_sent_share"]),
        "logins_per_hour": f["imap_logins_per_hour"],
        "idle_per_hour": 60 / f["imap_idle_minutes"] if f["imap_idle_minutes"] else 0.0,
    }


def _steps(opts: dict[str, Any]) -> tuple[int, ...]:
    try:
        if opts["steps"]:
            return tuple(int(s) for s in opts["steps"].split(","))
        return stepped(opts["max_users"], opts["step_count"])
    except ValueError as exc:
        raise ToolkitError(
            f"--steps {opts['steps']!r}: not a list of numbers", exit_code=ExitCode.USAGE
        ) from exc


def build_config(platform: str, inventory: Path, opts: dict[str, Any]) -> LoadConfig:
    """The run's settings for ``platform`` (mail, groupware, meeting)."""
    needs_inventory = opts["target"] not in LOOPBACK or not opts["login"]
    found = load_inventory(inventory, with_roster=False) if needs_inventory else {}
    hosts = {name: dict(h.vars) for name, h in found.items()}
    target = opts["target"] or platform_host(platform, found)
    address = allowed_target(target, addresses(hosts))
    if opts["login"] and opts["password_file"] and (platform != "mail" or opts.get("address")):
        try:
            probe = Probe(
                login=opts["login"],
                address=opts.get("address") or "",
                password_file=str(Path(opts["password_file"]).resolve()),
            )
        except ValidationError as exc:
            raise _usage(exc, "probe.") from exc
    else:
        probe = probe_from_inventory(platform, hosts, inventory)
    read_password(probe)  # unreadable: one error here, before any process starts
    # An inventory host: the name and CA its TLS services present, as the audit checks them.
    host = hosts.get(target, {})
    server_name = opts["server_name"] or str(host.get("audit_server_name") or target)
    ca = str(host.get("audit_ca_file") or "")
    ca_file = str(Path(opts["ca_file"]).resolve()) if opts["ca_file"] else ca
    if ca_file:
        ca_file = str(inventory_path(ca_file, inventory))
    ports = ("smtp_port", "imap_port", "smtp_plain", "https_port", "meeting_size", "profile",
             "events_per_hour", "keepalive_seconds", "joins_per_hour")  # fmt: skip
    chosen = {k: opts[k] for k in ports if opts.get(k) is not None}
    try:
        return LoadConfig.model_validate(
            {
                "platform": platform,
                "target": address,
                "server_name": server_name,
                "ca_file": ca_file,
                "probe": probe,
                "steps": _steps(opts),
                "step_seconds": opts["step_seconds"],
                "spawn_rate": opts["spawn_rate"],
                "max_rate": opts["max_rate"],
                "slo": Slo(p95_ms=opts["slo_p95_ms"], error_rate=opts["slo_error_rate"]),
                **pacing(platform, inventory),
                **chosen,
            }
        )
    except ValidationError as exc:
        raise _usage(exc) from exc


def vpn_gateway(inventory: Path, target: str | None) -> tuple[str, str]:
    """(gateway host, its address) a vpn load targets: a host of vpn_gateways (by name or
    address): its peers are registered through the inventory."""
    found = load_inventory(inventory, with_roster=False)
    known = addresses({name: dict(h.vars) for name, h in found.items()})
    gateways = sorted(n for n, h in found.items() if PLATFORM_GROUPS["vpn"] in h.groups)
    chosen = target or (gateways[0] if gateways else "")
    by_address = {address: name for name, address in known.items()}
    gateway = chosen if chosen in gateways else by_address.get(chosen, "")
    if gateway not in gateways:
        raise ToolkitError(
            f"--target {printable(chosen)!r}: not a VPN gateway of {inventory} (vpn_gateways: "
            f"{', '.join(gateways) or 'none'}); the run's peers are registered through it",
            exit_code=ExitCode.USAGE,
        )
    return gateway, allowed_target(gateway, known)


def build_vpn_config(
    inventory: Path, gateway: str, address: str, peers_file: Path, opts: dict[str, Any]
) -> LoadConfig:
    """The settings of a vpn load of ``gateway`` at ``address``: its public key and port
    from its export (or the options), the run's peers from ``peers_file``."""
    export = {} if opts["gateway_key"] and opts["vpn_port"] else gateway_export(inventory, gateway)
    try:
        return LoadConfig.model_validate(
            {
                "platform": "vpn",
                "profile": opts["profile"],
                "target": address,
                "server_name": gateway,
                "gateway_key": opts["gateway_key"] or str(export.get("public_key") or ""),
                "vpn_port": opts["vpn_port"] or export.get("port") or 51820,
                "peers_file": str(peers_file),
                "processes": max(1, opts["workers"] + opts["remote_workers"]),
                "steps": _steps(opts),
                "step_seconds": opts["step_seconds"],
                "spawn_rate": opts["spawn_rate"],
                "max_rate": opts["max_rate"],
                "slo": Slo(p95_ms=opts["slo_p95_ms"], error_rate=opts["slo_error_rate"]),
                **pacing("vpn", inventory),
            }
        )
    except ValidationError as exc:
        raise _usage(exc) from exc


def _usage(exc: ValidationError, prefix: str = "") -> ToolkitError:
    """One line a wrong setting, naming its field."""
    wrong = "; ".join(
        f"{prefix}{'.'.join(str(p) for p in e['loc']) or '-'}: {e['msg']}" for e in exc.errors()
    )
    return ToolkitError(f"invalid load settings: {printable(wrong)}", exit_code=ExitCode.USAGE)
