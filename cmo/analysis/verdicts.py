"""From p-values to verdicts: Benjamini–Hochberg over the run, then words that say what the
evidence carries.

A claim that a mechanism works *differently* in a context comes only from the mechanism ×
context interaction. "Held in C, not supported elsewhere" is no such claim: it appears under
the null whenever the groups differ in size, so the verdicts never read it as one.
"""

from __future__ import annotations

from cmo.analysis.results import (
    CONTEXT_MATTERS,
    CONTRADICTED,
    ELSEWHERE,
    EVERYWHERE,
    HELD,
    HELD_EVERYWHERE,
    HELD_NO_DIFFERENCE,
    HELD_SOMEWHERE,
    HELD_STRONGER,
    HELD_UNTESTED,
    HELD_WEAKER,
    NOT_SUPPORTED,
    STRONGER_NOT_HELD,
    TOO_LITTLE_DATA,
    WEAKER_HERE,
    ChainResult,
    Effect,
    Interaction,
)
from cmo.analysis.stats import benjamini_hochberg

ALPHA = 0.05


def correct(chains: list[ChainResult], alpha: float = ALPHA) -> None:
    """Benjamini–Hochberg over every test and interaction of the run; then the verdicts."""
    effects: list[Effect] = []
    for chain in chains:
        effects += [t.effect for t in chain.tests if t.effect is not None]
        effects += [i.effect for i in chain.interactions if i.effect is not None]
    for effect, q in zip(effects, benjamini_hochberg([e.p for e in effects]), strict=True):
        effect.q = q
    for chain in chains:
        decide(chain, alpha)


def _difference(inter: Interaction | None, sign: int, alpha: float) -> str:
    if inter is None or inter.effect is None or inter.effect.q is None:
        return "untested"
    if inter.effect.q > alpha:
        return "no clear difference"
    return "stronger" if sign * inter.effect.estimate > 0 else "weaker"


def decide(chain: ChainResult, alpha: float = ALPHA) -> None:
    """Give each test of the chain its verdict and the chain its summary (q must be set)."""
    sign = 1 if chain.direction == "positive" else -1
    interactions = {i.context: i for i in chain.interactions}
    for inter in chain.interactions:
        inter.difference = _difference(inter, sign, alpha)
    for test in chain.tests:
        e = test.effect
        if e is None:
            test.verdict = TOO_LITTLE_DATA
            continue
        assert e.q is not None
        clear = e.q <= alpha
        declared = sign * e.estimate > 0
        words = f"q = {e.q:.3g}"
        found = interactions.get(test.context)
        if test.context in (ELSEWHERE, EVERYWHERE) or found is None:
            if clear and declared:
                test.verdict, test.why = HELD, f"effect in the declared direction, {words}"
            elif clear:
                test.verdict, test.why = (
                    CONTRADICTED,
                    f"effect against the declared direction, {words}",
                )
            else:
                test.verdict, test.why = (
                    NOT_SUPPORTED,
                    f"{words} > {alpha}: the data do not show the effect",
                )
            continue
        inter = found
        diff = inter.difference
        iq = inter.effect.q if inter.effect is not None else None
        compare = (
            f"mechanism × context: {diff} (q = {iq:.3g})"
            if iq is not None
            else f"mechanism × context not tested: {inter.why}"
        )
        if clear and declared:
            test.verdict = {
                "stronger": HELD_STRONGER,
                "weaker": HELD_WEAKER,
                "no clear difference": HELD_NO_DIFFERENCE,
            }.get(diff, HELD_UNTESTED)
            test.why = f"effect in the declared direction, {words}; {compare}"
        elif clear:
            test.verdict = CONTRADICTED
            test.why = f"effect against the declared direction, {words}; {compare}"
        else:
            test.verdict = {"stronger": STRONGER_NOT_HELD, "weaker": WEAKER_HERE}.get(
                diff, NOT_SUPPORTED
            )
            test.why = f"{words} > {alpha}: the data do not show the effect here; {compare}"
    chain.summary = summarise(chain)


def summarise(chain: ChainResult) -> str:
    tested = [t for t in chain.tests if t.verdict != TOO_LITTLE_DATA]
    if not tested:
        return TOO_LITTLE_DATA
    if any(i.difference in ("stronger", "weaker") for i in chain.interactions):
        return CONTEXT_MATTERS
    classes = {t.verdict_class for t in tested}
    if classes == {"held"}:
        return HELD_EVERYWHERE
    if "held" in classes:
        return HELD_SOMEWHERE
    if "contradicted" in classes:
        return CONTRADICTED
    return NOT_SUPPORTED
