"""Everything the validation report shows, as typed, frozen records.

The evaluate stage builds a :class:`ReportContext` from the dataset manifest, the model sidecar,
:func:`~veilleur.evaluation.detection_metrics.evaluate_coco`,
:func:`~veilleur.evaluation.event_metrics.evaluate_events` and
:func:`~veilleur.evaluation.slices.evaluate_slices`, then hands it to
:func:`~veilleur.evaluation.report.render_report`. Field names are English; the report
translates them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from veilleur.evaluation.bias import BiasAnalysis
from veilleur.evaluation.compare import Comparison
from veilleur.evaluation.detection_metrics import DetectionReport, DetectionSlice
from veilleur.evaluation.errors import ErrorAnalysis
from veilleur.evaluation.event_metrics import EventEvaluation
from veilleur.evaluation.slices import SliceMetrics
from veilleur.evaluation.tracking_metrics import TrackingEvaluation

__all__ = ["DatasetInfo", "ModelInfo", "Provenance", "ReportContext", "SplitCounts"]


@dataclass(frozen=True)
class SplitCounts:
    """Size of one split of the prepared dataset (contracts §6).

    Attributes:
        split: ``"train"``, ``"val"`` or ``"test"``.
        clips: number of clips in the split.
        frames: number of annotated images.
        boxes_per_class: taxonomy class name → number of ground-truth boxes.
    """

    split: str
    clips: int
    frames: int
    boxes_per_class: Mapping[str, int]


@dataclass(frozen=True)
class DatasetInfo:
    """The dataset the model was trained and tested on.

    Attributes:
        version: ``dataset_version`` of ``data/processed/manifest.json`` (SHA-256 of content).
        splits: counts per split, in display order.
        dvc_hash: DVC hash (md5) of the tracked ``data/processed`` output, when known.
        generator_version: ``generator_version`` of the synth manifest, for synthetic data.
        description: optional French free text on provenance and selection (EX-084).
    """

    version: str
    splits: Sequence[SplitCounts]
    dvc_hash: str | None = None
    generator_version: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class ModelInfo:
    """The evaluated detector (the ONNX sidecar of contracts §5 holds all of it).

    Attributes:
        name: model name (e.g. the ONNX file name).
        classes: taxonomy class names, in output order.
        input_size: ``(H, W)`` of the network input.
        sha256: SHA-256 of the ONNX file.
        mlflow_run_id: the training run.
        onnx_parity_max_abs_diff: max absolute difference between the ONNX and the framework
            outputs on the parity batch; ``None`` when the check was not run.
        opset: ONNX opset.
    """

    name: str
    classes: Sequence[str]
    input_size: tuple[int, int]
    sha256: str
    mlflow_run_id: str | None = None
    onnx_parity_max_abs_diff: float | None = None
    opset: int | None = None


@dataclass(frozen=True)
class Provenance:
    """Versions not already carried by :class:`DatasetInfo` and :class:`ModelInfo`.

    Attributes:
        generated_utc: when the report was produced (timezone-aware, or naive UTC).
        config_version: version of the site configuration(s) replayed.
        code_commit: git commit of the code that produced the numbers.
        engine_version: ``veilleur.runtime`` engine version used for the replay.
    """

    generated_utc: datetime
    config_version: str | None = None
    code_commit: str | None = None
    engine_version: str | None = None


@dataclass(frozen=True)
class ReportContext:
    """Input of :func:`~veilleur.evaluation.report.render_report`.

    Attributes:
        dataset: dataset description and counts (section 3).
        model: evaluated model (section 4).
        detection: COCO metrics on ``detection_split``; ``None`` if not evaluated (section 5).
        events: event metrics over the replayed clips (section 6).
        implemented_events: ``EventType`` values the runtime implements; the other of the eight
            events are listed as "non évalué (non implémenté)".
        slices: per-slice metrics (section 7), e.g. from ``evaluate_slices``.
        provenance: versions and date (section 9).
        synthetic_data: the test clips are synthetic scenes (section 2 then says the results
            are not those of a test in conditions analogous to authorised use).
        detection_split: name of the split the detection metrics come from.
        test_conditions: optional French text describing the test conditions (section 2).
        extra_limitations: French sentences appended to the known limitations (section 8).
        bias: worst slices, disparity ratios and gate verdicts (section 7).
        errors: highest-loss false positives / negatives by cause (section 8).
        images_dir: folder the detection ground truth's ``file_name`` are relative to (for the
            error thumbnails); ``None``: no thumbnail.
        per_camera: event metrics per camera (detection delays per camera).
        comparison: regression table against another model's metrics.json (section 9).
        model_card: French summary lines of the model card (training summary, export report).
        tracking: MOTA, MOTP, IDF1, ID switches and HOTA of the engine's tracker on the
            replayed clips whose annotations carry track ids; ``None``: not evaluated.
        detection_slices: COCO metrics per slice of clips (lighting, weather, …).
    """

    dataset: DatasetInfo
    model: ModelInfo
    detection: DetectionReport | None
    events: EventEvaluation
    implemented_events: Sequence[str]
    slices: Sequence[SliceMetrics]
    provenance: Provenance
    synthetic_data: bool = True
    detection_split: str = "test"
    test_conditions: str | None = None
    extra_limitations: Sequence[str] = field(default_factory=tuple)
    bias: BiasAnalysis | None = None
    errors: ErrorAnalysis | None = None
    images_dir: Path | None = None
    per_camera: Sequence[SliceMetrics] = field(default_factory=tuple)
    comparison: Comparison | None = None
    model_card: Mapping[str, str] = field(default_factory=dict)
    tracking: TrackingEvaluation | None = None
    detection_slices: Sequence[DetectionSlice] = field(default_factory=tuple)
