"""The MAIL-10 test attachments are what they claim to be: oletools (an independent reader
of Office files) finds a real, auto-executing VBA macro in the test document."""

from __future__ import annotations

import io
import zipfile

import olefile
from oletools.olevba import VBA_Parser, decompress_stream

from toolkit.mail.samples import EICAR, MACRO_SOURCE, macro_document, ovba_compress, vba_project


def test_the_eicar_string_is_the_standard_68_bytes() -> None:
    assert len(EICAR) == 68
    assert EICAR.startswith(b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR")


def test_ovba_compression_is_read_back_by_oletools() -> None:
    text = (MACRO_SOURCE * 3).encode()
    assert decompress_stream(bytearray(ovba_compress(text))) == text


def test_the_vba_project_is_a_compound_file_with_the_vba_streams() -> None:
    ole = olefile.OleFileIO(io.BytesIO(vba_project()))
    streams = {"/".join(entry) for entry in ole.listdir()}
    assert {"VBA/dir", "VBA/_VBA_PROJECT", "VBA/Module1", "PROJECT", "PROJECTwm"} <= streams
    assert ole.openstream("VBA/_VBA_PROJECT").read()[:2] == b"\xcc\x61"


def test_olevba_finds_an_autoopen_macro_in_the_word_document() -> None:
    document = macro_document()
    with zipfile.ZipFile(io.BytesIO(document)) as z:
        assert "word/vbaProject.bin" in z.namelist()
    parser = VBA_Parser("rapport.docx", data=document)
    try:
        assert parser.detect_vba_macros()
        codes = [code for *_, code in parser.extract_macros()]
        assert any("Sub AutoOpen()" in code for code in codes)
        kinds = {kind for kind, *_ in parser.analyze_macros()}
        assert "AutoExec" in kinds
    finally:
        parser.close()


def test_a_document_without_the_project_has_no_macro() -> None:
    buf = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(macro_document())) as src,
        zipfile.ZipFile(buf, "w") as out,
    ):
        for name in src.namelist():
            if name != "word/vbaProject.bin":
                out.writestr(name, src.read(name))
    parser = VBA_Parser("plain.docx", data=buf.getvalue())
    try:
        assert not parser.detect_vba_macros()
    finally:
        parser.close()
