"""``toolkit load tunnel``: iperf3's report read as it really comes (a real iperf3 on
127.0.0.1), refused when it is hostile or broken; the plan taken from the gateway's export
and refused, naming the field, when the export is wrong. The measurement through a real
tunnel runs on the shared lab (tests/integration/test_lab_provisioned.py)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tests.ports import free_port
from toolkit.cli.main import cli
from toolkit.errors import ToolkitError
from toolkit.exitcodes import ExitCode
from toolkit.load.tunnel import MAX_REPORT, make_plan, parse_report
from toolkit.text import unsafe_characters


def real_iperf3_report(*extra: str) -> bytes:
    """What iperf3 3.x prints with -J after a 1 s test on 127.0.0.1."""
    port = str(free_port())
    server = subprocess.Popen(
        ["iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", port],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # until it listens (bounded: 5 s); a connection would use up its one test
        listening = ["ss", "-Hltn", f"sport = :{port}"]
        for _ in range(50):
            if subprocess.run(listening, capture_output=True, timeout=5, check=True).stdout:
                break
            time.sleep(0.1)
        client = subprocess.run(
            ["iperf3", "-c", "127.0.0.1", "-p", port, "-t", "1", "-J", *extra],
            capture_output=True,
            timeout=30,
            check=False,
        )
        return client.stdout
    finally:
        server.wait(timeout=30)


def test_a_real_iperf3_report_gives_the_received_throughput_both_ways() -> None:
    into = parse_report(real_iperf3_report("-P", "2"), "into site")
    out = parse_report(real_iperf3_report("-R"), "out of site")
    assert into.mbps > 10 and out.mbps > 10  # loopback carries far more than 10 Mbit/s
    assert into.retransmits >= 0


def test_iperf3_s_own_error_is_reported_printable() -> None:
    report = json.dumps({"start": {}, "error": "unable to connect\x1b[31m to server\x07"})
    with pytest.raises(ToolkitError) as caught:
        parse_report(report.encode(), "laptop01 -> gateway, into site")
    message = str(caught.value)
    assert "laptop01 -> gateway, into site: iperf3: unable to connect" in message
    assert not unsafe_characters(message)


def test_a_real_iperf3_that_finds_no_server_is_an_error_naming_the_test() -> None:
    report = subprocess.run(
        ["iperf3", "-c", "127.0.0.1", "-p", str(free_port()), "-t", "1", "-J"],
        capture_output=True,
        timeout=30,
        check=False,
    ).stdout
    with pytest.raises(ToolkitError, match=r"into site: iperf3: unable to connect"):
        parse_report(report, "into site")


@pytest.mark.parametrize(
    ("report", "said"),
    [
        (b"not json", "field -: Invalid JSON"),
        (b'{"end": {}}', "field end.sum_sent: Field required"),
        (
            b'{"end": {"sum_sent": {"bits_per_second": 1}, '
            b'"sum_received": {"bits_per_second": -5}}}',
            "field end.sum_received.bits_per_second:",
        ),
        (
            b'{"end": {"sum_sent": {"bits_per_second": 1}, '
            b'"sum_received": {"bits_per_second": NaN}}}',
            "field end.sum_received.bits_per_second: Input should be a finite number",
        ),
        (b" " * (MAX_REPORT + 1), f"longer than {MAX_REPORT} bytes"),
    ],
    ids=["not-json", "no-sums", "negative", "nan", "too-long"],
)
def test_a_broken_or_hostile_report_is_refused_naming_the_field(report: bytes, said: str) -> None:
    with pytest.raises(ToolkitError) as caught:
        parse_report(report, "into site")
    assert said in str(caught.value)


def export(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "gateway": "gateway",
        "network_v4": "10.77.0.0/20",
        "address_v4": "10.77.0.1",
        "address_v6": "",
        "throughput": {"port": 5201, "table": "telework_vpn", "sets": ["throughput_v4"]},
        "devices": {"laptop01": {"address_v4": "10.77.0.2", "address_v6": ""}},
    }
    data.update(changes)
    return data


def inventory_with(tmp_path: Path, data: dict[str, Any]) -> Path:
    folder = tmp_path / "inventory"
    (folder / ".vpn" / "gateways").mkdir(parents=True)
    hosts = {
        "all": {
            "children": {
                "vpn_gateways": {"hosts": {"gateway": {"ansible_host": "127.0.0.1"}}},
                "laptops": {"hosts": {"laptop01": {"ansible_host": "127.0.0.1"}}},
            }
        }
    }
    (folder / "hosts.yml").write_text(yaml.safe_dump(hosts), encoding="utf-8")
    (folder / ".vpn" / "gateways" / "gateway.json").write_text(json.dumps(data), "utf-8")
    return folder


def test_the_plan_comes_from_the_gateway_s_export(tmp_path: Path) -> None:
    plan = make_plan(inventory_with(tmp_path, export()), "gateway", None)
    assert (plan.client.name, plan.client_address, plan.gateway_address) == (
        "laptop01",
        "10.77.0.2",
        "10.77.0.1",
    )
    assert (plan.port, plan.table, plan.set_name) == (5201, "telework_vpn", "throughput_v4")
    assert plan.gateway.name == "gateway" and plan.gateway.endpoint.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"throughput": None}, "no throughput settings"),
        (
            {"throughput": {"port": 70000, "table": "telework_vpn", "sets": ["throughput_v4"]}},
            "throughput.port: not a port number",
        ),
        (
            {"throughput": {"port": 5201, "table": "x; flush ruleset", "sets": ["throughput_v4"]}},
            "throughput.table: not an nftables table name",
        ),
        ({"address_v4": "10.77.0.1; reboot"}, "address_v4: not an IP address"),
        (
            {"devices": {"laptop01": {"address_v4": "$(id)"}}},
            "devices.laptop01.address_v4: not an IP address",
        ),
        ({"devices": {}}, "--client 'laptop01'"),
    ],
    ids=["no-settings", "port", "table", "gateway-address", "client-address", "no-device"],
)
def test_a_wrong_export_is_refused_naming_its_field(
    tmp_path: Path, changes: dict[str, Any], said: str
) -> None:
    with pytest.raises(ToolkitError) as caught:
        make_plan(inventory_with(tmp_path, export(**changes)), "gateway", "laptop01")
    assert said in str(caught.value)


def test_a_client_that_is_not_in_the_inventory_is_a_usage_error(tmp_path: Path) -> None:
    inventory = inventory_with(tmp_path, export())
    result = CliRunner().invoke(
        cli, ["load", "tunnel", "-i", str(inventory), "--client", "nowhere\x1b[2J"]
    )
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "--client 'nowhere" in result.output
    assert not unsafe_characters(result.output.replace("\n", ""))


def test_a_test_longer_than_a_minute_is_refused_before_anything_runs(tmp_path: Path) -> None:
    inventory = inventory_with(tmp_path, export())
    result = CliRunner().invoke(cli, ["load", "tunnel", "-i", str(inventory), "--seconds", "61"])
    assert result.exit_code == ExitCode.USAGE
    assert "61 is not in the range 1<=x<=60" in result.output
