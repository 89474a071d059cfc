"""Hostile and huge theory files, written on demand (for tests and benchmarks/validate_bench.py).

Each writer takes a folder and returns the path it wrote. Nothing here is committed as a file:
a gigabyte of YAML is described, not stored.
"""

from __future__ import annotations

from pathlib import Path

_HEAD = """\
id: big
title: {fi: Iso teoria, en: A big theory}
"""

_BLOCK = """\
  - id: ctx_{i}
    label: {{fi: Konteksti {i}, sv: Kontext {i}, en: Context {i}}}
    when: {{indicator: distance_km, above: {k}}}
"""
_MECH = """\
  - id: mech_{i}
    label: {{fi: Mekanismi {i}, sv: Mekanism {i}, en: Mechanism {i}}}
    indicator: heard
"""
_OUT = """\
  - id: out_{i}
    label: {{fi: Tulos {i}, sv: Resultat {i}, en: Outcome {i}}}
    indicator: participation
    measurement_point: follow_up
"""
_CHAIN = """\
  - id: chain_{i}
    label: {{fi: Ketju {i}, en: Chain {i}}}
    contexts: [ctx_{i}]
    mechanism: mech_{i}
    outcome: out_{i}
    direction: positive
"""


def big_theory(folder: Path, megabytes: float) -> Path:
    """A valid theory of about ``megabytes`` MB: n contexts, mechanisms, outcomes and chains
    over the shipped indicators (so it validates cleanly inside a copy of the framework)."""
    per_item = sum(len(t.format(i=10_000, k=100)) for t in (_BLOCK, _MECH, _OUT, _CHAIN))
    n = max(1, int(megabytes * 1_000_000 / per_item))
    path = folder / "big.yaml"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(_HEAD)
        for section, template in (
            ("contexts", _BLOCK),
            ("mechanisms", _MECH),
            ("outcomes", _OUT),
            ("chains", _CHAIN),
        ):
            fh.write(f"{section}:\n")
            fh.writelines(template.format(i=i, k=i % 500) for i in range(n))
    return path


def billion_laughs(folder: Path, levels: int = 9) -> Path:
    """The classic: each level lists ten aliases of the level before (10**levels strings)."""
    lines = ["id: laughs", 'a0: &a0 ["lol"]']
    for k in range(1, levels + 1):
        lines.append(f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 10) + "]")
    lines.append(f"title: {{fi: *a{levels}}}")
    path = folder / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def merge_bomb(folder: Path, levels: int = 30) -> Path:
    """Merge keys that double at every level (``<<: [*m_prev, *m_prev]``)."""
    lines = ["id: merges", "m0: &m0 {a: 1, b: 2}"]
    for k in range(1, levels + 1):
        lines.append(f"m{k}: &m{k} {{<<: [*m{k - 1}, *m{k - 1}], k{k}: {k}}}")
    path = folder / "merges.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def alias_loop(folder: Path) -> Path:
    path = folder / "loop.yaml"
    path.write_text("id: loop\ntitle: &t {fi: x, again: *t}\n", encoding="utf-8")
    return path


def deep_nesting(folder: Path, depth: int = 100_000) -> Path:
    path = folder / "deep.yaml"
    path.write_text("id: deep\ntitle: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    return path


def control_character(folder: Path, char: str) -> Path:
    path = folder / f"ctrl_{ord(char):02x}.yaml"
    path.write_text(f"id: ctrl\ntitle: {{fi: a{char}b}}\n", encoding="utf-8")
    return path


def long_integer(folder: Path, digits: int = 5000) -> Path:
    path = folder / "long_int.yaml"
    path.write_text(f"id: longint\nversion: {'9' * digits}\n", encoding="utf-8")
    return path


def impossible_date(folder: Path) -> Path:
    path = folder / "date.yaml"
    path.write_text("id: date\nversion: 2025-13-45\n", encoding="utf-8")
    return path


def tag_on_mapping(folder: Path) -> Path:
    path = folder / "tagged.yaml"
    path.write_text(
        "id: tagged\ntitle: !!python/object/apply:os.system {fi: x}\n", encoding="utf-8"
    )
    return path
