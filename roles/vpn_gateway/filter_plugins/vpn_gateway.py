"""Filters of role vpn_gateway: the roster's devices and their stable tunnel addresses.

An allocation is kept on the gateway (``/var/lib/telework-vpn/allocation.json``) and only
ever grows: a device keeps its index (its address is the tunnel network's address at that
index) for as long as it is in the file. A device that leaves the roster, or whose
teleworker is revoked, is marked ``retired`` with the date and keeps its index, so that its
address is not given to someone else while logs still name it; it gets the same address
back if it returns. A new device takes the lowest index never used; only when the network
is full is the longest-retired index given again.

:func:`peer_plan` does the whole per-peer work of ``tasks/peers.yml`` in one call and
hands Ansible text (the peers' configuration, the access sets, the allocation and the
export as JSON) instead of lists of thousands of entries: Ansible's templating of such
lists, and Jinja loops over them, took tens of seconds with 5,000 peers (bench/vpn.py).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from pathlib import Path
from typing import Any

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # pragma: no cover - the unit tests run without Ansible's errors

    class AnsibleFilterError(Exception):  # type: ignore[no-redef]
        """Stands in for Ansible's error outside Ansible."""


#: Index 0 is the network address, 1 the gateway.
FIRST_PEER_INDEX = 2
STATE_VERSION = 1


