"""Reading YAML with positions."""

from __future__ import annotations

from cmo.source import format_loc, parse_yaml


def test_positions_come_from_the_nodes() -> None:
    doc = parse_yaml("id: x\nchains:\n  - id: a\n    mechanism: m\n", "t.yaml")
    assert doc.data["chains"][0]["mechanism"] == "m"
    pos = doc.position(("chains", 0, "mechanism"))
    assert (pos.line, pos.column) == (4, 16)
    key = doc.position(("chains", 0, "mechanism"), key=True)
    assert (key.line, key.column) == (4, 5)


def test_missing_path_falls_back_to_nearest_ancestor() -> None:
    doc = parse_yaml("id: x\nchains:\n  - id: a\n", "t.yaml")
    pos = doc.position(("chains", 0, "outcome"))
    assert (pos.line, pos.column) == (3, 5)


def test_yes_and_no_stay_text_but_true_and_false_are_booleans() -> None:
    doc = parse_yaml("a: no\nb: yes\nc: on\nd: true\ne: False\nf: 1\ng: 2.5\n", "t.yaml")
    assert doc.data == {"a": "no", "b": "yes", "c": "on", "d": True, "e": False, "f": 1, "g": 2.5}


def test_duplicate_keys_are_reported_not_overwritten() -> None:
    doc = parse_yaml("id: a\nid: b\n", "t.yaml")
    assert doc.data == {"id": "a"}
    (finding,) = doc.findings
    assert (finding.code, finding.line, finding.column) == ("Y002", 2, 1)


def test_anchors_and_merge_keys() -> None:
    doc = parse_yaml("s: &s {min: 1, max: 5}\nt: *s\nu:\n  <<: *s\n  max: 7\n", "t.yaml")
    assert doc.data["t"] == {"min": 1, "max": 5}
    assert doc.data["u"] == {"min": 1, "max": 7}


def test_format_loc() -> None:
    assert format_loc(("chains", 2, "mechanism")) == "chains[2].mechanism"
    assert format_loc(("contexts", 0, "when", "all", 1)) == "contexts[0].when.all[1]"
    assert format_loc(()) == ""


def test_an_alias_shares_the_anchors_value_and_positions() -> None:
    doc = parse_yaml("a: &x {min: 1}\nb: *x\nc: [*x]\n", "t.yaml")
    assert doc.data["b"] is doc.data["a"] and doc.data["c"][0] is doc.data["a"]
    # The value's position is the anchor's; the key's is where the alias is used.
    assert (doc.position(("b", "min")).line, doc.position(("b",), key=True).line) == (1, 2)
    assert doc.position(("c", 0)).line == 1


def test_merges_keep_own_keys_and_the_first_merge_wins() -> None:
    doc = parse_yaml("a: &a {x: 1, y: 1}\nb: &b {x: 2, z: 2}\nc:\n  <<: [*a, *b]\n  y: 3\n", "t")
    assert doc.data["c"] == {"x": 1, "y": 3, "z": 2}
    assert doc.position(("c", "y")).line == 5 and doc.position(("c", "z")).line == 2
    assert not doc.findings


def test_a_merge_of_a_scalar_is_a_finding() -> None:
    doc = parse_yaml("a: &a 1\nb:\n  <<: *a\n", "t.yaml")
    assert [f.code for f in doc.findings] == ["Y001"]


def test_an_undefined_alias_and_a_second_document_are_syntax_findings() -> None:
    assert [f.code for f in parse_yaml("a: *nowhere\n", "t").findings] == ["Y001"]
    (second,) = parse_yaml("a: 1\n---\nb: 2\n", "t").findings
    assert (second.code, second.line) == ("Y001", 2)


def test_a_tag_is_reported_and_the_value_read_without_it() -> None:
    doc = parse_yaml("a: !!int '5'\n? !k b\n: c\n", "t.yaml")
    assert doc.data == {"a": "5", "b": "c"}
    assert [(f.code, f.line) for f in doc.findings] == [("Y005", 1), ("Y005", 2)]


def test_a_mapping_as_a_key_is_a_finding_not_a_crash() -> None:
    doc = parse_yaml("? {a: 1}\n: x\nb: 2\n", "t.yaml")
    assert doc.data == {"b": 2}
    assert [f.code for f in doc.findings] == ["Y007"]


def test_empty_and_comment_only_files() -> None:
    assert [f.code for f in parse_yaml("", "t").findings] == ["Y003"]
    assert [f.code for f in parse_yaml("# nothing\n", "t").findings] == ["Y003"]
    assert parse_yaml("---\n", "t").data is None
