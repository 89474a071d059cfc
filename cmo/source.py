"""Reading YAML while remembering where every value came from.

The file is read by libyaml (PyYAML's C parser, ``yaml.CSafeLoader``) as a stream of events, and
this module builds the values itself, in one pass, so that

- each value's YAML path (``("chains", 2, "mechanism")``) maps to its line and column;
- duplicate keys are reported instead of silently overwritten;
- ``yes``/``no``/``on``/``off`` stay text (YAML 1.2 booleans: only ``true`` and ``false``), so a
  label "no" does not become False;
- a tag on any node (``!!python/object/apply:…``, ``!!binary``, ``!custom``) is a finding: the
  theory language has no use for tags;
- an anchored value is built once and shared by its aliases, and aliases may repeat at most
  :data:`ALIAS_LIMIT` values in all (a "billion laughs" file is a finding, not an exhausted
  machine); an alias inside its own anchor is a finding;
- control characters, numbers too long to read and impossible dates are findings, not crashes.

Time and memory grow linearly with the file. Only regular files of at most
:data:`MAX_FILE_BYTES` are read (:func:`read_bytes`): a device, a pipe or a symbolic link that leads
in a circle is refused with a reason, never read until memory runs out or waited on forever.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cmo.errors import InputError
from cmo.findings import Finding

Loc = tuple[str | int, ...]

#: Largest file cmo reads (bytes). A theory or indicator file is a few kilobytes; 10 MB
#: validates in seconds.
MAX_FILE_BYTES = 32 * 1024 * 1024
#: How many values aliases (``*name``) may repeat in one file, in all (values inside an
#: anchored mapping or list count each time it is repeated, keys merged with ``<<`` too).
ALIAS_LIMIT = 100_000
#: How deeply lists and mappings may nest.
MAX_DEPTH = 200

_LOADER: type[Any] = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_QUOTED = frozenset(("'", '"', "|", ">"))
# What YAML does not allow in a file (PyYAML's reader's own pattern, compiled once).
_NOT_PRINTABLE: re.Pattern[str] = yaml.reader.Reader.NON_PRINTABLE

# YAML 1.1's implicit resolvers without its booleans (yes/no/on/off/y/n), plus YAML 1.2's.
_RESOLVERS: dict[str, list[tuple[str, re.Pattern[str]]]] = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _ch in "tTfF":
    _RESOLVERS.setdefault(_ch, []).append(
        ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"))
    )
_CONSTRUCTORS = yaml.SafeLoader.yaml_constructors
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


def _mark(mark: Any) -> int:
    """A parser mark as one int (line and column, 0-based): small to keep for every value."""
    return int(mark.line) << 32 | int(mark.column)


def _position(packed: int) -> Position:
    return Position((packed >> 32) + 1, (packed & 0xFFFFFFFF) + 1)


_LOW = (1 << 64) - 1


class _Where:
    """Positions of a mapping or list and of what it holds, mirroring the data (lean: a 10 MB
    file has a million values).

    ``at`` is the container's own position and ``key_at`` that of its key (-1: none); ``items``
    holds, per key or index, a child ``_Where`` or, for a scalar, its position packed with its
    key's: ``(key position + 1) << 64 | value position``.
    """

    __slots__ = ("at", "items", "key_at")

    def __init__(self, at: int, items: Any, key_at: int = -1) -> None:
        self.at = at
        self.items: Any = items
        self.key_at = key_at

    def under_key(self, key_at: int) -> _Where:
        """The same positions placed under a key (an alias of a mapping or list)."""
        return _Where(self.at, self.items, key_at)


def _with_key(where: _Where | int, key_at: int) -> _Where | int:
    if isinstance(where, _Where):
        return where.under_key(key_at)
    return (key_at + 1) << 64 | (where & _LOW)


def _key_at(where: _Where | int) -> int:
    return where.key_at if isinstance(where, _Where) else (where >> 64) - 1


def _value_at(where: _Where | int) -> int:
    return where.at if isinstance(where, _Where) else where & _LOW


@dataclass
class SourceDocument:
    """A parsed YAML file: its data plus the position of every value and key."""

    file: str
    data: Any
    findings: list[Finding] = field(default_factory=list)
    _where: _Where | int | None = None
    #: The text, kept until positions are first asked for (then parsed again, with them).
    _text: str | None = None

    def position(self, loc: Loc, *, key: bool = False) -> Position:
        """Position of the value at ``loc`` (or of its key), else of the nearest ancestor.

        Positions are only needed for findings, so a file is first read without them; the first
        question reads it again, keeping them (a clean 10 MB file never pays for them).
        """
        if self._where is None and self._text is not None:
            self._where = parse_yaml(self._text, self.file, positions=True)._where
            self._text = None
        here = self._where
        if here is None:
            return Position(1, 1)
        for i, part in enumerate(loc):
            if not isinstance(here, _Where):
                break
            child = _child_where(here, part)
            if child is None:
                break
            if key and i == len(loc) - 1 and _key_at(child) >= 0:
                return _position(_key_at(child))
            here = child
        return _position(_value_at(here))

    def finding(self, code: str, message: str, loc: Loc, *, key: bool = False) -> Finding:
        pos = self.position(loc, key=key)
        return Finding(code, message, self.file, pos.line, pos.column, format_loc(loc))


def _child_where(here: _Where, part: str | int) -> _Where | int | None:
    items = here.items
    if isinstance(items, dict):
        child: _Where | int | None = items.get(part)
        return child
    if isinstance(part, int) and 0 <= part < len(items):
        found: _Where | int = items[part]
        return found
    return None


def format_loc(loc: Loc) -> str:
    """``("chains", 2, "mechanism")`` → ``chains[2].mechanism``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------


