"""How rates and thresholds read on pages and in emails: the one home of the rule that a
rate shown rounded never crosses its threshold (SPEC section 3).

A rate is rounded *towards failing* (down when higher is better, up for the cancellation
rate), with two decimals unless a passing rate needs more not to read as worse than its
threshold; a threshold is shown exactly (it has at most five decimals as a share, three as
a percentage). So a failing rate always reads strictly worse than its threshold, a passing
one never does, and a rate equal to its threshold reads equal to it. The decision is made
on exact Fractions; the number is then formatted in the active language (decimal comma in
German and Vietnamese). The JSON keeps exact numbers and does not come here.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from django.utils import formats

Share = Fraction | Decimal | int

# Decimals a rate is shown with unless it needs more (see ``shown_rate``).
RATE_DECIMALS = 2
# Decimals of a percentage tried at most: far more than needed, as a threshold has at most
# five decimals as a share (``THRESHOLD_SCALE``), so a passing rate reads right with three.
_MAX_DECIMALS = 12


def _exact(share: Share | str) -> Fraction:
    if isinstance(share, float):
        raise TypeError("Rates and thresholds are compared exactly: pass a Fraction, a Decimal or a string.")
    return Fraction(share)


def _decimals(number: Decimal) -> int:
    """How many decimals ``number`` is written with (negative for trailing zeros, 1E+2)."""
    exponent = number.as_tuple().exponent
    if not isinstance(exponent, int):  # "n", "N" or "F": NaN or infinite, never a rate
        raise ValueError(f"{number} is not a finite number: a rate or threshold is one.")
    return -exponent


def _percent_text(percent: Decimal) -> str:
    """``percent`` with its own decimals, in the active language's number format."""
    places = max(0, _decimals(percent))
    return f"{formats.number_format(percent, decimal_pos=places)} %"


def shown_threshold(threshold: Decimal | str, *, decimals: int = RATE_DECIMALS) -> Decimal:
    """The threshold as a percentage, exactly, with at least ``decimals`` decimals
    (0.99 -> 99.00, 0.93456 -> 93.456)."""
    percent = (Decimal(threshold) * 100).normalize()
    places = max(decimals, _decimals(percent))
    return percent.quantize(Decimal(1).scaleb(-places))


def _towards_failing(percent: Fraction, places: int, *, higher_is_better: bool) -> Decimal:
    scaled = percent * 10**places
    digits = scaled.numerator // scaled.denominator if higher_is_better else -(-scaled.numerator // scaled.denominator)
    return Decimal(digits).scaleb(-places)


def shown_rate(
    rate: Share, threshold: Share | str, *, higher_is_better: bool, decimals: int = RATE_DECIMALS
) -> Decimal:
    """``rate`` (a share) as the percentage a reader sees beside ``threshold``: rounded
    towards failing to ``decimals`` decimals, or to as many more as it takes for the shown
    rate to compare with the shown threshold (``shown_threshold``) exactly as the rate
    compares with the threshold. A rate equal to its threshold passes (SPEC section 3).

    Rounding towards failing keeps a failing rate strictly worse than the exact threshold;
    more decimals only ever serve a passing rate whose threshold has more of them."""
    percent, limit = _exact(rate) * 100, _exact(threshold) * 100
    passing = percent >= limit if higher_is_better else percent <= limit
    for places in range(decimals, _MAX_DECIMALS + 1):
        shown = _towards_failing(percent, places, higher_is_better=higher_is_better)
        if (Fraction(shown) >= limit if higher_is_better else Fraction(shown) <= limit) == passing:
            return shown
    # Unreachable for a stored threshold (at most five decimals): only a threshold that is
    # no short decimal (1/3) could leave a passing rate reading below it at every precision.
    raise ValueError(f"The threshold {threshold} is not a decimal of at most {_MAX_DECIMALS + 2} places.")


def rate_percent(
    rate: Share | None, threshold: Share | str, *, higher_is_better: bool, decimals: int = RATE_DECIMALS
) -> str:
    """A rate as people read it beside its threshold ("98.99 %" for 98.995 % against at
    least 99 %; "98,99 %" in German), see ``shown_rate``; "—" when there is no rate
    (population 0). Compare it with ``threshold_percent`` of the same threshold."""
    if rate is None:
        return "—"
    return _percent_text(shown_rate(rate, threshold, higher_is_better=higher_is_better, decimals=decimals))


def threshold_percent(threshold: Decimal | str, *, decimals: int = RATE_DECIMALS) -> str:
    """A threshold as people read it, exactly ("99.00 %", "93.456 %")."""
    return _percent_text(shown_threshold(threshold, decimals=decimals))


def percent(share: Share | None, *, decimals: int = RATE_DECIMALS) -> str:
    """A share compared with no threshold (a chart's scale), rounded half up to ``decimals``."""
    if share is None:
        return "—"
    scaled = _exact(share) * 100 * 10**decimals
    digits = (2 * scaled.numerator + scaled.denominator) // (2 * scaled.denominator)
    return _percent_text(Decimal(digits).scaleb(-decimals))
