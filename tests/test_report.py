"""`cmo report`: catalogues, disclosure control, escaping — tested by parsing the HTML — and
the demo report opened in headless Chromium as a person would."""

from __future__ import annotations

import itertools
import re
import shutil
from html.parser import HTMLParser

import pytest
import yaml

from cmo.report import build_report
from cmo.report.i18n import catalogue
from cmo.store import open_store
from cmo.workspace import load_workspace

from .conftest import ROOT

HOSTILE = """
id: hostile
title:
  fi: "<script>window.__pwned = 1</script>Vihamielinen"
  en: "<script>window.__pwned = 1</script>Hostile"
contexts:
  - id: far
    label:
      fi: "<img src=x onerror=\\"window.__pwned=2\\">Kaukana"
      en: "<img src=x onerror=\\"window.__pwned=2\\">Far"
    when: {indicator: distance_km, above: 30}
mechanisms:
  - id: equal
    label:
      fi: "javascript:window.__pwned=3"
      en: "<a href=\\"javascript:window.__pwned=3\\">click</a>"
    indicator: equal_encounter
outcomes:
  - id: part
    label:
      fi: "</svg><script>window.__pwned=4</script>"
      en: "</svg><script>window.__pwned=4</script>"
    indicator: participation
chains:
  - id: hostile_chain
    contexts: [far]
    mechanism: equal
    outcome: part
"""


class Page(HTMLParser):
    """Collects tags with their attributes, table cells per table, and all text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._table: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self._table.append(dict(attrs).get("id") or f"table{len(self.tables)}")
            self.tables[self._table[-1]] = []
        elif tag == "tr" and self._table:
            self._row = []
            self.tables[self._table[-1]].append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table" and self._table:
            self._table.pop()

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


@pytest.fixture(scope="module")
def workspace(examples_collected, tmp_path_factory):
    """The collected examples plus a theory with hostile labels."""
    ws, _ = examples_collected
    root = tmp_path_factory.mktemp("report") / "ws"
    shutil.copytree(ws.root, root)
    (root / "programme_theories" / "hostile.yaml").write_text(HOSTILE, encoding="utf-8")
    return load_workspace(root)


@pytest.fixture(scope="module")
def reports(workspace):
    out = {}
    for lang in ("fi", "en"):
        report = build_report(workspace, lang=lang)
        path = workspace.root / "out" / f"report-{lang}.html"
        report.write(path)
        out[lang] = (report, path)
    return out


def test_catalogues_have_the_same_keys_and_every_used_key_exists() -> None:
    fi, en = catalogue("fi"), catalogue("en")
    assert set(fi) == set(en)
    sources = [
        (ROOT / "cmo" / "report" / "templates" / "report.html.j2").read_text("utf-8"),
        (ROOT / "cmo" / "report" / "build.py").read_text("utf-8"),
        (ROOT / "cmo" / "report" / "scorecard.py").read_text("utf-8"),
    ]
    used = set()
    for text in sources:
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_0-9]+)["']\s*[,)]""", text))
    dynamic = {f"perspective_{p}" for p in ("client", "personnel", "process", "economy")}
    dynamic |= {f"rameses_{i}" for i in range(1, 21)}
    dynamic |= {"direction_positive", "direction_negative", "elsewhere", "everywhere"}
    dynamic |= {f"{k}s" for k in ("context", "intervention", "mechanism", "outcome")}
    dynamic |= {f"level_{k}" for k in ("case", "worker", "office")}
    assert used, "the scan found no keys at all"
    missing = sorted((used | dynamic) - set(en))
    assert not missing
    for key in dynamic:
        assert fi[key] and en[key]
    raw = yaml.safe_load((ROOT / "cmo" / "report" / "i18n" / "fi.yaml").read_text("utf-8"))
    assert list(raw) == list(
        yaml.safe_load((ROOT / "cmo" / "report" / "i18n" / "en.yaml").read_text("utf-8"))
    )