class UnreadableFile(InputError):
    """A file cmo will not read: not a regular file, too large, a link in a circle, no access.

    ``reason`` says why without the file name (a finding names the file itself).
    """

    def __init__(self, path: Path | str, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path} {reason}", hint=hint)
        self.reason = reason


def irregular_kind(mode: int) -> str | None:
    """What a file of this mode is, when it is not a regular file ("a pipe", "a device", ...);
    None for a regular file. Reading a pipe or a device could wait or run forever."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; anything else raises
    :class:`UnreadableFile` (an :class:`~cmo.errors.InputError`) with the reason."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        # O_NONBLOCK: opening a pipe must not wait for a writer; it is refused just below.
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnreadableFile(
                path,
                "is a symbolic link that leads in a circle",
                hint="point the link at a real file, or remove it",
            ) from None
        if exc.errno == errno.ENOENT:
            raise UnreadableFile(path, "does not exist (or is a link to nothing)") from None
        raise UnreadableFile(path, f"cannot be read ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        kind = irregular_kind(info.st_mode)
        if kind is not None:
            raise UnreadableFile(
                path,
                f"is {kind}, not a regular file (cmo reads only regular files)",
                hint="move it out of the theory folders, or replace it with a real file",
            )
        too_big = UnreadableFile(
            path,
            f"is larger than {limit // (1024 * 1024)} MB, the most cmo reads from one file",
            hint="split it into several files",
        )
        if info.st_size > limit:
            raise too_big
        chunks = []
        total = 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:  # the file grew while being read
                raise too_big
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise UnreadableFile(path, f"cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)


def read_source(path: Path, display: str | None = None) -> SourceDocument:
    """Read and parse a YAML file. A file cmo will not read raises :class:`UnreadableFile`;
    what is wrong inside it becomes findings."""
    return parse_bytes(read_bytes(path), display or str(path))


def parse_bytes(raw: bytes, name: str) -> SourceDocument:
    """Decode (UTF-8, with or without BOM) and parse; undecodable bytes become Y001."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        doc = SourceDocument(file=name, data=None)
        doc.findings.append(
            Finding(
                "Y001",
                "the file is not UTF-8 text; save it as UTF-8 (e.g. 'Save as… UTF-8')",
                name,
                line,
                column,
                "",
            )
        )
        return doc
    return parse_yaml(text, name)


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


class _Stop(Exception):
    """Reading cannot go on; the finding is already recorded."""


def parse_yaml(text: str, file: str, *, positions: bool = False) -> SourceDocument:
    """Parse YAML text. Problems become findings (``data`` is None when the file cannot be
    read at all): Y001 syntax, Y003 empty, Y005 tags, Y006 aliases, Y007 unreadable values.
    Positions of values are kept with ``positions=True``; otherwise they are worked out when
    :meth:`SourceDocument.position` is first called."""
    doc = SourceDocument(file=file, data=None)
    bad = _NOT_PRINTABLE.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        column = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        doc.findings.append(
            Finding(
                "Y001",
                f"the file holds a control character (U+{ord(bad.group()):04X}), which YAML "
                "does not allow; delete it (it is often invisible: retype the line)",
                file,
                line,
                column,
                "",
            )
        )
        return doc
    loader = _LOADER(text)
    builder = _Builder(doc, keep=positions)
    try:
        builder.run(loader)
        if not positions:
            doc._text = text
    except _Stop:
        doc.data = None
        doc._where = None
    except yaml.MarkedYAMLError as exc:
        doc.findings.append(_syntax_finding(exc, file))
        doc.data = None
        doc._where = None
    except yaml.YAMLError as exc:  # reader errors without marks
        doc.findings.append(Finding("Y001", f"YAML error: {exc}", file, 1, 1, ""))
        doc.data = None
        doc._where = None
    finally:
        loader.dispose()
    return doc


