"""Harmless test attachments that a mail server must stop (E17, E19; control MAIL-10).

- ``EICAR``: the industry's anti-virus test string; every scanner reports it, it does
  nothing.
- :func:`macro_document`: a Word document carrying a real VBA project: an OLE2 compound
  file (MS-CFB) with the ``VBA/dir``, ``VBA/_VBA_PROJECT`` and module streams that Office,
  ClamAV (``Heuristics.OLE2.ContainsMacros``) and oletools read as a macro. Its one module
  is an ``AutoOpen`` that shows a message box: a document a teleworker would be tricked
  into opening, with the payload taken out. Built here byte by byte, so no binary sample
  sits in the repository and no tool outside the standard library is needed.
"""

from __future__ import annotations

import io
import itertools
import struct
import uuid
import zipfile
from dataclasses import dataclass, field

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

MACRO_SOURCE = (
    'Attribute VB_Name = "Module1"\r\n'
    "Sub AutoOpen()\r\n"
    '    MsgBox "telework-toolkit: test document with a macro (E17). Report it."\r\n'
    "End Sub\r\n"
)

# MS-CFB special sector numbers.
_FREE, _END, _FAT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
_SECTOR, _MINI, _CUTOFF = 512, 64, 4096
_STORAGE, _STREAM, _ROOT = 1, 2, 5


