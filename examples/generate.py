"""Generate the example exports of seven Lapland social offices (seeded, reproducible).

    python examples/generate.py          # rewrites examples/<office>/ and mappings/kittila.yaml

The data are synthetic but carry a planted context–mechanism–outcome structure, documented in
examples/README.md, so that `cmo analyse` has something true to find. Each office exports in
its own shape: the client information system's Excel export, a form tool's semicolon CSV in
Windows-1252 with decimal commas, a hand-kept spreadsheet with English headers, and so on.
Needs numpy and openpyxl (`pip install -e '.[test]'`).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
# The Lapland unit's slides are dated 8.10.2007, hence 20071008 + k. A sample can show an
# association by chance where none was planted: with seeds 20071008 and 20071009 the planted
# null (P6) came out "held" in one context (p about 0.01–0.03). 20071010 is the first seed
# whose sample does not; how often such chance findings occur is measured in
# benchmarks/calibration.py, not hidden by this choice.
SEED = 20071010
PERIODS = ("2025H2", "2026H1")
PERIOD_START = {"2025H2": dt.date(2025, 7, 1), "2026H1": dt.date(2026, 1, 1)}
HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


@dataclass(frozen=True)
class Office:
    id: str
    name: str
    kind: str  # urban, rural, sparse
    clients: int  # new clients per period
    workers: int
    caseload: float  # mean clients per worker
    prefix: str


OFFICES = (
    Office("rovaniemi", "Rovaniemi", "urban", 260, 16, 44.0, "ROI"),
    Office("kemi", "Kemi", "urban", 150, 9, 41.0, "KEM"),
    Office("tornio", "Tornio", "rural", 140, 9, 36.0, "TOR"),
    Office("kemijarvi", "Kemijärvi", "rural", 90, 6, 33.0, "KJA"),
    Office("sodankyla", "Sodankylä", "sparse", 80, 5, 30.0, "SOD"),
    Office("inari", "Inari", "sparse", 75, 5, 27.0, "INA"),
    Office("kittila", "Kittilä", "sparse", 70, 4, 29.0, "KIT"),
)

AGREE_FI = {
    1: "täysin eri mieltä",
    2: "jokseenkin eri mieltä",
    3: "ei samaa eikä eri mieltä",
    4: "jokseenkin samaa mieltä",
    5: "täysin samaa mieltä",
}
AGREE_EN = {
    1: "strongly disagree",
    2: "somewhat disagree",
    3: "neither agree nor disagree",
    4: "somewhat agree",
    5: "strongly agree",
}
GROUP_FI = {"family": "lapsiperhe", "youth": "nuori aikuinen", "adult": "aikuinen"}
GROUP_EN = {"family": "family with children", "youth": "young adult", "adult": "adult"}
KIND_FI = {"urban": "kaupunkimainen", "rural": "maaseutumainen", "sparse": "harvaan asuttu"}


def likert(latent: np.ndarray) -> np.ndarray:
    """A standard-normal latent score cut into 1–5 agreement (skewed to agreement)."""
    return np.digitize(latent, [-1.6, -0.8, 0.0, 0.9]) + 1


def hetu(rng: np.random.Generator, birth: dt.date) -> str:
    century = {18: "+", 19: "-", 20: "A"}[birth.year // 100]
    if century == "-" and rng.random() < 0.2:
        century = "Y"  # the century signs introduced in 2023
    number = int(rng.integers(2, 900))
    body = f"{birth:%d%m%y}{number:03d}"
    return f"{birth:%d%m%y}{century}{number:03d}{HETU_CHECK[int(body) % 31]}"


def simulate(office: Office, rng: np.random.Generator) -> dict[str, object]:
    """Workers, clients (baseline and follow-up rows) and office figures for both periods."""
    workers = [f"{office.prefix}-T{i + 1:02d}" for i in range(office.workers)]
    caseload = {
        (w, p): max(8, int(rng.normal(office.caseload, 7))) for w in workers for p in PERIODS
    }
    clients = []
    next_id = 1000 + int(rng.integers(0, 500))
    for period in PERIODS:
        n = office.clients
        group = rng.choice(["family", "youth", "adult"], size=n, p=[0.45, 0.25, 0.30])
        age = np.where(
            group == "family",
            rng.integers(24, 50, n),
            np.where(group == "youth", rng.integers(18, 30, n), rng.integers(30, 75, n)),
        )
        far_mean = {"urban": 6.0, "rural": 18.0, "sparse": 45.0}[office.kind]
        distance = np.round(rng.lognormal(np.log(far_mean), 0.7, n), 1)
        motivation = np.clip(np.round(rng.normal(3.2, 1.1, n)), 1, 5).astype(int)
        worker = rng.choice(workers, size=n)
        load = np.array([caseload[(w, period)] for w in worker])
        worker_changes = rng.poisson(0.25 + 0.02 * np.maximum(load - 30, 0))
        p_outreach = 0.65 if office.kind == "sparse" else 0.3
        outreach = (rng.random(n) < p_outreach).astype(int)
        # --- planted mechanisms (see examples/README.md) -------------------------------
        outreach_context = (office.kind == "sparse") | (distance > 30)
        z_equal = rng.normal(0, 1, n) + 0.9 * outreach * outreach_context + 0.2 * outreach
        z_equal = (z_equal - z_equal.mean()) / z_equal.std()
        z_heard = rng.normal(0, 1, n)
        # P1: equal encounter → participation only where the way to the office is long
        # P2: being heard → participation, everywhere
        z_part = (
            np.where(outreach_context, 0.55, 0.0) * z_equal + 0.40 * z_heard + rng.normal(0, 1, n)
        )
        # P3: trust → fitting solutions only with the same worker throughout
        z_trust = rng.normal(0, 1, n) - 0.3 * (worker_changes > 0)
        z_open = 0.5 * z_trust + rng.normal(0, 0.9, n)
        same = worker_changes == 0
        z_fit = np.where(same, 0.60, 0.0) * z_trust + rng.normal(0, 1, n)
        # P4: trusting relationship → life situation improves where caseloads are manageable
        relationship = (likert(z_trust) + likert(z_open) + likert(z_heard)) / 3
        rel_z = (relationship - 3.9) / 0.8
        base_life = np.clip(np.round(rng.normal(4.8, 1.6, n), 1), 0, 10)
        gain = 0.8 + np.where(load <= 35, 0.9, 0.0) * rel_z + rng.normal(0, 1.2, n)
        follow_life = np.clip(np.round(base_life + gain, 1), 0, 10)
        # P5: coherent support → experienced continuity where there are many services
        services = rng.poisson(np.where(group == "family", 2.6, 1.3))
        coordination = (rng.random(n) < np.where(services >= 3, 0.55, 0.2)).astype(int)
        z_coherent = 0.8 * coordination + rng.normal(0, 1, n)
        z_cont = np.where(services >= 3, 0.60, 0.0) * z_coherent + rng.normal(0, 1, n)
        # P6 (planted null): coherent support does not reduce overlapping services anywhere
        overlaps = rng.poisson(0.15 + 0.12 * services)
        plan = (rng.random(n) < 0.9).astype(int)
        reviewed = (rng.random(n) < 0.7).astype(int)
        costs = np.round(rng.lognormal(np.log(900 + 700 * services), 0.5), 2)
        start = PERIOD_START[period]
        for i in range(n):
            next_id += int(rng.integers(1, 4))
            birth = start - dt.timedelta(days=int(age[i] * 365.25 + rng.integers(0, 365)))
            day0 = start + dt.timedelta(days=int(rng.integers(0, 60)))
            clients.append(
                {
                    "id": str(next_id),
                    "hetu": hetu(rng, birth),
                    "period": period,
                    "worker": worker[i],
                    "group": str(group[i]),
                    "age": int(age[i]),
                    "distance": float(distance[i]),
                    "motivation": int(motivation[i]),
                    "outreach": int(outreach[i]),
                    "equal": int(likert(z_equal[i : i + 1])[0]),
                    "heard": int(likert(z_heard[i : i + 1])[0]),
                    "participation": int(likert(z_part[i : i + 1] / 1.2)[0]),
                    "trust": int(likert(z_trust[i : i + 1])[0]),
                    "openness": int(likert(z_open[i : i + 1])[0]),
                    "fitting": int(likert(z_fit[i : i + 1] / 1.15)[0]),
                    "life0": float(base_life[i]),
                    "life1": float(follow_life[i]),
                    "changes": int(worker_changes[i]),
                    "services": int(services[i]),
                    "coordination": int(coordination[i]),
                    "coherent": int(likert(z_coherent[i : i + 1] / 1.2)[0]),
                    "continuity": int(likert(z_cont[i : i + 1] / 1.15)[0]),
                    "overlaps": int(overlaps[i]),
                    "plan": int(plan[i]),
                    "reviewed": int(reviewed[i]),
                    "costs": float(costs[i]),
                    "date0": day0,
                    "date1": day0 + dt.timedelta(days=int(rng.integers(170, 200))),
                }
            )
    worker_rows = []
    for w in workers:
        for period in PERIODS:
            worker_rows.append(
                {
                    "worker": w,
                    "period": period,
                    "caseload": caseload[(w, period)],
                    "time": int(
                        np.clip(round(rng.normal(5.2 - caseload[(w, period)] / 15, 0.8)), 1, 5)
                    ),
                    "interactive": int(np.clip(round(rng.normal(3.9, 0.8)), 1, 5)),
                    "costs": int(np.clip(round(rng.normal(3.0, 1.0)), 1, 5)),
                }
            )
    office_rows = [
        {
            "period": period,
            "per_worker": round(float(np.mean([caseload[(w, period)] for w in workers])), 1),
            "qualified": round(float(np.clip(rng.normal(0.82, 0.08), 0.5, 1.0)), 2),
            "kind": office.kind,
        }
        for period in PERIODS
    ]
    return {"clients": clients, "workers": worker_rows, "office": office_rows}


# ------------------------------------------------------------------------------------------
# Case rows: each client has a baseline row and a follow-up row
# ------------------------------------------------------------------------------------------


def case_rows(c: dict[str, object]) -> list[dict[str, object]]:
    base = {
        "period": c["period"],
        "worker": c["worker"],
        "point": "baseline",
        "date": c["date0"],
        "group": c["group"],
        "age": c["age"],
        "distance": c["distance"],
        "motivation": c["motivation"],
        "life": c["life0"],
        "services": c["services"],
        "plan": c["plan"],
    }
    follow = {
        "period": c["period"],
        "worker": c["worker"],
        "point": "follow_up",
        "date": c["date1"],
        "life": c["life1"],
        "outreach": c["outreach"],
        "equal": c["equal"],
        "heard": c["heard"],
        "participation": c["participation"],
        "trust": c["trust"],
        "openness": c["openness"],
        "fitting": c["fitting"],
        "changes": c["changes"],
        "coordination": c["coordination"],
        "coherent": c["coherent"],
        "continuity": c["continuity"],
        "overlaps": c["overlaps"],
        "reviewed": c["reviewed"],
        "costs": c["costs"],
    }
    return [base, follow]


FIELDS_FI = [
    ("Asiakasnumero", "id"),
    ("Työntekijä", "worker"),
    ("Jakso", "period"),
    ("Mittauskerta", "point"),
    ("Arviointipäivä", "date"),
    ("Asiakasryhmä", "group"),
    ("Ikä", "age"),
    ("Etäisyys km", "distance"),
    ("Motivaatio", "motivation"),
    ("Elämäntilanne", "life"),
    ("Palvelujen määrä", "services"),
    ("Asiakassuunnitelma", "plan"),
    ("Jalkautuva työ", "outreach"),
    ("Tasavertainen kohtaaminen", "equal"),
    ("Tuli kuulluksi", "heard"),
    ("Osallisuus", "participation"),
    ("Luottamus", "trust"),
    ("Avoimuus", "openness"),
    ("Sopivat ratkaisut", "fitting"),
    ("Työntekijävaihdokset", "changes"),
    ("Palvelujen koordinointi", "coordination"),
    ("Yhtenäinen tuki", "coherent"),
    ("Koettu jatkuvuus", "continuity"),
    ("Päällekkäiset palvelut", "overlaps"),
    ("Tavoitteet arvioitu", "reviewed"),
    ("Kustannukset €", "costs"),
]
LIKERT_KEYS = {
    "equal",
    "heard",
    "participation",
    "trust",
    "openness",
    "fitting",
    "coherent",
    "continuity",
}
POINT_FI = {"baseline": "alkuarvio", "follow_up": "seuranta"}
POINT_EN = {"baseline": "baseline", "follow_up": "follow-up"}
YESNO_FI = {0: "ei", 1: "kyllä"}
YESNO_EN = {0: "no", 1: "yes"}


def fi_number(x: object, decimals: int = 1) -> str:
    if isinstance(x, float):
        text = f"{x:,.{decimals}f}".replace(",", "\u00a0").replace(".", ",")
        return text.rstrip("0").rstrip(",") if "," in text else text
    return str(x)


def render_case(
    clients: list[dict[str, object]], style: str, rng: np.random.Generator
) -> list[list[object]]:
    """Rows (header first) in an office's own style."""
    header = [h for h, _ in FIELDS_FI]
    if style == "english":
        header = [
            "Client ID",
            "Worker",
            "Period",
            "Measurement",
            "Date",
            "Client group",
            "Age",
            "Distance",
            "Motivation",
            "Life situation",
            "Services",
            "Client plan",
            "Outreach",
            "Equal encounter",
            "Heard",
            "Participation",
            "Trust",
            "Openness",
            "Fitting solutions",
            "Worker changes",
            "Coordination",
            "Coherent support",
            "Continuity",
            "Overlapping services",
            "Plan reviewed",
            "Costs",
        ]
    if style == "kittila":
        header = [
            "AS_NRO",
            "TT",
            "JAKSO",
            "KERTA",
            "PVM",
            "RYHMA",
            "IKA",
            "MATKA_KM",
            "MOTIV",
            "ELTIL_0_10",
            "PALV_LKM",
            "AS_SUUNN",
            "JALK",
            "KOHT_1_5",
            "KUUL_1_5",
            "OSALL_1_5",
            "LUOTT_1_5",
            "AVOIN_1_5",
            "RATK_1_5",
            "TT_VAIHD",
            "KOORD",
            "YHT_TUKI",
            "JATKUV",
            "PAALL",
            "TAV_ARV",
            "KUST_EUR",
        ]
    rows: list[list[object]] = [header]
    for c in clients:
        ident = c["hetu"] if style == "inari" else c["id"]
        for r in case_rows(c):
            out: list[object] = []
            for _, key in FIELDS_FI:
                value = ident if key == "id" else r.get(key, "")
                if value == "":
                    out.append("")
                    continue
                if key == "point":
                    value = {
                        "english": POINT_EN,
                        "kittila": {"baseline": "A", "follow_up": "S"},
                    }.get(style, POINT_FI)[str(value)]
                elif key == "group":
                    value = (GROUP_EN if style == "english" else GROUP_FI)[str(value)]
                elif key in LIKERT_KEYS and style in ("excel", "english"):
                    value = (AGREE_EN if style == "english" else AGREE_FI)[int(value)]  # type: ignore[call-overload]
                elif key in ("plan", "outreach", "coordination", "reviewed"):
                    if style == "english":
                        value = YESNO_EN[int(value)]  # type: ignore[call-overload]
                    elif style in ("excel", "csv_fi", "inari"):
                        value = YESNO_FI[int(value)]  # type: ignore[call-overload]
                elif key == "date":
                    d = value
                    assert isinstance(d, dt.date)
                    if style in ("csv_fi", "inari", "kittila"):
                        value = f"{d.day}.{d.month}.{d.year}"
                    elif style == "csv_bom":
                        value = d.isoformat()
                elif isinstance(value, float) and style in ("csv_fi", "inari", "kittila"):
                    value = fi_number(value, 2 if key == "costs" else 1)
                out.append(value)
            rows.append(out)
    return rows


