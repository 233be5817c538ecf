"""The figures of metrics.json that become MLflow metrics of the validated model's run."""

from __future__ import annotations

import pytest

from veilleur.evaluation.mlflow_log import headline_metrics


@pytest.mark.req("EX-085")
def test_headline_metrics_include_detection_events_and_tracking() -> None:
    metrics = {
        "detection": {"map": 0.1, "map50": 0.2, "ar100": None},
        "events": {
            "overall": {"precision": 0.5, "recall": 0.25, "f1": None},
            "per_event": {
                "arme": {"status": "evaluated", "recall": 1.0},
                "feu": {"status": "no_ground_truth", "recall": 0.0},
            },
        },
        "tracking": {
            "overall": {"mota": -0.3, "idf1": 0.25, "hota": 0.27},
            "per_class": [
                {"name": "person", "mota": 0.5, "idf1": 0.6, "hota": None},
            ],
        },
    }
    assert headline_metrics(metrics) == {
        "validation/map": 0.1,
        "validation/map50": 0.2,
        "validation/all/precision": 0.5,
        "validation/all/recall": 0.25,
        "validation/arme/recall": 1.0,
        "validation/tracking/all/mota": -0.3,
        "validation/tracking/all/idf1": 0.25,
        "validation/tracking/all/hota": 0.27,
        "validation/tracking/person/mota": 0.5,
        "validation/tracking/person/idf1": 0.6,
    }


def test_headline_metrics_without_tracking() -> None:
    assert headline_metrics({"detection": {"map50": 0.3}}) == {"validation/map50": 0.3}
