"""Fuzz of the Linux and logging controls' readings of host answers (``sshd -T``, ``ss``,
``nft -j``, PAM stacks and their conf files, apt, auditctl, passwd/shadow, sudoers,
os-release, rsyslog, ``ssh -Q kex``, banners, login.defs and profiles, limits.conf):
whatever a host prints, a control ends with an Outcome or the
project's own ControlError (an ``error`` result, never a crash, never a pass it cannot
prove), and everything it says comes out of the results model printable."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.audit.conftest import Answer, fake_context, params, with_offer
from tests.fuzz import FUZZ
from toolkit.audit.catalogue import Catalogue, Severity, load_catalogue
from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Status
from toolkit.audit.registry import implementations
from toolkit.audit.results import ControlResult
from toolkit.audit.runner import control_result
from toolkit.audit.targets import PlannedControl
from toolkit.controls import hardening_parsers as hp
from toolkit.controls import linux_parsers as parsers
from toolkit.text import printable

from .conftest import AUDITS

IMPL = implementations()
CATALOGUE: Catalogue = load_catalogue(AUDITS, frozenset(IMPL))

HOSTILE = st.sampled_from(
    [
        "\x1b]0;pwned\x07",
        "\x1b[2J",
        "\u202e",
        "\r",
        "\x00",
        "\x7f",
        "\x85",
        "\u2028",
        "\ufffe",
        "\ud800",
        "[/x]",
        "[bold]",
        ":thumbs_up:",
        "\ufffd",
    ]
)
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=16)
NUMBER = st.integers(-5, 10**12).map(str)


def _answer(*tokens: str) -> st.SearchStrategy[str]:
    """Lines made of the words a parser looks for, numbers, hostile characters and any
    text, separated the ways host tools separate them."""
    known = st.sampled_from(tokens)
    word = st.one_of(known, known, known, HOSTILE, NUMBER, ANY_TEXT)
    joiner = st.sampled_from([" ", " ", " ", "", "\t", "=", ":", " = "])
    line = st.tuples(st.lists(word, max_size=8), joiner).map(lambda wj: wj[1].join(wj[0]))
    return st.lists(line, max_size=12).map("\n".join)


SSHD = _answer(
    "permitrootlogin", "passwordauthentication", "kbdinteractiveauthentication",
    "permitemptypasswords", "maxauthtries", "x11forwarding", "allowagentforwarding",
    "allowtcpforwarding", "allowusers", "allowgroups", "usepam", "yes", "no", "3",
    "prohibit-password", "admin",
)  # fmt: skip
SS = _answer(
    "tcp", "udp", "LISTEN", "UNCONN", "0", "128", "0.0.0.0:22", "[::]:23", "*:443",
    "127.0.0.1:25", "[fe80::1%eth0]:53", "0.0.0.0:*", 'users:(("sshd",pid=1,fd=3))',
    'users:(("', '",pid=', "))", ":", "[", "]",
)  # fmt: skip
PAM = _answer(
    "password", "auth", "requisite", "required", "[success=1]", "pam_pwquality.so",
    "pam_faillock.so", "pam_unix.so", "minlen=14", "minlen=", "minlen", "deny=5", "deny",
    "deny=x", "minclass=3", "minclass", "dcredit=-1", "ucredit=-1", "ocredit", "retry=3",
    "#", "14", "-1", "1e3", "\uff10",
)  # fmt: skip
APT = _answer(
    "Inst", "openssl", "[3.0.1]", "(3.0.2", "Debian-Security:12/stable-security",
    "Debian:12/stable", "[amd64])", "UPD='1'", "UU='1'", "UU=''", "enabled", "disabled",
    "install ok installed", "/var/lib/apt/lists/x_Release", "86400",
)  # fmt: skip
AUDIT = _answer(
    "-w", "/etc/passwd", "/etc/shadow", "/etc/sudoers", "/etc/sudoers.d/", "-p", "wa",
    "-k", "identity", "-F", "path=/etc/group", "dir=/etc/sudoers.d/", "active", "enabled",
)  # fmt: skip
ACCOUNTS = _answer(
    "root:x:0:0:root:/root:/bin/bash", "toor:x:0:0::/:/bin/sh", "admin", "x", "0", ":",
    "::", "admin ALL=(ALL) NOPASSWD: ALL", "%sudo", "ALL=(ALL:ALL)", "NOPASSWD:", "ALL",
    "#include", "#includedir /etc/sudoers.d", "#",
)  # fmt: skip
OS_RELEASE = _answer(
    'ID=debian', 'VERSION_ID="12"', 'VERSION_ID="13"', 'PRETTY_NAME="Debian GNU/Linux 12"',
    "ID=ubuntu", "=", '"',
)  # fmt: skip
RSYSLOG = _answer(
    "/etc/rsyslog.conf:", "/etc/rsyslog.d/50.conf:", "*.*", "@@logs:6514", "@10.0.0.1",
    'action(type="omfwd"', 'target="logs"', 'StreamDriver="gtls"', 'StreamDriverMode="1"',
    ")", "#", "$DefaultNetstreamDriver", "gtls", "active", "/var/log/syslog",
)  # fmt: skip
SERVICES = _answer("active", "inactive", "enabled", "disabled", "yes", "no", "static")
KEX = _answer(
    "curve25519-sha256", "sntrup761x25519-sha512@openssh.com", "mlkem768x25519-sha256",
    "sntrup761x25519-sha512", "\n",
)  # fmt: skip
BANNER = _answer(
    "banner", "/etc/issue.net", "none", "644", "0", "666", "1000", "Accès", "autorisé",
    "تنبيه", "الولوج", "Debian", "GNU/Linux", "\\s", "\\m", "\n",
)  # fmt: skip
LOGIN_DEFS = _answer(
    "UMASK", "027", "022", "0077", "u=rwx,g=rx,o=", "PASS_MAX_DAYS", "99999", "365",
    "PASS_MIN_DAYS", "PASS_WARN_AGE", "ENCRYPT_METHOD", "SHA512", "YESCRYPT", "DES",
    "SHA_CRYPT_MIN_ROUNDS", "SHA_CRYPT_MAX_ROUNDS", "/etc/profile:umask", "umask",
    "session optional pam_umask.so", "umask=0022", "#", "\uff11",
)  # fmt: skip
LIMITS = _answer(
    "*", "root", "@dev", "soft", "hard", "-", "core", "0", "00", "unlimited", "#", "2",
    "podman", "none", "install ok installed", "[Coredump]", "Storage=none",
    "ProcessSizeMax=0", "Storage", "external",
)  # fmt: skip

NFT_KEYS = ["nftables", "chain", "family", "table", "name", "hook", "prio", "policy", "type"]
_JSON_SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), ANY_TEXT,
    st.sampled_from(["input", "drop", "accept", "inet", "ip", "ip6", "filter", "chain"]),
)  # fmt: skip
NFT_KEYS = ["nftables", "chain", "family", "table", "name", "hook", "prio", "policy", "type"]
JSON_VALUE = st.recursive(
    _JSON_SCALAR,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.one_of(st.sampled_from(NFT_KEYS), ANY_TEXT), inner, max_size=5)
    ),
    max_leaves=20,
)
CHAIN = st.fixed_dictionaries(
    {},
    optional={
        "family": st.one_of(st.sampled_from(["inet", "ip", "ip6", "arp"]), JSON_VALUE),
        "table": st.one_of(st.just("filter"), JSON_VALUE),
        "name": st.one_of(st.just("input"), JSON_VALUE),
        "hook": st.one_of(st.sampled_from(["input", "forward"]), JSON_VALUE),
        "prio": JSON_VALUE,
        "policy": st.one_of(st.sampled_from(["drop", "accept"]), JSON_VALUE),
    },
)
NFT_JSON = st.one_of(
    JSON_VALUE.map(json.dumps),
    st.lists(st.one_of(st.builds(lambda c: {"chain": c}, CHAIN), JSON_VALUE), max_size=5).map(
        lambda items: json.dumps({"nftables": items})
    ),
    ANY_TEXT,
)


class DrawingHost:
    """A host that answers every command with what hypothesis draws: an exit code, an
    answer of the control's kind, stderr of any kind."""

    def __init__(self, data: st.DataObject, stdout: st.SearchStrategy[str]) -> None:
        self.data, self.stdout = data, stdout
        self.commands: list[str] = []

    def run(self, command: str) -> Answer:
        self.commands.append(command)
        rc = self.data.draw(st.sampled_from([0, 0, 0, 1, 127]), label=f"rc of {command}")
        out = self.data.draw(self.stdout, label=f"stdout of {command}")
        err = self.data.draw(st.one_of(st.just(""), ANY_TEXT), label=f"stderr of {command}")
        return Answer(rc, out, err)