def plant_mistakes(rows: list[list[object]], office: str, rng: np.random.Generator) -> None:
    """A few realistic mistakes, so that quarantine has work to do (see README)."""
    header = rows[0]
    col = {h: i for i, h in enumerate(header)}

    def pick() -> list[object]:
        return rows[int(rng.integers(1, len(rows)))]

    if office == "rovaniemi":
        pick()[col["Osallisuus"]] = 6  # outside the 1–5 scale
        pick()[col["Elämäntilanne"]] = "ei tiedossa"
        rows.append(list(rows[5]))  # the same row exported twice
    elif office == "kemi":
        pick()[col["Etäisyys km"]] = "ei tiedossa"
        pick()[col["Arviointipäivä"]] = "31.2.2026"  # an impossible date
        pick()[col["Luottamus"]] = "7"
    elif office == "tornio":
        pick()[col["Participation"]] = "agree-ish"
        pick()[col["Client ID"]] = ""  # missing identifier
    elif office == "kemijarvi":
        pick()[col["Työntekijävaihdokset"]] = "1.5"
    elif office == "inari":
        # a personal identity code typed into the free-text column by mistake
        target = pick()
        target[col["Lisätiedot"]] = f"soitettu, ks. {target[col['Asiakasnumero']]}"
    elif office == "kittila":
        pick()[col["OSALL_1_5"]] = "0"


