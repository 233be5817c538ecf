"""A plausible (fake) ReportContext built through the real metric functions."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from veilleur.evaluation.bias import analyse_bias
from veilleur.evaluation.detection_metrics import evaluate_coco
from veilleur.evaluation.errors import analyse_errors
from veilleur.evaluation.event_gt import ClipInfo, GroundTruthEvent
from veilleur.evaluation.event_matching import PredictedAlert
from veilleur.evaluation.event_metrics import evaluate_events
from veilleur.evaluation.params import GateParams
from veilleur.evaluation.report import SLICE_KEY_LABELS_FR, SLICE_VALUE_LABELS_FR
from veilleur.evaluation.report_context import (
    DatasetInfo,
    ModelInfo,
    Provenance,
    ReportContext,
    SplitCounts,
)
from veilleur.evaluation.slices import PER_CAMERA, evaluate_slices
from veilleur.runtime.core.taxonomy import CLASSES

DATASET_VERSION = "3f9a1c0d5e7b2a4c6d8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e"
MODEL_SHA = "b7e4c1a9f0d2e3c4b5a6978877665544332211ffeeddccbbaa99887766554433"
IMPLEMENTED = ("franchissement", "sens_circulation", "densite")


def _coco_fixture() -> tuple[dict[str, object], list[dict[str, object]]]:
    rng = np.random.default_rng(0)
    images: list[dict[str, object]] = []
    anns: list[dict[str, object]] = []
    preds: list[dict[str, object]] = []
    for img in range(1, 21):
        images.append(
            {"id": img, "width": 704, "height": 576, "clip": f"clip_{img % 5:04d}",
             "file_name": f"images/{img:06d}.jpg", "timestamp_s": float(img)}
        )  # fmt: skip
        for k in range(3):
            cat = 1 + (img + k) % 3
            x, y = float(rng.uniform(0, 500)), float(rng.uniform(0, 400))
            w, h = float(rng.uniform(20, 150)), float(rng.uniform(20, 150))
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": img,
                    "category_id": cat,
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
            if rng.uniform() < 0.85:
                dx, dy = rng.normal(0, 4, size=2)
                preds.append(
                    {
                        "image_id": img,
                        "category_id": cat,
                        "bbox": [x + dx, y + dy, w, h],
                        "score": float(rng.uniform(0.4, 1)),
                    }
                )
        if rng.uniform() < 0.3:
            preds.append(
                {
                    "image_id": img,
                    "category_id": 1,
                    "bbox": [10.0, 10.0, 40.0, 80.0],
                    "score": float(rng.uniform(0.3, 0.6)),
                }
            )
    cats = [
        {"id": i + 1, "name": n}
        for i, n in enumerate(
            ("person", "vehicle", "bicycle", "bag", "weapon", "fire", "smoke", "person_lying")
        )
    ]
    return {"images": images, "annotations": anns, "categories": cats}, preds


def build_context() -> ReportContext:
    rng = np.random.default_rng(42)
    lighting = ("day", "dusk", "night")
    weather = ("clear", "rain", "fog")
    clips: dict[str, ClipInfo] = {}
    truth: list[GroundTruthEvent] = []
    alerts: list[PredictedAlert] = []
    for i in range(24):
        cid = f"clip_{i:04d}"
        clips[cid] = ClipInfo(
            clip=cid,
            duration_s=60.0,
            fps=12.5,
            metadata={
                "lighting": lighting[i % 3],
                "weather": weather[(i // 3) % 3],
                "density": ("low", "medium", "high")[i % 3],
                "camera_height_m": float(3 + i % 8),
                "negative": i % 6 == 0,
            },
        )
        if i % 6 == 0:
            continue
        event = IMPLEMENTED[i % 3]
        start = float(rng.uniform(5, 40))
        truth.append(GroundTruthEvent(clip=cid, event=event, start_s=start, end_s=start + 8))
        if rng.uniform() < 0.8:
            alerts.append(PredictedAlert(clip=cid, event=event, alert_s=start + rng.uniform(0, 3)))
        if rng.uniform() < 0.25:
            alerts.append(PredictedAlert(clip=cid, event=event, alert_s=58.0))
    truth.append(GroundTruthEvent(clip="clip_0001", event="feu", start_s=1.0, end_s=5.0))
    events = evaluate_events(truth, alerts, clips, event_types=IMPLEMENTED, n_bootstrap=300)
    slices = evaluate_slices(truth, alerts, clips, event_types=IMPLEMENTED, n_bootstrap=300)
    per_camera = evaluate_slices(
        truth, alerts, clips, PER_CAMERA, event_types=IMPLEMENTED, n_bootstrap=300
    )
    bias = analyse_bias(
        slices, GateParams(), key_labels=SLICE_KEY_LABELS_FR, value_labels=SLICE_VALUE_LABELS_FR
    )
    gt, preds = _coco_fixture()
    return ReportContext(
        dataset=DatasetInfo(
            version=DATASET_VERSION,
            dvc_hash="5d41402abc4b2a76b9719d911017c592.dir",
            generator_version="0.1.0",
            splits=[
                SplitCounts("train", 16, 12000, {"person": 41000, "vehicle": 3200, "bag": 800}),
                SplitCounts("val", 4, 3000, {"person": 10100, "vehicle": 790, "bag": 210}),
                SplitCounts("test", 4, 3000, {"person": 9900, "vehicle": 820, "fire": 35}),
            ],
        ),
        model=ModelInfo(
            name="detector.onnx",
            classes=CLASSES,
            input_size=(640, 640),
            sha256=MODEL_SHA,
            mlflow_run_id="a1b2c3d4e5f60718293a4b5c6d7e8f90",
            onnx_parity_max_abs_diff=3.1e-6,
            opset=17,
        ),
        detection=evaluate_coco(gt, preds, n_bootstrap=100),
        events=events,
        implemented_events=IMPLEMENTED,
        slices=slices,
        provenance=Provenance(
            generated_utc=datetime(2025, 6, 2, 14, 3, tzinfo=UTC),
            config_version="cfg-2025-06-01",
            code_commit="0123456789abcdef0123456789abcdef01234567",
            engine_version="0.1.0",
        ),
        extra_limitations=("Caméras mobiles (PTZ) non couvertes par cet essai.",),
        bias=bias,
        errors=analyse_errors(gt, preds, events=events, top=6),
        per_camera=per_camera,
        model_card={"Architecture": "détecteur à une passe, taille « nano »"},
    )


@pytest.fixture(scope="module")
def sample_context() -> ReportContext:
    return build_context()