def test_finnish_report_is_finnish_with_decimal_commas(reports) -> None:
    html = reports["fi"][1].read_text("utf-8")
    page = parse(html)
    assert '<html lang="fi">' in html
    assert "Mikä piti missäkin" in html
    matrix = next(
        rows for rows in page.tables.values() if rows and rows[0][:2] == ["Ketju", "Konteksti"]
    )
    effects = [row[-2] for row in matrix[1:] if row[-2]]
    assert effects
    # per-SD differences, or for counts the rate ratio ("tiheyssuhde"), never the log scale
    assert all(
        re.fullmatch(r"(tiheyssuhde |vetosuhde )?[+−]?\d+,\d\d \[[+−]?\d+,\d\d, [+−]?\d+,\d\d\]", e)
        for e in effects
    ), effects
    assert any(e.startswith("tiheyssuhde 0,9") for e in effects)
    assert "lineaarinen malli, toimistojen kiinteät vaikutukset" in html
    assert "klusterirobusti CR2" in html and "cluster-robust" not in html
    assert "piti, ja vahvempi tässä kontekstissa kuin muualla" in html
    en = reports["en"][1].read_text("utf-8")
    assert "What held where" in en and "+0.57" in en
    assert "held, and stronger in this context than elsewhere" in en


def test_report_is_self_contained(reports) -> None:
    for _, path in reports.values():
        page = parse(path.read_text("utf-8"))
        for tag, attrs in page.tags:
            assert tag != "script"
            assert tag not in ("link", "iframe", "object", "embed", "img")
            for name, value in attrs.items():
                assert not name.startswith("on"), (tag, name)
                if name in ("src", "href") and value:
                    assert value.startswith("#"), (tag, name, value)
        assert "Content-Security-Policy" in path.read_text("utf-8")


def test_hostile_labels_are_text_not_markup(reports) -> None:
    html = reports["en"][1].read_text("utf-8")
    page = parse(html)
    text = "".join(page.text)
    assert "<script>window.__pwned = 1</script>Hostile" in text  # shown, escaped
    assert "&lt;script&gt;" in html
    assert not any(tag == "script" for tag, _ in page.tags)
    assert not any(tag == "img" for tag, _ in page.tags)
    assert "javascript:" not in " ".join(str(v) for _, a in page.tags for v in a.values())


def test_no_row_level_data_and_no_pseudonymous_keys(reports, workspace) -> None:
    with open_store(workspace.store_path, read_only=True) as store:
        keys = {
            r[0]
            for r in store.con.execute(
                "SELECT case_key FROM case_observations UNION SELECT worker_key FROM "
                "case_observations WHERE worker_key IS NOT NULL"
            ).fetchall()
        }
    for _, path in reports.values():
        html = path.read_text("utf-8")
        for key in keys:
            assert key not in html
            assert key[:16] not in html


def test_summary_and_every_chain_section(reports) -> None:
    report, path = reports["en"]
    page = parse(path.read_text("utf-8"))
    ids = {a.get("id") for _, a in page.tags}
    for chain in report.analysis.chains:
        assert f"{chain.theory}-{chain.chain}" in ids
    assert {"summary", "matrix", "theories", "chains", "scorecard", "quality", "methods"} <= ids
    headings = [int(tag[1]) for tag, _ in page.tags if re.fullmatch(r"h[1-6]", tag)]
    assert headings[0] == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(headings))
    for _, attrs in (x for x in page.tags if x[0] == "svg"):
        assert attrs.get("role") == "img" and attrs.get("aria-labelledby")


# Disclosure control on crafted data: tests/test_disclosure.py


# ---- in a real browser -----------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)",
)
def test_demo_report_in_headless_chromium(reports, tmp_path_factory) -> None:
    from playwright.sync_api import sync_playwright

    _, path = reports["fi"]
    shots = ROOT / "out"
    shots.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        errors: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.resolve().as_uri())
        page.wait_for_load_state("load")
        assert errors == []
        assert requests == [path.resolve().as_uri()]  # the page itself, nothing else
        assert page.locator("#matrix table").is_visible()
        for section in page.locator("section.chain").all():
            section.scroll_into_view_if_needed()
            assert section.is_visible()
        assert page.locator("section.chain").count() >= 7
        assert page.evaluate("window.__pwned === undefined")
        page.screenshot(path=str(shots / "report-screenshot.png"), full_page=True)
        pdf = page.pdf(format="A4", print_background=True)
        (shots / "report-print.pdf").write_bytes(pdf)
        browser.close()
    assert pdf.startswith(b"%PDF")
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 5