def drawing_context(data: st.DataObject, stdout: st.SearchStrategy[str]) -> Context:
    """A control's context whose host answers what hypothesis draws (shared by the fuzz
    modules of the audit)."""
    ctx = fake_context({})
    ctx.host = DrawingHost(data, stdout)
    return ctx


def judge(control: str, ctx: Context) -> ControlResult:
    """Run ``control``; only an Outcome or a ControlError may come out. Its result as the
    runner records it in the results model."""
    try:
        outcome = IMPL[control].check(ctx, params(CATALOGUE, control))
    except ControlError as exc:
        outcome = Outcome(Status.ERROR, str(exc))
    assert isinstance(outcome, Outcome)
    planned = PlannedControl(CATALOGUE.controls[control], params(CATALOGUE, control), ())
    return control_result(
        planned,
        outcome=outcome,
        ctx=ctx,
        evidence=ctx.evidence,
        duration=0.0,
        waivers=[],
        fail_on=Severity.HIGH,
        today=date(2026, 11, 25),
    )


def assert_printable(result: ControlResult) -> None:
    """Every text of a result, evidence probes and excerpts too, is already printable."""
    for text in (result.summary, *result.details):
        assert printable(text) == text
    for item in result.evidence:
        for text in (item.probe, item.excerpt):
            assert printable(text, multiline=True) == text


