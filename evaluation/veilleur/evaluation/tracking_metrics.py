"""Multi-object tracking metrics: CLEAR MOT (MOTA, MOTP, ID switches), identity (IDF1) and HOTA.

Pure functions over per-frame boxes: ground truth with its track ids, tracker output with the
tracker's ids. The definitions, and the way ties and empty frames are handled, are those of
TrackEval (the HOTA authors' reference code, used by MOTChallenge); the test suite checks the
numbers against TrackEval and py-motmetrics.

- **CLEAR MOT** (Bernardin & Stiefelhagen 2008), at IoU ≥ 0.5: in each frame ground truth and
  tracker boxes are matched one to one, a pair that was matched in the previous frame being
  kept first, then the largest total IoU. ``MOTA = 1 − (FN + FP + IDSW) / GT``; ``MOTP`` is
  the mean IoU of the matched pairs; an ID switch is a ground-truth object matched to another
  tracker id than the last time it was matched.
- **Identity** (Ristani et al. 2016): each ground-truth track is assigned to at most one
  tracker track over the whole sequence, to maximise the frames where they coincide (IoU ≥
  0.5); ``IDF1 = 2·IDTP / (2·IDTP + IDFP + IDFN)``.
- **HOTA** (Luiten et al. 2021), averaged over the IoU thresholds α = 0.05 … 0.95:
  ``HOTA_α = √(DetA_α · AssA_α)`` with ``DetA = TP / (TP + FN + FP)`` and ``AssA`` the mean,
  over true positives, of the association Jaccard index of their two tracks.

Per class, a sequence's metrics only see the boxes of that class. Every metric is a function
of additive per-sequence statistics (:class:`TrackingStats`), so sequences (clips) and classes
combine by summing them, and clip-bootstrap intervals cost one matrix product.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]

from veilleur.evaluation.detection_metrics import percentile_interval
from veilleur.evaluation.event_metrics import resample_weights

__all__ = [
    "ALPHAS",
    "IOU_THRESHOLD",
    "ClassTracking",
    "ClipTracking",
    "FrameBoxes",
    "TrackedFrame",
    "TrackingEvaluation",
    "TrackingMetrics",
    "TrackingStats",
    "box_iou",
    "evaluate_tracking",
    "metrics_from_stats",
    "sequence_stats",
]

IOU_THRESHOLD = 0.5
"""IoU from which a tracker box counts as the ground-truth box (CLEAR MOT and IDF1)."""

ALPHAS: NDArray[np.float64] = np.arange(0.05, 0.99, 0.05)
"""The 19 localisation thresholds HOTA is averaged over (TrackEval's ``array_labels``)."""

_EPS = float(np.finfo(np.float64).eps)
_N_ALPHA = len(ALPHAS)

# Layout of the statistics vector: scalar fields, then 7 blocks of one value per alpha.
_SCALARS = (
    "frames",
    "gt_dets",
    "pred_dets",
    "gt_ids",
    "pred_ids",
    "tp",
    "fn",
    "fp",
    "idsw",
    "motp_sum",
    "idtp",
    "idfn",
    "idfp",
)
_ARRAYS = ("h_tp", "h_fn", "h_fp", "assa_sum", "assre_sum", "asspr_sum", "loca_sum")
_S = {name: i for i, name in enumerate(_SCALARS)}
_A = {name: len(_SCALARS) + i * _N_ALPHA for i, name in enumerate(_ARRAYS)}
_N_STATS = len(_SCALARS) + len(_ARRAYS) * _N_ALPHA


@dataclass(frozen=True)
class FrameBoxes:
    """Boxes of one frame: track ids, ``x1, y1, x2, y2`` pixels and taxonomy class ids."""

    ids: NDArray[np.int64]
    xyxy: NDArray[np.float64]
    classes: NDArray[np.int64]

    def __post_init__(self) -> None:
        n = self.ids.shape[0]
        if self.xyxy.shape != (n, 4) or self.classes.shape != (n,):
            raise ValueError("FrameBoxes needs one id, one xyxy row and one class per box")

    @classmethod
    def empty(cls) -> FrameBoxes:
        return cls(np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0, np.int64))

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[float]]) -> FrameBoxes:
        """From ``(track_id, class_id, x1, y1, x2, y2)`` rows (extra columns are ignored)."""
        arr = np.asarray([list(r)[:6] for r in rows], dtype=np.float64).reshape(-1, 6)
        return cls(arr[:, 0].astype(np.int64), arr[:, 2:6].copy(), arr[:, 1].astype(np.int64))

    def of_class(self, class_id: int | None) -> FrameBoxes:
        if class_id is None:
            return self
        keep = self.classes == class_id
        return FrameBoxes(self.ids[keep], self.xyxy[keep], self.classes[keep])


