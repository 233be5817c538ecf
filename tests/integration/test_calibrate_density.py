"""``veilleur calibrate-density`` fits a count correction that halves a crowd undercount."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from veilleur.cli import app


@pytest.mark.slow
@pytest.mark.req("EX-002")
def test_correction_fitted_on_half_the_clips_fixes_the_other_half(tmp_path: Path) -> None:
    """Dense synthetic crowds; the 'detector' misses 30 % of the people (merged boxes).

    Raw counts are then biased by about −30 %; the correction, fitted on two clips and
    measured on the two others, must remove most of the bias and halve the mean error.
    """
    out = tmp_path / "r.json"
    res = CliRunner().invoke(
        app,
        ["calibrate-density", "--generate", "4", "--clips-dir", str(tmp_path / "clips"),
         "--drop", "0.3", "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "count_correction: [[" in res.output
    r = json.loads(out.read_text())
    assert r["holdout_frames"] >= 50
    assert r["holdout_bias"]["raw"] < -2.0  # undercount of several people
    assert abs(r["holdout_bias"]["corrected"]) < 0.5 * abs(r["holdout_bias"]["raw"])
    assert r["holdout_mae"]["corrected"] < 0.5 * r["holdout_mae"]["raw"]
    xs = [p[0] for p in r["count_correction"]]
    ys = [p[1] for p in r["count_correction"]]
    assert (
        xs == sorted(set(xs))
        and ys == sorted(ys)
        and all(y >= x for x, y in zip(xs, ys, strict=True))
    )


def test_a_bundle_without_crowds_is_a_clear_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["calibrate-density", "--bundle", str(tmp_path / "none.json")])
    assert res.exit_code == 2
    assert "no such manifest file" in res.output