def devices(roster: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per device of every eligible teleworker: active and approved (E1, C5).

    Who is eligible is decided once, by the roster model (``Teleworker.eligible`` in the
    toolkit package), and given to Ansible as each row's ``eligible`` by the
    telework_roster vars plugin; this role reads that flag and never judges status or
    approval itself (it does not import the toolkit, so it stands alone). A row without
    ``eligible: true`` gets no peer."""
    found = []
    for worker in roster:
        if worker.get("eligible") is not True:
            continue
        for item in worker.get("equipment") or []:
            found.append(
                {
                    "device": str(item["name"]),
                    "kind": str(item["kind"]),
                    "teleworker": str(worker["id"]),
                    "groups": sorted(str(g) for g in worker.get("vpn_groups") or []),
                }
            )
    return sorted(found, key=lambda d: d["device"])


def pool_size(network_v4: str, network_v6: str = "") -> int:
    """Highest usable index + 1: the smaller of the two networks (broadcast excluded)."""
    size = ipaddress.ip_network(network_v4, strict=True).num_addresses - 1
    if network_v6:
        size = min(size, ipaddress.ip_network(network_v6, strict=True).num_addresses)
    return size


def allocate(
    state: dict[str, Any] | None,
    wanted: list[dict[str, Any]],
    network_v4: str,
    network_v6: str = "",
    today: str = "",
) -> dict[str, Any]:
    """The new allocation: existing indexes kept, new devices given the lowest index never
    used, devices no longer wanted retired (their index kept)."""
    old = dict((state or {}).get("devices") or {})
    entries: dict[str, dict[str, Any]] = {name: dict(entry) for name, entry in old.items()}
    size = pool_size(network_v4, network_v6)
    by_name = {d["device"]: d for d in wanted}
    for name, entry in entries.items():
        if name in by_name:
            if (
                entry.get("state") != "active"
                or entry.get("teleworker") != by_name[name]["teleworker"]
            ):
                entry.update(
                    state="active", teleworker=by_name[name]["teleworker"], changed_on=today
                )
        elif entry.get("state") == "active":
            entry.update(state="retired", changed_on=today)
    used = {int(e["index"]) for e in entries.values()}
    next_free = FIRST_PEER_INDEX
    for name in sorted(set(by_name) - set(entries)):
        while next_free in used:
            next_free += 1
        if next_free < size:
            index = next_free
        else:
            retired = sorted(
                (e.get("changed_on", ""), n) for n, e in entries.items() if e["state"] == "retired"
            )
            if not retired:
                raise AnsibleFilterError(
                    f"the tunnel network {network_v4} is full: no address left for {name}"
                )
            index = int(entries.pop(retired[0][1])["index"])
        used.add(index)
        entries[name] = {
            "index": index,
            "teleworker": by_name[name]["teleworker"],
            "state": "active",
            "changed_on": today,
        }
    return {"version": STATE_VERSION, "devices": dict(sorted(entries.items()))}


def address(index: int, network: str) -> str:
    """The address at ``index`` in ``network`` (``10.77.0.0/20``, 5 -> ``10.77.0.5``)."""
    net = ipaddress.ip_network(network, strict=True)
    if not 0 < int(index) < net.num_addresses:
        raise AnsibleFilterError(f"index {index} is outside {network}")
    return str(net.network_address + int(index))


#: A WireGuard key: 32 bytes in base64.
KEY = re.compile(r"^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$")


def client_keys(wanted: list[dict[str, Any]], keys_dir: str) -> dict[str, dict[str, str]]:
    """Each wanted device's public key and preshared key, read on the controller from
    ``keys_dir/<device>.pub`` and ``.psk``; devices without two valid keys are left out."""
    found = {}
    folder = Path(keys_dir)
    for device in wanted:
        name = device["device"]
        try:
            public = (folder / f"{name}.pub").read_text(encoding="ascii").strip()
            psk = (folder / f"{name}.psk").read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if KEY.match(public) and KEY.match(psk):
            found[name] = {"public": public, "psk": psk}
    return found


def device_addresses(
    wanted: list[dict[str, Any]],
    allocation: dict[str, Any],
    keys: dict[str, Any],
    network_v4: str,
    network_v6: str = "",
) -> list[dict[str, Any]]:
    """Wanted devices with their tunnel addresses and whether they are peers (have keys)."""
    out = []
    for device in wanted:
        index = int(allocation["devices"][device["device"]]["index"])
        out.append(
            {
                **device,
                "address_v4": address(index, network_v4),
                "address_v6": address(index, network_v6) if network_v6 else "",
                "peer": device["device"] in keys,
                "public_key": keys.get(device["device"], {}).get("public", ""),
            }
        )
    return out


#: Values from the roster go on one line of a configuration file: line breaks of any kind,
#: controls and bidi overrides become one space (as toolkit.text.one_line does).
ONE_LINE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")


def set_name(group: str) -> str:
    """An access group's name as nftables set names take it (letters, digits, _)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", group)


def nice_json(data: Any) -> str:
    """JSON as Ansible's ``to_nice_json`` writes it (the files stay byte for byte the same)."""
    return json.dumps(data, indent=4, sort_keys=True, separators=(",", ": "))


def _state(content_b64: str) -> dict[str, Any]:
    """The allocation file as ``slurp`` read it (base64; empty: no file yet)."""
    if not content_b64:
        return {}
    try:
        data = json.loads(base64.b64decode(content_b64, validate=True).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise AnsibleFilterError(f"the allocation kept on the gateway is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise AnsibleFilterError("the allocation kept on the gateway is not a JSON object")
    return data


def peer_section(peer: dict[str, Any], psk: str, ipv6: bool) -> str:
    """One ``[Peer]`` section of the gateway's configuration (a blank line before it); the
    comment naming the teleworker, device and groups is kept on one line."""
    comment = f"{peer['teleworker']} {peer['device']} ({peer['kind']}; groups: "
    comment = ONE_LINE.sub(" ", comment + " ".join(peer["groups"]) + ")").strip()
    allowed = f"{peer['address_v4']}/32" + (f", {peer['address_v6']}/128" if ipv6 else "")
    return (
        f"\n[Peer]\n# {comment}\nPublicKey = {peer['public_key']}\n"
        f"PresharedKey = {psk}\nAllowedIPs = {allowed}\n"
    )


def _sets_text(peers: list[dict[str, Any]], groups: list[str], table: str, ipv6: bool) -> str:
    lines = [f"table inet {table} {{"]
    for group in groups:
        name = set_name(group)
        lines += [
            f"  set peers_{name}_v4 {{ type ipv4_addr; }}",
            f"  set peers_{name}_v6 {{ type ipv6_addr; }}",
        ]
    lines.append("}")
    for group in groups:
        name = set_name(group)
        members = [p for p in peers if group in p["groups"]]
        lines += [
            f"flush set inet {table} peers_{name}_v4",
            f"flush set inet {table} peers_{name}_v6",
        ]
        if members:
            v4 = ", ".join(p["address_v4"] for p in members)
            lines.append(f"add element inet {table} peers_{name}_v4 {{ {v4} }}")
            if ipv6:
                v6 = ", ".join(p["address_v6"] for p in members)
                lines.append(f"add element inet {table} peers_{name}_v6 {{ {v6} }}")
    return "\n".join(lines) + "\n"


def peer_plan(
    roster: list[dict[str, Any]],
    state_b64: str,
    *,
    keys_dir: str,
    network_v4: str,
    network_v6: str,
    today: str,
    groups: list[str],
    table: str,
) -> dict[str, Any]:
    """Everything tasks/peers.yml writes, from the roster, the allocation kept on the
    gateway (``slurp``'s base64, empty when there is none) and the keys on the controller:

    ``allocation_json`` (the new allocation file), ``peers_conf`` (the ``[Peer]``
    sections of the WireGuard configuration, preshared keys included: no_log),
    ``sets_nft`` (each access group's peer addresses), ``devices_json`` (the export's
    devices), ``portal_peers_json`` (the portal gate's peers), ``waiting`` (devices without
    keys yet) and ``peers`` (how many)."""
    ipv6 = bool(network_v6)
    wanted = devices(roster)
    allocation = allocate(_state(state_b64), wanted, network_v4, network_v6, today)
    keys = client_keys(wanted, keys_dir)
    addressed = device_addresses(wanted, allocation, keys, network_v4, network_v6)
    peers = [d for d in addressed if d["peer"]]
    return {
        "allocation_json": nice_json(allocation),
        "peers_conf": "".join(peer_section(p, keys[p["device"]]["psk"], ipv6) for p in peers),
        "sets_nft": _sets_text(peers, sorted(groups), table, ipv6),
        "devices_json": json.dumps({d["device"]: d for d in addressed}),
        "portal_peers_json": json.dumps(portal_peers(roster, peers), sort_keys=True),
        "waiting": [d["device"] for d in addressed if not d["peer"]],
        "peers": len(peers),
    }


def portal_peers(roster: list[dict[str, Any]], peers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the teleworker portal's gate knows of each peer: whose device it is, its tunnel
    addresses, its access groups and its teleworker's schedule (``schedule_periods`` of the
    roster: a working session ends with the current span). Nothing else about the person."""
    schedules = {
        str(w["id"]): {
            "regular": (w.get("schedule_periods") or {}).get("regular", []),
            "overrides": (w.get("schedule_periods") or {}).get("overrides", []),
        }
        for w in roster
    }
    no_schedule: dict[str, list[Any]] = {"regular": [], "overrides": []}
    return [
        {
            "user": p["teleworker"].lower(),
            "device": p["device"],
            "groups": p["groups"],
            "address_v4": p["address_v4"],
            "address_v6": p["address_v6"],
            "schedule": schedules.get(p["teleworker"], no_schedule),
        }
        for p in peers
    ]


def export_json(settings: dict[str, Any], devices_json: str) -> str:
    """The gateway's export for the clients: ``settings`` plus ``devices`` (from
    :func:`peer_plan`), as to_nice_json writes it."""
    return nice_json({**settings, "devices": json.loads(devices_json)})


class FilterModule:
    """vpn_gateway_devices, _allocate, _address, _client_keys, _device_addresses,
    _peer_plan, _export_json."""

    def filters(self) -> dict[str, Any]:
        return {
            "vpn_gateway_peer_plan": peer_plan,
            "vpn_gateway_export_json": export_json,
            "vpn_gateway_devices": devices,
            "vpn_gateway_allocate": allocate,
            "vpn_gateway_address": address,
            "vpn_gateway_client_keys": client_keys,
            "vpn_gateway_device_addresses": device_addresses,
        }