# ------------------------------------------------------------------------------------------
# Writers
# ------------------------------------------------------------------------------------------


def write_csv(path: Path, rows: list[list[object]], *, delimiter: str, encoding: str) -> None:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\r\n")
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])


def write_xlsx(
    path: Path,
    rows: list[list[object]],
    *,
    sheet: str,
    title: str | None = None,
    notes: bool = False,
) -> None:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    if title:
        ws.append([title])
        ws.append([])
    for row in rows:
        ws.append(row)
    if notes:
        info = book.create_sheet("Ohjeet")
        info.append(["Täytä yksi rivi asiakasta ja mittauskertaa kohden."])
    # a fixed timestamp keeps the file byte-for-byte reproducible
    book.properties.created = dt.datetime(2026, 11, 1)
    book.properties.modified = dt.datetime(2026, 11, 1)
    book.save(path)
    _fix_zip_times(path)


def _fix_zip_times(path: Path) -> None:
    import zipfile

    data = []
    with zipfile.ZipFile(path) as zin:
        for item in zin.infolist():
            data.append((item.filename, zin.read(item.filename)))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, blob in data:
            if name == "docProps/core.xml":  # openpyxl stamps the time of saving
                blob = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-11-01T00:00:00Z", blob
                )
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(info, blob)


def worker_rows(rows: list[dict[str, object]], english: bool) -> list[list[object]]:
    if english:
        header = [
            "Worker",
            "Period",
            "Caseload",
            "Time for clients",
            "Interactive approach",
            "Cost awareness",
        ]
    else:
        header = [
            "Työntekijä",
            "Jakso",
            "Asiakasmäärä",
            "Riittävästi aikaa asiakastyöhön",
            "Vuorovaikutuksellinen työote",
            "Kustannustietoisuus",
        ]
    out: list[list[object]] = [header]
    for r in rows:
        out.append(
            [r["worker"], r["period"], r["caseload"], r["time"], r["interactive"], r["costs"]]
        )
    return out


