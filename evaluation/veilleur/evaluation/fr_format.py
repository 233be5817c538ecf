"""French number, interval and date formatting for the validation report (EX-045).

French typography: decimal comma, a narrow no-break space (U+202F) between thousands,
intervals written ``[0,71 ; 0,95]``, percentages ``87 %`` (with a no-break space).
An undefined value (``None``, NaN) is written as an em dash.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

__all__ = [
    "UNDEFINED",
    "fr_date",
    "fr_int",
    "fr_interval",
    "fr_number",
    "fr_percent",
    "fr_sci",
]

UNDEFINED = "—"
_NNBSP = "\u202f"  # espace fine insécable
_NBSP = "\u00a0"
_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _undefined(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


def fr_number(value: float | None, digits: int = 2) -> str:
    """``0.8666`` → ``"0,87"``; ``12345.6`` → ``"12 345,60"``; ``None`` → ``"—"``.

    Example:
        >>> fr_number(0.8666)
        '0,87'
    """
    if value is None or _undefined(value):
        return UNDEFINED
    text = f"{value:,.{digits}f}"
    return text.replace(",", _NNBSP).replace(".", ",")


def fr_int(value: int | None) -> str:
    """``12345`` → ``"12 345"`` (narrow no-break space)."""
    if value is None:
        return UNDEFINED
    return f"{value:,d}".replace(",", _NNBSP)


def fr_percent(value: float | None, digits: int = 0) -> str:
    """``0.87`` → ``"87 %"``."""
    if value is None or _undefined(value):
        return UNDEFINED
    return f"{fr_number(value * 100.0, digits)}{_NBSP}%"


def fr_interval(interval: tuple[float, float] | None, digits: int = 2) -> str:
    """``(0.71, 0.95)`` → ``"[0,71 ; 0,95]"``; ``None`` → ``"—"``."""
    if interval is None:
        return UNDEFINED
    low, high = interval
    return f"[{fr_number(low, digits)}{_NBSP};{_NBSP}{fr_number(high, digits)}]"


def fr_sci(value: float | None, digits: int = 1) -> str:
    """Scientific notation: ``3.1e-06`` → ``"3,1 × 10⁻⁶"``; ``0`` → ``"0"``."""
    if value is None or _undefined(value):
        return UNDEFINED
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    if -3 <= exponent <= 3:
        return fr_number(value, max(digits, 0) + max(0, -exponent))
    mantissa = value / 10**exponent
    return f"{fr_number(mantissa, digits)}{_NBSP}×{_NBSP}10{str(exponent).translate(_SUPERSCRIPTS)}"


def fr_date(value: datetime) -> str:
    """``datetime(2025, 5, 22, 14, 3, tzinfo=UTC)`` → ``"22 mai 2025 à 14 h 03 UTC"``.

    A naive datetime is taken as UTC.
    """
    moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    month = _MONTHS[moment.month - 1]
    return f"{moment.day} {month} {moment.year} à {moment.hour} h {moment.minute:02d} UTC"
