"""Filters of role baseline: the firewall declarations of the roles, checked as data.

A role that serves a port hands its rules to baseline's entry point ``firewall_declare``
as a list of ``{proto, ports, sources, iifname, comment}``; :func:`nft_rules` checks every
field and returns what ``templates/etc/nftables.d/declared.nft.j2`` writes, so that no
value (an inventory's network, a comment) can add a rule, end the chain or break the
ruleset: ports are integers or ``a-b`` ranges, sources parse as IP networks (then split
into IPv4 and IPv6), an interface name is a plain word and a comment is one line of
printable text without quote or backslash, at most 128 bytes (nft's limit).

Standard library only: the collection's roles run without the toolkit package.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Any

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # pragma: no cover - the unit tests may run without Ansible's errors

    class AnsibleFilterError(Exception):  # type: ignore[no-redef]
        """Stand-in outside Ansible."""


#: nft refuses a comment longer than this many bytes ("128 characters maximum").
NFT_COMMENT_MAX = 128
#: The declaration's name, part of /etc/nftables.d/<chain>-<name>.nft.
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
#: A network interface name (Linux: at most 15 bytes) that needs no escaping in quotes.
_IFNAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")
_PORT = re.compile(r"^[0-9]{1,5}$")
_RANGE = re.compile(r"^([0-9]{1,5})-([0-9]{1,5})$")
PROTOCOLS = ("tcp", "udp")
CHAINS = ("input", "forward")


def nft_comment(text: Any, fallback: str = "") -> str:
    """``text`` as one line that is safe between the double quotes of an nft comment:
    control, format (bidi overrides) and separator characters become a space, a double
    quote becomes a single one, a backslash a slash; runs of spaces shrink to one; cut to
    128 bytes of UTF-8 without splitting a character. Empty: ``fallback`` made safe."""
    out = []
    for ch in "" if text is None else str(text):
        if ch == '"':
            out.append("'")
        elif ch == "\\":
            out.append("/")
        elif unicodedata.category(ch)[0] in "CZ":
            out.append(" ")
        else:
            out.append(ch)
    line = " ".join("".join(out).split())
    cut = line.encode("utf-8")[:NFT_COMMENT_MAX].decode("utf-8", errors="ignore").rstrip()
    if not cut and fallback:
        return nft_comment(fallback)
    return cut


def _where(index: int, field: str) -> str:
    return f"baseline_firewall_declare_rules[{index}].{field}"


def _port(value: Any, where: str) -> str:
    text = (
        str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    )
    if _PORT.match(text) and 1 <= int(text) <= 65535:
        return str(int(text))
    found = _RANGE.match(text)
    if found:
        first, last = int(found.group(1)), int(found.group(2))
        if 1 <= first < last <= 65535:
            return f"{first}-{last}"
    raise AnsibleFilterError(
        f"{where}: {value!r} is not a port (1 to 65535) or a range first-last (first < last)"
    )


def _ports(rule: dict[str, Any], index: int) -> list[str]:
    # ``port`` (one port or range) is how baseline_firewall_allow writes it.
    value = rule.get("ports", rule.get("port"))
    if value is None or value == []:
        return []
    values = value if isinstance(value, list) else [value]
    return [_port(v, f"{_where(index, 'ports')}[{i}]") for i, v in enumerate(values)]


def _sources(rule: dict[str, Any], index: int) -> tuple[list[str], list[str]]:
    value = rule.get("sources") or []
    if not isinstance(value, list):
        raise AnsibleFilterError(f"{_where(index, 'sources')}: a list of networks, not {value!r}")
    v4: list[str] = []
    v6: list[str] = []
    for i, source in enumerate(value):
        try:
            net = ipaddress.ip_network(str(source).strip(), strict=False)
        except ValueError:
            raise AnsibleFilterError(
                f"{_where(index, 'sources')}[{i}]: {source!r} is not an IPv4 or IPv6 "
                "address or network"
            ) from None
        full = net.prefixlen == net.max_prefixlen
        text = str(net.network_address) if full else str(net)
        (v4 if net.version == 4 else v6).append(text)
    return v4, v6


def nft_rules(rules: Any, name: str) -> list[dict[str, Any]]:
    """The declaration's rules checked and ready to write: each ``{match, v4, v6,
    comment}``, ``match`` the rule's start (``iifname "wg0"``, ``tcp dport { 80, 443 }``),
    ``v4``/``v6`` its source networks by family (both empty: from anywhere). A bad field
    is one error naming it; nothing is written then."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise AnsibleFilterError(
            f"baseline_firewall_declare_name: {name!r} is not a name of lower-case letters, "
            "digits, '_' and '-'"
        )
    if not isinstance(rules, list):
        raise AnsibleFilterError(f"baseline_firewall_declare_rules: a list, not {rules!r}")
    checked = []
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            raise AnsibleFilterError(f"baseline_firewall_declare_rules[{index}]: not a mapping")
        proto = rule.get("proto") or "tcp"
        if proto not in PROTOCOLS:
            raise AnsibleFilterError(f"{_where(index, 'proto')}: {proto!r} is not tcp or udp")
        ports = _ports(rule, index)
        iifname = rule.get("iifname") or ""
        if iifname and not (isinstance(iifname, str) and _IFNAME.match(iifname)):
            raise AnsibleFilterError(
                f"{_where(index, 'iifname')}: {iifname!r} is not an interface name"
            )
        if not ports and not iifname:
            raise AnsibleFilterError(
                f"{_where(index, 'ports')}: a rule needs ports (or an iifname): it would "
                "accept everything"
            )
        match = [f'iifname "{iifname}"'] if iifname else []
        if ports:
            match.append(
                f"{proto} dport "
                + (ports[0] if len(ports) == 1 else "{ " + ", ".join(ports) + " }")
            )
        v4, v6 = _sources(rule, index)
        checked.append(
            {
                "match": " ".join(match),
                "v4": v4,
                "v6": v6,
                "comment": nft_comment(rule.get("comment"), fallback=name),
            }
        )
    return checked


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "baseline_nft_comment": nft_comment,
            "baseline_nft_rules": nft_rules,
        }
