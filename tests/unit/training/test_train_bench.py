"""The training throughput benchmark measures images/s and the loader wait share (shape only:
CI machines vary, the figures that matter come from ``benchmarks/train_throughput.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from veilleur.runtime.core.taxonomy import CLASSES
from veilleur.training.bench import measure
from veilleur.training.config import TrainParams


@pytest.mark.req("EX-051")
def test_throughput_is_measured(rect_dataset: Path) -> None:
    params = TrainParams(input_size=(64, 96), batch_size=4, num_workers=0, augment=True)
    r = measure(rect_dataset, params, CLASSES, steps=2, warmup=1, device="cpu")
    assert r.images == 8 and r.steps == 2 and r.device == "cpu"
    assert r.images_per_s > 0 and 0 < r.wait_share < 1
