"""Build the report's :class:`ReportContext` from the evaluate stage's raw outputs.

The evaluate stage runs the expensive part (inference on test images, replay of test clips)
once and saves the raw predictions and alerts; metrics are recomputed from them here, by the
pure functions, so the report stage and ``metrics.json`` always agree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from veilleur.data.provenance import dvc_out_hash, git_commit
from veilleur.evaluation.bias import analyse_bias
from veilleur.evaluation.detection_metrics import evaluate_coco, evaluate_detection_slices
from veilleur.evaluation.errors import analyse_errors
from veilleur.evaluation.event_gt import load_ground_truth
from veilleur.evaluation.event_matching import PredictedAlert, Tolerance
from veilleur.evaluation.event_metrics import evaluate_events
from veilleur.evaluation.params import EvaluateParams
from veilleur.evaluation.replay_eval import replayable_clips
from veilleur.evaluation.report import SLICE_KEY_LABELS_FR, SLICE_VALUE_LABELS_FR
from veilleur.evaluation.report_context import (
    DatasetInfo,
    ModelInfo,
    Provenance,
    ReportContext,
    SplitCounts,
)
from veilleur.evaluation.slices import DEFAULT_SLICERS, PER_CAMERA, evaluate_slices
from veilleur.evaluation.tracking_metrics import (
    FrameBoxes,
    TrackedFrame,
    TrackingEvaluation,
    evaluate_tracking,
)
from veilleur.runtime import ENGINE_VERSION
from veilleur.runtime.analytics.rules import ANALYZERS
from veilleur.runtime.core.taxonomy import CLASS_IDS, CLASSES
from veilleur.runtime.detect.onnx import file_sha256, read_sidecar

RAW_PREDICTIONS = "detections.json"
RAW_ALERTS = "alerts.jsonl"
RAW_RUN = "run.json"
RAW_TRACKS = "tracks.json"


def implemented_events() -> list[str]:
    """Event types the runtime's rules registry implements (one source of truth)."""
    return [str(e) for e in ANALYZERS]


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def build_context(
    data_dir: Path, model: Path, eval_dir: Path, params: EvaluateParams
) -> ReportContext:
    """Assemble everything the report shows from the prepared data and the raw outputs."""
    manifest = _read_json(data_dir / "manifest.json")
    splits = _read_json(data_dir / "splits.json")
    run = _read_json(eval_dir / RAW_RUN)
    test_clips, not_replayed = replayable_clips({c: splits["clips"][c] for c in splits["test"]})

    gt = load_ground_truth(Path(e["events"]) for e in test_clips.values())
    alerts = [
        PredictedAlert.from_record(rec, rec["clip"])
        for line in (eval_dir / RAW_ALERTS).read_text(encoding="utf-8").splitlines()
        if line.strip()
        for rec in [json.loads(line)]
    ]
    events = implemented_events()
    tol = Tolerance(params.tolerance_before_s, params.tolerance_after_s)
    kw: dict[str, Any] = {
        "event_types": events,
        "tolerance": tol,
        "n_bootstrap": params.n_bootstrap,
        "seed": params.seed,
    }
    event_eval = evaluate_events(list(gt.events), alerts, gt.clips, **kw)
    slices = evaluate_slices(list(gt.events), alerts, gt.clips, **kw)
    per_camera = evaluate_slices(list(gt.events), alerts, gt.clips, PER_CAMERA, **kw)
    bias = analyse_bias(
        slices,
        params.gates,
        key_labels=SLICE_KEY_LABELS_FR,
        value_labels=SLICE_VALUE_LABELS_FR,
    )

    coco_gt = _read_json(data_dir / "test" / "annotations.json")
    predictions = _read_json(eval_dir / RAW_PREDICTIONS)
    detection = evaluate_coco(
        coco_gt,
        predictions,
        n_bootstrap=params.detection_bootstrap,
        seed=params.seed,
        confusion_min_score=params.event_confidence,
    )
    clip_values = {
        key: {c: v for c, info in gt.clips.items() if (v := slicer(info)) is not None}
        for key, slicer in DEFAULT_SLICERS.items()
    }
    detection_slices = evaluate_detection_slices(
        coco_gt,
        predictions,
        clip_values,
        n_bootstrap=params.detection_bootstrap,
        seed=params.seed,
    )
    tracking = None
    tracks_path = eval_dir / RAW_TRACKS
    if tracks_path.is_file():
        tracking = tracking_evaluation(
            test_clips,
            coco_gt,
            _read_json(tracks_path),
            n_bootstrap=params.n_bootstrap,
            seed=params.seed,
        )
    errors = analyse_errors(
        coco_gt,
        predictions,
        events=event_eval,
        top=params.errors_per_kind,
        min_score=params.event_confidence,
    )

    side = read_sidecar(model)
    export_report = model.parent / "export_report.json"
    parity = _read_json(export_report).get("max_abs_diff") if export_report.is_file() else None
    counts = manifest.get("counts", {})
    source = manifest.get("source") or {}
    synthetic = source.get("kind") != "ingest"
    limitations = []
    if not_replayed:
        reasons = sorted(set(not_replayed.values()))
        limitations.append(
            f"{len(not_replayed)} séquence(s) du test n'ont pas été rejouées par le moteur "
            f"({' ; '.join(reasons)}) : elles comptent pour la détection d'objets, pas pour "
            "les événements ni le pistage."
        )
    return ReportContext(
        dataset=DatasetInfo(
            version=str(manifest["dataset_version"]),
            splits=[
                SplitCounts(
                    split=s,
                    clips=int(counts[s]["clips"]),
                    frames=int(counts[s]["images"]),
                    boxes_per_class=dict(counts[s]["boxes_per_class"]),
                )
                for s in ("train", "val", "test")
                if s in counts
            ],
            dvc_hash=dvc_out_hash(str(data_dir)),
            generator_version=source.get("generator_version"),
            description=(
                "Scènes synthétiques générées par « veilleur synth » (graine "
                f"{source.get('seed')}), réparties par séquence entre "
                "apprentissage, validation et test."
                if synthetic
                else "Données réelles importées par « veilleur data ingest » depuis "
                + ", ".join(str(s.get("name")) for s in source.get("sources") or ())
                + ", réparties par scène (site, caméra) ou par séquence entre apprentissage, "
                "validation et test (voir la fiche du jeu de données)."
            ),
        ),
        model=ModelInfo(
            name=model.name,
            classes=list(side.get("classes", [])),
            input_size=tuple(side.get("input_size", (0, 0))),
            sha256=run["model_sha256"],
            mlflow_run_id=side.get("mlflow_run_id"),
            onnx_parity_max_abs_diff=parity,
            opset=side.get("opset"),
        ),
        detection=detection,
        events=event_eval,
        implemented_events=events,
        slices=slices,
        provenance=Provenance(
            generated_utc=datetime.now(UTC),
            config_version=run["config_version"],
            code_commit=git_commit(),
            engine_version=ENGINE_VERSION,
        ),
        synthetic_data=synthetic,
        extra_limitations=tuple(limitations),
        bias=bias,
        errors=errors,
        images_dir=data_dir / "test",
        per_camera=per_camera,
        model_card=model_card(model),
        tracking=tracking,
        detection_slices=tuple(detection_slices),
    )


