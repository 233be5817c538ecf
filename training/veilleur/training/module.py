"""``LightningModule`` wrapping the detector, its loss, the optimiser and a quick val mAP."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import lightning as L
import numpy as np
import torch
from numpy.typing import NDArray

from veilleur.runtime.core.detections import Detections
from veilleur.training.config import TrainParams
from veilleur.training.datamodule import Batch
from veilleur.training.nets import DetectionLoss, Detector, DetectorConfig, DetectorExportWrapper
from veilleur.training.nets.detector import class_scores, decode_boxes
from veilleur.training.preprocess import SCALE
from veilleur.training.quick_map import map50, postprocess

VAL_CONFIDENCE = 0.05
VAL_NMS_IOU = 0.5


class DetectorModule(L.LightningModule):
    """Trains :class:`Detector`; hyper-parameters (and provenance) go into the checkpoint."""

    def __init__(
        self,
        params: dict[str, Any],
        classes: list[str],
        provenance: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.params = TrainParams.model_validate(params)
        self.classes = list(classes)
        self.net = Detector(
            DetectorConfig.preset(
                self.params.model_size,
                len(classes),
                self.params.width_mult,
                self.params.depth_mult,
            )
        )
        self.criterion = DetectionLoss()
        self._val_pred: list[Detections] = []
        self._val_gt: list[tuple[NDArray[np.float32], NDArray[np.int64]]] = []

    def export_wrapper(self) -> DetectorExportWrapper:
        """The contract-v1 graph around this module's network (in eval mode)."""
        return DetectorExportWrapper(self.net, self.params.input_size).eval()

    @staticmethod
    def _prepare(images: torch.Tensor) -> torch.Tensor:
        return images.float() * SCALE

    def _step(self, batch: Batch, stage: str) -> tuple[torch.Tensor, Any]:
        out = self.net(self._prepare(batch.images))
        parts = self.criterion(out, batch.boxes, batch.labels)
        n = batch.images.shape[0]
        self.log(f"{stage}/loss", parts.total, on_step=False, on_epoch=True, batch_size=n)
        for name in ("cls", "box", "quality"):
            value = getattr(parts, name)
            self.log(f"{stage}/loss_{name}", value, on_step=False, on_epoch=True, batch_size=n)
        return parts.total, out

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        loss, _ = self._step(batch, "train")
        return loss

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        _, out = self._step(batch, "val")
        if not self.params.val_map:
            return
        boxes = decode_boxes(out.points, out.distances)
        dets = torch.cat((boxes, class_scores(out.cls_logits, out.quality_logits)), dim=-1)
        for i, det in enumerate(dets.detach().float().cpu().numpy()):
            self._val_pred.append(postprocess(det, VAL_CONFIDENCE, VAL_NMS_IOU))
            self._val_gt.append(
                (batch.boxes[i].cpu().numpy(), batch.labels[i].cpu().numpy().astype(np.int64))
            )

    def on_validation_epoch_end(self) -> None:
        if self.params.val_map and self._val_pred:
            self.log("val/map50", map50(self._val_pred, self._val_gt))
        self._val_pred, self._val_gt = [], []

    def configure_optimizers(self) -> Any:
        decay: list[torch.nn.Parameter] = []
        no_decay: list[torch.nn.Parameter] = []
        for name, p in self.net.named_parameters():
            (no_decay if p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
        optimizer = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": self.params.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=self.params.lr,
        )
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        schedule = warmup_cosine(total, round(self.params.warmup_frac * total))
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


def warmup_cosine(total: int, warmup: int, floor: float = 0.02) -> Callable[[int], float]:
    """LR factor per step: linear warm-up to 1, then cosine decay to ``floor``.

    Example:
        >>> f = warmup_cosine(10, 2)
        >>> [round(f(s), 2) for s in (0, 1, 2, 10)]
        [0.5, 1.0, 1.0, 0.02]
    """

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor
