"""Error analysis (EX-065, EX-087): the highest-loss false positives and negatives, by cause.

Detection errors are read from pycocotools' own matching at IoU 0.50 (area "all", at most 100
detections per image), so they are the errors the mAP counts:

- a *false positive* (FP) is a predicted box matched to no ground-truth box; its loss is its
  score (a confident wrong box costs most). Cause: ``classe`` (it overlaps, IoU ≥ 0.5, a box of
  another class), ``localisation`` (IoU 0.1–0.5 with a box of its class), ``doublon`` (IoU ≥ 0.5
  with a box of its class already matched by a better-scored prediction), ``fond`` (none);
- a *false negative* (FN) is a ground-truth box no prediction matched; its loss is
  ``1 − score`` of the best same-class prediction overlapping it (IoU ≥ 0.1), 1 without one.
  Cause: ``classe``, ``localisation``, ``petit objet`` (area < 32², COCO's "small"), ``manqué``.

Event errors (alerts matched to no event, events no alert matched) come from
:mod:`veilleur.evaluation.event_matching`, with the test frame nearest in time for a thumbnail.

:func:`write_fiftyone_samples` writes the list that :func:`load_fiftyone_view` (or any tool)
loads as a FiftyOne view: one sample per image, its error boxes as detections, tagged ``fp`` /
``fn`` and by cause.
"""

from __future__ import annotations

import base64
import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from veilleur.evaluation.detection_metrics import run_cocoeval
from veilleur.evaluation.event_metrics import EventEvaluation

__all__ = [
    "CAUSE_LABELS_FR",
    "DetectionError",
    "ErrorAnalysis",
    "EventError",
    "analyse_errors",
    "load_fiftyone_view",
    "thumbnail_base64",
    "write_fiftyone_samples",
]

logger = logging.getLogger(__name__)

CAUSE_LABELS_FR: Mapping[str, str] = {
    "classe": "confusion de classe",
    "localisation": "localisation imprécise",
    "doublon": "détection en double",
    "fond": "fausse détection sur le fond",
    "petit objet": "petit objet (moins de 32 × 32 pixels)",
    "manqué": "objet manqué",
    "hors fenêtre": "signalement hors de toute fenêtre d’événement",
    "non signalé": "événement non signalé",
}

_SMALL_AREA = 32.0**2


@dataclass(frozen=True)
class DetectionError:
    kind: str  # "fp" | "fn"
    cause: str
    loss: float
    image_id: int
    file_name: str
    clip: str | None
    category: str
    bbox: tuple[float, float, float, float]  # x, y, w, h in pixels
    score: float | None
    width: int
    height: int


@dataclass(frozen=True)
class EventError:
    kind: str  # "fp" | "fn"
    cause: str
    clip: str
    event: str
    time_s: float
    confidence: float | None
    image_id: int | None
    file_name: str | None


@dataclass(frozen=True)
class ErrorAnalysis:
    """The ``top`` highest-loss errors of each kind, and the count of every error per cause."""

    false_positives: tuple[DetectionError, ...]
    false_negatives: tuple[DetectionError, ...]
    fp_causes: Mapping[str, int]
    fn_causes: Mapping[str, int]
    event_errors: tuple[EventError, ...]
    images_dir: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "false_positives": [asdict(e) for e in self.false_positives],
            "false_negatives": [asdict(e) for e in self.false_negatives],
            "fp_causes": dict(self.fp_causes),
            "fn_causes": dict(self.fn_causes),
            "event_errors": [asdict(e) for e in self.event_errors],
        }