@dataclass(frozen=True)
class TrackedFrame:
    """One evaluated frame of a sequence: its ground truth and the tracker's output."""

    gt: FrameBoxes
    pred: FrameBoxes


def box_iou(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """IoU matrix ``(len(a), len(b))`` of ``x1, y1, x2, y2`` boxes (0 for degenerate boxes)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=2)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    inter[area_a <= _EPS, :] = 0.0
    inter[:, area_b <= _EPS] = 0.0
    inter[union <= _EPS] = 0.0
    union[union <= _EPS] = 1.0
    return np.asarray(inter / union, dtype=np.float64)


@dataclass(frozen=True)
class TrackingStats:
    """Additive statistics of one or more sequences (sum them to combine sequences or classes).

    ``vector`` holds, in a fixed layout, frame and box counts, the CLEAR MOT and identity
    counts, and per HOTA threshold the TP / FN / FP counts, the TP-weighted association sums
    and the summed localisation IoU.
    """

    vector: NDArray[np.float64]

    def __add__(self, other: TrackingStats) -> TrackingStats:
        return TrackingStats(self.vector + other.vector)

    @classmethod
    def zero(cls) -> TrackingStats:
        return cls(np.zeros(_N_STATS, dtype=np.float64))

    def __getitem__(self, name: str) -> float:
        return float(self.vector[_S[name]])


def _relabel(ids_per_frame: Sequence[NDArray[np.int64]]) -> tuple[list[NDArray[np.int64]], int]:
    """Track ids → ``0 … n-1`` (in order of first appearance)."""
    index: dict[int, int] = {}
    out = []
    for ids in ids_per_frame:
        out.append(np.array([index.setdefault(int(i), len(index)) for i in ids], dtype=np.int64))
    return out, len(index)


def sequence_stats(
    frames: Sequence[TrackedFrame],
    class_id: int | None = None,
    *,
    iou_threshold: float = IOU_THRESHOLD,
) -> TrackingStats:
    """The statistics of one sequence, restricted to ``class_id`` (``None``: every box).

    Frames must be in time order; a frame with no box still counts (its tracker boxes are
    false positives). Within a sequence (and class), equal ids denote the same track.
    """
    v = np.zeros(_N_STATS, dtype=np.float64)
    gts = [f.gt.of_class(class_id) for f in frames]
    preds = [f.pred.of_class(class_id) for f in frames]
    for i, (g, p) in enumerate(zip(gts, preds, strict=True)):
        for side, boxes in (("ground-truth", g), ("tracker", p)):
            if len(np.unique(boxes.ids)) != len(boxes.ids):
                raise ValueError(
                    f"frame #{i}: a {side} track id appears twice in one frame "
                    f"({sorted(boxes.ids.tolist())}); each box of a frame needs its own id"
                )
    gt_ids, n_gt_ids = _relabel([g.ids for g in gts])
    tr_ids, n_tr_ids = _relabel([p.ids for p in preds])
    sims = [box_iou(g.xyxy, p.xyxy) for g, p in zip(gts, preds, strict=True)]
    n_gt_dets = sum(len(i) for i in gt_ids)
    n_tr_dets = sum(len(i) for i in tr_ids)
    v[_S["frames"]] = len(frames)
    v[_S["gt_dets"]], v[_S["pred_dets"]] = n_gt_dets, n_tr_dets
    v[_S["gt_ids"]], v[_S["pred_ids"]] = n_gt_ids, n_tr_ids
    if n_tr_dets == 0 or n_gt_dets == 0:
        # every ground-truth box is missed, every tracker box is a false positive
        v[_S["fn"]] = v[_S["idfn"]] = n_gt_dets
        v[_S["fp"]] = v[_S["idfp"]] = n_tr_dets
        v[_A["h_fn"] : _A["h_fn"] + _N_ALPHA] = n_gt_dets
        v[_A["h_fp"] : _A["h_fp"] + _N_ALPHA] = n_tr_dets
        return TrackingStats(v)
    _clear(v, gt_ids, tr_ids, sims, n_gt_ids, iou_threshold)
    _identity(v, gt_ids, tr_ids, sims, n_gt_ids, n_tr_ids, iou_threshold)
    _hota(v, gt_ids, tr_ids, sims, n_gt_ids, n_tr_ids)
    return TrackingStats(v)


def _clear(
    v: NDArray[np.float64],
    gt_ids: Sequence[NDArray[np.int64]],
    tr_ids: Sequence[NDArray[np.int64]],
    sims: Sequence[NDArray[np.float64]],
    n_gt_ids: int,
    threshold: float,
) -> None:
    last_tr = np.full(n_gt_ids, np.nan)  # tracker id last matched to each object (any frame)
    # tracker id matched in the last frame that had both boxes (TrackEval does not clear it on
    # a frame without ground truth or without tracker box)
    prev_tr = np.full(n_gt_ids, np.nan)
    for g, t, sim in zip(gt_ids, tr_ids, sims, strict=True):
        if len(g) == 0:
            v[_S["fp"]] += len(t)
            continue
        if len(t) == 0:
            v[_S["fn"]] += len(g)
            continue
        # keep the previous frame's pairs first, then maximise the total IoU
        score = 1000.0 * (t[None, :] == prev_tr[g][:, None]) + sim
        score[sim < threshold - _EPS] = 0.0
        rows, cols = linear_sum_assignment(-score)
        ok = score[rows, cols] > _EPS
        rows, cols = rows[ok], cols[ok]
        mg, mt = g[rows], t[cols].astype(np.float64)
        before = last_tr[mg]
        v[_S["idsw"]] += int(np.sum(~np.isnan(before) & (mt != before)))
        last_tr[mg] = mt
        prev_tr[:] = np.nan
        prev_tr[mg] = mt
        v[_S["tp"]] += len(rows)
        v[_S["fn"]] += len(g) - len(rows)
        v[_S["fp"]] += len(t) - len(rows)
        v[_S["motp_sum"]] += float(sim[rows, cols].sum())


def _identity(
    v: NDArray[np.float64],
    gt_ids: Sequence[NDArray[np.int64]],
    tr_ids: Sequence[NDArray[np.int64]],
    sims: Sequence[NDArray[np.float64]],
    n_gt_ids: int,
    n_tr_ids: int,
    threshold: float,
) -> None:
    together = np.zeros((n_gt_ids, n_tr_ids))
    for g, t, sim in zip(gt_ids, tr_ids, sims, strict=True):
        r, c = np.nonzero(sim >= threshold)
        np.add.at(together, (g[r], t[c]), 1.0)
    rows, cols = linear_sum_assignment(-together)
    idtp = float(together[rows, cols].sum())
    v[_S["idtp"]] = idtp
    v[_S["idfn"]] = v[_S["gt_dets"]] - idtp
    v[_S["idfp"]] = v[_S["pred_dets"]] - idtp


def _hota(
    v: NDArray[np.float64],
    gt_ids: Sequence[NDArray[np.int64]],
    tr_ids: Sequence[NDArray[np.int64]],
    sims: Sequence[NDArray[np.float64]],
    n_gt_ids: int,
    n_tr_ids: int,
) -> None:
    potential = np.zeros((n_gt_ids, n_tr_ids))
    gt_count = np.zeros((n_gt_ids, 1))
    tr_count = np.zeros((1, n_tr_ids))
    for g, t, sim in zip(gt_ids, tr_ids, sims, strict=True):
        denom = sim.sum(0)[None, :] + sim.sum(1)[:, None] - sim
        sim_iou = np.zeros_like(sim)
        mask = denom > _EPS
        sim_iou[mask] = sim[mask] / denom[mask]
        potential[g[:, None], t[None, :]] += sim_iou
        gt_count[g] += 1
        tr_count[0, t] += 1
    alignment = potential / (gt_count + tr_count - potential)
    matches = np.zeros((_N_ALPHA, n_gt_ids, n_tr_ids))
    h_tp, h_fn, h_fp, loca = (np.zeros(_N_ALPHA) for _ in range(4))
    for g, t, sim in zip(gt_ids, tr_ids, sims, strict=True):
        if len(g) == 0 or len(t) == 0:
            h_fp += len(t)
            h_fn += len(g)
            continue
        rows, cols = linear_sum_assignment(-(alignment[g[:, None], t[None, :]] * sim))
        matched_sim = sim[rows, cols]
        for a, alpha in enumerate(ALPHAS):
            ok = matched_sim >= alpha - _EPS
            n = int(ok.sum())
            h_tp[a] += n
            h_fn[a] += len(g) - n
            h_fp[a] += len(t) - n
            if n:
                loca[a] += float(matched_sim[ok].sum())
                matches[a, g[rows[ok]], t[cols[ok]]] += 1
    for a in range(_N_ALPHA):
        m = matches[a]
        union = gt_count + tr_count - m
        v[_A["assa_sum"] + a] = float(np.sum(m * m / np.maximum(1.0, union)))
        v[_A["assre_sum"] + a] = float(np.sum(m * m / np.maximum(1.0, gt_count)))
        v[_A["asspr_sum"] + a] = float(np.sum(m * m / np.maximum(1.0, tr_count)))
    for name, arr in (("h_tp", h_tp), ("h_fn", h_fn), ("h_fp", h_fp), ("loca_sum", loca)):
        v[_A[name] : _A[name] + _N_ALPHA] = arr


@dataclass(frozen=True)
class TrackingMetrics:
    """Tracking figures of a set of sequences (0–1 except counts; ``None`` when undefined).

    Attributes:
        n_frames: evaluated frames; n_gt / n_pred: ground-truth / tracker boxes;
            n_gt_tracks / n_pred_tracks: distinct tracks (summed over sequences).
        tp, fn, fp, id_switches: CLEAR MOT counts at IoU ≥ 0.5.
        mota: ``1 − (FN + FP + IDSW) / GT`` (can be negative); motp: mean IoU of matches.
        idf1, idp, idr: identity F1, precision, recall; idtp / idfp / idfn their counts.
        hota, deta, assa, loca, detre, detpr, assre, asspr: HOTA and its components, each the
            mean over the 19 thresholds α.
        *_ci: clip-bootstrap percentile intervals (``None``: not computed or undefined).
    """

    n_frames: int
    n_gt: int
    n_pred: int
    n_gt_tracks: int
    n_pred_tracks: int
    tp: int
    fn: int
    fp: int
    id_switches: int
    mota: float | None
    motp: float | None
    idf1: float | None
    idp: float | None
    idr: float | None
    idtp: int
    idfp: int
    idfn: int
    hota: float | None
    deta: float | None
    assa: float | None
    loca: float | None
    detre: float | None
    detpr: float | None
    assre: float | None
    asspr: float | None
    mota_ci: tuple[float, float] | None = None
    motp_ci: tuple[float, float] | None = None
    idf1_ci: tuple[float, float] | None = None
    hota_ci: tuple[float, float] | None = None
    deta_ci: tuple[float, float] | None = None
    assa_ci: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_CI_FIELDS = ("mota", "motp", "idf1", "hota", "deta", "assa")


def _final(s: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    """Every ratio from statistics rows ``(n, N_STATS)``; NaN where undefined."""

    def col(name: str) -> NDArray[np.float64]:
        return s[:, _S[name]]

    def block(name: str) -> NDArray[np.float64]:
        return s[:, _A[name] : _A[name] + _N_ALPHA]

    has_gt = col("gt_dets") > 0
    has_pred = col("pred_dets") > 0
    tp, fn, fp = col("tp"), col("fn"), col("fp")
    idtp, idfp, idfn = col("idtp"), col("idfp"), col("idfn")
    h_tp, h_fn, h_fp = block("h_tp"), block("h_fn"), block("h_fp")
    h_tp1 = np.maximum(1.0, h_tp)
    deta = h_tp / np.maximum(1.0, h_tp + h_fn + h_fp)
    assa = block("assa_sum") / h_tp1
    loca = np.maximum(1e-10, block("loca_sum")) / np.maximum(1e-10, h_tp)
    out = {
        "mota": (tp - fp - col("idsw")) / np.maximum(1.0, tp + fn),
        "motp": col("motp_sum") / np.maximum(1.0, tp),
        "idf1": idtp / np.maximum(1.0, idtp + 0.5 * idfp + 0.5 * idfn),
        "idp": idtp / np.maximum(1.0, idtp + idfp),
        "idr": idtp / np.maximum(1.0, idtp + idfn),
        "hota": np.sqrt(deta * assa).mean(axis=1),
        "deta": deta.mean(axis=1),
        "assa": assa.mean(axis=1),
        "loca": loca.mean(axis=1),
        "detre": (h_tp / np.maximum(1.0, h_tp + h_fn)).mean(axis=1),
        "detpr": (h_tp / np.maximum(1.0, h_tp + h_fp)).mean(axis=1),
        "assre": (block("assre_sum") / h_tp1).mean(axis=1),
        "asspr": (block("asspr_sum") / h_tp1).mean(axis=1),
    }
    undefined = {
        "motp": tp <= 0,
        "idp": ~has_pred,
        "detpr": ~has_pred,
        "loca": h_tp[:, 0] <= 0,
    }
    for name, values in out.items():
        values[undefined.get(name, ~has_gt)] = np.nan
    return out


def metrics_from_stats(
    stats: TrackingStats, cis: Mapping[str, tuple[float, float] | None] | None = None
) -> TrackingMetrics:
    """The figures of summed statistics (optionally with their intervals)."""
    final = _final(stats.vector[None, :])

    def val(name: str) -> float | None:
        x = float(final[name][0])
        return None if np.isnan(x) else x

    cis = cis or {}
    values: dict[str, Any] = {k: val(k) for k in final}
    values.update({f"{k}_ci": cis.get(k) for k in _CI_FIELDS})
    return TrackingMetrics(
        n_frames=int(stats["frames"]),
        n_gt=int(stats["gt_dets"]),
        n_pred=int(stats["pred_dets"]),
        n_gt_tracks=int(stats["gt_ids"]),
        n_pred_tracks=int(stats["pred_ids"]),
        tp=int(stats["tp"]),
        fn=int(stats["fn"]),
        fp=int(stats["fp"]),
        id_switches=int(stats["idsw"]),
        idtp=int(stats["idtp"]),
        idfp=int(stats["idfp"]),
        idfn=int(stats["idfn"]),
        **values,
    )


def _bootstrap(
    per_clip: NDArray[np.float64], weights: NDArray[np.float64] | None, confidence: float
) -> dict[str, tuple[float, float] | None]:
    """Intervals of the CI fields over clip resamples (``per_clip``: ``(n_clips, N_STATS)``)."""
    if weights is None or per_clip.shape[0] == 0:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        final = _final(weights @ per_clip)
    return {k: percentile_interval(final[k], confidence) for k in _CI_FIELDS}


@dataclass(frozen=True)
class ClassTracking:
    """Tracking figures of one object class over every evaluated clip."""

    class_id: int
    name: str
    metrics: TrackingMetrics


@dataclass(frozen=True)
class ClipTracking:
    """Tracking figures of one clip, every class together (class-aware matching)."""

    clip: str
    metrics: TrackingMetrics


@dataclass(frozen=True)
class TrackingEvaluation:
    """Result of :func:`evaluate_tracking`.

    Attributes:
        per_class: classes with at least one ground-truth box, by class id.
        overall: every class together (statistics summed over classes: TrackEval's
            detection-averaged combination), with intervals.
        per_clip: each clip, every class together (no interval: a clip is the resampled unit).
        iou_threshold: IoU of a CLEAR MOT / identity match.
        n_bootstrap, seed, confidence: clip bootstrap of the intervals.
        skipped: clips left out, with the reason (e.g. annotations without track ids).
    """

    per_class: tuple[ClassTracking, ...]
    overall: TrackingMetrics
    per_clip: tuple[ClipTracking, ...]
    iou_threshold: float
    n_bootstrap: int
    seed: int
    confidence: float = 0.95
    skipped: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "iou_threshold": self.iou_threshold,
            "hota_alphas": [round(float(a), 2) for a in ALPHAS],
            "n_bootstrap": self.n_bootstrap,
            "seed": self.seed,
            "confidence": self.confidence,
            "n_clips": len(self.per_clip),
            "overall": self.overall.to_dict(),
            "per_class": [
                {"class_id": c.class_id, "name": c.name, **c.metrics.to_dict()}
                for c in self.per_class
            ],
            "per_clip": [{"clip": c.clip, **c.metrics.to_dict()} for c in self.per_clip],
            "skipped": dict(self.skipped),
        }


def evaluate_tracking(
    sequences: Mapping[str, Sequence[TrackedFrame]],
    class_names: Mapping[int, str],
    *,
    iou_threshold: float = IOU_THRESHOLD,
    n_bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    skipped: Mapping[str, str] | None = None,
) -> TrackingEvaluation:
    """MOTA, MOTP, IDF1, ID switches and HOTA per class, per clip and overall.

    Args:
        sequences: clip id → its evaluated frames in time order (ground truth and tracker
            output of the same frames).
        class_names: class id → name (for the per-class rows).
        iou_threshold: CLEAR MOT / identity match threshold.
        n_bootstrap: clip resamples of the 95 % intervals (0: none); clips are drawn whole.
        seed, confidence: of the intervals.
        skipped: clips not evaluated and why, carried into the result.

    Example:
        >>> box = FrameBoxes.from_rows([(7, 0, 0, 0, 10, 20)])
        >>> ev = evaluate_tracking({"c": [TrackedFrame(box, box)]}, {0: "person"},
        ...                        n_bootstrap=0)
        >>> ev.overall.mota, ev.overall.idf1, round(ev.overall.hota or 0, 6)
        (1.0, 1.0, 1.0)
    """
    clips = sorted(sequences)
    gt_classes: set[int] = set()
    all_classes: set[int] = set()
    for frames in sequences.values():
        for f in frames:
            gt_classes.update(int(c) for c in f.gt.classes)
            all_classes.update(int(c) for c in f.gt.classes)
            all_classes.update(int(c) for c in f.pred.classes)
    classes = sorted(all_classes)
    # stats[clip, class, :]
    stats = np.zeros((len(clips), len(classes), _N_STATS))
    for i, clip in enumerate(clips):
        for k, cls in enumerate(classes):
            stats[i, k] = sequence_stats(sequences[clip], cls, iou_threshold=iou_threshold).vector
    frames_per_clip = np.array([len(sequences[c]) for c in clips], dtype=np.float64)
    weights = None
    if n_bootstrap > 0 and clips:
        weights = resample_weights(len(clips), n_bootstrap, np.random.default_rng(seed))

    def with_frames(rows: NDArray[np.float64]) -> NDArray[np.float64]:
        rows = rows.copy()
        rows[:, _S["frames"]] = frames_per_clip  # a frame counts once, whatever the classes
        return rows

    per_class = []
    for k, cls in enumerate(classes):
        if cls not in gt_classes:
            continue
        rows = with_frames(stats[:, k, :])
        per_class.append(
            ClassTracking(
                class_id=cls,
                name=class_names.get(cls, str(cls)),
                metrics=metrics_from_stats(
                    TrackingStats(rows.sum(axis=0)), _bootstrap(rows, weights, confidence)
                ),
            )
        )
    clip_rows = with_frames(stats.sum(axis=1))
    overall = metrics_from_stats(
        TrackingStats(clip_rows.sum(axis=0)), _bootstrap(clip_rows, weights, confidence)
    )
    per_clip = tuple(
        ClipTracking(clip, metrics_from_stats(TrackingStats(clip_rows[i])))
        for i, clip in enumerate(clips)
    )
    return TrackingEvaluation(
        per_class=tuple(per_class),
        overall=overall,
        per_clip=per_clip,
        iou_threshold=iou_threshold,
        n_bootstrap=n_bootstrap if weights is not None else 0,
        seed=seed,
        confidence=confidence,
        skipped=dict(skipped or {}),
    )