@FUZZ
@given(data=st.data())
def test_lnx03_reads_any_sshd_answer_without_crashing(data: st.DataObject) -> None:
    methods = data.draw(st.none() | st.lists(st.one_of(st.just("password"), ANY_TEXT), max_size=3))
    ctx = with_offer(
        drawing_context(data, SSHD), auth_methods=tuple(methods) if methods is not None else None
    )
    assert_printable(judge("LNX-03", ctx))


@FUZZ
@given(lists=st.lists(st.one_of(st.just("curve25519-sha256"), ANY_TEXT, HOSTILE), max_size=4))
def test_lnx04_judges_any_algorithm_names_a_server_offers(lists: list[str]) -> None:
    ctx = with_offer(fake_context({}), kex=tuple(lists), macs=tuple(reversed(lists)))
    assert_printable(judge("LNX-04", ctx))


@FUZZ
@given(data=st.data())
def test_lnx04_reads_any_ssh_q_kex_answer_without_crashing(data: st.DataObject) -> None:
    kex = data.draw(st.lists(st.one_of(st.just("curve25519-sha256"), ANY_TEXT), max_size=3))
    assert_printable(judge("LNX-04", with_offer(drawing_context(data, KEX), kex=tuple(kex))))


@FUZZ
@given(data=st.data())
def test_lnx12_reads_any_banner_stat_and_sshd_answer_without_crashing(data: st.DataObject) -> None:
    assert_printable(judge("LNX-12", drawing_context(data, BANNER)))


@FUZZ
@given(data=st.data())
def test_lnx13_reads_any_login_defs_profile_and_pam_answer_without_crashing(
    data: st.DataObject,
) -> None:
    assert_printable(judge("LNX-13", drawing_context(data, LOGIN_DEFS)))


@FUZZ
@given(data=st.data())
def test_lnx14_reads_any_limits_sysctl_and_coredump_answer_without_crashing(
    data: st.DataObject,
) -> None:
    assert_printable(judge("LNX-14", drawing_context(data, LIMITS)))


@FUZZ
@given(data=st.data())
def test_lnx05_reads_any_pam_stack_and_conf_file_without_crashing(data: st.DataObject) -> None:
    assert_printable(judge("LNX-05", drawing_context(data, PAM)))


@FUZZ
@given(data=st.data())
def test_lnx06_reads_any_ss_answer_without_crashing(data: st.DataObject) -> None:
    assert_printable(judge("LNX-06", drawing_context(data, SS)))