def test_reports_are_byte_identical_whatever_the_hash_seed(workspace, tmp_path) -> None:
    """The same store and theories give the same bytes under different PYTHONHASHSEEDs (the
    theory diagrams are laid out without any set or dict order)."""
    import os
    import subprocess
    import sys

    pages = []
    for seed in ("1", "2"):
        out = tmp_path / f"r{seed}.html"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-m", "cmo", "report", "--lang", "en", "--out", str(out)],
            cwd=workspace.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        pages.append(out.read_bytes())
    assert pages[0] == pages[1]


def test_theory_diagrams_show_the_evidence(reports) -> None:
    """Every chain's arrows are drawn by its verdicts: colour, dash pattern and a mark, with a
    legend, so that they read without colour; no arrowheads stack (each arrow has its own
    port)."""
    import re

    html = reports["en"][1].read_text("utf-8")
    diagrams = re.findall(r'<svg[^>]*class="chart diagram".*?</svg>', html, flags=re.S)
    assert diagrams
    for svg in diagrams:
        assert "✔ held" in svg and "· not supported" in svg  # the legend
        ends = re.findall(r'<path d="M [^"]* ([\d.]+) ([\d.]+)" fill="none"', svg)
        assert len(ends) == len(set(ends)), "two arrowheads at the same point"
    held = [d for d in diagrams if 'stroke="#009E73" stroke-width="2.6"' in d]
    assert held, "no held mechanism → outcome arrow drawn as held"


def test_a_saved_analysis_renders_to_the_same_report(cmo, workspace, tmp_path) -> None:
    """`cmo report --from result.json` renders a saved analysis without re-running it: the
    page equals the one rendered from a fresh analysis, byte for byte, and records the
    analysis it came from. A report in another language than the analysis is refused."""
    import hashlib
    import json

    saved = tmp_path / "result.json"
    run = cmo("analyse", "--format", "json", "--lang", "en", cwd=workspace.root)
    assert run.exit_code == 0, run.stderr
    saved.write_text(run.stdout, encoding="utf-8")
    fresh, again = tmp_path / "fresh.html", tmp_path / "again.html"
    assert cmo("report", "--lang", "en", "--out", str(fresh), cwd=workspace.root).exit_code == 0
    done = cmo(
        "report", "--lang", "en", "--from", str(saved), "--out", str(again), cwd=workspace.root
    )
    assert done.exit_code == 0, done.stderr
    assert fresh.read_bytes() == again.read_bytes()
    digest = hashlib.sha256(
        json.dumps(json.loads(run.stdout), sort_keys=True, ensure_ascii=False).encode("utf-8")
    ).hexdigest()
    assert f'<meta name="cmo-analysis-sha256" content="{digest}">' in again.read_text("utf-8")
    other = cmo(
        "report", "--lang", "fi", "--from", str(saved), "--out", str(again), cwd=workspace.root
    )
    assert other.exit_code == 2 and "--lang en" in other.stderr
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    bad = cmo(
        "report", "--from", str(tmp_path / "bad.json"), "--out", str(again), cwd=workspace.root
    )
    assert bad.exit_code == 2 and "not an analysis" in bad.stderr


PDFTOTEXT = shutil.which("pdftotext")
MAJOR = {
    "en": (
        "Programme theories",
        "Chains",
        "Criteria by strategy perspective",
        "Data quality",
        "Methods",
    ),
    "fi": (
        "Ohjelmateoriat",
        "Ketjut",
        "Arviointikriteerit strategisten",
        "Aineiston laatu",
        "Menetelmäliite",
    ),
}