def office_rows(rows: list[dict[str, object]]) -> list[list[object]]:
    out: list[list[object]] = [
        ["Jakso", "Asiakkaita per työntekijä", "Kelpoisten osuus", "Kuntatyyppi"]
    ]
    for r in rows:
        out.append(
            [
                r["period"],
                fi_number(r["per_worker"]),
                fi_number(r["qualified"], 2),
                KIND_FI[str(r["kind"])],
            ]
        )
    return out


KITTILA_MAPPING = """\
# Kittilä's form tool uses its own short column names and codes: this mapping tells cmo what
# they mean. (Generated by examples/generate.py.)
office: kittila
columns:
  AS_NRO: client_id
  TT: worker_id
  JAKSO: period
  KERTA: measurement_point
  PVM: measured_on
  RYHMA: client_group
  IKA: client_age
  MATKA_KM: distance_km
  MOTIV: client_motivation
  ELTIL_0_10: life_situation
  PALV_LKM: services_count
  AS_SUUNN: client_plan
  JALK: outreach_work
  KOHT_1_5: equal_encounter
  KUUL_1_5: heard
  OSALL_1_5: participation
  LUOTT_1_5: trust
  AVOIN_1_5: openness
  RATK_1_5: fitting_solutions
  TT_VAIHD: worker_changes
  KOORD: service_coordination
  YHT_TUKI: coherent_support
  JATKUV: experienced_continuity
  PAALL: overlapping_services
  TAV_ARV: plan_reviewed
  KUST_EUR: service_costs
values:
  measurement_point: {A: baseline, S: follow_up}
"""


