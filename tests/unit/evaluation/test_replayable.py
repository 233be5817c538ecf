"""Which test clips the evaluation replays through the engine, and why the others are not."""

from __future__ import annotations

import pytest

from veilleur.evaluation.replay_eval import replayable_clips


@pytest.mark.req("EX-065", "EX-085")
def test_image_groups_and_clips_without_site_or_events_are_skipped_with_a_reason() -> None:
    clips = {
        "synth_0001": {"video": "v.mp4", "site": "site.yaml", "events": "e.json"},
        "parvis-scene_0": {"video": None, "site": None, "events": None},
        "gare-cam1": {"video": "gare.mp4", "site": None, "events": "g.json"},
        "quai-cam2": {"video": "quai.mp4", "site": "s.yaml", "events": None},
    }
    kept, skipped = replayable_clips(clips)
    assert list(kept) == ["synth_0001"]
    assert skipped == {
        "gare-cam1": "pas de configuration de site (zones, règles) pour la rejouer",
        "parvis-scene_0": "images fixes, sans vidéo à rejouer",
        "quai-cam2": "pas d'annotation d'événements",
    }