def _iou(box: NDArray[np.float64], others: NDArray[np.float64]) -> NDArray[np.float64]:
    """IoU of one ``xywh`` box with each row of ``others``."""
    if others.size == 0:
        return np.zeros(0)
    x1 = np.maximum(box[0], others[:, 0])
    y1 = np.maximum(box[1], others[:, 1])
    x2 = np.minimum(box[0] + box[2], others[:, 0] + others[:, 2])
    y2 = np.minimum(box[1] + box[3], others[:, 1] + others[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = box[2] * box[3] + others[:, 2] * others[:, 3] - inter
    return np.where(union > 0, inter / union, 0.0)


def _boxes(rows: Sequence[Mapping[str, Any]]) -> NDArray[np.float64]:
    return np.array([r["bbox"] for r in rows], dtype=np.float64).reshape(-1, 4)


def analyse_errors(
    gt: Mapping[str, Any],
    predictions: Sequence[Mapping[str, Any]],
    *,
    events: EventEvaluation | None = None,
    top: int = 12,
    min_score: float = 0.0,
) -> ErrorAnalysis:
    """Classify every detection error at IoU 0.50 and keep the ``top`` of each kind by loss.

    Args:
        gt: COCO ground truth (images may carry ``clip`` and ``timestamp_s``).
        predictions: COCO results evaluated against it.
        events: the event evaluation, for the event-level errors (optional).
        top: how many FPs and FNs to keep (causes count them all).
        min_score: predictions below this score are not listed as false positives (they are
            the long tail that only the mAP sweep sees).
    """
    coco_eval, gt_copy, _ = run_cocoeval(gt, predictions)
    params = coco_eval.params
    n_a, n_i = len(params.areaRng), len(params.imgIds)
    images = {int(im["id"]): im for im in gt_copy["images"]}
    names = {int(c["id"]): str(c["name"]) for c in gt_copy["categories"]}
    gts = coco_eval.cocoGt
    dts = coco_eval.cocoDt
    fps: list[DetectionError] = []
    fns: list[DetectionError] = []
    for k, cat_id in enumerate(params.catIds):
        for i, img_id in enumerate(params.imgIds):
            entry = coco_eval.evalImgs[k * n_a * n_i + i]
            if entry is None:
                continue
            im = images[int(img_id)]
            all_gt = gts.loadAnns(gts.getAnnIds(imgIds=[img_id]))
            same_gt = [a for a in all_gt if a["category_id"] == cat_id]
            other_gt = [a for a in all_gt if a["category_id"] != cat_id and not a["iscrowd"]]
            all_dt = dts.loadAnns(dts.getAnnIds(imgIds=[img_id]))
            same_dt = [d for d in all_dt if d["category_id"] == cat_id]
            other_dt = [d for d in all_dt if d["category_id"] != cat_id]

            def error(kind: str, cause: str, loss: float, ann: Mapping[str, Any]) -> DetectionError:
                return DetectionError(
                    kind=kind,
                    cause=cause,
                    loss=float(loss),
                    image_id=int(img_id),  # noqa: B023 - used at once, inside the loop
                    file_name=str(im.get("file_name", "")),  # noqa: B023
                    clip=im.get("clip"),  # noqa: B023
                    category=names.get(int(cat_id), str(cat_id)),  # noqa: B023
                    bbox=tuple(float(v) for v in ann["bbox"]),  # type: ignore[arg-type]
                    score=float(ann["score"]) if "score" in ann else None,
                    width=int(im.get("width", 0)),  # noqa: B023
                    height=int(im.get("height", 0)),  # noqa: B023
                )

            dt_by_id = {int(d["id"]): d for d in same_dt}
            gt_by_id = {int(a["id"]): a for a in same_gt}
            matched_gt = {int(g) for g in entry["dtMatches"][0] if g > 0}
            for j, dt_id in enumerate(entry["dtIds"]):
                if entry["dtMatches"][0][j] > 0 or entry["dtIgnore"][0][j]:
                    continue
                d = dt_by_id[int(dt_id)]
                if float(d["score"]) < min_score:
                    continue
                box = np.asarray(d["bbox"], dtype=np.float64)
                iou_same = _iou(box, _boxes(same_gt))
                iou_other = _iou(box, _boxes(other_gt))
                if iou_same.size and iou_same.max() >= 0.5:
                    cause = "doublon"
                elif iou_other.size and iou_other.max() >= 0.5:
                    cause = "classe"
                elif iou_same.size and iou_same.max() >= 0.1:
                    cause = "localisation"
                else:
                    cause = "fond"
                fps.append(error("fp", cause, float(d["score"]), d))
            for j, gt_id in enumerate(entry["gtIds"]):
                if entry["gtIgnore"][j] or int(gt_id) in matched_gt:
                    continue
                if entry["gtMatches"][0][j] > 0:
                    continue
                a = gt_by_id[int(gt_id)]
                box = np.asarray(a["bbox"], dtype=np.float64)
                iou_same = _iou(box, _boxes(same_dt))
                iou_other = _iou(box, _boxes(other_dt))
                near = [same_dt[t] for t in np.flatnonzero(iou_same >= 0.1)]
                best = max((float(d["score"]) for d in near), default=0.0)
                if iou_other.size and iou_other.max() >= 0.5:
                    cause = "classe"
                elif near:
                    cause = "localisation"
                elif float(a.get("area", box[2] * box[3])) < _SMALL_AREA:
                    cause = "petit objet"
                else:
                    cause = "manqué"
                fns.append(error("fn", cause, 1.0 - best, a))
    fps.sort(key=lambda e: (-e.loss, e.image_id, e.bbox))
    fns.sort(key=lambda e: (-e.loss, -(e.bbox[2] * e.bbox[3]), e.image_id))
    return ErrorAnalysis(
        false_positives=tuple(fps[:top]),
        false_negatives=tuple(fns[:top]),
        fp_causes=dict(Counter(e.cause for e in fps)),
        fn_causes=dict(Counter(e.cause for e in fns)),
        event_errors=tuple(_event_errors(events, gt_copy["images"])) if events else (),
    )


def _event_errors(events: EventEvaluation, images: Sequence[Mapping[str, Any]]) -> list[EventError]:
    """Event FPs and FNs, each with the test frame of its clip nearest to its time."""
    frames: dict[str, list[Mapping[str, Any]]] = {}
    for image in images:
        if image.get("clip") is not None and image.get("timestamp_s") is not None:
            frames.setdefault(str(image["clip"]), []).append(image)

    def nearest(clip: str, t: float) -> Mapping[str, Any] | None:
        cands = frames.get(clip)
        if not cands:
            return None
        return min(cands, key=lambda c: abs(float(c["timestamp_s"]) - t))

    out: list[EventError] = []
    im: Mapping[str, Any] | None
    for a in events.match.false_positives:
        im = nearest(a.clip, a.alert_s)
        out.append(
            EventError("fp", "hors fenêtre", a.clip, a.event, a.alert_s, a.confidence,
                       None if im is None else int(im["id"]),
                       None if im is None else str(im.get("file_name")))
        )  # fmt: skip
    for g in events.match.false_negatives:
        im = nearest(g.clip, (g.start_s + g.end_s) / 2.0)
        out.append(
            EventError("fn", "non signalé", g.clip, g.event, g.start_s, None,
                       None if im is None else int(im["id"]),
                       None if im is None else str(im.get("file_name")))
        )  # fmt: skip
    out.sort(key=lambda e: (e.kind, -(e.confidence or 0.0), e.clip, e.time_s))
    return out


def thumbnail_base64(
    image_path: Path,
    bbox: Sequence[float] | None,
    *,
    colour: tuple[int, int, int],
    height: int = 140,
) -> str | None:
    """A JPEG thumbnail (base64) around ``bbox`` (x, y, w, h) drawn in ``colour`` (BGR).

    Without a box, the whole frame. ``None`` when the image cannot be read.
    """
    import cv2

    img = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
    if img is None:
        return None
    h_img, w_img = img.shape[:2]
    if bbox is not None:
        x, y, w, h = (float(v) for v in bbox)
        cv2.rectangle(img, (int(x), int(y)), (int(x + w), int(y + h)), colour, 2)
        margin = max(w, h, 40.0)
        x0, y0 = int(max(x - margin, 0)), int(max(y - margin, 0))
        x1, y1 = int(min(x + w + margin, w_img)), int(min(y + h + margin, h_img))
        img = img[y0:y1, x0:x1]
    scale = height / max(img.shape[0], 1)
    img = cv2.resize(img, (max(int(img.shape[1] * scale), 1), height))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return base64.b64encode(buf.tobytes()).decode("ascii") if ok else None


def write_fiftyone_samples(analysis: ErrorAnalysis, images_dir: Path, out: Path) -> Path:
    """Write ``out`` (JSON): one sample per image with error boxes, ready for FiftyOne.

    Each sample: ``filepath`` (absolute), ``image_id``, ``clip``, ``tags`` (``fp``/``fn`` and the
    causes) and ``errors``: ``label``, ``bounding_box`` ``[x, y, w, h]`` relative to the image
    (FiftyOne's convention), ``confidence``, ``kind``, ``cause``, ``loss``.
    """
    samples: dict[int, dict[str, Any]] = {}
    for e in (*analysis.false_positives, *analysis.false_negatives):
        s = samples.setdefault(
            e.image_id,
            {
                "filepath": str((images_dir / e.file_name).resolve()),
                "image_id": e.image_id,
                "clip": e.clip,
                "tags": [],
                "errors": [],
            },
        )
        for tag in (e.kind, e.cause):
            if tag not in s["tags"]:
                s["tags"].append(tag)
        x, y, w, h = e.bbox
        s["errors"].append(
            {
                "label": e.category,
                "bounding_box": [x / e.width, y / e.height, w / e.width, h / e.height]
                if e.width and e.height
                else [x, y, w, h],
                "confidence": e.score,
                "kind": e.kind,
                "cause": e.cause,
                "loss": e.loss,
            }
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"name": "veilleur-erreurs", "samples": list(samples.values())}
    out.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return out


def load_fiftyone_view(samples_json: Path, dataset_name: str = "veilleur-erreurs") -> Any:
    """Load the file of :func:`write_fiftyone_samples` as a FiftyOne dataset (non-persistent).

    FiftyOne (and its bundled MongoDB) is imported here only: ``fo.launch_app(view)`` then
    shows the errors, ``view.match_tags("fp")`` the false positives.
    """
    import fiftyone as fo

    doc = json.loads(samples_json.read_text(encoding="utf-8"))
    if fo.dataset_exists(dataset_name):
        fo.delete_dataset(dataset_name)
    dataset = fo.Dataset(dataset_name)
    samples = []
    for s in doc["samples"]:
        sample = fo.Sample(filepath=s["filepath"], tags=list(s["tags"]))
        sample["clip"] = s.get("clip")
        sample["errors"] = fo.Detections(
            detections=[
                fo.Detection(
                    label=e["label"],
                    bounding_box=e["bounding_box"],
                    confidence=e["confidence"],
                    tags=[e["kind"], e["cause"]],
                    loss=e["loss"],
                )
                for e in s["errors"]
            ]
        )
        samples.append(sample)
    dataset.add_samples(samples)
    return dataset.view()