def _gt_frames(doc: Mapping[str, Any], clip: str | None) -> dict[int, FrameBoxes] | str:
    """Annotated frames of a clip (frame index → boxes), or why they cannot be evaluated."""
    names = {int(c["id"]): str(c["name"]) for c in doc.get("categories", [])}
    images = {
        int(im["id"]): int(im["frame_index"])
        for im in doc.get("images", [])
        if (clip is None or im.get("clip") == clip) and im.get("frame_index") is not None
    }
    if not images:
        return "aucune image annotée portant son numéro d’image"
    rows: dict[int, list[tuple[float, ...]]] = {f: [] for f in images.values()}
    for a in doc.get("annotations", []):
        frame = images.get(int(a["image_id"]))
        if frame is None or a.get("iscrowd", 0):
            continue
        cls = CLASS_IDS.get(names.get(int(a["category_id"]), ""))
        if cls is None:
            continue
        if a.get("track_id") is None:
            return "annotations sans identifiant de piste"
        x, y, w, h = (float(v) for v in a["bbox"])
        rows[frame].append((int(a["track_id"]), cls, x, y, x + w, y + h))
    return {f: FrameBoxes.from_rows(r) for f, r in rows.items()}


def tracking_sequences(
    clips: Mapping[str, Mapping[str, Any]],
    coco_test: Mapping[str, Any],
    tracks: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]],
) -> tuple[dict[str, list[TrackedFrame]], dict[str, str]]:
    """Ground truth and tracker output of the frames both annotated and analysed, per clip.

    The ground truth of a clip is its own COCO file (``clips[clip]["coco"]``, every frame)
    when there is one, else its images of the test COCO file. Clips whose annotations carry
    no track id, clips filmed by several cameras and clips with no frame both annotated and
    analysed are left out; the second value says why (in French, for the report).
    """
    sequences: dict[str, list[TrackedFrame]] = {}
    skipped: dict[str, str] = {}
    for clip, entry in sorted(clips.items()):
        cams = tracks.get(clip)
        if not cams:
            skipped[clip] = "séquence non rejouée"
            continue
        if len(cams) != 1:
            skipped[clip] = "plusieurs caméras pour une séquence annotée"
            continue
        own = Path(str(entry["coco"])) if entry.get("coco") else None
        gt = (
            _gt_frames(_read_json(own), None)
            if own is not None and own.is_file()
            else _gt_frames(coco_test, clip)
        )
        if isinstance(gt, str):
            skipped[clip] = gt
            continue
        frames = [
            TrackedFrame(gt[int(rec["frame_index"])], FrameBoxes.from_rows(rec["boxes"]))
            for rec in next(iter(cams.values()))
            if int(rec["frame_index"]) in gt
        ]
        if not frames:
            skipped[clip] = "aucune image à la fois annotée et analysée"
            continue
        sequences[clip] = frames
    return sequences, skipped


