"""The validation report is logged to the model's MLflow run (same local SQLite store)."""

from __future__ import annotations

from pathlib import Path

import pytest

from veilleur.evaluation.mlflow_log import headline_metrics, log_report

pytestmark = pytest.mark.slow


@pytest.mark.req("EX-085", "EX-088")
def test_report_files_metrics_and_gate_tag_reach_the_run(tmp_path: Path) -> None:
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("veilleur-test", artifact_location=(tmp_path / "art").as_uri())
    run_id = client.create_run(exp).info.run_id
    out = tmp_path / "validation"
    out.mkdir()
    (out / "index.html").write_text("<html lang='fr'></html>", encoding="utf-8")
    (out / "rapport.pdf").write_bytes(b"%PDF-1.7\n")
    metrics = {
        "detection": {"map": 0.25, "map50": 0.5, "ar100": None},
        "events": {
            "overall": {"precision": 0.8, "recall": 0.6, "f1": None},
            "per_event": {"feu": {"status": "evaluated", "recall": 1.0},
                          "arme": {"status": "not_implemented"}},
        },
        "bias": {"passed": False},
    }  # fmt: skip
    (out / "metrics.json").write_text("{}", encoding="utf-8")
    logged = log_report(uri, run_id, out, metrics)
    assert logged == ["validation/index.html", "validation/rapport.pdf", "validation/metrics.json"]
    run = client.get_run(run_id)
    assert run.data.tags["validation.gates"] == "failed"
    assert run.data.metrics == headline_metrics(metrics)
    assert run.data.metrics["validation/feu/recall"] == 1.0
    assert "validation/all/f1" not in run.data.metrics
    names = {a.path for a in client.list_artifacts(run_id, "validation")}
    assert names == set(logged)