@FUZZ
@given(data=st.data(), ruleset=NFT_JSON)
def test_lnx07_reads_any_nft_json_without_crashing(data: st.DataObject, ruleset: str) -> None:
    ctx = fake_context({})
    host = DrawingHost(data, SERVICES)
    answers = {"nft -j list ruleset": Answer(0, ruleset)}

    def run(command: str) -> Answer:
        return next((a for k, a in answers.items() if k in command), None) or host.run(command)

    ctx.host = type("NftHost", (), {"run": staticmethod(run)})()
    assert_printable(judge("LNX-07", ctx))


@FUZZ
@given(data=st.data())
def test_lnx01_reads_any_apt_answer_without_crashing(data: st.DataObject) -> None:
    assert_printable(judge("LNX-01", drawing_context(data, APT)))


@FUZZ
@given(data=st.data())
def test_lnx02_reads_any_os_release_without_crashing(data: st.DataObject) -> None:
    assert_printable(judge("LNX-02", drawing_context(data, OS_RELEASE)))


@FUZZ
@given(data=st.data())
def test_lnx08_to_lnx10_read_any_service_answer_without_crashing(data: st.DataObject) -> None:
    for control in ("LNX-08", "LNX-10"):
        assert_printable(judge(control, drawing_context(data, SERVICES)))
    assert_printable(judge("LNX-09", drawing_context(data, AUDIT)))


@FUZZ
@given(data=st.data())
def test_lnx11_reads_any_passwd_shadow_and_sudoers_without_crashing(data: st.DataObject) -> None:
    assert_printable(judge("LNX-11", drawing_context(data, ACCOUNTS)))


@FUZZ
@given(data=st.data())
def test_log04_reads_any_rsyslog_configuration_without_crashing(data: st.DataObject) -> None:
    assert_printable(judge("LOG-04", drawing_context(data, RSYSLOG)))


# --- the parsers on their own --------------------------------------------------------------


@FUZZ
@given(text=SSHD)
def test_the_sshd_parser_gives_lowercase_keys_and_never_crashes(text: str) -> None:
    settings = parsers.sshd_settings(text)
    assert all(key == key.lower() and " " not in key for key in settings)


@FUZZ
@given(text=SS)
def test_the_ss_parser_gives_ports_in_range_or_skips_the_line(text: str) -> None:
    for listener in parsers.listeners(text):
        assert 0 <= listener.port <= 65535
        assert listener.proto and not re.search(r"\s", listener.proto)


@FUZZ
@given(text=NFT_JSON)
def test_the_nft_parser_gives_well_typed_input_chains_or_a_control_error(text: str) -> None:
    try:
        chains = parsers.input_chains(text)
    except ControlError:
        return
    for chain in chains:
        assert all(isinstance(v, str) for v in (chain.family, chain.table, chain.name))
        assert isinstance(chain.policy, str)


@FUZZ
@given(stack=PAM, module=st.sampled_from(["pam_pwquality", "pam_faillock"]))
def test_the_pam_parsers_never_crash_and_numbers_are_numbers_or_a_control_error(
    stack: str, module: str
) -> None:
    present, args = parsers.pam_args(stack, module)
    values: dict[str, Any] = {**parsers.conf_values(stack), **args}
    assert present or not args
    try:
        number = parsers.conf_int(values, "minlen", 8)
    except ControlError:
        return
    assert isinstance(number, int)


@FUZZ
@given(text=st.one_of(LOGIN_DEFS, BANNER, LIMITS, KEX))
def test_the_hardening_parsers_give_their_types_or_nothing(text: str) -> None:
    for name in hp.algorithm_names(text):
        assert name.isascii() and not re.search(r"\s", name) and len(name) <= 64
    assert all(k.isascii() and k.isupper() for k in hp.login_defs(text))
    for _path, word in hp.profile_umasks(text):
        mask = hp.umask_value(word)
        assert mask is None or 0 <= mask <= 0o777
    stat = hp.file_stat(text)
    assert stat is None or 0 <= stat.mode <= 0o7777
    for limit in hp.core_limits(text):
        assert limit.kind in ("soft", "hard", "-")
    found = hp.letters(text)
    assert 0 <= found.latin + found.arabic <= len(text)
