"""The group_vars files of the platforms an environment has hosts for."""

from __future__ import annotations

from typing import Any

from toolkit.init.settings import Certificates, Directory, Settings
from toolkit.init.varsfile import BECOME_SECRET, VarsFile

#: Public name of each platform with a certificate of its own, and the role variables
#: naming its certificate and key.
CERTIFICATE_VARIABLES = {
    "mail_server": ("mail", "mail_servers"),
    "collaboration": ("collab", "collaboration_servers"),
}
#: Services of each platform teleworkers reach through the tunnel (as in the lab).
SERVICES = {
    "mail": ("mail_servers", "tcp", [25, 465, 587, 993]),
    "collaboration": ("collaboration_servers", "tcp", [443]),
    "videoconference": ("videoconference_servers", "tcp", [443, 5349]),
}


def _group_addresses(group: str) -> str:
    return f"{{{{ groups['{group}'] | map('extract', hostvars, 'service_address') | list }}}}"


def _certificates(s: Settings, f: VarsFile, role: str) -> None:
    prefix, _ = CERTIFICATE_VARIABLES[role]
    name = f"{prefix}.{s.domain}"
    if s.certificates is Certificates.FILES:
        cert, key = f"/etc/ssl/telework/{name}.crt", f"/etc/ssl/telework/{name}.key"
    elif s.certificates is Certificates.ACME:
        cert, key = (
            f"/etc/letsencrypt/live/{name}/fullchain.pem",
            f"/etc/letsencrypt/live/{name}/privkey.pem",
        )
    else:
        return
    f.set(f"{role}_certificate_file", cert)
    f.set(f"{role}_key_file", key)


#: The audit's probe mailbox (role directory's directory_probe_accounts; with an existing
#: directory, an account the directory team creates with the password toolkit init made),
#: and the second participant of VC-06's meeting.
PROBE = "audit-probe"
PROBE_2 = "audit-probe-2"


def probe_password_path(s: Settings, name: str = PROBE) -> str:
    folder = "directory/probes" if s.directory is Directory.PROJECT else "identity"
    return f".credentials/{folder}/{name}.password"


def visio_audit_params(s: Settings) -> dict[str, Any]:
    """VC-06: the two probe accounts that meet on the meeting site."""
    return {
        "VC-06": {
            "publisher_login": PROBE,
            "publisher_password_path": probe_password_path(s),
            "subscriber_login": PROBE_2,
            "subscriber_password_path": probe_password_path(s, PROBE_2),
        }
    }


def mail_audit_params(s: Settings) -> dict[str, Any]:
    records = {"domain": s.domain}
    probe = {
        "login": PROBE,
        "address": f"{PROBE}@{s.domain}",
        "password_path": probe_password_path(s),
    }
    return {
        **{f"MAIL-0{n}": dict(records) for n in range(1, 7)},
        "MAIL-07": {"mx_name": f"mail.{s.domain}"},
        "MAIL-10": probe,
        "MAIL-11": {**probe, **records},
    }


#: VPN-05 from a test peer: a service every teleworker's group (staff) reaches through the
#: tunnel, the first platform with a host, and one no VPN group is given (the directory's
#: LDAPS, else the log collector's syslog over TLS); each at its host's inside address.
PEER_ALLOWED = (
    ("mail_servers", 993),
    ("collaboration_servers", 443),
    ("videoconference_servers", 443),
)
PEER_FORBIDDEN = (("directory_servers", 636), ("log_collectors", 6514))


def vpn_peer_audit_params(s: Settings) -> dict[str, Any] | None:
    """VPN-05's targets for the test peers (HOST:PORT), None without both kinds."""

    def first(choices: tuple[tuple[str, int], ...]) -> str | None:
        return next((f"{h.address}:{port}" for g, port in choices for h in s.members(g)), None)

    allowed, forbidden = first(PEER_ALLOWED), first(PEER_FORBIDDEN)
    if allowed is None or forbidden is None:
        return None
    return {"VPN-05": {"allowed": [allowed], "forbidden": [forbidden]}}


def _peers_file(s: Settings, params: dict[str, Any]) -> str:
    v = VarsFile((f"The laptops of {s.env} kept enrolled for the audit (VPN-05).",))
    v.set(
        "audit_params",
        params,
        "What `toolkit audit` checks from a test peer (VPN-05, M7, A13): through the tunnel",
        "it reaches a service the staff group is given and is refused one no VPN group is",
        "given, each at its host's inside address.",
    )
    return v.text()


def _visio_file(s: Settings) -> str:
    v = VarsFile(
        (f"The videoconference host of {s.env} (roles/videoconference).",),
        role="videoconference",
    )
    v.set(
        "audit_params",
        visio_audit_params(s),
        "What `toolkit audit` checks of the meetings (VC-06): two of the audit's probe",
        "accounts meet in headless browsers on the auditor's machine; their passwords are",
        "kept under .credentials/ (relative to this inventory folder).",
    )
    return v.text(with_defaults=True)


def _support_contact(s: Settings) -> str:
    """Who teleworkers call for help or to report an incident (A12, E26)."""
    return s.support_contact or f"Support DSI, support@{s.domain}"


