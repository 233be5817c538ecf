"""The error-analysis notebook (jupytext percent script) runs on a report's metrics.json."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from veilleur.evaluation.report import render_report
from veilleur.evaluation.report_context import ReportContext

NOTEBOOK = Path(__file__).parents[3] / "notebooks" / "analyse_erreurs.py"


@pytest.mark.req("EX-065", "EX-087")
def test_error_analysis_notebook_runs(sample_context: ReportContext, tmp_path: Path) -> None:
    render_report(sample_context, tmp_path, pdf=False)
    metrics = tmp_path / "metrics.json"
    env = {**os.environ, "VEILLEUR_METRICS": str(metrics), "VEILLEUR_COMPARE": str(metrics)}
    r = subprocess.run(
        [sys.executable, str(NOTEBOOK)], env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert "Contrôles de biais" in r.stdout
    assert "0 régression(s) significative(s)" in r.stdout
    assert "franchissement" in r.stdout
