"""French number and date formatting of the report (EX-045)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from veilleur.evaluation.fr_format import (
    fr_date,
    fr_int,
    fr_interval,
    fr_number,
    fr_percent,
    fr_sci,
)

pytestmark = pytest.mark.req("EX-045")

NNBSP, NBSP = "\u202f", "\u00a0"


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (0.8666, 2, "0,87"),
        (1.0, 3, "1,000"),
        (12345.6, 2, f"12{NNBSP}345,60"),
        (-0.5, 1, "-0,5"),
        (None, 2, "—"),
        (float("nan"), 2, "—"),
    ],
)
def test_fr_number(value: float | None, digits: int, expected: str) -> None:
    assert fr_number(value, digits) == expected


@pytest.mark.parametrize(
    ("func", "value", "expected"),
    [
        (fr_int, 1234567, f"1{NNBSP}234{NNBSP}567"),
        (fr_int, None, "—"),
        (fr_percent, 0.873, f"87{NBSP}%"),
        (fr_interval, (0.712, 0.95), f"[0,71{NBSP};{NBSP}0,95]"),
        (fr_interval, None, "—"),
        (fr_sci, 3.14e-6, f"3,1{NBSP}×{NBSP}10⁻⁶"),
        (fr_sci, 0.0, "0"),
        (fr_sci, 0.0123, "0,012"),
    ],
)
def test_other_formats(func: object, value: object, expected: str) -> None:
    assert callable(func)
    assert func(value) == expected


def test_fr_date() -> None:
    assert fr_date(datetime(2025, 8, 3, 9, 5, tzinfo=UTC)) == "3 août 2025 à 9 h 05 UTC"
    assert fr_date(datetime(2025, 12, 31, 23, 59)) == "31 décembre 2025 à 23 h 59 UTC"
