"""``toolkit audit`` against real lab containers (M8).

A lab of its own (``ttk-audit``, free ports): ``clean`` is hardened for the controls under
test, ``weak`` is the same host deliberately weakened (password and root SSH login, TLS 1.0
offered, no firewall, an extra UID 0 account), and ``ghost`` is in the inventory but has
no container. Controls that no lab container can pass yet (auditd, AIDE, updates, ...)
fail on both hosts alike: the tests compare the two."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.conftest import REPO
from toolkit.adapters.podman import Podman
from toolkit.cli.main import cli
from toolkit.lab.lab import free_local_ports

pytestmark = pytest.mark.lab

LAB = "ttk-audit"
FIXTURES = Path(__file__).parent / "fixtures"
# report.json and its records as parsed: their shape is what the tests below assert.
JsonObject = dict[str, Any]

HARDENED_SSHD = """\
MaxAuthTries 3
X11Forwarding no
AllowAgentForwarding no
AllowTcpForwarding no
AllowUsers admin
"""
WEAKENED_SSHD = "PasswordAuthentication yes\nPermitRootLogin yes\n" + HARDENED_SSHD
FIREWALL = """\
flush ruleset
table inet filter {
  chain input {
    type filter hook input priority 0; policy drop;
    iif lo accept
    ct state established,related accept
    tcp dport { 22, 80, 443 } accept
  }
}
"""


def _pem(obj: x509.Certificate | rsa.RSAPrivateKey) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _certificates(folder: Path, names: list[str]) -> None:
    """A test CA (ca.pem) and, for each name, NAME.crt/NAME.key signed by it."""
    now = datetime.now(UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ttk-audit test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=400))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "ca.pem").write_bytes(_pem(ca))
    for name in names:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .sign(ca_key, hashes.SHA256())
        )
        (folder / f"{name}.crt").write_bytes(_pem(cert) + _pem(ca))
        (folder / f"{name}.key").write_bytes(_pem(key))


def _exec(container: str, script: str) -> None:
    Podman()("exec", container, "sh", "-euc", script, timeout=60)


def _prepare(inventory: Path, host: str, *, weak: bool) -> None:
    podman = Podman()
    container = f"{LAB}-{host}"
    podman("exec", container, "mkdir", "-p", "/srv/ttk")
    for name in ("web.py",):
        podman("cp", str(FIXTURES / name), f"{container}:/srv/ttk/{name}")
    for suffix in (".crt", ".key"):
        podman("cp", str(inventory / f"{host}{suffix}"), f"{container}:/srv/ttk/site{suffix}")
    sshd = WEAKENED_SSHD if weak else HARDENED_SSHD
    # sshd keeps the first value it reads: sort before the lab's 00-lab.conf
    conf = "/etc/ssh/sshd_config.d/00-a-ttk.conf"
    script = f"cat > {conf} <<'EOF'\n{sshd}EOF\nsystemctl reload ssh\n"
    if weak:
        script += "useradd -o -u 0 -g 0 -M -s /usr/sbin/nologin toor\n"
    else:
        script += (
            f"cat > /etc/nftables.conf <<'EOF'\n{FIREWALL}EOF\n"
            "nft -f /etc/nftables.conf\nsystemctl enable --quiet nftables\n"
        )
    _exec(container, script)
    mode = "tls10" if weak else "strong"
    podman(
        "exec",
        "-d",
        container,
        "python3",
        "/srv/ttk/web.py",
        mode,
        "/srv/ttk/site.crt",
        "/srv/ttk/site.key",
    )


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    inv = tmp_path_factory.mktemp("audit") / "audit-lab"
    (inv / "group_vars" / "all").mkdir(parents=True)
    lab_vars = (REPO / "inventories" / "lab" / "group_vars" / "all" / "lab.yml").read_text()
    (inv / "group_vars" / "all" / "lab.yml").write_text(
        lab_vars.replace("lab_name: telework-lab", f"lab_name: {LAB}")
    )
    # The lab's admin is the provisioning account: its NOPASSWD is expected (LNX-11).
    (inv / "group_vars" / "all" / "audit.yml").write_text(
        "audit_params:\n  LNX-11: {nopasswd_allowed: [admin]}\naudit_ca_file: ca.pem\n"
    )
    clean_port, weak_port, ghost_port = free_local_ports(3)
    hosts = {
        "all": {
            "children": {
                "servers": {
                    "children": {
                        "collaboration_servers": {
                            "hosts": {
                                "clean": {"ansible_port": clean_port},
                                "weak": {"ansible_port": weak_port},
                            }
                        }
                    }
                }
            }
        }
    }
    (inv / "hosts.yml").write_text(yaml.safe_dump(hosts))
    _certificates(inv, ["clean", "weak"])
    up = CliRunner().invoke(cli, ["lab", "up", "-i", str(inv)])
    assert up.exit_code == 0, up.output
    try:
        _prepare(inv, "clean", weak=False)
        _prepare(inv, "weak", weak=True)
        # A host of the inventory that has no container: nothing answers on its port.
        servers = hosts["all"]["children"]["servers"]["children"]
        servers["collaboration_servers"]["hosts"]["ghost"] = {"ansible_port": ghost_port}
        (inv / "hosts.yml").write_text(yaml.safe_dump(hosts))
        yield inv
    finally:
        CliRunner().invoke(cli, ["lab", "down", "-i", str(inv)])


def _audit(inventory: Path, out: Path, *args: str) -> tuple[Result, JsonObject]:
    result = CliRunner().invoke(
        cli, ["audit", "-i", str(inventory), "-o", str(out), "--no-progress", *args]
    )
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    return result, report


@pytest.fixture(scope="module")
def full_run(
    inventory: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Result, JsonObject]:
    return _audit(inventory, tmp_path_factory.mktemp("run"))


def _statuses(report: JsonObject, host: str) -> dict[str, str]:
    hosts = {h["host"]: h for h in report["hosts"]}
    return {r["control"]: r["status"] for r in hosts[host]["results"]}


def _not_passing(report: JsonObject, host: str) -> set[str]:
    return {c for c, s in _statuses(report, host).items() if s in ("fail", "error")}


def test_an_unreachable_host_exits_5_while_the_others_are_still_reported(
    full_run: tuple[Result, JsonObject],
) -> None:
    result, report = full_run
    assert result.exit_code == 5, result.output
    hosts = {h["host"]: h for h in report["hosts"]}
    assert hosts["ghost"]["reachable"] is False
    assert hosts["ghost"]["error"].endswith("cannot connect: Connection refused")
    assert {r["status"] for r in hosts["ghost"]["results"]} == {"error"}
    planned = {r["control"] for r in hosts["ghost"]["results"]}
    assert {"LNX-01", "LNX-11", "LOG-02", "WEB-01"} <= planned
    for name in ("clean", "weak"):
        assert hosts[name]["reachable"] is True
        assert {r["control"] for r in hosts[name]["results"]} == planned
    assert "ghost: unreachable" in result.stdout
    assert "html report: " in result.stdout


def test_the_weakened_host_fails_exactly_lnx03_lnx07_lnx11_web01_web02_more_than_the_clean_one(
    full_run: tuple[Result, JsonObject],
) -> None:
    _, report = full_run
    # TLS 1.0 has no AEAD suite: offering it takes CBC suites, which OpenSSL then accepts
    # in TLS 1.2 too, so WEB-02 rightly fails beside WEB-01.
    assert _not_passing(report, "weak") - _not_passing(report, "clean") == {
        "LNX-03",
        "LNX-07",
        "LNX-11",
        "WEB-01",
        "WEB-02",
    }
    assert _not_passing(report, "clean") <= _not_passing(report, "weak")


def test_the_clean_host_passes_lnx03_lnx07_lnx11_and_web01_to_web04(
    full_run: tuple[Result, JsonObject],
) -> None:
    statuses = _statuses(full_run[1], "clean")
    for control in ("LNX-02", "LNX-03", "LNX-06", "LNX-07", "LNX-11"):
        assert statuses[control] == "pass", control
    for control in ("WEB-01", "WEB-02", "WEB-03", "WEB-04"):
        assert statuses[control] == "pass", control


def _result(report: JsonObject, host: str, control: str) -> JsonObject:
    hosts = {h["host"]: h for h in report["hosts"]}
    return next(r for r in hosts[host]["results"] if r["control"] == control)


def test_lnx03_names_password_and_root_login_with_sshd_and_wire_evidence(
    full_run: tuple[Result, JsonObject],
) -> None:
    found = _result(full_run[1], "weak", "LNX-03")
    assert "PermitRootLogin yes" in found["summary"]
    assert "PasswordAuthentication yes" in found["summary"]
    assert "the server offers password authentication" in found["summary"]
    probes = [e["probe"] for e in found["evidence"]]
    assert "sudo -S -p '' /bin/sh -c 'sshd -T'" in probes  # the lab admin's password on stdin
    assert any(p.startswith("SSH 'none' authentication request") for p in probes)
    assert found["guide"] == ["A8", "A13"]
    assert found["blocking"] is True


def test_web01_reports_tls10_from_an_sslyze_probe(
    full_run: tuple[Result, JsonObject],
) -> None:
    found = _result(full_run[1], "weak", "WEB-01")
    assert "port 443 accepts TLSv1.0, TLSv1.1" in found["summary"]
    assert any("accepted: TLSv1.0" in e["excerpt"] for e in found["evidence"])


def test_lnx07_and_lnx11_say_what_is_missing_on_the_weakened_host(
    full_run: tuple[Result, JsonObject],
) -> None:
    report = full_run[1]
    assert "no input chain with policy drop" in _result(report, "weak", "LNX-07")["summary"]
    assert _result(report, "weak", "LNX-11")["summary"] == "UID 0 besides root: toor"


def test_the_html_json_and_junit_reports_are_written_and_agree(
    inventory: Path, tmp_path: Path
) -> None:
    result, report = _audit(inventory, tmp_path, "--limit", "clean:weak")
    assert result.exit_code == 3, result.output
    assert report["verdict"] == "no-go"
    junit = (tmp_path / "junit.xml").read_text()
    assert 'testsuite name="weak"' in junit
    assert 'classname="weak.WEB-01"' in junit
    html = (tmp_path / "report.html").read_text()
    assert "NO-GO" in html
    assert "Technical means to protect data exchanged electronically" in html  # A11


def test_a_changed_host_key_is_refused_and_the_host_reported_unreachable(
    inventory: Path, tmp_path: Path
) -> None:
    known = inventory / ".lab" / "ssh" / "known_hosts"
    original = known.read_text()
    lines = original.splitlines()
    clean_line = next(
        ln for ln in lines if ln.startswith(f"[127.0.0.1]:{_port(inventory, 'clean')} ")
    )
    weak_line = next(
        ln for ln in lines if ln.startswith(f"[127.0.0.1]:{_port(inventory, 'weak')} ")
    )
    swapped = [clean_line.split()[0] + " " + " ".join(weak_line.split()[1:])]
    known.write_text("\n".join([*swapped, weak_line]) + "\n")
    try:
        result, report = _audit(inventory, tmp_path, "--limit", "clean", "--control", "LNX-02")
        assert result.exit_code == 5
        assert "differs from" in report["hosts"][0]["error"]
        # accepting new keys never accepts a changed one
        result, _ = _audit(
            inventory, tmp_path, "--limit", "clean", "--control", "LNX-02",
            "--accept-new-host-keys",
        )  # fmt: skip
        assert result.exit_code == 5
    finally:
        known.write_text(original)


def test_an_unknown_host_key_is_refused_unless_new_keys_are_accepted(
    inventory: Path, tmp_path: Path
) -> None:
    known = inventory / ".lab" / "ssh" / "known_hosts"
    original = known.read_text()
    port = _port(inventory, "clean")
    known.write_text(
        "".join(
            ln + "\n" for ln in original.splitlines() if not ln.startswith(f"[127.0.0.1]:{port} ")
        )
    )
    try:
        args = ("--limit", "clean", "--control", "LNX-02")
        result, report = _audit(inventory, tmp_path, *args)
        assert result.exit_code == 5
        assert "is not in" in report["hosts"][0]["error"]
        result, report = _audit(inventory, tmp_path, *args, "--accept-new-host-keys")
        assert result.exit_code == 0, result.output
        assert f"[127.0.0.1]:{port} ssh-ed25519 " in known.read_text()
    finally:
        known.write_text(original)


def _port(inventory: Path, host: str) -> int:
    data = yaml.safe_load((inventory / "hosts.yml").read_text())
    hosts = data["all"]["children"]["servers"]["children"]["collaboration_servers"]["hosts"]
    return int(hosts[host]["ansible_port"])


def test_baseline_shows_lnx11_better_once_the_extra_uid0_account_is_removed(
    inventory: Path, full_run: tuple[Result, JsonObject], tmp_path: Path
) -> None:
    # runs last: it repairs the weakened host
    previous = tmp_path / "previous.json"
    previous.write_text(json.dumps(full_run[1]))
    _exec(f"{LAB}-weak", "sed -i '/^toor:/d' /etc/passwd /etc/shadow /etc/group")
    result, report = _audit(
        inventory, tmp_path / "now", "--limit", "weak", "--baseline", str(previous)
    )
    assert result.exit_code == 3, result.output
    changes = {(c["host"], c["control"]): c["direction"] for c in report["baseline"]["changes"]}
    assert changes[("weak", "LNX-11")] == "better"
    assert {d for (h, _), d in changes.items() if h == "weak"} == {"better"}
    assert {d for (h, _), d in changes.items() if h != "weak"} == {"gone"}
    assert "  better  weak LNX-11: fail -> pass" in result.stdout