def ovba_compress(data: bytes) -> bytes:
    """MS-OVBA 2.4.1 compressed container made of literal tokens only (a valid, if
    unshrunk, encoding): signature byte, then chunks of at most 4096 decompressed bytes."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), 4096):
        chunk = data[start : start + 4096]
        body = bytearray()
        for at in range(0, len(chunk), 8):
            body += b"\x00" + chunk[at : at + 8]  # flag byte 0: eight literal tokens
        if len(body) > 4096:  # a compressed chunk holds at most 4098 bytes with its header
            raise ValueError("a chunk of more than 3640 bytes needs real compression")
        header = (len(body) + 2 - 3) | (0b011 << 12) | 0x8000
        out += struct.pack("<H", header) + body
    return bytes(out)


def _record(ident: int, data: bytes) -> bytes:
    return struct.pack("<HI", ident, len(data)) + data


def _dir_stream(project: str, module: str) -> bytes:
    """The ``VBA/dir`` stream (MS-OVBA 2.3.4.2), before compression."""
    name = project.encode("ascii")
    mod = module.encode("ascii")
    mod16 = module.encode("utf-16-le")
    info = b"".join(
        [
            _record(0x0001, struct.pack("<I", 1)),  # SYSKIND: Win32
            _record(0x0002, struct.pack("<I", 0x409)),  # LCID
            _record(0x0014, struct.pack("<I", 0x409)),  # LCIDINVOKE
            _record(0x0003, struct.pack("<H", 1252)),  # CODEPAGE
            _record(0x0004, name),  # NAME
            _record(0x0005, b"") + _record(0x0040, b""),  # DOCSTRING (+ unicode)
            _record(0x0006, b"") + _record(0x003D, b""),  # HELPFILEPATH 1 and 2
            _record(0x0007, struct.pack("<I", 0)),  # HELPCONTEXT
            _record(0x0008, struct.pack("<I", 0)),  # LIBFLAGS
            struct.pack("<HIIH", 0x0009, 4, 1, 0),  # VERSION: reserved 4, major, minor
            _record(0x000C, b"") + _record(0x003C, b""),  # CONSTANTS (+ unicode)
        ]
    )
    modules = _record(0x000F, struct.pack("<H", 1)) + _record(0x0013, struct.pack("<H", 0xFFFF))
    modules += b"".join(
        [
            _record(0x0019, mod),  # MODULENAME
            _record(0x0047, mod16),  # MODULENAMEUNICODE
            _record(0x001A, mod) + _record(0x0032, mod16),  # MODULESTREAMNAME (+ unicode)
            _record(0x001C, b"") + _record(0x0048, b""),  # MODULEDOCSTRING (+ unicode)
            _record(0x0031, struct.pack("<I", 0)),  # MODULEOFFSET: source at 0
            _record(0x001E, struct.pack("<I", 0)),  # MODULEHELPCONTEXT
            _record(0x002C, struct.pack("<H", 0xFFFF)),  # MODULECOOKIE
            _record(0x0021, b""),  # MODULETYPE: procedural
            _record(0x002B, b""),  # module terminator
        ]
    )
    return info + modules + _record(0x0010, b"")  # dir terminator


def _project_stream(project: str, module: str) -> bytes:
    """The ``PROJECT`` stream (MS-OVBA 2.3.1): what the VBA editor shows."""
    ident = "{" + str(uuid.UUID(int=0x7E1E_0000_0000_4000_8000_0000_0000_0017)).upper() + "}"
    return (
        f'ID="{ident}"\r\nModule={module}\r\nName="{project}"\r\nHelpContextID="0"\r\n'
        f'VersionCompatible32="393222000"\r\nCMG=""\r\nDPB=""\r\nGC=""\r\n\r\n'
        f"[Host Extender Info]\r\n&H00000001={{3832D640-CF90-11CF-8E43-00A0C911005A}};VBE;"
        f"&H00000000\r\n"
    ).encode("ascii")


@dataclass
class _Entry:
    name: str
    kind: int
    data: bytes = b""
    children: list[_Entry] = field(default_factory=list)
    index: int = 0
    start: int = _END
    left: int = _NOSTREAM
    right: int = _NOSTREAM
    child: int = _NOSTREAM


def _sort_key(entry: _Entry) -> tuple[int, str]:
    # MS-CFB 2.6.4: shorter names first, then by upper-case code points.
    return len(entry.name), entry.name.upper()


def compound_file(root_children: list[_Entry]) -> bytes:  # noqa: PLR0915 (one layout, in file order)
    """An MS-CFB version 3 file of small streams (all in the mini stream)."""
    root = _Entry("Root Entry", _ROOT, children=root_children)
    entries: list[_Entry] = []

    def number(entry: _Entry) -> None:
        entry.index = len(entries)
        entries.append(entry)
        for child in entry.children:
            number(child)

    number(root)
    # Siblings form a chain of right links in sorted order (a valid all-black tree of
    # depth n is not required by readers; MS-CFB readers walk left/right/child links).
    for entry in entries:
        ordered = sorted(entry.children, key=_sort_key)
        for before, after in itertools.pairwise(ordered):
            before.right = after.index
        if ordered:
            entry.child = ordered[0].index

    mini = bytearray()
    minifat: list[int] = []
    for entry in entries:
        if entry.kind != _STREAM:
            continue
        if len(entry.data) >= _CUTOFF:
            raise ValueError(f"stream {entry.name} too large for this writer")
        if not entry.data:
            entry.start = _END
            continue
        count = -(-len(entry.data) // _MINI)
        entry.start = len(minifat)
        minifat += [entry.start + i + 1 for i in range(count - 1)] + [_END]
        mini += entry.data.ljust(count * _MINI, b"\0")

    dir_sectors = -(-len(entries) // 4)
    minifat_sectors = max(1, -(-len(minifat) * 4 // _SECTOR))
    mini_sectors = -(-len(mini) // _SECTOR)
    first_dir, first_minifat = 1, 1 + dir_sectors
    first_mini = first_minifat + minifat_sectors
    total = first_mini + mini_sectors
    if total > _SECTOR // 4:
        raise ValueError("more sectors than one FAT sector maps")
    fat = [_FREE] * (_SECTOR // 4)
    fat[0] = _FAT

    def chain(first: int, count: int) -> None:
        for i in range(count):
            fat[first + i] = first + i + 1 if i < count - 1 else _END

    chain(first_dir, dir_sectors)
    chain(first_minifat, minifat_sectors)
    chain(first_mini, mini_sectors)
    root.start, root.data = (first_mini if mini else _END), bytes(mini)

    directory = bytearray()
    for entry in entries:
        name = entry.name.encode("utf-16-le") + b"\0\0"
        size = len(entry.data) if entry.kind in (_STREAM, _ROOT) else 0
        start = entry.start if entry.kind in (_STREAM, _ROOT) else 0
        directory += struct.pack(
            "<64sHBBIII16sIQQIQ",
            name,
            len(name),
            entry.kind,
            1,  # black
            entry.left,
            entry.right,
            entry.child,
            b"\0" * 16,
            0,
            0,
            0,
            start,
            size,
        )
    empty = struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 0, _NOSTREAM, _NOSTREAM, _NOSTREAM,
                        b"\0" * 16, 0, 0, 0, 0, 0)  # fmt: skip
    while len(directory) < dir_sectors * _SECTOR:
        directory += empty

    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        b"\0" * 16,
        0x003E,  # minor version
        0x0003,  # major version 3: 512-byte sectors
        0xFFFE,  # little endian
        9,  # sector shift
        6,  # mini sector shift
        b"\0" * 6,
        0,  # directory sectors (0 in version 3)
        1,  # FAT sectors
        first_dir,
        0,  # transaction signature
        _CUTOFF,
        first_minifat,
        minifat_sectors,
        _END,  # no DIFAT sector
        0,
    )
    header += struct.pack("<109I", 0, *([_FREE] * 108))
    minifat_bytes = struct.pack(f"<{len(minifat)}I", *minifat).ljust(
        minifat_sectors * _SECTOR, b"\xff"
    )
    body = (
        struct.pack(f"<{len(fat)}I", *fat)
        + bytes(directory)
        + minifat_bytes
        + bytes(mini).ljust(mini_sectors * _SECTOR, b"\0")
    )
    return header + body


def vba_project(
    source: str = MACRO_SOURCE, project: str = "Project", module: str = "Module1"
) -> bytes:
    """``vbaProject.bin``: a VBA project with one procedural module holding ``source``."""
    vba = _Entry(
        "VBA",
        _STORAGE,
        children=[
            _Entry("_VBA_PROJECT", _STREAM, struct.pack("<HHBH", 0x61CC, 0xFFFF, 0, 0)),
            _Entry("dir", _STREAM, ovba_compress(_dir_stream(project, module))),
            _Entry(module, _STREAM, ovba_compress(source.encode("cp1252"))),
        ],
    )
    project_wm = module.encode("cp1252") + b"\0" + module.encode("utf-16-le") + b"\0\0" + b"\0\0"
    return compound_file(
        [
            vba,
            _Entry("PROJECT", _STREAM, _project_stream(project, module)),
            _Entry("PROJECTwm", _STREAM, project_wm),
        ]
    )


def macro_document(source: str = MACRO_SOURCE) -> bytes:
    """A macro-enabled Word document (OOXML, what Word saves as .docm) with a VBA project."""
    types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
        '<Override PartName="/word/document.xml" '
        'ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>'
    )
    package_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="word/document.xml" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/officeDocument"/></Relationships>'
    )
    document_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="vbaProject.bin" '
        'Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject"/>'
        "</Relationships>"
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>Facture</w:t></w:r></w:p></w:body></w:document>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", types)
        z.writestr("_rels/.rels", package_rels)
        z.writestr("word/document.xml", document)
        z.writestr("word/_rels/document.xml.rels", document_rels)
        z.writestr("word/vbaProject.bin", vba_project(source))
    return buf.getvalue()
