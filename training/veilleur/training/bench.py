"""Training throughput: images per second and the share of time spent waiting for the loader.

The same data path as ``veilleur train`` (:class:`DetectionDataModule`, augmentation on) and the
same model and optimiser step; a plain loop instead of the Lightning ``Trainer`` so the wait for
the next batch and the compute (forward, backward, step; synchronised on a GPU) are timed apart.
A wait share well above zero means the loader starves the device: raise ``num_workers``.

Example:
    >>> r = ThroughputResult(workers=1, steps=4, images=32, seconds=2.0, wait_s=0.5)
    >>> r.images_per_s, r.wait_share
    (16.0, 0.25)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from veilleur.training.config import TrainParams
from veilleur.training.datamodule import Batch, DetectionDataModule
from veilleur.training.module import DetectorModule


@dataclass(frozen=True)
class ThroughputResult:
    workers: int
    steps: int
    images: int
    seconds: float
    wait_s: float
    device: str = "cpu"

    @property
    def images_per_s(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0

    @property
    def wait_share(self) -> float:
        return self.wait_s / self.seconds if self.seconds > 0 else 0.0


def measure(
    data_dir: Path,
    params: TrainParams,
    classes: tuple[str, ...],
    steps: int,
    warmup: int = 2,
    device: str | None = None,
) -> ThroughputResult:
    """Train ``warmup + steps`` steps; time the last ``steps`` (loader wait vs total)."""
    torch.manual_seed(params.seed)
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dm = DetectionDataModule(data_dir, params, classes)
    dm.setup("fit")
    module = DetectorModule(params.model_dump(mode="json"), list(classes)).to(dev).train()
    optimizer = torch.optim.AdamW(module.net.parameters(), lr=params.lr)

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def batches() -> Iterator[Batch]:
        while True:
            yield from dm.train_dataloader()

    it = batches()
    images, wait, start = 0, 0.0, 0.0
    for step in range(warmup + steps):
        if step == warmup:
            sync()
            images, wait, start = 0, 0.0, time.perf_counter()
        t0 = time.perf_counter()
        batch = next(it)
        wait += time.perf_counter() - t0
        imgs = batch.images.to(dev, non_blocking=True)
        out = module.net(module._prepare(imgs))
        boxes = [b.to(dev) for b in batch.boxes]
        labels = [lab.to(dev) for lab in batch.labels]
        loss = module.criterion(out, boxes, labels).total
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        sync()
        images += imgs.shape[0]
    seconds = time.perf_counter() - start
    return ThroughputResult(params.num_workers, steps, images, seconds, wait, dev.type)
