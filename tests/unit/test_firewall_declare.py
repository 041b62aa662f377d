"""Role baseline's entry point firewall_declare: the one template every role's ports go
through writes IPv4 and IPv6 sources to ``ip saddr`` and ``ip6 saddr``, keeps port ranges,
and no value of an inventory (a comment, a network, an interface) can add a rule or break
the ruleset; the roles that declare ports all call it and keep no template of their own
(roles/baseline/tasks/firewall_declare.yml, templates/etc/nftables.d/declared.nft.j2)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import jinja2
import pytest
import yaml
from ansible.plugins.filter.core import FilterModule

from tests.conftest import REPO
from tests.loading import load_module

BASELINE = REPO / "roles" / "baseline"
CALLERS = (
    "backup",
    "collaboration",
    "directory",
    "log_collector",
    "mail_server",
    "videoconference",
    "vpn_gateway",
)
HOSTILE = [
    'x" accept; tcp dport 22 accept comment "y',
    "line\nbreak\rand\x0bmore\x85\u2028\u2029",
    "bidi \u202e override\u2066",
    "back\\slash",
    "tab\there",
    "\x00nul",
    "é" * 100,
    "x" * 300,
    "",
]


def _plugin() -> ModuleType:
    path = BASELINE / "filter_plugins" / "baseline_firewall.py"
    return load_module(path, "baseline_firewall_filters")


F = _plugin()


def render(name: str, rules: Any, chain: str = "input") -> str:
    env = jinja2.Environment(  # noqa: S701 (an nft file, not HTML; as Ansible renders it)
        loader=jinja2.FileSystemLoader(BASELINE / "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,  # Ansible's template module default
    )
    env.filters.update(FilterModule().filters())
    env.filters.update(F.FilterModule().filters())
    return env.get_template("etc/nftables.d/declared.nft.j2").render(
        ansible_managed="Ansible managed",
        baseline_firewall_declare_name=name,
        baseline_firewall_declare_rules=rules,
        __baseline_firewall_declare_chain=chain,
    )


def rules_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def nft_accepts(
    text: str, tmp_path: Path, chain: str = "input"
) -> subprocess.CompletedProcess[str]:
    """``nft -c`` of the declaration inside a chain of a table of its own, as baseline's
    ruleset includes it (nothing is loaded)."""
    declared = tmp_path / f"{chain}-x.nft"
    declared.write_text(text)
    ruleset = tmp_path / "ruleset.nft"
    ruleset.write_text(
        "table inet telework_test_declared {\n"
        f"  chain {chain} {{\n    type filter hook {chain} priority filter; policy accept;\n"
        f'    include "{declared}"\n  }}\n}}\n'
    )
    return subprocess.run(
        ["nft", "-c", "-f", str(ruleset)], capture_output=True, text=True, timeout=30, check=False
    )


def nft_usable(tmp_path: Path) -> bool:
    if shutil.which("nft") is None:
        return False
    return nft_accepts("tcp dport 1 accept\n", tmp_path).returncode == 0


def test_sources_of_both_families_are_split_into_ip_and_ip6_saddr() -> None:
    text = render(
        "directory",
        [
            {
                "ports": [389, 636],
                "sources": ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"],
                "comment": "directory",
            }
        ],
    )
    assert rules_of(text) == [
        'tcp dport { 389, 636 } ip saddr { 10.0.0.0/8, 192.0.2.7 } accept comment "directory"',
        'tcp dport { 389, 636 } ip6 saddr { 2001:db8::/32 } accept comment "directory"',
    ]


def test_no_sources_accepts_from_anywhere_and_one_port_has_no_braces() -> None:
    assert rules_of(render("vpn_gateway", [{"proto": "udp", "ports": [51820]}])) == [
        'udp dport 51820 accept comment "vpn_gateway"'
    ]


def test_ranges_and_ports_given_as_text_are_kept() -> None:
    text = render(
        "videoconference",
        [{"proto": "udp", "ports": ["10000-20000", "49160-49200", "3478"], "comment": "media"}],
    )
    assert rules_of(text) == ['udp dport { 10000-20000, 49160-49200, 3478 } accept comment "media"']


def test_an_interface_rule_for_the_forward_chain_needs_no_port() -> None:
    text = render("vpn_gateway", [{"iifname": "wg0", "comment": "vpn_gateway"}], chain="forward")
    assert rules_of(text) == ['iifname "wg0" accept comment "vpn_gateway"']
    assert "\n# forward rules of vpn_gateway," in text


def test_the_baseline_allow_list_with_its_single_port_renders_as_before() -> None:
    text = render("baseline", [{"port": "60000-60100", "proto": "udp", "sources": ["fd00::/8"]}])
    assert rules_of(text) == [
        'udp dport 60000-60100 ip6 saddr { fd00::/8 } accept comment "baseline"'
    ]


def test_no_rule_writes_only_the_header() -> None:
    assert rules_of(render("log_collector", [])) == []


@pytest.mark.parametrize("comment", HOSTILE, ids=range(len(HOSTILE)))
def test_a_hostile_comment_stays_one_quoted_nft_comment_of_at_most_128_bytes(comment: str) -> None:
    lines = rules_of(render("mail_server", [{"ports": [25], "comment": comment}]))
    assert len(lines) == 1
    found = re.fullmatch(r'tcp dport 25 accept comment "([^"\\]*)"', lines[0])
    assert found is not None, lines[0]
    text = found.group(1)
    assert 0 < len(text.encode()) <= F.NFT_COMMENT_MAX
    assert text.isprintable()
    assert not set(text) & set("\u202e\u2066")


def test_an_empty_comment_falls_back_to_the_name() -> None:
    assert rules_of(render("mail_server", [{"ports": [25], "comment": " \n "}])) == [
        'tcp dport 25 accept comment "mail_server"'
    ]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"ports": ["22 } accept"]}, "ports[0]"),
        ({"ports": [0]}, "ports[0]"),
        ({"ports": [65536]}, "ports[0]"),
        ({"ports": ["20-10"]}, "ports[0]"),
        ({"ports": [True]}, "ports[0]"),
        ({"ports": [22], "sources": ["10.0.0.0/8 } accept"]}, "sources[0]"),
        ({"ports": [22], "sources": "10.0.0.0/8"}, "sources"),
        ({"ports": [22], "proto": "icmp"}, "proto"),
        ({"iifname": 'wg0" accept'}, "iifname"),
        ({"sources": ["10.0.0.0/8"]}, "ports"),
        ({}, "ports"),
    ],
)
def test_a_bad_field_is_one_error_naming_it_and_nothing_is_written(
    rule: dict[str, Any], field: str
) -> None:
    with pytest.raises(
        F.AnsibleFilterError, match=re.escape(f"baseline_firewall_declare_rules[0].{field}")
    ):
        render("x", [rule])


@pytest.mark.parametrize("name", ["../etc/passwd", "Up", "a b", "", "x\ny"])
def test_a_name_that_is_no_plain_file_name_is_refused(name: str) -> None:
    with pytest.raises(F.AnsibleFilterError, match="baseline_firewall_declare_name"):
        render(name, [{"ports": [22]}])


def test_nft_accepts_what_the_template_writes_even_from_hostile_values(tmp_path: Path) -> None:
    if not nft_usable(tmp_path):
        pytest.skip("nft -c cannot run here (needs nftables and CAP_NET_ADMIN)")
    rules = [
        {"ports": [389, 636], "sources": ["10.0.0.0/8", "2001:db8::1"], "comment": c}
        for c in HOSTILE
    ] + [{"proto": "udp", "ports": ["10000-20000", 3478]}]
    proc = nft_accepts(render("directory", rules), tmp_path)
    assert proc.returncode == 0, proc.stderr
    forward = render("vpn_gateway", [{"iifname": "wg0"}], chain="forward")
    proc = nft_accepts(forward, tmp_path, chain="forward")
    assert proc.returncode == 0, proc.stderr


def _tasks(role: str) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = []
    for path in sorted((REPO / "roles" / role / "tasks").glob("*.yml")):
        tasks += yaml.safe_load(path.read_text()) or []
    return tasks


def test_every_role_that_serves_a_port_declares_it_through_baseline_and_keeps_no_copy() -> None:
    for role in CALLERS:
        calls = [
            t
            for t in _tasks(role)
            if (t.get("ansible.builtin.include_role") or {}).get("tasks_from") == "firewall_declare"
        ]
        assert calls, role
        for call in calls:
            assert call["ansible.builtin.include_role"]["name"] == "baseline"
            assert call["ansible.builtin.include_role"]["handlers_from"] == "entry_points"
            assert call["vars"]["baseline_firewall_declare_name"] == role
        folder = REPO / "roles" / role
        assert not list(folder.glob("templates/etc/nftables.d/*")), role
        text = "\n".join(p.read_text() for p in folder.glob("*/*.yml"))
        assert "/etc/nftables.conf" not in text, role


def test_the_entry_points_document_every_variable_their_tasks_read() -> None:
    specs = yaml.safe_load((BASELINE / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    for entry, prefix in (
        ("firewall_declare", "baseline_firewall_declare_"),
        ("sshd_apply", "baseline_sshd_apply_"),
    ):
        text = (BASELINE / "tasks" / f"{entry}.yml").read_text()
        if entry == "firewall_declare":
            text += (BASELINE / "templates" / "etc" / "nftables.d" / "declared.nft.j2").read_text()
        used = set(re.findall(rf"(?<![_a-z]){prefix}[a-z_]+", text))
        assert used, entry
        assert used <= set(specs[entry]["options"]), (entry, used - set(specs[entry]["options"]))
    rule = specs["firewall_declare"]["options"]["baseline_firewall_declare_rules"]["options"]
    assert set(rule) == {"proto", "ports", "sources", "iifname", "comment"}
    assert yaml.safe_load((BASELINE / "handlers" / "entry_points.yml").read_text()) == []
