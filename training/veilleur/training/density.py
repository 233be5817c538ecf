"""Crowd-density model (CSRNet class, small) for the ``densite`` event where boxes fail.

A CSP backbone + FPN-lite neck (the detector's, :mod:`veilleur.training.nets`) gives stride-8
features; a CSRNet-style back-end of dilated 3×3 convolutions regresses a density map whose sum
is the number of people. Targets come from the person boxes of the prepared dataset (contract §6):
one unit of mass per person at its head point (box top-centre, a quarter of the height down),
spread by a normalised Gaussian. Same data path (letterbox, augmentation), same pre-processing
as the detector, so the runtime's own ``to_tensor`` feeds the exported graph.

Export: ``images`` float32 ``[B, 3, H, W]`` → ``density`` float32 ``[B, 1, H/8, W/8]`` (people
per cell; ``sum`` = count), metadata ``veilleur_task = density``, ``output_stride = 8``.

Example:
    >>> import torch
    >>> t = density_target([torch.tensor([[0., 0., 16., 32.]])], [torch.tensor([0])], (8, 8), 8)
    >>> round(float(t.sum()), 3)
    1.0
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import onnx
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import nn

from veilleur.training.config import TrainParams
from veilleur.training.datamodule import Batch, DetectionDataModule
from veilleur.training.fit import (
    last_checkpoint_path,
    load_initial_weights,
    make_trainer,
    run_fit,
)
from veilleur.training.nets import PRESETS
from veilleur.training.nets.backbone import CSPBackbone, FPNLite, scaled_channels
from veilleur.training.preprocess import PREPROCESS, SCALE

log = logging.getLogger(__name__)

STRIDE = 8
DENSITY_SCALE = 100.0  # targets are multiplied by this in training (tiny per-cell values)
SIGMA_CELLS = 1.0
PERSON = 0  # taxonomy index of "person"
INPUT_NAME, OUTPUT_NAME = "images", "density"


class DensityNet(nn.Module):
    """Backbone + neck (stride 8) + dilated back-end → non-negative density ``[B, 1, h, w]``."""

    def __init__(self, width_mult: float, depth_mult: float, neck_channels: int = 256) -> None:
        super().__init__()
        self.backbone = CSPBackbone(width_mult, depth_mult)
        ch = scaled_channels(neck_channels, width_mult)
        self.neck = FPNLite(self.backbone.out_channels, ch)
        layers: list[nn.Module] = []
        for _ in range(3):
            layers += [nn.Conv2d(ch, ch, 3, padding=2, dilation=2), nn.ReLU(inplace=True)]
        self.backend = nn.Sequential(*layers)
        self.out = nn.Conv2d(ch, 1, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        feat = self.neck(self.backbone(images))[0]
        return F.softplus(self.out(self.backend(feat)))


def _gaussian(sigma: float) -> torch.Tensor:
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    g = torch.exp(-(x**2) / (2 * sigma**2))
    k = g[:, None] * g[None, :]
    return (k / k.sum())[None, None]


def density_target(
    boxes: list[torch.Tensor],
    labels: list[torch.Tensor],
    shape: tuple[int, int],
    stride: int = STRIDE,
    sigma: float = SIGMA_CELLS,
) -> torch.Tensor:
    """``[B, 1, h, w]`` maps with one unit of mass per person (head point), Gaussian-spread."""
    h, w = shape
    out = torch.zeros(len(boxes), 1, h, w)
    for i, (b, lab) in enumerate(zip(boxes, labels, strict=True)):
        people = b[lab == PERSON].float().cpu()
        if len(people) == 0:
            continue
        cx = (people[:, 0] + people[:, 2]) / 2
        cy = people[:, 1] + 0.25 * (people[:, 3] - people[:, 1])
        col = (cx / stride).long().clamp(0, w - 1)
        row = (cy / stride).long().clamp(0, h - 1)
        out[i, 0].index_put_((row, col), torch.ones(len(people)), accumulate=True)
    kernel = _gaussian(sigma)
    blurred = F.conv2d(out, kernel, padding=kernel.shape[-1] // 2)
    # Keep each image's mass exact (the blur loses what falls outside the border).
    mass, kept = out.sum(dim=(1, 2, 3), keepdim=True), blurred.sum(dim=(1, 2, 3), keepdim=True)
    return torch.where(kept > 0, blurred * mass / kept.clamp(min=1e-12), blurred)


class DensityModule(L.LightningModule):
    """Trains :class:`DensityNet` (MSE on scaled maps); logs the count MAE on validation."""

    def __init__(self, params: dict[str, Any], provenance: dict[str, str] | None = None) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.params = TrainParams.model_validate(params)
        preset = PRESETS[self.params.model_size]
        self.net = DensityNet(
            self.params.width_mult or preset.width_mult,
            self.params.depth_mult or preset.depth_mult,
        )

    def _step(self, batch: Batch, stage: str) -> torch.Tensor:
        pred = self.net(batch.images.float() * SCALE)
        target = density_target(batch.boxes, batch.labels, (pred.shape[2], pred.shape[3]))
        target = target.to(pred.device)
        loss: torch.Tensor = F.mse_loss(pred, target * DENSITY_SCALE, reduction="sum") / len(pred)
        mae = (pred.sum(dim=(1, 2, 3)) / DENSITY_SCALE - target.sum(dim=(1, 2, 3))).abs().mean()
        n = pred.shape[0]
        self.log(f"{stage}/loss", loss, on_step=False, on_epoch=True, batch_size=n)
        self.log(f"{stage}/count_mae", mae, on_step=False, on_epoch=True, batch_size=n)
        return loss

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._step(batch, "val")

    def configure_optimizers(self) -> Any:
        return torch.optim.AdamW(
            self.net.parameters(), lr=self.params.lr, weight_decay=self.params.weight_decay
        )


class DensityExportWrapper(nn.Module):
    """``images`` (RGB ÷ 255, letterboxed) → ``density`` in people per stride-8 cell."""

    def __init__(self, net: DensityNet, input_size: tuple[int, int]) -> None:
        super().__init__()
        self.net = net
        self.input_size = input_size

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        density: torch.Tensor = self.net(images) / DENSITY_SCALE
        return density


@dataclass(frozen=True)
class DensityFitResult:
    checkpoint: Path
    metrics: dict[str, float]
    duration_s: float
    num_train_images: int
    num_val_images: int
    epochs_done: int = 0
    last_checkpoint: Path | None = None


def fit_density(
    params: TrainParams,
    data_dir: Path,
    checkpoint: Path,
    classes: tuple[str, ...],
    provenance: dict[str, str],
    callbacks: list[L.Callback] | None = None,
    resume: Path | None = None,
) -> DensityFitResult:
    """Train the density model on the person boxes of ``data_dir``; save to ``checkpoint``.

    ``resume``: a full-state ``density.last.ckpt`` to continue from.
    """
    if classes[PERSON] != "person":
        raise ValueError(f"taxonomy index {PERSON} must be 'person', got {classes[PERSON]!r}")
    L.seed_everything(params.seed, workers=True, verbose=False)
    last = last_checkpoint_path(checkpoint)
    trainer = make_trainer(params, checkpoint.parent, callbacks, last)
    module = DensityModule(params.model_dump(mode="json"), provenance)
    if params.init_weights and resume is None:
        load_initial_weights(module.net, Path(params.init_weights))
    datamodule = DetectionDataModule(data_dir, params, classes)
    duration, metrics = run_fit(trainer, module, datamodule, params, checkpoint, resume)
    n_train = len(datamodule.train_set) if datamodule.train_set is not None else 0
    n_val = len(datamodule.val_set) if datamodule.val_set is not None else 0
    return DensityFitResult(
        checkpoint, metrics, duration, n_train, n_val, trainer.current_epoch, last
    )


def load_density(path: Path) -> tuple[DensityExportWrapper, dict[str, str]]:
    """The export wrapper (eval, CPU) and provenance of a density checkpoint.

    Raises:
        ValueError: a missing, corrupt or non-density checkpoint (the message names the file).
    """
    if not path.is_file():
        raise ValueError(f"{path}: checkpoint not found; run `veilleur train --task density`")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        hp = ckpt["hyper_parameters"]
        module = DensityModule(hp["params"], hp.get("provenance"))
        module.load_state_dict(ckpt["state_dict"])
    except Exception as exc:
        raise ValueError(
            f"{path}: not a readable density checkpoint ({type(exc).__name__}: {str(exc)[:200]})"
        ) from exc
    wrapper = DensityExportWrapper(module.net, module.params.input_size).eval()
    return wrapper, dict(hp.get("provenance") or {})


def export_density(
    wrapper: DensityExportWrapper, path: Path, opset: int, provenance: dict[str, str]
) -> dict[str, str]:
    """Export to ONNX (dynamic batch) with its metadata; returns the metadata."""
    h, w = wrapper.input_size
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            (torch.zeros(2, 3, h, w),),
            str(path),
            dynamo=False,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            opset_version=opset,
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        )
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    meta = {
        "veilleur_task": "density",
        "classes": json.dumps(["person"]),
        "input_size": json.dumps([h, w]),
        "preprocess": json.dumps(PREPROCESS),
        "output_stride": str(STRIDE),
        "output": "density [B, 1, H/8, W/8], people per cell; sum = count",
        "dataset_version": provenance.get("dataset_version", "unknown"),
        "mlflow_run_id": provenance.get("mlflow_run_id", "unknown"),
        "git_commit": provenance.get("git_commit", "unknown"),
        "opset": str(opset),
    }
    del model.metadata_props[:]
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    model.producer_name = "veilleur.training"
    onnx.save(model, str(path))
    return meta


def density_parity(
    wrapper: DensityExportWrapper, path: Path, frames_bgr: list[NDArray[np.uint8]]
) -> dict[str, float]:
    """Torch vs onnxruntime on the same runtime-preprocessed frames: map and count differences."""
    import onnxruntime as ort

    from veilleur.runtime.detect.preprocess import to_tensor
    from veilleur.training.preprocess import runtime_preprocess

    batch, _ = to_tensor(frames_bgr, wrapper.input_size, runtime_preprocess())
    with torch.no_grad():
        ref = wrapper(torch.from_numpy(batch)).numpy()
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    got = np.asarray(session.run(None, {INPUT_NAME: batch})[0])
    return {
        "n_images": float(len(frames_bgr)),
        "max_abs_diff": float(np.abs(got - ref).max()),
        "max_count_diff": float(np.abs(got.sum(axis=(1, 2, 3)) - ref.sum(axis=(1, 2, 3))).max()),
        "mean_count_onnx": float(got.sum(axis=(1, 2, 3)).mean()),
    }
