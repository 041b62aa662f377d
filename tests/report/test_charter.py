"""M17, A19, A15, A7: the telework charter of a teleworker, typeset by WeasyPrint from the
inventory's template with the Arabic name joined and right to left, signed by the
administration as PAdES and checked by pyHanko's own validator.

The golden image (tests/report/golden/charter-ar.png, the Arabic page drawn by pdftoppm)
is compared with a tolerance; after a deliberate change of the template regenerate it with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/report/test_charter.py

and look at it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from PIL import Image, ImageChops

from tests.conftest import REPO
from tests.report.lab_data import write_inventory
from toolkit.cli.main import cli
from toolkit.errors import InvalidInputError
from toolkit.exitcodes import ExitCode
from toolkit.report import charter, charter_sign
from toolkit.roster import load_environment_roster

GOLDEN = Path(__file__).parent / "golden" / "charter-ar.png"
BIDI_MARKS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u200e\u200f"))
#: Pixels of the page (348,894 at 60 dpi) that may differ by more than a quarter of the
#: grey scale from the golden image: antialiasing moves a few; the Arabic name alone drawn
#: with its letters unjoined moves 310 (measured), a page set left to right thousands.
TOLERANCE = 100


def _make_ca(pki: Path) -> None:
    """An internal CA like the pki role's, made for the test."""
    pki.mkdir(parents=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test internal CA")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    (pki / "ca.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    (pki / "ca.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = write_inventory(tmp_path_factory.mktemp("charter") / "inv")
    shutil.copytree(REPO / "inventories" / "lab" / "charter", folder / "charter")
    _make_ca(folder / ".pki")
    return folder


@pytest.fixture(scope="module")
def signed_pdf(inventory: Path) -> bytes:
    """The signed charter of dsi01 (Amina Benali, أمينة بنعلي), signed on a fixed day."""
    roster = load_environment_roster(inventory)
    template = charter.load_template(inventory / "charter")
    worker = roster.by_id("dsi01")
    pdf = charter.render_pdf(
        charter.render_html(template, worker, roster, date(2026, 11, 23)), template.folder
    )
    signer = charter_sign.lab_signer(inventory, template.settings.administration.fr)
    return charter_sign.sign(pdf, signer, reason="Charte (M17)", location="Rabat")


def _tool(*argv: str, stdin: bytes = b"") -> bytes:
    binary = shutil.which(argv[0])
    if binary is None:
        pytest.fail(f"{argv[0]} is not installed: ./run setup installs poppler-utils")
    return subprocess.run(
        [binary, *argv[1:]], input=stdin, capture_output=True, check=True, timeout=60
    ).stdout


def test_the_text_layer_holds_the_arabic_name_in_reading_order(
    signed_pdf: bytes, tmp_path: Path
) -> None:
    pdf = tmp_path / "c.pdf"
    pdf.write_bytes(signed_pdf)
    text = _tool("pdftotext", "-enc", "UTF-8", str(pdf), "-").decode().translate(BIDI_MARKS)
    assert "أمينة بنعلي" in text  # logical order: a left-to-right run would read reversed
    assert "ينلعب ةنيمأ" not in text
    assert "Charte du télétravail" in text and "ميثاق العمل عن بعد" in text
    assert "Guide clauses: M17, A19, A15, A3, A7, A12, E27" in text
    fonts = _tool("pdffonts", str(pdf)).decode()
    assert "Noto-Naskh-Arabic" in fonts  # a font with Arabic glyphs is embedded


def test_the_arabic_page_matches_the_golden_image(signed_pdf: bytes, tmp_path: Path) -> None:
    pdf = tmp_path / "c.pdf"
    pdf.write_bytes(signed_pdf)
    _tool("pdftoppm", "-r", "60", "-f", "2", "-l", "2", "-png", str(pdf), str(tmp_path / "p"))
    (page,) = tmp_path.glob("p-*.png")
    if os.environ.get("UPDATE_GOLDEN"):
        shutil.copy(page, GOLDEN)
    with Image.open(page) as drawn, Image.open(GOLDEN) as golden:
        assert drawn.size == golden.size
        diff = ImageChops.difference(drawn.convert("L"), golden.convert("L"))
        changed = diff.point(lambda p: 255 if p > 64 else 0).histogram()[255]
        assert changed <= TOLERANCE, f"{changed} pixels differ from {GOLDEN}"
        # not blank: the page has text, in the right half more than the left (right to left)
        gray = drawn.convert("L")
        width, height = gray.size
        ink = [
            gray.crop(box).point(lambda p: 255 if p < 128 else 0).histogram()[255]
            for box in ((0, 0, width // 2, height // 3), (width // 2, 0, width, height // 3))
        ]
        assert ink[1] > ink[0] > 0


def test_the_pades_signature_verifies_and_fails_after_one_byte_changes(
    signed_pdf: bytes, inventory: Path
) -> None:
    ca = inventory / ".pki" / "ca.crt"
    good = charter_sign.verify(signed_pdf, ca)
    assert good.ok, good.summary
    assert "Telework charters" in good.signer
    assert b"/SubFilter /ETSI.CAdES.detached" in signed_pdf  # PAdES, not adbe.pkcs7
    tampered = bytearray(signed_pdf)
    where = signed_pdf.index(b"stream", len(signed_pdf) // 4) + 20  # inside page content
    tampered[where] ^= 0x01
    bad = charter_sign.verify(bytes(tampered), ca)
    assert not bad.ok
    assert "intact=False" in bad.summary or "not a readable" in bad.summary


def test_a_signature_by_another_ca_is_not_trusted(signed_pdf: bytes, tmp_path: Path) -> None:
    _make_ca(tmp_path / "other")
    result = charter_sign.verify(signed_pdf, tmp_path / "other" / "ca.crt")
    assert not result.ok and "trusted=False" in result.summary


def test_roster_charter_signs_records_the_date_and_validate_warns_about_the_rest(
    inventory: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    out = tmp_path / "charters"
    result = runner.invoke(
        cli, ["roster", "charter", "-i", str(inventory), "dsi01", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    pdf = out / "dsi01.pdf"
    assert oct(pdf.stat().st_mode & 0o777) == "0o600"
    roster = load_environment_roster(inventory)
    assert roster.by_id("dsi01").charter_signed_on == date.today()
    warned = sorted(w.line for w in roster.warnings if w.field == "charter_signed_on")
    active = sorted(t.line for t in roster.teleworkers if t.active and t.id != "dsi01")
    assert warned == active
    verified = runner.invoke(cli, ["report", "verify-charter", "-i", str(inventory), str(pdf)])
    assert verified.exit_code == 0, verified.output
    assert "intact, valid, trusted" in verified.output
    data = bytearray(pdf.read_bytes())
    data[len(data) // 3] ^= 0x01
    pdf.write_bytes(bytes(data))
    refused = runner.invoke(cli, ["report", "verify-charter", "-i", str(inventory), str(pdf)])
    assert refused.exit_code == ExitCode.CHECK_FAILED
    assert "NOT VALID" in refused.stderr


def test_a_revoked_teleworker_gets_no_charter(inventory: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["roster", "charter", "-i", str(inventory), "rh03", "-o", str(tmp_path)]
    )
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "rh03: telework revoked (C5)" in result.stderr
    assert not list(tmp_path.glob("*.pdf"))


def test_the_template_runs_sandboxed_and_reads_nothing_outside_its_folder(
    inventory: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "charter"
    shutil.copytree(inventory / "charter", folder)
    (folder / "charter.html.j2").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    roster = load_environment_roster(inventory)
    template = charter.load_template(folder)
    with pytest.raises(InvalidInputError, match="template error"):
        charter.render_html(template, roster.by_id("dsi01"), roster, date(2026, 11, 23))
    fetcher = charter._fetcher(folder.resolve())
    for url in ("file:///etc/passwd", "http://127.0.0.1:9/logo.png", f"{folder.as_uri()}/../x"):
        with pytest.raises(ValueError, match="only use files of"):
            fetcher.fetch(url)


@pytest.mark.parametrize("config", ["ansible.cfg", "toolkit/ansible.cfg"])
def test_ansible_does_not_read_the_charter_folder_as_inventory(config: str) -> None:
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / config)}
    proc = subprocess.run(
        [str(REPO / ".venv" / "bin" / "ansible-inventory"), "-i", "inventories/lab", "--list"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "charter" not in proc.stderr
    groups = json.loads(proc.stdout)
    assert not {"administration", "signer", "support"} & set(groups)