def main(out: Path = ROOT, mappings: Path = ROOT.parent / "mappings") -> None:
    rng = np.random.default_rng(SEED)
    for office in OFFICES:
        sim = simulate(office, rng)
        folder = out / office.id
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        clients = sim["clients"]
        assert isinstance(clients, list)
        style = {
            "rovaniemi": "excel",
            "kemi": "csv_fi",
            "tornio": "english",
            "kemijarvi": "csv_bom",
            "sodankyla": "excel",
            "inari": "inari",
            "kittila": "kittila",
        }[office.id]
        rows = render_case(clients, style, rng)
        if office.id == "inari":
            rows[0].append("Lisätiedot")
            for row in rows[1:]:
                row.append("")
        plant_mistakes(rows, office.id, rng)
        workers = sim["workers"]
        offices = sim["office"]
        assert isinstance(workers, list)
        assert isinstance(offices, list)
        if office.id == "rovaniemi":
            write_xlsx(folder / "asiakkaat.xlsx", rows, sheet="Asiakkaat")
        elif office.id == "kemi":
            write_csv(folder / "asiakkaat.csv", rows, delimiter=";", encoding="cp1252")
        elif office.id == "tornio":
            write_xlsx(folder / "clients.xlsx", rows, sheet="Clients")
        elif office.id == "kemijarvi":
            write_csv(folder / "asiakkaat.csv", rows, delimiter=",", encoding="utf-8-sig")
        elif office.id == "sodankyla":
            write_xlsx(
                folder / "asiakkaat.xlsx",
                rows,
                sheet="Asiakkaat",
                title="Sodankylän sosiaalitoimisto — vaikuttavuusseuranta",
                notes=True,
            )
        elif office.id == "inari":
            write_csv(folder / "asiakkaat.csv", rows, delimiter=";", encoding="utf-8")
        else:
            write_csv(folder / "asiakkaat.txt", rows, delimiter="\t", encoding="cp1252")
        english = office.id == "tornio"
        write_csv(
            folder / ("workers.csv" if english else "tyontekijat.csv"),
            worker_rows(workers, english),
            delimiter=";",
            encoding="utf-8",
        )
        write_csv(folder / "toimisto.csv", office_rows(offices), delimiter=";", encoding="cp1252")
    mappings.mkdir(parents=True, exist_ok=True)
    (mappings / "kittila.yaml").write_text(KITTILA_MAPPING, encoding="utf-8")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Generate the example exports.")
    parser.add_argument("--out", type=Path, default=ROOT, help="folder for the offices")
    parser.add_argument(
        "--mappings",
        type=Path,
        default=ROOT.parent / "mappings",
        help="folder for the mapping files",
    )
    args = parser.parse_args()
    main(args.out, args.mappings)
