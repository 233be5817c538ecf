"""Event metrics per slice of clips (lighting, weather, density, camera height, …).

The breakdown by condition that EX-087 asks for: the same metrics as
:func:`veilleur.evaluation.event_metrics.evaluate_events`, on the clips of each slice. The slice
values (metadata values, camera height buckets) come from :mod:`veilleur.data.slices`, the
definitions the data stage also counts its coverage with.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from veilleur.data.slices import camera_height_bucket_of, metadata_value
from veilleur.evaluation.event_gt import ClipInfo, GroundTruthEvent
from veilleur.evaluation.event_matching import PredictedAlert, Tolerance
from veilleur.evaluation.event_metrics import EventEvaluation, evaluate_events

__all__ = [
    "DEFAULT_SLICERS",
    "PER_CAMERA",
    "SliceMetrics",
    "Slicer",
    "camera_height_bucket",
    "camera_slicer",
    "evaluate_slices",
    "metadata_slicer",
]

Slicer = Callable[[ClipInfo], str | None]
"""Maps a clip to its slice value (``None``: the clip is in no slice of this key)."""


def metadata_slicer(key: str) -> Slicer:
    """Slice on a metadata value; booleans become ``"true"``/``"false"``."""

    def slicer(clip: ClipInfo) -> str | None:
        return metadata_value(clip.metadata, key)

    return slicer


def camera_height_bucket(clip: ClipInfo) -> str | None:
    """Camera height in three buckets: ``"< 4 m"``, ``"4–8 m"``, ``"≥ 8 m"``
    (:func:`veilleur.data.slices.camera_height_bucket_of`, shared with the data stage)."""
    return camera_height_bucket_of(clip.metadata.get("camera_height_m"))


def camera_slicer(clip: ClipInfo) -> str | None:
    """The camera that filmed the clip: metadata ``camera_id`` (``site/camera`` for a real
    feed); a synthetic clip is filmed by its own virtual camera, so its id stands in."""
    camera = clip.metadata.get("camera_id")
    return str(camera) if camera is not None else clip.clip


PER_CAMERA: Mapping[str, Slicer] = {"camera": camera_slicer}
"""Slicer of the per-camera breakdown (false alarms and detection delays per camera)."""

DEFAULT_SLICERS: Mapping[str, Slicer] = {
    "lighting": metadata_slicer("lighting"),
    "weather": metadata_slicer("weather"),
    "density": metadata_slicer("density"),
    "camera_height": camera_height_bucket,
    "negative": metadata_slicer("negative"),
}


@dataclass(frozen=True)
class SliceMetrics:
    """Metrics restricted to the clips whose ``key`` has value ``value``."""

    key: str
    value: str
    n_clips: int
    evaluation: EventEvaluation


def evaluate_slices(
    gt: Sequence[GroundTruthEvent],
    alerts: Sequence[PredictedAlert],
    clips: Mapping[str, ClipInfo],
    slicers: Mapping[str, Slicer] | None = None,
    *,
    event_types: Sequence[str] | None = None,
    tolerance: Tolerance | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> list[SliceMetrics]:
    """:func:`evaluate_events` restricted to each slice of clips.

    Args:
        slicers: slice key → function giving a clip's value; default
            :data:`DEFAULT_SLICERS` (lighting, weather, density, camera height, negative).
        event_types, tolerance, n_bootstrap, seed, confidence: as for
            :func:`evaluate_events`, applied to every slice.

    Returns:
        One entry per (key, value), keys in ``slicers`` order, values sorted.
    """
    out: list[SliceMetrics] = []
    for key, slicer in (slicers if slicers is not None else DEFAULT_SLICERS).items():
        groups: dict[str, dict[str, ClipInfo]] = defaultdict(dict)
        for clip_id, info in clips.items():
            value = slicer(info)
            if value is not None:
                groups[value][clip_id] = info
        for value in sorted(groups):
            members = groups[value]
            evaluation = evaluate_events(
                [g for g in gt if g.clip in members],
                [a for a in alerts if a.clip in members],
                members,
                event_types=event_types,
                tolerance=tolerance,
                n_bootstrap=n_bootstrap,
                seed=seed,
                confidence=confidence,
            )
            out.append(
                SliceMetrics(key=key, value=value, n_clips=len(members), evaluation=evaluation)
            )
    return out
