"""Role baseline's hardening beyond the usual roles, rendered here as Ansible renders it:
sshd puts the post-quantum hybrids this host's OpenSSH has first, keeps MaxSessions at
what toolkit audit needs, the banners hold the French and Arabic text LNX-12 asks for and
let no agetty sequence through, login.defs gets what LNX-13 asks for, the kernel settings
and refused modules are written as data (roles/baseline/vars/main.yml, templates/)."""

from __future__ import annotations

from typing import Any

import jinja2
import yaml
from ansible.plugins.filter.core import FilterModule
from jinja2.nativetypes import NativeEnvironment

from tests.audit.conftest import AUDITS, fake_context
from tests.conftest import REPO
from toolkit.audit.catalogue import load_catalogue
from toolkit.audit.model import Params, Status
from toolkit.audit.registry import implementations
from toolkit.audit.runner import MAX_HOST_CONCURRENCY, Limits
from toolkit.controls import hardening_parsers as hp

BASELINE = REPO / "roles" / "baseline"
DEFAULTS: dict[str, Any] = yaml.safe_load((BASELINE / "defaults" / "main.yml").read_text())
VARS: dict[str, Any] = yaml.safe_load((BASELINE / "vars" / "main.yml").read_text())
IMPL = implementations()
CATALOGUE = load_catalogue(AUDITS, frozenset(IMPL))
#: `ssh -Q kex` of OpenSSH 9.2p1 (Debian 12), 10.0p1 (Debian 13) and 8.4p1 (Debian 11).
BOOKWORM = [
    "diffie-hellman-group14-sha256", "diffie-hellman-group16-sha512", "ecdh-sha2-nistp256",
    "curve25519-sha256", "curve25519-sha256@libssh.org", "sntrup761x25519-sha512",
    "sntrup761x25519-sha512@openssh.com",
]  # fmt: skip
TRIXIE = [*BOOKWORM, "mlkem768x25519-sha256"]
BULLSEYE = ["diffie-hellman-group16-sha512", "curve25519-sha256", "curve25519-sha256@libssh.org"]


def _filters() -> dict[str, Any]:
    """Ansible's core filters but its ``default``, which expects Ansible's own Undefined:
    Jinja's does what Ansible's does here."""
    return {k: f for k, f in FilterModule().filters().items() if k not in ("default", "d")}


def internal(name: str, **overrides: Any) -> Any:
    """An internal variable of vars/main.yml, as Ansible computes it (native types)."""
    env = NativeEnvironment(undefined=jinja2.StrictUndefined)
    env.filters.update(_filters())
    return env.from_string(VARS[name]).render(**{**DEFAULTS, **overrides})