def tracking_evaluation(
    clips: Mapping[str, Mapping[str, Any]],
    coco_test: Mapping[str, Any],
    tracks: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]],
    *,
    n_bootstrap: int,
    seed: int,
) -> TrackingEvaluation | None:
    """Tracking metrics of the replayed clips whose annotations carry track ids."""
    sequences, skipped = tracking_sequences(clips, coco_test, tracks)
    if not sequences:
        return None
    return evaluate_tracking(
        sequences, dict(enumerate(CLASSES)), n_bootstrap=n_bootstrap, seed=seed, skipped=skipped
    )


def model_card(model: Path) -> dict[str, str]:
    """French summary of the model card: what ``train`` and ``export`` recorded next to it."""
    card: dict[str, str] = {
        "Usage prévu": (
            "détection des personnes, véhicules, bagages, armes, feux, fumées et personnes au "
            "sol servant aux huit événements prédéterminés ; aucun traitement biométrique"
        ),
    }
    summary_path = model.parent / "train_summary.json"
    if summary_path.is_file():
        summary = _read_json(summary_path)
        p = summary.get("params", {})
        card["Architecture"] = (
            f"détecteur à une passe, taille « {p.get('model_size', '?')} », entrée "
            f"{'×'.join(str(v) for v in p.get('input_size', []))} pixels"
        )
        augment = "activées" if p.get("augment") else "désactivées"
        card["Entraînement"] = (
            f"{p.get('epochs', '?')} époques, lot de {p.get('batch_size', '?')}, graine "
            f"{p.get('seed', '?')}, augmentations {augment}"
        )
        val_map = (summary.get("final_metrics") or {}).get("val/map50")
        if val_map is not None:
            card["mAP@0,5 en validation (fin d’entraînement)"] = f"{val_map:.3f}".replace(".", ",")
        card["Jeu de données d’entraînement"] = str(summary.get("dataset_version", "?"))
        card["Commit du code d’entraînement"] = str(summary.get("git_commit", "?"))
        card["Exécution MLflow"] = str(summary.get("mlflow_run_id", "?"))
    export_path = model.parent / "export_report.json"
    if export_path.is_file():
        export = _read_json(export_path)
        card["Export ONNX"] = (
            f"opset {export.get('opset', '?')}, exportateur {export.get('exporter', '?')}, "
            f"parité {'vérifiée' if export.get('passed') else 'NON vérifiée'} sur "
            f"{export.get('n_images', '?')} images"
        )
    return card


def combined_config_version(versions: list[str]) -> str:
    """One version for several site configurations (one per replayed clip)."""
    if len(set(versions)) == 1:
        return versions[0]
    return hashlib.sha256(",".join(sorted(versions)).encode()).hexdigest()[:16]


def write_raw(
    eval_dir: Path,
    predictions: list[dict[str, Any]],
    alerts: list[dict[str, Any]],
    model: Path,
    config_versions: list[str],
    tracks: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]] | None = None,
) -> None:
    """Write the raw outputs of the evaluate stage (``tracks``: clip → camera → frames)."""
    eval_dir.mkdir(parents=True, exist_ok=True)
    (eval_dir / RAW_PREDICTIONS).write_text(json.dumps(predictions), encoding="utf-8")
    if tracks is not None:
        (eval_dir / RAW_TRACKS).write_text(
            json.dumps(tracks, separators=(",", ":")), encoding="utf-8"
        )
    with (eval_dir / RAW_ALERTS).open("w", encoding="utf-8") as f:
        for a in alerts:
            f.write(json.dumps(a, ensure_ascii=False, sort_keys=True) + "\n")
    run = {
        "model": str(model),
        "model_sha256": file_sha256(model),
        "config_version": combined_config_version(config_versions),
        "engine_version": ENGINE_VERSION,
    }
    (eval_dir / RAW_RUN).write_text(json.dumps(run, indent=1), encoding="utf-8")
