"""`cmo analyse`: which mechanisms held, in which contexts, for whom — with honest uncertainty.

The run, in order: validate the theories, load one row per case from the store
(:mod:`cmo.analysis.data`), test every chain (:mod:`cmo.analysis.chains`, with models from
:mod:`cmo.analysis.models` and uncertainty from :mod:`cmo.analysis.inference`), correct all
tests together and give verdicts (:mod:`cmo.analysis.verdicts`), estimate the criteria
(:mod:`cmo.analysis.criteria`), and record what it was all computed from.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cmo import __version__
from cmo.analysis.chains import Plan, Rules, needs_of, test_chain
from cmo.analysis.criteria import criterion, factors
from cmo.analysis.data import CaseData, load_cases
from cmo.analysis.inference import COVARIANCES
from cmo.analysis.refuters import LEVELS, refute_chain
from cmo.analysis.results import AnalysisResult, num
from cmo.analysis.verdicts import ALPHA, correct
from cmo.errors import InputError, WorkspaceError
from cmo.store import open_store
from cmo.theory import ValidationResult, validate
from cmo.theory.index import index_theories, resolve
from cmo.theory.models import ProgrammeTheory
from cmo.workspace import Workspace

COVARIANCE_WHY = {
    "CR2": "cluster-robust by office with the CR2 small-sample correction and Satterthwaite "
    "degrees of freedom (Pustejovsky & Tipton 2018): valid when the mechanism's effect "
    "differs between offices",
    "HC3": "HC3 heteroskedasticity-robust, cases treated as independent (chosen in cmo.yaml): "
    "not valid when offices differ in the mechanism's effect",
    "classical": "model-based standard errors (chosen in cmo.yaml), as in textbook tables: "
    "not valid when offices differ in the mechanism's effect",
}


def analyse(
    ws: Workspace,
    theories: Sequence[str] = (),
    *,
    offices: Sequence[str] = (),
    periods: Sequence[str] = (),
    lang: str = "fi",
    min_cases: int | None = None,
    covariance: str | None = None,
    refuters: str = "quick",
) -> AnalysisResult:
    """Test every chain of the chosen theories (default: all) on the workspace's store."""
    import numpy  # noqa: F401  (loaded first, so that its BLAS can be limited)
    from threadpoolctl import threadpool_limits

    # The products here are tall and thin (n × p with p ≈ 15): threads buy nothing and, on a
    # busy machine, oversubscribed BLAS threads made the 1M-row benchmark twice as slow.
    with threadpool_limits(limits=1, user_api="blas"):
        return _analyse(
            ws,
            theories,
            offices=offices,
            periods=periods,
            lang=lang,
            min_cases=min_cases,
            covariance=covariance,
            refuters=refuters,
        )


def _analyse(
    ws: Workspace,
    theories: Sequence[str],
    *,
    offices: Sequence[str],
    periods: Sequence[str],
    lang: str,
    min_cases: int | None,
    covariance: str | None,
    refuters: str,
) -> AnalysisResult:
    result = validate(workspace=ws.root)
    if result.errors:
        raise WorkspaceError(
            f"the theory or indicator files have {len(result.errors)} error(s), e.g. "
            f"{result.errors[0].format()}",
            hint="run 'cmo validate' and fix them before analysing",
        )
    settings = ws.settings
    method = covariance or getattr(settings, "covariance", "CR2")
    if method not in COVARIANCES:
        raise InputError(f"unknown covariance '{method}' (choose {', '.join(COVARIANCES)})")
    if refuters not in LEVELS:
        raise InputError(f"unknown refuters '{refuters}' (choose {', '.join(LEVELS)})")
    minimum = min_cases or settings.min_cases
    if minimum < settings.disclosure_threshold:
        raise InputError(
            f"min_cases {minimum} is below the disclosure threshold "
            f"({settings.disclosure_threshold}): no verdict may rest on fewer cases than a "
            "report may show",
            hint=f"use at least {settings.disclosure_threshold} (disclosure_threshold in cmo.yaml)",
        )
    rules = Rules(
        min_cases=minimum,
        min_offices=getattr(settings, "min_offices", 3),
        covariance=method,
        lang=lang,
    )
    all_offices = getattr(settings, "criteria_offices", "population")
    indicators = {i.id: i for f in result.indicator_files for i in f.indicators}
    points = {p.id: p for f in result.indicator_files for p in f.measurement_points}
    chosen = _choose(result, theories)
    plans = _plans(result, chosen)
    needs: set[tuple[str, str]] = set()
    for plan in plans:
        needs |= needs_of(plan, indicators)
    from cmo.workspace.privacy import check_period

    periods = [check_period(p) for p in periods]  # 2026h1 → 2026H1; anything else refused
    with open_store(ws.store_path, read_only=True) as store:
        # an office or period that names nothing in the store is an error, not empty results
        store.check_scope(list(offices), list(periods))
        data = load_cases(
            store, indicators, points, needs, list(offices) or None, list(periods) or None
        )
        criteria = [
            criterion(
                store,
                th,
                crit,
                indicators,
                points,
                list(offices),
                list(periods),
                lang,
                all_offices,
                settings.disclosure_threshold,
            )
            for th in chosen
            for crit in th.criteria
        ]
    tested = [test_chain(p, data, indicators, rules) for p in plans]
    chains = [chain for chain, _ in tested]
    correct(chains)
    for chain, kept in tested:
        refute_chain(chain, kept, rules, refuters)
    del tested
    scales = {
        ind_id: {"alpha": num(alpha), "n": n, "items": indicators[ind_id].composite.items}  # type: ignore[union-attr]
        for ind_id, (alpha, n) in sorted(data.alphas.items())
    }
    return AnalysisResult(
        chains=chains,
        criteria=criteria,
        factors=factors(chosen, criteria, lang),
        scales=scales,
        settings={
            "min_cases": minimum,
            "min_offices": rules.min_offices,
            "disclosure_threshold": settings.disclosure_threshold,
            "alpha": ALPHA,
            "offices": sorted(offices),
            "periods": sorted(periods),
            "correction": "Benjamini-Hochberg",
            "ci_level": 0.95,
            "covariance": method,
            "covariance_reason": COVARIANCE_WHY[method],
            "criteria_offices": all_offices,
            "refuters": refuters,
        },
        provenance=_provenance(result, data, chosen),
        language=lang,
        office_names={o.id: o.municipality or o.name for o in settings.offices},
    )


