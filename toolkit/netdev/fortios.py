"""FortiOS configuration (``show full-configuration``): a nested parser of its
``config``/``edit``/``set``/``unset``/``next``/``end`` statements.

A ``config PATH`` block holds settings (``set``), entries (``edit NAME`` ... ``next``)
and nested blocks (``config ntpserver`` inside ``config system ntp``); an entry holds
settings and nested ``config`` blocks; blocks nest inside VDOMs (``config
vdom`` / ``edit root``) and inside entries. Values are words or quoted strings, which may
span lines (certificates, replacement messages) and escape ``\\"`` and ``\\\\``. Lines
starting with ``#`` are comments (``#config-version=...`` names the model and release).
Anything else, an unbalanced ``next``/``end`` or a quote left open is a ParseError naming
the line: a configuration half understood is not judged."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from toolkit.netdev.model import Line

_VERSION = re.compile(r"^#config-version=([^:\s]+)")


class ParseError(ValueError):
    """The text is not a FortiOS configuration this parser understands."""


@dataclass(frozen=True)
class Setting:
    key: str
    values: tuple[str, ...]
    line: Line

    @property
    def text(self) -> str:
        return " ".join(self.values)


@dataclass
class Node:
    """A ``config`` block (``kind`` config, ``name`` its path), an ``edit`` entry (``kind``
    edit, ``name`` the entry's name) or the root."""

    kind: str
    name: str
    line: Line | None
    settings: dict[str, Setting] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)
    end: Line | None = None

    @property
    def entries(self) -> list[Node]:
        return [c for c in self.children if c.kind == "edit"]

    def get(self, key: str) -> Setting | None:
        return self.settings.get(key)

    def value(self, key: str, default: str = "") -> str:
        found = self.settings.get(key)
        return found.text if found is not None else default

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()

    def blocks(self, path: str) -> list[Node]:
        """Every ``config PATH`` block at any depth under this node."""
        return [n for n in self.walk() if n.kind == "config" and n.name == path]

    def lines(self) -> list[Line]:
        """The node's own line, its settings' and its end, for evidence."""
        own = [self.line] if self.line else []
        return own + [s.line for s in self.settings.values()]


@dataclass
class FortiConfig:
    root: Node
    #: ``#config-version=`` (model, release, build), or "" when the header is missing.
    version_header: str = ""
    header_line: Line | None = None

    def blocks(self, path: str) -> list[Node]:
        return self.root.blocks(path)

    def block(self, path: str) -> Node | None:
        found = self.blocks(path)
        return found[0] if found else None


def _scan(lines: list[str], i: int) -> tuple[list[str], int]:
    """The words of the statement starting at ``lines[i]`` and the index after it (a
    quoted word may go on over the following lines)."""
    words: list[str] = []
    word: list[str] = []
    quote, in_word, chars, j = "", False, lines[i], 0
    i += 1
    while j < len(chars) or quote:
        if j >= len(chars):
            if i >= len(lines):
                raise ParseError("a quoted value is never closed")
            word.append("\n")
            chars, j, i = lines[i], 0, i + 1
            continue
        ch, j = chars[j], j + 1
        if quote and ch == "\\" and j < len(chars):
            word.append(chars[j])
            j += 1
        elif quote:
            quote = "" if ch == quote else quote
            if quote:
                word.append(ch)
        elif ch in "\"'":
            quote, in_word = ch, True
        elif ch.isspace():
            if in_word:
                words.append("".join(word))
            word, in_word = ([], False) if in_word else (word, in_word)
        else:
            word.append(ch)
            in_word = True
    if in_word:
        words.append("".join(word))
    return words, i


def _statements(text: str) -> Iterator[tuple[int, str, list[str]]]:
    """(line number, first line's text, words) of each statement."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        start, raw = i + 1, lines[i]
        if not raw.strip() or raw.strip().startswith("#"):
            i += 1
            continue
        try:
            words, i = _scan(lines, i)
        except ParseError as exc:
            raise ParseError(f"line {start}: {exc}") from exc
        yield start, raw, words


class _Builder:
    """Builds the tree statement by statement; ``stack`` holds the open blocks."""

    def __init__(self) -> None:
        self.root = Node("root", "", None)
        self.stack = [self.root]

    def open(self, kind: str, name: str, line: Line) -> None:
        node = Node(kind, name, line)
        self.stack[-1].children.append(node)
        self.stack.append(node)

    def close(self, line: Line) -> Node:
        node = self.stack.pop()
        node.end = line
        return node

    def statement(self, line: Line, verb: str, args: list[str]) -> None:
        top = self.stack[-1]
        if verb == "config":
            if not args:
                raise ParseError(f"line {line.number}: `config` needs a path")
            self.open("config", " ".join(args), line)
        elif verb == "edit":
            if len(args) != 1 or top.kind != "config":
                raise ParseError(f"line {line.number}: `edit NAME` belongs in a config block")
            self.open("edit", args[0], line)
        elif verb in {"set", "unset", "append", "select", "unselect"}:
            if not args or top.kind == "root":
                raise ParseError(f"line {line.number}: `{verb}` outside any config block")
            self.setting(top, line, verb, args)
        elif verb == "next":
            if top.kind != "edit":
                raise ParseError(f"line {line.number}: `next` without an open `edit`")
            self.close(line)
        elif verb == "end":
            if top.kind == "edit":  # FortiOS accepts `end` closing the last entry too
                top = self.stack[-2] if len(self.stack) > 1 else top
                self.close(line)
            if top.kind != "config":
                raise ParseError(f"line {line.number}: `end` without an open `config`")
            self.close(line)
        else:
            raise ParseError(f"line {line.number}: unknown statement {verb[:40]!r}")

    @staticmethod
    def setting(top: Node, line: Line, verb: str, args: list[str]) -> None:
        key, values = args[0], tuple(args[1:])
        old = top.settings.get(key)
        if verb == "unset":
            top.settings.pop(key, None)
        elif verb == "set" or old is None:
            top.settings[key] = Setting(key, values, line)
        else:  # append/select add values
            top.settings[key] = Setting(key, old.values + values, old.line)


def parse(text: str) -> FortiConfig:
    """The configuration's tree; ParseError naming the line when it is not one."""
    builder = _Builder()
    result = FortiConfig(builder.root)
    for number, raw in enumerate(text.splitlines(), start=1):
        found = _VERSION.match(raw.strip())
        if found:
            result.version_header, result.header_line = found.group(1), Line(number, raw)
            break
    for number, raw, words in _statements(text):
        builder.statement(Line(number, raw), words[0], words[1:])
    if len(builder.stack) > 1:
        node = builder.stack[-1]
        where = node.line.number if node.line else 0
        raise ParseError(f"line {where}: `{node.kind} {node.name}` is never closed")
    return result
