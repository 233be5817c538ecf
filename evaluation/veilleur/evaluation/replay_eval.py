"""Run the deployed runtime engine on test clips and on test images.

Events are measured by replaying each test clip through :class:`veilleur.runtime.engine.Engine`
with the clip's own site configuration — the code the site runs, never a re-implementation.
The replay also records, frame by frame, the tracks the engine's tracker holds (the boxes
with a confirmed track id), for the tracking metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from veilleur.runtime.config import load_site_config
from veilleur.runtime.core.alerts import Alert
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.detect.onnx import OnnxDetector
from veilleur.runtime.engine import Engine, camera_source, replay
from veilleur.runtime.ingest.video import Frame
from veilleur.runtime.journal.repository import Journal

log = logging.getLogger(__name__)


REPLAY_BATCH = 4
"""Frames per detector call, as :func:`veilleur.runtime.engine.replay`."""


@dataclass(frozen=True)
class ClipReplay:
    """What replaying one clip produced.

    Attributes:
        tracks: camera id → one record per analysed frame, ``{"frame_index", "t", "boxes"}``
            with ``boxes`` rows ``[track_id, class_id, x1, y1, x2, y2, score]`` (pixels) of
            the boxes the tracker gave a confirmed track id on that frame.
    """

    clip: str
    config_version: str
    alerts: list[dict[str, Any]]
    tracks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _track_record(frame: Frame, tracked: Detections) -> dict[str, Any]:
    keep = np.flatnonzero(tracked.tracker_id >= 0)
    return {
        "frame_index": int(frame.index),
        "t": round(float(frame.t), 4),
        "boxes": [
            [
                int(tracked.tracker_id[i]),
                int(tracked.class_id[i]),
                *(round(float(v), 2) for v in tracked.xyxy[i]),
                round(float(tracked.confidence[i]), 4),
            ]
            for i in keep
        ],
    }


def replay_with_tracks(
    engine: Engine, clip: Path | str, camera_id: str, batch_size: int = REPLAY_BATCH
) -> tuple[list[Alert], list[dict[str, Any]]]:
    """:func:`veilleur.runtime.engine.replay`, also returning the tracks of every frame."""
    tracks: list[dict[str, Any]] = []
    alerts = replay(
        engine,
        clip,
        camera_id,
        batch_size,
        on_frame=lambda frame, tracked: tracks.append(_track_record(frame, tracked)),
    )
    return alerts, tracks


def replayable_clips(
    clips: Mapping[str, Mapping[str, Any]],
) -> tuple[dict[str, Mapping[str, Any]], dict[str, str]]:
    """The clips the engine can replay (a video, a site configuration and event annotations),
    and, for the others, why not (French). Ingested image-only groups are scored for
    detection only; ingested videos need a site configuration (zones, rules) to be replayed."""
    kept: dict[str, Mapping[str, Any]] = {}
    skipped: dict[str, str] = {}
    for clip, entry in sorted(clips.items()):
        if not entry.get("video"):
            skipped[clip] = "images fixes, sans vidéo à rejouer"
        elif not entry.get("site"):
            skipped[clip] = "pas de configuration de site (zones, règles) pour la rejouer"
        elif not entry.get("events"):
            skipped[clip] = "pas d'annotation d'événements"
        else:
            kept[clip] = entry
    return kept, skipped


def replay_clips(
    clips: Mapping[str, Mapping[str, Any]],
    model: Path,
    *,
    confidence: float,
    journal: Journal | None = None,
) -> list[ClipReplay]:
    """Replay each clip (``{"site": path, ...}``) with its site configuration.

    The detector threshold comes from the site's ``model`` section when it has one, else
    ``confidence``; the model file is always ``model`` (the one under evaluation).
    """
    detectors: dict[float, OnnxDetector] = {}
    out: list[ClipReplay] = []
    for clip_id, entry in sorted(clips.items()):
        site_path = Path(entry["site"])
        site = load_site_config(site_path)
        conf = site.model.confidence if site.model else confidence
        if conf not in detectors:
            detectors[conf] = OnnxDetector(model, confidence=conf)
        det = detectors[conf]
        engine = Engine(site, det, det.info.sha256, journal=journal)
        alerts: list[dict[str, Any]] = []
        tracks: dict[str, list[dict[str, Any]]] = {}
        for cam in site.cameras:
            clip_alerts, tracks[cam.id] = replay_with_tracks(
                engine, camera_source(site_path, cam), cam.id
            )
            alerts.extend({**a.to_dict(), "clip": clip_id} for a in clip_alerts)
        log.info("%s: %d alert(s)", clip_id, len(alerts))
        out.append(ClipReplay(clip_id, engine.config_version, alerts, tracks))
    return out


def detect_images(
    coco: Mapping[str, Any],
    images_dir: Path,
    model: Path,
    *,
    confidence: float,
    batch: int,
    max_per_image: int = 100,
) -> list[dict[str, Any]]:
    """COCO-format predictions of the ONNX model on every image of a COCO file.

    Keeps the ``max_per_image`` best boxes of each image, as COCO's AP does (maxDets=100).
    """
    det = OnnxDetector(model, confidence=confidence)
    results: list[dict[str, Any]] = []
    images: Sequence[Mapping[str, Any]] = coco["images"]
    for i in range(0, len(images), batch):
        chunk = images[i : i + batch]
        frames = []
        for im in chunk:
            img = cv2.imread(str(images_dir / im["file_name"]), cv2.IMREAD_COLOR)
            if img is None:
                raise FileNotFoundError(f"{images_dir / im['file_name']}: unreadable image")
            frames.append(img.astype(np.uint8, copy=False))
        for im, d in zip(chunk, det.detect_batch(frames), strict=True):
            best = d[np.argsort(-d.confidence, kind="stable")[:max_per_image]]
            for box, score, cls in zip(best.xyxy, best.confidence, best.class_id, strict=True):
                x1, y1, x2, y2 = (float(v) for v in box)
                results.append(
                    {
                        "image_id": int(im["id"]),
                        "category_id": int(cls) + 1,
                        "bbox": [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)],
                        "score": round(float(score), 5),
                    }
                )
    return results
