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