def _choose(result: ValidationResult, names: Sequence[str]) -> list[ProgrammeTheory]:
    theories = sorted(result.theories, key=lambda t: t.id)
    if not names:
        return theories
    by_id = {t.id: t for t in theories}
    chosen = []
    for name in names:
        path = Path(name)
        match = by_id.get(name) or next(
            (
                lf.theory
                for lf in result.files
                if lf.theory is not None and path.exists() and lf.path.resolve() == path.resolve()
            ),
            None,
        )
        if match is None:
            raise InputError(f"no theory '{name}' (known: {', '.join(by_id) or 'none'})")
        chosen.append(match)
    return chosen


def _plans(result: ValidationResult, theories: list[ProgrammeTheory]) -> list[Plan]:
    ws = index_theories(result.files)
    plans = []
    for th in theories:
        for chain in th.chains:
            plans.append(
                Plan(
                    theory=th,
                    chain=chain,
                    mechanism=resolve(ws, th, "mechanisms", chain.mechanism),
                    outcome=resolve(ws, th, "outcomes", chain.outcome),
                    intervention=resolve(ws, th, "interventions", chain.intervention)
                    if chain.intervention
                    else None,
                    contexts=[resolve(ws, th, "contexts", c) for c in chain.contexts],
                    negative_control=resolve(ws, th, "outcomes", chain.negative_control)
                    if chain.negative_control
                    else None,
                )
            )
    return plans


def _provenance(
    result: ValidationResult, data: CaseData, theories: list[ProgrammeTheory]
) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    libraries: dict[str, str | None] = {}
    for lib in ("numpy", "scipy", "pandas", "duckdb"):
        try:
            libraries[lib] = version(lib)
        except PackageNotFoundError:  # pragma: no cover
            libraries[lib] = None
    root = result.workspace.root.resolve() if result.workspace else Path.cwd().resolve()

    def where(path: Path) -> str:
        try:  # relative to the workspace: the same wherever cmo is run from
            return path.resolve().relative_to(root).as_posix()
        except ValueError:
            return path.resolve().as_posix()

    files = sorted(
        ({"file": where(lf.path), "sha256": lf.sha256} for lf in result.files),
        key=lambda f: f["file"],
    )
    collected = [b.collected_at for b in data.batches]
    return {
        "theories": [t.id for t in theories],
        "cases": len(data.frame),
        "offices": sorted({b.office for b in data.batches}),
        "periods": sorted({b.period for b in data.batches}),
        "collected_until": max(collected).date().isoformat() if collected else None,
        "files": files,
        "batches": [
            {
                "batch_id": b.batch_id,
                "office": b.office,
                "period": b.period,
                "level": b.level,
                "source_sha256": b.source_sha256,
            }
            for b in sorted(data.batches, key=lambda b: b.batch_id)
        ],
        "cmo_version": __version__,
        "libraries": libraries,
    }