def _laptop_file(s: Settings, admin_networks: list[str]) -> str:
    """The managed laptops' variables: management from the admin networks only."""
    lt = VarsFile((f"The managed laptops of {s.env} (roles/laptop).",), role="laptop")
    lt.set(
        "laptop_ssh_admin_networks",
        admin_networks,
        "SSH to the laptops from the administration's networks only: their firewall drops",
        "every other inbound connection (E8, LAP-07), Ansible's from elsewhere too.",
    )
    lt.set("laptop_support_contact", _support_contact(s))
    return lt.text(with_defaults=True)


def _vpn_file(s: Settings) -> str:
    """The VPN gateway's variables: its endpoint, the services and each group's."""
    vpn = VarsFile((f"The VPN gateway of {s.env} (roles/vpn_gateway).",), role="vpn_gateway")
    vpn.set("vpn_gateway_endpoint", s.vpn_endpoint)
    vpn.set("vpn_gateway_network_v4", s.vpn_network)
    vpn.set("vpn_gateway_dns_servers", list(s.dns_servers))
    vpn.set("vpn_gateway_dns_search", [s.domain])
    vpn.set("vpn_gateway_internal_networks", list(s.internal_networks))
    services = {
        name: {"addresses": _group_addresses(group), "proto": proto, "ports": ports}
        for name, (group, proto, ports) in SERVICES.items()
        if s.members(group)
    }
    services["admin-ssh"] = {
        "addresses": _group_addresses("servers"),
        "proto": "tcp",
        "ports": [22],
    }
    vpn.set("vpn_gateway_services", services)
    groups: dict[str, list[str]] = {name: [] for name in s.reference.vpn_groups}
    groups["staff"] = [n for n in services if n != "admin-ssh"]
    groups["admins"] = ["admin-ssh"]
    vpn.set("vpn_gateway_group_services", groups)
    vpn.set("vpn_gateway_support_contact", _support_contact(s))
    return vpn.text(with_defaults=True)


#: SHA-512 crypt rounds of the admins' sudo password hash: twenty times glibc's default
#: (5,000), about 45 ms a check here. Without it Ansible takes passlib's 656,000 (0.25 s of
#: CPU a check, 0.46 s in passlib), and every sudo of an audit pays it: six concurrent
#: commands a host, each authenticated anew, on every host at once, on 2 cores.
SUDO_HASH_ROUNDS = 100_000


def group_files(s: Settings) -> dict[str, str]:
    """group_vars/<group>/<role>.yml of each platform with hosts."""
    files: dict[str, str] = {}
    admin_networks = list(s.admin_networks or s.internal_networks)
    servers = VarsFile((f"Every server of {s.env} (roles/baseline).",), role="baseline")
    users: dict[str, Any] = {
        "name": s.ssh_user,
        "ssh_keys": [s.admin_public_key] if s.admin_public_key else [],
    }
    users["password_hash"] = (
        f"{{{{ {BECOME_SECRET} | password_hash('sha512', "
        f"65534 | random(seed=inventory_hostname) | string, rounds={SUDO_HASH_ROUNDS}) }}}}"
    )
    servers.set("baseline_admin_users", [users])
    servers.set("baseline_ssh_admin_networks", admin_networks)
    collector = s.members("log_collectors")
    servers.set("baseline_log_collector_host", collector[0].name if collector else "")
    files["servers/baseline.yml"] = servers.text(with_defaults=True)

    if s.members("vpn_gateways"):
        files["vpn_gateways/vpn_gateway.yml"] = _vpn_file(s)

    if s.members("laptops"):
        files["laptops/laptop.yml"] = _laptop_file(s, admin_networks)

    if s.members("directory_servers"):
        d = VarsFile((f"The directory of {s.env} (roles/directory).",), role="directory")
        d.set("directory_base_dn", "{{ identity_base_dn }}")
        d.set("directory_allowed_networks", list(s.internal_networks))
        files["directory_servers/directory.yml"] = d.text(with_defaults=True)

    if collector:
        c = VarsFile(
            (f"The log collector of {s.env} (roles/log_collector).",), role="log_collector"
        )
        c.set("log_collector_allowed_networks", list(s.internal_networks))
        c.set(
            "baseline_log_collector_host",
            "",
            "The collector does not forward its own logs to itself.",
        )
        files["log_collectors/log_collector.yml"] = c.text(with_defaults=True)

    if s.members("mail_servers"):
        m = VarsFile((f"The mail server of {s.env} (roles/mail_server).",), role="mail_server")
        m.set("mail_server_admin_address", s.mail_admin or f"dsi@{s.domain}")
        _certificates(s, m, "mail_server")
        m.set(
            "audit_params",
            mail_audit_params(s),
            "What `toolkit audit` checks of the mail (MAIL-01..11): the domain's public DNS",
            "records, and messages sent to and read from the audit's probe mailbox, whose",
            "password is kept under .credentials/ (relative to this inventory folder).",
        )
        files["mail_servers/mail_server.yml"] = m.text(with_defaults=True)

    if s.members("videoconference_servers"):
        files["videoconference_servers/videoconference.yml"] = _visio_file(s)

    peers = vpn_peer_audit_params(s)
    if s.members("vpn_test_peers") and peers is not None:
        files["vpn_test_peers/audit.yml"] = _peers_file(s, peers)

    if s.members("collaboration_servers"):
        g = VarsFile((f"The groupware of {s.env} (roles/collaboration).",), role="collaboration")
        g.set("collaboration_hostname", f"collab.{s.domain}")
        _certificates(s, g, "collaboration")
        files["collaboration_servers/collaboration.yml"] = g.text(with_defaults=True)
    return files
