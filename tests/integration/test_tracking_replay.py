"""The evaluation replay records the engine's tracks without changing what the engine does.

A generated clip is replayed twice through the engine on its ground-truth boxes (a detector
that returns the annotated boxes of each analysed frame): once by the runtime's own
``replay``, once by the evaluation's ``replay_with_tracks``. Both raise the same alerts; the
second also returns, for every analysed frame, the boxes the tracker confirmed with their ids,
which the tracking metrics then compare with the annotated tracks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests_helpers import easy_clip

from veilleur.evaluation.context import tracking_sequences
from veilleur.evaluation.event_eval import GroundTruthBoxes
from veilleur.evaluation.replay_eval import replay_with_tracks
from veilleur.evaluation.tracking_metrics import evaluate_tracking
from veilleur.runtime.config import load_site_config
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.core.taxonomy import CLASSES
from veilleur.runtime.engine import Engine, camera_source, replay
from veilleur.runtime.ingest.video import read_file


class _GroundTruthDetector:
    """Returns the annotated boxes of the analysed frames, in the order they are asked for."""

    def __init__(self, boxes: GroundTruthBoxes, frame_indices: list[int]) -> None:
        self.boxes, self.frames, self.calls = boxes, frame_indices, 0

    def detect_batch(self, frames: list[Any]) -> list[Detections]:
        out = [self.boxes(self.frames[self.calls + i]) for i in range(len(frames))]
        self.calls += len(frames)
        return out


def _key(alert: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        alert[k] for k in ("event", "rule_id", "start_s", "alert_s", "frame_index", "track_ids")
    )


@pytest.mark.slow
@pytest.mark.req("EX-047")
def test_replay_with_tracks_equals_runtime_replay_and_tracks_the_annotated_people(
    tmp_path: Path,
) -> None:
    rec = easy_clip(tmp_path, "intrusion", 1)
    site_path = tmp_path / rec.site
    site = load_site_config(site_path)
    cam = site.cameras[0]
    source = camera_source(site_path, cam)
    indices = [f.index for f in read_file(source, cam.analysis_fps)]
    boxes = GroundTruthBoxes(tmp_path / rec.coco)

    def engine() -> Engine:
        return Engine(site, _GroundTruthDetector(boxes, indices), "gt", clock=None)

    reference = [a.to_dict() for a in replay(engine(), source, cam.id)]
    alerts, tracks = replay_with_tracks(engine(), source, cam.id)
    assert [_key(a.to_dict()) for a in alerts] == [_key(a) for a in reference]
    assert reference, "the intrusion clip raises an alert"
    assert [t["frame_index"] for t in tracks] == indices
    assert all(len(row) == 7 and row[0] >= 0 for t in tracks for row in t["boxes"])

    sequences, skipped = tracking_sequences(
        {"c": {"coco": str(tmp_path / rec.coco)}}, {"images": []}, {"c": {cam.id: tracks}}
    )
    assert not skipped and len(sequences["c"]) == len(indices)
    ev = evaluate_tracking(sequences, dict(enumerate(CLASSES)), n_bootstrap=0)
    person = next(c.metrics for c in ev.per_class if c.name == "person")
    # exact boxes: only the frames before a track is confirmed are missed, no false track
    assert person.fp == 0 and person.motp == pytest.approx(1.0)
    assert person.id_switches <= 3  # a track lost behind an occluder comes back as a new id
    assert person.mota is not None and person.mota > 0.8
    assert person.idf1 is not None and person.idf1 > 0.9
    assert person.hota is not None and person.hota > 0.8