def _syntax_finding(exc: yaml.MarkedYAMLError, file: str) -> Finding:
    problem = exc.problem or "invalid YAML"
    context = f" ({exc.context})" if exc.context else ""
    mark = exc.problem_mark or exc.context_mark
    if exc.context == "while scanning a simple key" and exc.context_mark is not None:
        # The parser notices a key without ':' only on the next line; point at the key.
        mark = exc.context_mark
        problem = "a key without ':' (or a line that should continue the one before)"
        context = ""
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return Finding("Y001", f"YAML syntax error: {problem}{context}", file, line, column, "")


class _Open:
    """A mapping or list being built."""

    __slots__ = ("anchor", "key", "key_at", "loc", "merges", "size", "value", "where")

    def __init__(self, value: Any, where: _Where, loc: Loc, anchor: str | None) -> None:
        self.value = value
        self.where = where
        self.loc = loc
        self.anchor = anchor
        self.size = 1  # values in it, as expanded by aliases
        self.key: Any = _NO_KEY  # a mapping's key waiting for its value
        self.key_at = 0
        self.merges: list[tuple[dict[Any, Any], _Where | None, int]] | None = None


_NO_KEY = object()
_SKIP = object()  # a key that could not be used: drop its value


class _Builder:
    """Builds values from parser events, with positions, anchors and limits."""

    def __init__(self, doc: SourceDocument, *, keep: bool) -> None:
        self.doc = doc
        #: Keep every value's position (else only keys', while their mapping is open).
        self.keep = keep
        self.stack: list[_Open] = []
        #: anchor → (value, positions, expanded size)
        self.anchors: dict[str, tuple[Any, _Where | int, int]] = {}
        self.open_anchors: set[str] = set()
        self.repeated = 0
        self.tagged = 0

    def finding(self, code: str, message: str, mark: Any, loc: Loc = ()) -> None:
        pos = _position(_mark(mark))
        self.doc.findings.append(
            Finding(code, message, self.doc.file, pos.line, pos.column, format_loc(loc))
        )

    def run(self, loader: Any) -> None:
        get = loader.get_event
        ev: Any = get()  # StreamStart
        ev = get()
        if isinstance(ev, yaml.StreamEndEvent):
            self.doc.findings.append(Finding("Y003", "the file is empty", self.doc.file, 1, 1, ""))
            raise _Stop
        # DocumentStart
        stack = self.stack
        scalar_cls, alias_cls = yaml.ScalarEvent, yaml.AliasEvent
        start_classes = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
        resolvers = _RESOLVERS
        quoted = _QUOTED
        no_key, skip, merge_key = _NO_KEY, _SKIP, _MERGE_KEY
        keep = self.keep
        while True:
            ev = get()
            if ev.__class__ is scalar_cls:
                # The fast path (most of a file): a text without tag or anchor, placed into a
                # list, as a new key, or as a key's value. Anything else takes self.scalar().
                text = ev.value
                if ev.tag is None and ev.anchor is None and stack and text:
                    if ev.style not in quoted:
                        for _tag, rx in resolvers.get(text[0], ()):
                            if rx.match(text):
                                break
                        else:
                            rx = None
                        if rx is not None:
                            self.scalar(ev)
                            continue
                    top = stack[-1]
                    mark: Any = ev.start_mark
                    at = mark.line << 32 | mark.column
                    into = top.value
                    if into.__class__ is list:
                        into.append(text)
                        if keep:
                            top.where.items.append(at)
                        top.size += 1
                        continue
                    key = top.key
                    if key is no_key:
                        if text not in top.where.items:
                            top.key = text
                            top.key_at = at
                            top.size += 1
                            continue
                    elif key is not skip and key is not merge_key:
                        into[key] = text
                        top.where.items[key] = (top.key_at + 1) << 64 | at
                        top.key = no_key
                        top.size += 1
                        continue
                self.scalar(ev)
            elif isinstance(ev, start_classes):
                self.start(ev)
            elif isinstance(ev, alias_cls):
                self.alias(ev)
            elif isinstance(ev, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                self.end()
            elif isinstance(ev, yaml.DocumentEndEvent):
                break
        ev = get()
        if not isinstance(ev, yaml.StreamEndEvent):
            self.finding(
                "Y001",
                "YAML syntax error: a second document ('---') in the file; a cmo file holds "
                "one document",
                ev.start_mark,
            )
            raise _Stop
        if stack:  # pragma: no cover - the parser balances start and end events
            raise _Stop

    # -- what the next value's place is ------------------------------------------------------

    def place(self) -> tuple[Loc, bool]:
        """The path of the value about to be built; True when it is a mapping key."""
        if not self.stack:
            return (), False
        top = self.stack[-1]
        if isinstance(top.value, list):
            return (*top.loc, len(top.value)), False
        if top.key is _NO_KEY:
            return top.loc, True
        return (*top.loc, top.key) if top.key is not _SKIP else top.loc, False

    def deliver(
        self, value: Any, where: _Where | int, size: int, mark: Any, *, shared: bool = False
    ) -> None:
        """Put a finished value into its parent (or make it the document); ``shared``: the
        value is an alias's, whose positions are another place's too."""
        if not self.stack:
            self.doc.data = value
            self.doc._where = where if self.keep else None
            return
        top = self.stack[-1]
        top.size += size
        if isinstance(top.value, list):
            top.value.append(value)
            if not self.keep:
                return
            if shared and isinstance(where, _Where) and where.key_at >= 0:
                where = where.under_key(-1)
            top.where.items.append(where & _LOW if isinstance(where, int) else where)
            return
        if top.key is _NO_KEY:
            self.take_key(top, value, where, mark)
            return
        key, top.key = top.key, _NO_KEY
        if key is _SKIP:
            return
        if key is _MERGE_KEY:
            self.take_merge(top, value, where, mark)
            return
        top.value[key] = value
        if not self.keep:  # only the key's position, for a duplicate later in this mapping
            top.where.items[key] = (top.key_at + 1) << 64 | _value_at(where)
        elif isinstance(where, _Where) and not shared:
            where.key_at = top.key_at
            top.where.items[key] = where
        else:
            top.where.items[key] = _with_key(where, top.key_at)

    def take_key(self, top: _Open, key: Any, where: _Where | int, mark: Any) -> None:
        if isinstance(where, _Where):
            self.finding(
                "Y007",
                "a key must be a single word or number, not a list or mapping",
                mark,
                top.loc,
            )
            top.key = _SKIP
            return
        if key is _MERGE_KEY:
            top.key = _MERGE_KEY
            return
        if not isinstance(key, str | int | float | bool) or key is None:
            key = str(key)
        if key in top.where.items:
            first = _position(_key_at(top.where.items[key]))
            self.finding(
                "Y002",
                f"duplicate key '{key}' (first defined on line {first.line}); only one may stay",
                mark,
                (*top.loc, key),
            )
            top.key = _SKIP
            return
        top.key = key
        top.key_at = _value_at(where)

    def take_merge(self, top: _Open, value: Any, where: _Where | int, mark: Any) -> None:
        """``<<: *base`` or ``<<: [*a, *b]``: keys of the named mappings, kept for the end."""
        sources: list[tuple[Any, _Where | int | None]]
        if isinstance(value, dict):
            sources = [(value, where)]
        elif isinstance(value, list) and isinstance(where, _Where):
            wheres = where.items if self.keep else [None] * len(value)
            sources = list(zip(value, wheres, strict=True))
        else:
            sources = []
        if not sources or any(not isinstance(v, dict) for v, _ in sources):
            self.finding(
                "Y001",
                "YAML syntax error: '<<' (merge) needs a mapping or a list of mappings",
                mark,
                top.loc,
            )
            return
        if top.merges is None:
            top.merges = []
        for v, w in sources:
            self.count(len(v), mark, top.loc)
            top.merges.append((v, w if isinstance(w, _Where) else None, len(v)))

    # -- events ------------------------------------------------------------------------------

    def check_tag(self, ev: Any, loc: Loc) -> None:
        if ev.tag is not None:
            self.finding(
                "Y005",
                f"a YAML tag ('{_short_tag(ev.tag)}') is not part of the theory language; "
                "remove it (the value is read as if it were not there)",
                ev.start_mark,
                loc,
            )

    def scalar(self, ev: Any) -> None:
        loc, is_key = self.place()
        self.check_tag(ev, loc)
        text: str = ev.value
        if ev.style in _QUOTED or (ev.tag is None and not ev.implicit[0]):
            tag = _STR
        else:
            tag = _resolve(text)
        value: Any = text
        if tag != _STR:
            if tag == _MERGE:
                value = _MERGE_KEY if is_key else text
            else:
                try:
                    value = _CONSTRUCTORS[tag](_CONSTRUCTOR, yaml.ScalarNode(tag, text))
                except (ValueError, OverflowError, ArithmeticError):
                    self.finding("Y007", _unreadable(tag, text), ev.start_mark, loc)
                    value = text
        at = _mark(ev.start_mark)
        self.remember(ev.anchor, value, at, 1)
        self.deliver(value, at, 1, ev.start_mark)

    def start(self, ev: Any) -> None:
        loc, _ = self.place()
        self.check_tag(ev, loc)
        if len(self.stack) >= MAX_DEPTH:
            self.finding(
                "Y001",
                f"lists and mappings are nested more than {MAX_DEPTH} deep; cmo cannot read it",
                ev.start_mark,
                loc,
            )
            raise _Stop
        mapping = isinstance(ev, yaml.MappingStartEvent)
        where = _Where(_mark(ev.start_mark), {} if mapping else [])
        if ev.anchor is not None:
            self.open_anchors.add(ev.anchor)
        self.stack.append(_Open({} if mapping else [], where, loc, ev.anchor))

    def end(self) -> None:
        top = self.stack.pop()
        value = top.value
        if top.merges:
            # Merged keys first (an earlier merge wins), then the mapping's own keys.
            merged: dict[Any, Any] = {}
            items: dict[Any, _Where | int] = {}
            for source, where, _ in top.merges:
                for k, v in source.items():
                    if k not in merged and k not in value:
                        merged[k] = v
                        if where is not None:
                            items[k] = where.items[k]
            merged.update(value)
            items.update(top.where.items)
            value = top.value = merged
            top.where.items = items
        if top.anchor is not None:
            self.open_anchors.discard(top.anchor)
            self.remember(top.anchor, value, top.where, top.size)
        self.deliver(value, top.where, top.size, _Mark(top.where.at))

    def alias(self, ev: Any) -> None:
        loc, _ = self.place()
        if ev.anchor in self.open_anchors:
            self.finding(
                "Y006",
                f"the alias '*{ev.anchor}' lies inside the value it names, an endless loop",
                ev.start_mark,
                loc,
            )
            raise _Stop
        found = self.anchors.get(ev.anchor)
        if found is None:
            self.finding(
                "Y001",
                f"YAML syntax error: the alias '*{ev.anchor}' names no anchor ('&{ev.anchor}') "
                "defined before it",
                ev.start_mark,
                loc,
            )
            raise _Stop
        value, where, size = found
        self.count(size, ev.start_mark, loc)
        self.deliver(value, where, size, ev.start_mark, shared=True)

    def remember(self, anchor: str | None, value: Any, where: _Where | int, size: int) -> None:
        if anchor is not None:
            self.anchors[anchor] = (value, where, size)

    def count(self, size: int, mark: Any, loc: Loc) -> None:
        self.repeated += size
        if self.repeated > ALIAS_LIMIT:
            self.finding(
                "Y006",
                f"aliases ('*name') repeat more than {ALIAS_LIMIT:,} values; cmo reads no "
                "further (write the values out, or reuse less)",
                mark,
                loc,
            )
            raise _Stop


_MERGE_KEY = object()


class _Mark:
    """A mark rebuilt from a packed position (for findings about a finished container)."""

    __slots__ = ("column", "line")

    def __init__(self, packed: int) -> None:
        self.line = packed >> 32
        self.column = packed & 0xFFFFFFFF


def _resolve(text: str) -> str:
    if not text:
        return "tag:yaml.org,2002:null"
    for tag, rx in _RESOLVERS.get(text[0], ()):
        if rx.match(text):
            return tag
    return _STR


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org") else tag


def _unreadable(tag: str, text: str) -> str:
    kind = tag.removeprefix("tag:yaml.org,2002:")
    shown = text if len(text) <= 30 else f"{text[:12]}…{text[-6:]} ({len(text)} characters)"
    if kind == "int":
        return f"the number {shown} is too long to read; write a shorter number or quote it"
    if kind == "timestamp":
        return f"'{shown}' looks like a date but is not a real one; write YYYY-MM-DD or quote it"
    return f"the value {shown} cannot be read as a {kind}; quote it to keep it as text"


def iter_items(data: Any, key: str) -> Iterator[tuple[int, Any]]:
    """Enumerate a list-valued key of a mapping, tolerating missing or malformed sections."""
    if isinstance(data, dict):
        section = data.get(key)
        if isinstance(section, list):
            yield from enumerate(section)