def template(path: str, **overrides: Any) -> str:
    env = jinja2.Environment(  # noqa: S701 (configuration files, not HTML; as Ansible renders them)
        loader=jinja2.FileSystemLoader(BASELINE / "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,  # Ansible's template module default
        trim_blocks=True,
    )
    env.filters.update(_filters())
    return env.get_template(path).render(
        {"ansible_managed": "Ansible managed", **DEFAULTS, **overrides}
    )


def kex(supported: list[str] | None, **overrides: Any) -> list[str]:
    registered = {} if supported is None else {"stdout_lines": supported}
    return list(
        internal("__baseline_ssh_kex", __baseline_ssh_kex_supported=registered, **overrides)
    )


def test_sshd_puts_first_the_post_quantum_hybrids_this_openssh_has() -> None:
    classical = DEFAULTS["baseline_ssh_kex_algorithms"]
    assert kex(TRIXIE) == [
        "mlkem768x25519-sha256",
        "sntrup761x25519-sha512@openssh.com",
        "sntrup761x25519-sha512",
        *classical,
    ]
    assert kex(BOOKWORM)[:2] == ["sntrup761x25519-sha512@openssh.com", "sntrup761x25519-sha512"]
    assert kex(BULLSEYE) == classical
    assert kex(None) == classical  # a dry run before openssh is installed
    assert kex(TRIXIE, baseline_ssh_kex_post_quantum=[]) == classical


def test_a_hybrid_also_listed_among_the_classical_ones_is_offered_once() -> None:
    classical = ["sntrup761x25519-sha512@openssh.com", "curve25519-sha256"]
    assert kex(BOOKWORM, baseline_ssh_kex_algorithms=classical) == [
        "sntrup761x25519-sha512@openssh.com",
        "sntrup761x25519-sha512",
        "curve25519-sha256",
    ]


def sshd(**overrides: Any) -> dict[str, str]:
    text = template(
        "etc/ssh/sshd_config.d/10-telework-baseline.conf.j2",
        __baseline_ssh_kex=kex(TRIXIE),
        **overrides,
    )
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    return {ln.split(" ", 1)[0]: ln.split(" ", 1)[1] for ln in lines}


def test_the_sshd_drop_in_offers_the_hybrid_first_and_sets_the_lynis_items() -> None:
    conf = sshd()
    assert conf["KexAlgorithms"].startswith("mlkem768x25519-sha256,sntrup761x25519-sha512@")
    assert conf["MaxSessions"] == "10"
    assert (conf["Compression"], conf["TCPKeepAlive"]) == ("no", "no")
    assert conf["Banner"] == "/etc/issue.net"
    assert "Banner" not in sshd(baseline_banner_enabled=False)


def test_maxsessions_stays_at_least_the_sessions_toolkit_audit_opens_on_one_connection() -> None:
    assert Limits.host_concurrency <= MAX_HOST_CONCURRENCY
    assert DEFAULTS["baseline_ssh_max_sessions"] >= MAX_HOST_CONCURRENCY
    preflight = (BASELINE / "tasks" / "preflight.yml").read_text()
    assert f"baseline_ssh_max_sessions | int >= {MAX_HOST_CONCURRENCY}" in preflight


def test_the_banners_the_role_writes_pass_lnx12_and_name_no_system() -> None:
    issue = template("etc/issue.j2")
    issue_net = template("etc/issue.net.j2")
    assert "Ansible" not in issue + issue_net  # shown as they are: no header
    answers = {
        "sshd -T": "banner /etc/issue.net\n",
        "stat ": "644 0 0\n",
        r"head -c \d+ -- /etc/issue$": issue,
        r"head -c \d+ -- /etc/issue\.net$": issue_net,
    }
    lnx12 = CATALOGUE.controls["LNX-12"]
    outcome = IMPL["LNX-12"].check(fake_context(answers), dict(lnx12.spec.params))
    assert outcome.status is Status.PASS, outcome.summary


def test_a_backslash_in_the_banner_text_reaches_agetty_escaped() -> None:
    issue = template("etc/issue.j2", baseline_banner_fr="Accès \\s réservé", baseline_banner_ar="")
    assert "Accès \\\\s réservé" in issue
    assert "Accès \\s réservé" in template(
        "etc/issue.net.j2", baseline_banner_fr="Accès \\s réservé", baseline_banner_ar=""
    )


def test_login_defs_gets_what_lnx13_asks_for() -> None:
    defs = {k: str(v) for k, v in internal("__baseline_login_defs").items()}
    params: Params = CATALOGUE.controls["LNX-13"].spec.params  # as the control reads them
    umask = hp.umask_value(defs["UMASK"])
    assert umask is not None and hp.at_least_as_strict(umask, 0o027)
    assert int(defs["PASS_MAX_DAYS"]) <= params["max_password_days"]
    assert int(defs["PASS_MIN_DAYS"]) >= params["min_password_days"]
    assert int(defs["PASS_WARN_AGE"]) >= params["min_warn_days"]
    assert defs["ENCRYPT_METHOD"] in params["encrypt_methods"]
    assert int(defs["SHA_CRYPT_MIN_ROUNDS"]) >= params["min_sha_rounds"]
    yescrypt = internal("__baseline_login_defs", baseline_password_encrypt_method="YESCRYPT")
    assert "SHA_CRYPT_MIN_ROUNDS" not in yescrypt
    profile = template("etc/profile.d/telework-umask.sh.j2")
    assert "umask 027" in profile.splitlines()


def test_the_kernel_settings_merge_the_extra_ones_and_keep_the_core_dump_one() -> None:
    settings = internal(
        "__baseline_sysctl",
        baseline_sysctl_extra={"net.ipv4.conf.all.rp_filter": 2, "kernel.sysrq": ""},
    )
    assert settings["net.ipv4.conf.all.rp_filter"] == 2
    assert "kernel.sysrq" not in settings
    assert settings["fs.suid_dumpable"] == 0
    assert "net.ipv4.ip_forward" not in settings  # role vpn_gateway's to set
    assert internal("__baseline_sysctl", baseline_sysctl_enabled=False) == {"fs.suid_dumpable": 0}
    assert (
        internal(
            "__baseline_sysctl", baseline_sysctl_enabled=False, baseline_core_dumps_disabled=False
        )
        == {}
    )
    text = template("etc/sysctl.d/50-telework-baseline.conf.j2", __baseline_sysctl=settings)
    assert "fs.suid_dumpable = 0" in text.splitlines()
    assert "-net.ipv6.conf.all.accept_redirects = 0" in text.splitlines()


def test_each_refused_module_is_blacklisted_and_cannot_be_loaded_by_hand() -> None:
    lines = template("etc/modprobe.d/telework-baseline.conf.j2").splitlines()
    for module in ("dccp", "sctp", "rds", "tipc", "usb-storage", "firewire-core"):
        assert f"blacklist {module}" in lines
        assert f"install {module} /bin/false" in lines
    empty = template(
        "etc/modprobe.d/telework-baseline.conf.j2", baseline_kernel_modules_disabled=[]
    )
    assert [ln for ln in empty.splitlines() if not ln.startswith("#")] == []


def test_needrestart_lists_the_services_to_restart_and_the_core_limits_cover_root() -> None:
    needrestart = template("etc/needrestart/conf.d/50-telework.conf.j2")
    assert "$nrconf{restart} = 'l';" in needrestart.splitlines()
    limits = hp.core_limits(template("etc/security/limits.d/50-telework-coredump.conf.j2"))
    assert {(x.domain, x.kind, x.value) for x in limits} == {
        ("*", "soft", "0"), ("*", "hard", "0"), ("root", "soft", "0"), ("root", "hard", "0"),
    }  # fmt: skip
