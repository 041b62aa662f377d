"""Controls, profiles and requirements as data (audits/), and inventory to audit plans."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.audit.conftest import AUDITS
from toolkit.adapters.ansible import InventoryHost
from toolkit.audit.catalogue import Catalogue, load_catalogue
from toolkit.audit.registry import implementations
from toolkit.audit.targets import endpoint_of, plan, select_hosts
from toolkit.cli.main import cli
from toolkit.errors import InvalidInputError, ToolkitError

ISSUE_CONTROLS = (
    {f"LNX-{i:02d}" for i in range(1, 15)}
    | {f"WEB-0{i}" for i in range(1, 8)}
    | {f"MAIL-{i:02d}" for i in range(1, 12)}
)


VPN_CONTROLS = {f"VPN-0{i}" for i in range(1, 9)}
LOG_CONTROLS = {f"LOG-0{i}" for i in range(1, 5)}
BYOD_CONTROLS = {f"BYOD-0{i}" for i in range(1, 9)}
NET_CONTROLS = {f"NET-{i:02d}" for i in range(1, 11)}
BCK_CONTROLS = {f"BCK-0{i}" for i in range(1, 6)}
VC_CONTROLS = {f"VC-0{i}" for i in range(1, 7)}
LAP_CONTROLS = {f"LAP-{i:02d}" for i in range(1, 13)}


def test_the_catalogue_defines_lnx_web_mail_log_and_vpn_controls(
    catalogue: Catalogue,
) -> None:
    assert set(catalogue.controls) == (
        ISSUE_CONTROLS
        | LOG_CONTROLS
        | VPN_CONTROLS
        | NET_CONTROLS
        | BYOD_CONTROLS
        | BCK_CONTROLS
        | VC_CONTROLS
        | LAP_CONTROLS
    )


def test_every_control_has_an_implementation_severity_and_known_guide_clauses(
    catalogue: Catalogue,
) -> None:
    impls = implementations()
    for cid, control in catalogue.controls.items():
        assert cid in impls
        assert control.spec.guide and all(c in catalogue.requirements for c in control.spec.guide)
    assert catalogue.controls["LNX-03"].spec.guide == ["A8", "A13"]
    assert catalogue.requirements["M8"].startswith("Audit platforms and information systems")


def test_every_server_gets_the_baseline_and_web_platforms_their_tls_ports(
    catalogue: Catalogue,
) -> None:
    hosts = [
        InventoryHost("collab", {}, frozenset({"servers", "collaboration_servers"})),
        InventoryHost("logs", {}, frozenset({"servers", "log_collectors"})),
        InventoryHost("laptop01", {}, frozenset({"laptops"})),
    ]
    plans = {p.name: p for p in plan(catalogue, hosts, Path("/inv"))}
    collab = plans["collab"]
    mail = {f"MAIL-{i:02d}" for i in range(1, 12)}
    assert [c.control.id for c in collab.controls] == sorted(
        ISSUE_CONTROLS - mail | {"LOG-02", "LOG-04", "BCK-01", "BCK-03", "BCK-04"}
    )
    assert (collab.tls_ports, collab.http_ports) == ((443,), (80,))
    log04 = next(c for c in plans["logs"].controls if c.control.id == "LOG-04")
    assert log04.params["require_forwarding"] is False
    assert log04.profiles == ("00-servers", "20-log-collector")
    assert [c.control.id for c in plans["laptop01"].controls] == sorted(LAP_CONTROLS)
    assert plans["laptop01"].controls[0].profiles == ("30-laptops",)
    assert {"LOG-01", "LOG-03"} <= {c.control.id for c in plans["logs"].controls}


def test_the_mail_host_probes_its_https_for_mta_sts_and_autoconfig(catalogue: Catalogue) -> None:
    host = InventoryHost("mail", {}, frozenset({"servers", "mail_servers"}))
    (planned,) = plan(catalogue, [host], Path("/inv"))
    assert {"WEB-01", "WEB-02", "WEB-03", "WEB-04"} <= {c.control.id for c in planned.controls}
    assert (planned.tls_ports, planned.http_ports) == ((443,), (80,))


def test_a_plan_knows_every_host_of_the_inventory_even_those_limit_leaves_out(
    catalogue: Catalogue,
) -> None:
    logs = InventoryHost("logs", {}, frozenset({"servers", "log_collectors"}))
    mail = InventoryHost("mail", {}, frozenset({"servers", "mail_servers"}))
    everyone = {"logs": logs, "mail": mail}
    (planned,) = plan(catalogue, [logs], Path("/inv"), everyone=everyone)
    assert planned.inventory == {
        "logs": frozenset({"servers", "log_collectors"}),
        "mail": frozenset({"servers", "mail_servers"}),
    }


def test_host_audit_params_override_the_profiles(catalogue: Catalogue) -> None:
    host = InventoryHost(
        "db1",
        {"audit_params": {"LNX-06": {"allowed": ["tcp/22", "tcp/5432"]}}},
        frozenset({"servers"}),
    )
    planned = next(
        c for c in plan(catalogue, [host], Path("/inv"))[0].controls if c.control.id == "LNX-06"
    )
    assert planned.params["allowed"] == ["tcp/22", "tcp/5432"]


def test_a_host_parameter_of_the_wrong_type_is_refused(catalogue: Catalogue) -> None:
    host = InventoryHost(
        "db1", {"audit_params": {"LNX-03": {"max_auth_tries": "four"}}}, frozenset({"servers"})
    )
    with pytest.raises(InvalidInputError, match=r"db1.audit_params.LNX-03.max_auth_tries: "):
        plan(catalogue, [host], Path("/inv"))


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "audits"
    shutil.copytree(AUDITS, root)
    return root


def test_a_profile_naming_an_unknown_control_is_refused_with_file_and_line(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    bad = root / "profiles" / "30-bad.yml"
    bad.write_text("description: bad\ngroups: [servers]\ncontrols:\n  - LNX-03\n  - LNX-99\n")
    with pytest.raises(InvalidInputError) as exc:
        load_catalogue(root, frozenset(implementations()))
    assert str(exc.value) == f"{bad}:5: controls.1: unknown control LNX-99"


def test_a_profile_parameter_of_the_wrong_type_is_refused_with_its_line(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    bad = root / "profiles" / "30-bad.yml"
    bad.write_text(
        "description: bad\ngroups: [servers]\ncontrols: [LNX-03]\nparams:\n"
        "  LNX-03:\n    max_auth_tries: many\n"
    )
    with pytest.raises(InvalidInputError) as exc:
        load_catalogue(root, frozenset(implementations()))
    assert str(exc.value) == (
        f"{bad}:6: params.LNX-03.max_auth_tries: max_auth_tries must be a int like its default 4"
    )


def test_a_control_citing_an_unknown_clause_or_without_code_is_refused(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    extra = root / "controls" / "extra.yml"
    extra.write_text(
        "controls:\n  TST-01:\n    title: OS version\n    rationale: patched\n"
        "    severity: high\n    guide: [A10, Z9, M99]\n    groups: [network_devices]\n"
    )
    with pytest.raises(InvalidInputError) as exc:
        load_catalogue(root, frozenset(implementations()))
    assert [str(p) for p in exc.value.problems] == [
        f"{extra}:6: controls.TST-01.guide: not clause IDs like C3 or M7: Z9"
    ]
    extra.write_text(extra.read_text().replace("[A10, Z9, M99]", "[A10, M99]"))
    with pytest.raises(InvalidInputError) as exc:
        load_catalogue(root, frozenset(implementations()))
    assert [str(p) for p in exc.value.problems] == [
        f"{extra}:2: controls.TST-01: no implementation in toolkit/controls/ (@control decorator)",
        f"{extra}:6: controls.TST-01.guide: M99 is not in requirements.yml",
    ]


def test_the_ssh_endpoint_comes_from_the_ansible_variables_with_inventory_dir() -> None:
    host = InventoryHost(
        "gateway",
        {
            "ansible_host": "127.0.0.1",
            "ansible_port": 2201,
            "ansible_user": "admin",
            "ansible_ssh_private_key_file": "{{ inventory_dir }}/.lab/ssh/id_ed25519",
            "ansible_ssh_common_args": "-o UserKnownHostsFile={{ inventory_dir }}/.lab/ssh/"
            "known_hosts -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes",
        },
    )
    endpoint = endpoint_of(host, Path("/srv/inv"))
    assert str(endpoint) == "admin@127.0.0.1:2201"
    assert endpoint.key_file == Path("/srv/inv/.lab/ssh/id_ed25519")
    assert endpoint.known_hosts == Path("/srv/inv/.lab/ssh/known_hosts")


def test_any_other_template_in_the_ssh_variables_is_refused() -> None:
    host = InventoryHost("gw", {"ansible_user": "{{ lookup('env', 'USER') }}"})
    with pytest.raises(InvalidInputError, match=r"gw\.ansible_user: only the"):
        endpoint_of(host, Path("/srv/inv"))


def test_limit_selects_hosts_and_groups_with_exclusions() -> None:
    hosts = {
        n: InventoryHost(n, {}, frozenset(g))
        for n, g in {
            "gateway": {"servers", "vpn_gateways"},
            "mail": {"servers", "mail_servers"},
            "laptop01": {"laptops"},
        }.items()
    }
    assert [h.name for h in select_hosts(hosts, "servers:!mail")] == ["gateway"]
    assert [h.name for h in select_hosts(hosts, "lap*,mail")] == ["laptop01", "mail"]
    assert [h.name for h in select_hosts(hosts, "all:&servers")] == ["gateway", "mail"]
    with pytest.raises(ToolkitError, match="no host matches"):
        select_hosts(hosts, "directory")


def test_audit_refuses_an_unknown_fail_on_level_as_a_usage_error(env_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["audit", "-i", str(env_dir), "--fail-on", "urgent"])
    assert result.exit_code == 2


def test_audit_refuses_an_unknown_control_as_a_usage_error(env_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["audit", "-i", str(env_dir), "--control", "LNX-42"])
    assert result.exit_code == 2
    assert "--control LNX-42: unknown control" in result.stderr


def test_audit_refuses_a_bad_waivers_file_before_touching_any_host(
    env_dir: Path, tmp_path: Path
) -> None:
    waivers = tmp_path / "waivers.yml"
    waivers.write_text("waivers:\n  - control: LNX-07\n    owner: x\n")
    result = CliRunner().invoke(cli, ["audit", "-i", str(env_dir), "--waivers", str(waivers)])
    assert result.exit_code == 4
    assert (
        f"{waivers}:3: waivers.0.owner: String should have at least 2 characters" in result.stderr
    )
    assert f"{waivers}:2: waivers.0.expires: Field required" in result.stderr


def test_audit_of_an_inventory_without_servers_says_there_is_nothing_to_audit(
    env_dir: Path,
) -> None:
    result = CliRunner().invoke(cli, ["audit", "-i", str(env_dir)])
    assert result.exit_code == 2
    assert "not audited (no profile for their groups): localhost" in result.stderr


def test_toolkit_help_lists_audit_and_its_exit_codes() -> None:
    assert "  audit " in CliRunner().invoke(cli, ["--help"]).output
    result = CliRunner().invoke(cli, ["audit", "--help"])
    assert result.exit_code == 0
    assert "Exits 0 when no unwaived failure or error at or above --fail-on, 3" in " ".join(
        result.output.split()
    )
