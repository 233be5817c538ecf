"""The detector really learns: a few dozen steps on coloured rectangles cut the loss."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch

from veilleur.runtime.core.taxonomy import CLASSES
from veilleur.training.config import TrainParams
from veilleur.training.datamodule import DetectionDataModule
from veilleur.training.module import DetectorModule


@pytest.mark.slow
@pytest.mark.req("EX-047", "EX-051")
def test_a_few_dozen_steps_reduce_the_loss(rect_dataset: Path) -> None:
    L.seed_everything(0, verbose=False)
    params = TrainParams(input_size=(96, 128), batch_size=8, num_workers=0, augment=False)
    dm = DetectionDataModule(rect_dataset, params, CLASSES)
    dm.setup("fit")
    module = DetectorModule(params.model_dump(mode="json"), list(CLASSES))
    net, criterion = module.net.train(), module.criterion
    optimizer = torch.optim.AdamW(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(16):  # 16 epochs × 3 batches = 48 steps
        for batch in dm.train_dataloader():
            out = net(module._prepare(batch.images))
            loss = criterion(out, batch.boxes, batch.labels).total
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            losses.append(loss.item())
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < 0.5 * first, f"loss {first:.3f} → {last:.3f}"