def _filled(pgm: bytes) -> float:
    """How far down a printed page (PGM, grey) its content reaches, as a share of the area
    between the running header and the page number."""
    parts = pgm.split(maxsplit=4)
    width, height = int(parts[1]), int(parts[2])
    pixels = parts[4][: width * height]
    top, bottom = int(height * 0.07), int(height * 0.93)
    last = top
    for row in range(top, bottom):
        line = pixels[row * width : (row + 1) * width]
        if min(line) < 200:
            last = row
    return (last - top) / (bottom - top)


@pytest.mark.skipif(
    CHROMIUM is None or PDFTOTEXT is None,
    reason="needs Debian's chromium and poppler-utils (.ci/run installs both)",
)
@pytest.mark.parametrize("lang", ["fi", "en"])
def test_printed_report_answers_on_page_one(reports, tmp_path, lang) -> None:
    """Printed on A4: page 1 holds the facts and the what-held-where matrix; every page has its
    number and the running header; no page is more than half empty except where a major part
    ends (the next page starts a new one)."""
    import subprocess

    _, path = reports[lang]
    pdf = tmp_path / f"report-{lang}.pdf"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            path.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    text = subprocess.run(
        [PDFTOTEXT, "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")
    assert len(pages) >= 5
    first = pages[0]
    heading = "Mikä piti missäkin" if lang == "fi" else "What held where"
    assert heading in first
    assert ("Tulkinta" if lang == "fi" else "Verdict") in first  # the matrix's own header row
    assert ("toimistoa" if lang == "fi" else "offices") in first.split(heading)[0]  # the facts
    word = "Sivu" if lang == "fi" else "Page"
    for number, page in enumerate(pages, start=1):
        assert f"{word} {number}" in page, number
    subprocess.run(
        ["pdftoppm", "-r", "30", "-gray", str(pdf), str(tmp_path / "page")], check=True, timeout=120
    )
    images = sorted(tmp_path.glob("page-*.pgm"))
    assert len(images) == len(pages)
    for i, image in enumerate(images[:-1]):
        if _filled(image.read_bytes()) >= 0.5:
            continue
        lines = [line for line in pages[i + 1].splitlines() if line.strip()]
        following = lines[1:4]  # after the running header
        assert any(any(line.strip().startswith(h) for h in MAJOR[lang]) for line in following), (
            f"page {i + 1} is more than half empty and no major part starts after it"
        )


def _visible_words(html_text: str) -> list[str]:
    """The words a reader sees: tags, styles, code (hashes, file names) and SVG ids left out."""
    import html as html_lib

    body = html_text[html_text.index("<body") :]
    body = re.sub(r"<style.*?</style>", " ", body, flags=re.S)
    body = re.sub(r"<code>.*?</code>", " ", body, flags=re.S)
    body = re.sub(r"<title[^>]*>.*?</title>", lambda m: " " + m.group(0) + " ", body, flags=re.S)
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", body))
    return re.findall(r"[A-Za-zÅÄÖåäö_]+", text)


def _catalogue_words(cat: dict[str, str]) -> set[str]:
    words = set()
    for value in cat.values():
        words |= {
            w.lower() for w in re.findall(r"[A-Za-zÅÄÖåäö]{4,}", re.sub(r"\{[^}]*\}", "", value))
        }
    return words


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_one_language_per_report(reports, lang) -> None:
    """Every string of a report comes from its language's catalogue or from the theories'
    labels in that language: no word found only in the other catalogue, and no raw code
    (a snake_case identifier such as a quarantine reason) anywhere a reader looks."""
    other = "en" if lang == "fi" else "fi"
    foreign = _catalogue_words(catalogue(other)) - _catalogue_words(catalogue(lang))
    words = _visible_words(reports[lang][1].read_text("utf-8"))
    leaked = sorted({w for w in words if w.lower() in foreign})
    assert not leaked, leaked
    codes = sorted({w for w in words if "_" in w.strip("_")})
    assert not codes, codes
