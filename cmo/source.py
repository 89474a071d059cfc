"""Reading YAML while remembering where every value came from.

PyYAML's composer gives nodes with ``start_mark`` (line and column). We walk the node tree
ourselves so that each value's YAML path (``("chains", 2, "mechanism")``) maps to its position,
duplicate keys are reported instead of silently overwritten, and ``yes``/``no``/``on``/``off``
stay text (YAML 1.2 booleans: only ``true`` and ``false``) — a label "no" must not become False.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cmo.findings import Finding

Loc = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans."""


# Replace the YAML 1.1 bool resolver (yes/no/on/off/y/n) with a YAML 1.2 one.
_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class SourceDocument:
    """A parsed YAML file: its data plus the position of every value and key."""

    file: str
    data: Any
    values: dict[Loc, Position] = field(default_factory=dict)
    keys: dict[Loc, Position] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def position(self, loc: Loc, *, key: bool = False) -> Position:
        """Position of the value at ``loc`` (or of its key), else of the nearest ancestor."""
        if key and loc in self.keys:
            return self.keys[loc]
        probe = tuple(loc)
        while probe:
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), Position(1, 1))

    def finding(self, code: str, message: str, loc: Loc, *, key: bool = False) -> Finding:
        pos = self.position(loc, key=key)
        return Finding(code, message, self.file, pos.line, pos.column, format_loc(loc))


def format_loc(loc: Loc) -> str:
    """``("chains", 2, "mechanism")`` → ``chains[2].mechanism``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _pos(mark: yaml.Mark | None) -> Position:
    if mark is None:
        return Position(1, 1)
    return Position(mark.line + 1, mark.column + 1)


def parse_yaml(text: str, file: str) -> SourceDocument:
    """Parse YAML text. Syntax errors become a Y001 finding (data is then None)."""
    doc = SourceDocument(file=file, data=None)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            doc.findings.append(Finding("Y003", "the file is empty", file, 1, 1, ""))
            return doc
        doc.data = _walk(loader, node, (), doc)
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        mark = exc.problem_mark or exc.context_mark
        if exc.context == "while scanning a simple key" and exc.context_mark is not None:
            # The parser notices a key without ':' only on the next line; point at the key.
            mark = exc.context_mark
            problem = "a key without ':' (or a line that should continue the one before)"
            context = ""
        pos = _pos(mark)
        doc.findings.append(
            Finding(
                "Y001", f"YAML syntax error: {problem}{context}", file, pos.line, pos.column, ""
            )
        )
        doc.data = None
    except RecursionError:
        doc.findings.append(
            Finding("Y001", "the YAML is nested too deeply to read", file, 1, 1, "")
        )
        doc.data = None
    except yaml.YAMLError as exc:  # pragma: no cover - reader errors without marks
        doc.findings.append(Finding("Y001", f"YAML error: {exc}", file, 1, 1, ""))
        doc.data = None
    finally:
        loader.dispose()
    return doc


def _walk(loader: _Loader, node: yaml.Node, loc: Loc, doc: SourceDocument) -> Any:
    doc.values[loc] = _pos(node.start_mark)
    if isinstance(node, yaml.MappingNode):
        own = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
        loader.flatten_mapping(node)  # resolve merge keys (<<): merged pairs come first
        result: dict[Any, Any] = {}
        merged: set[Any] = set()
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) or key is None:
                key = str(key)
            child: Loc = (*loc, key)
            if id(key_node) not in own:
                if key in result:
                    continue  # an earlier merge wins over a later one
                merged.add(key)
            elif key in merged:
                merged.discard(key)  # the mapping's own key overrides a merged one
                del result[key]
            elif key in result:
                first = doc.keys[child]
                p = _pos(key_node.start_mark)
                doc.findings.append(
                    Finding(
                        "Y002",
                        f"duplicate key '{key}' (first defined on line {first.line}); "
                        "only one may stay",
                        doc.file,
                        p.line,
                        p.column,
                        format_loc(child),
                    )
                )
                continue
            doc.keys[child] = _pos(key_node.start_mark)
            result[key] = _walk(loader, value_node, child, doc)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_walk(loader, item, (*loc, i), doc) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def read_source(path: Path, display: str | None = None) -> SourceDocument:
    """Read and parse a YAML file. Undecodable bytes become a Y001 finding."""
    return parse_bytes(path.read_bytes(), display or str(path))


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


def iter_items(data: Any, key: str) -> Iterator[tuple[int, Any]]:
    """Enumerate a list-valued key of a mapping, tolerating missing or malformed sections."""
    if isinstance(data, dict):
        section = data.get(key)
        if isinstance(section, list):
            yield from enumerate(section)
