"""One end-of-life table (audits/end_of_life.yml) for LNX-02 and VPN-01 (A10, M7)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.audit.conftest import fake_context, params
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import ControlError, Status
from toolkit.audit.registry import implementations
from toolkit.controls import end_of_life

IMPL = implementations()
INSTALLED = "wireguard-tools\tii \t1.0.20210914-1+b1\nnftables\tii \t1.0.6-2+deb12u2\n"


def expired_debian_releases() -> list[tuple[str, date]]:
    table = end_of_life.load(end_of_life.table_path())
    return [(v, d) for v, d in table.releases["debian"].items() if d < date.today()]


def host(version: str) -> dict[str, str]:
    return {
        "os-release": f'PRETTY_NAME="Debian {version}"\nID=debian\nVERSION_ID="{version}"\n',
        "dpkg-query": INSTALLED,
        "apt-get -s": "",
    }


def test_the_table_states_its_source_and_the_date_it_was_checked() -> None:
    table = end_of_life.load(end_of_life.table_path())
    assert "debian" in table.source.lower()
    assert table.checked <= date.today()
    assert table.releases["debian"]["12"] == date(2028, 6, 30)


def test_the_table_lists_at_least_one_debian_release_already_out_of_support() -> None:
    assert ("10", date(2024, 6, 30)) in expired_debian_releases()


@pytest.mark.parametrize(("version", "end"), expired_debian_releases())
def test_lnx02_and_vpn01_both_fail_on_a_release_the_table_says_expired(
    catalogue: Catalogue, version: str, end: date
) -> None:
    lnx02 = IMPL["LNX-02"].check(fake_context(host(version)), params(catalogue, "LNX-02"))
    vpn01 = IMPL["VPN-01"].check(fake_context(host(version)), params(catalogue, "VPN-01"))
    assert lnx02.status is Status.FAIL
    assert lnx02.summary == f"Debian {version} reached its end of life on {end}"
    assert vpn01.status is Status.FAIL
    assert vpn01.summary.startswith(f"Debian {version} lost security support on {end}")


def test_lnx02_and_vpn01_pass_bookworm_until_the_tables_date(catalogue: Catalogue) -> None:
    lnx02 = IMPL["LNX-02"].check(fake_context(host("12")), params(catalogue, "LNX-02"))
    vpn01 = IMPL["VPN-01"].check(fake_context(host("12")), params(catalogue, "VPN-01", warn_days=0))
    assert "supported until 2028-06-30" in lnx02.summary
    assert vpn01.status is Status.PASS, vpn01.summary
    assert vpn01.summary.startswith("Debian 12 supported until 2028-06-30")


def test_neither_control_keeps_a_date_table_of_its_own(catalogue: Catalogue) -> None:
    assert "end_of_life" not in catalogue.controls["LNX-02"].spec.params
    releases = catalogue.controls["VPN-01"].spec.params["releases"]
    assert isinstance(releases, dict)
    assert all("end_of_support" not in row for row in releases.values())


def test_a_malformed_table_is_the_controls_error_naming_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "end_of_life.yml"
    bad.write_text('source: "x-y-z"\nchecked: 2026-01-01\nreleases:\n  debian:\n    "12": soon\n')
    with pytest.raises(ControlError, match=r"end_of_life.yml:5: releases.debian.12"):
        end_of_life.support_end("debian", "12", bad)
