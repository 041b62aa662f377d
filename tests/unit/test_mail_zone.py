"""The DNS records the mail_server role writes for a domain, rendered by the role's own
tasks on the control node, parsed by a third-party checker (checkdmarc) and by the
toolkit's MAIL controls. checkdmarc's DNS queries are answered from the written zone:
nothing leaves the machine."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import checkdmarc.dmarc
import checkdmarc.spf
import checkdmarc.utils
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.zone
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.conftest import REPO

DOMAIN = "lab.telework.test"


@pytest.fixture(scope="module")
def zone_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the role's tasks_from dns on localhost, as a converge would."""
    tmp = tmp_path_factory.mktemp("zone")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    playbook = tmp / "zone.yml"
    extra = {
        "telework_mail_domains": [DOMAIN],
        "mail_server_admin_address": f"postmaster@{DOMAIN}",
        "mail_server_zone_dir": str(tmp / ".mail"),
        "mail_server_public_ipv4": "192.0.2.25",
        "__mail_server_dkim_info": {"public_key": pem},
    }
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.include_role: {name: mail_server, tasks_from: dns}\n"
    )
    env = {
        "ANSIBLE_ROLES_PATH": str(REPO / "roles"),
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
    }
    subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            json.dumps(extra),
            str(playbook),
        ],
        check=True,
        env=env,
        timeout=120,
        capture_output=True,
    )
    return tmp / ".mail" / f"{DOMAIN}.zone"


def answers_from(zone_file: Path) -> Callable[..., list[str]]:
    zone = dns.zone.from_file(str(zone_file), origin=DOMAIN, relativize=False, check_origin=False)

    def query_dns(domain: str, record_type: str, **kwargs: Any) -> list[str]:
        node = zone.get_node(dns.name.from_text(domain))
        rdataset = (
            node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.from_text(record_type))
            if node
            else None
        )
        if not rdataset:
            return []
        if record_type == "TXT":
            return [b"".join(r.strings).decode() for r in rdataset]
        return [r.to_text().rstrip(".") for r in rdataset]

    return query_dns


@pytest.fixture
def offline_checkdmarc(zone_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = answers_from(zone_file)
    for module in (checkdmarc.utils, checkdmarc.spf, checkdmarc.dmarc):
        monkeypatch.setattr(module, "query_dns", fake)


def txt(zone_file: Path, name: str) -> str:
    return answers_from(zone_file)(name, "TXT")[0]


@pytest.mark.usefixtures("offline_checkdmarc")
def test_checkdmarc_parses_the_spf_record_and_counts_one_lookup(zone_file: Path) -> None:
    parsed = checkdmarc.spf.parse_spf_record(txt(zone_file, DOMAIN), DOMAIN)
    assert parsed["dns_lookups"] == 1
    assert parsed["parsed"]["all"] == "fail"
    mechanism = parsed["parsed"]["mechanisms"][0]
    assert (mechanism["action"], mechanism["mechanism"]) == ("pass", "mx")
    assert mechanism["hosts"][0]["hostname"] == f"mail.{DOMAIN}"


@pytest.mark.usefixtures("offline_checkdmarc")
def test_checkdmarc_parses_the_dmarc_record_as_quarantine_with_reports(zone_file: Path) -> None:
    parsed = checkdmarc.dmarc.parse_dmarc_record(txt(zone_file, f"_dmarc.{DOMAIN}"), DOMAIN)
    assert parsed["tags"]["p"]["value"] == "quarantine"
    assert parsed["tags"]["rua"]["value"][0]["address"] == f"postmaster@{DOMAIN}"


def test_the_zone_has_mx_dkim_mta_sts_and_tls_rpt_records(zone_file: Path) -> None:
    lookup = answers_from(zone_file)
    assert lookup(DOMAIN, "MX") == [f"10 mail.{DOMAIN}"]
    assert txt(zone_file, f"telework._domainkey.{DOMAIN}").startswith(
        "v=DKIM1; k=rsa; h=sha256; p=MIIBIjAN"
    )
    assert txt(zone_file, f"_mta-sts.{DOMAIN}").startswith("v=STSv1; id=")
    assert txt(zone_file, f"_smtp._tls.{DOMAIN}") == f"v=TLSRPTv1; rua=mailto:postmaster@{DOMAIN}"
    assert lookup(f"mta-sts.{DOMAIN}", "CNAME") == [f"mail.{DOMAIN}"]
