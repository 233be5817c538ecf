"""Out-of-memory at the trainer boundary, whatever exception type the backend raises.

A real out-of-memory is not produced here: on the shared CPU CI machine the kernel's OOM killer
would end the test process (or another one). The exception is raised where Lightning would
raise it, at ``Trainer.fit``.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch

from veilleur.runtime.core.taxonomy import CLASSES
from veilleur.training.config import TrainParams
from veilleur.training.density import fit_density
from veilleur.training.fit import TrainingInputError, fit, is_out_of_memory

PARAMS = TrainParams(input_size=(64, 96), batch_size=64, num_workers=0, missing_classes="warn")


@pytest.mark.parametrize(
    ("exc", "oom"),
    [
        (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), True),
        (RuntimeError("CUDA error: out of memory"), True),
        (RuntimeError("DefaultCPUAllocator: can't allocate memory: out of memory"), True),
        (RuntimeError("shape mismatch"), False),
    ],
)
def test_out_of_memory_is_recognised(exc: BaseException, oom: bool) -> None:
    assert is_out_of_memory(exc) is oom


@pytest.mark.parametrize("task", ["detector", "density"])
def test_out_of_memory_stops_with_the_batch_size_to_lower(
    rect_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, task: str
) -> None:
    def oom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("CUDA error: out of memory")

    monkeypatch.setattr(L.Trainer, "fit", oom)
    train = fit_density if task == "density" else fit
    with pytest.raises(TrainingInputError, match=r"batch_size 64.*lower `train\.batch_size`"):
        train(PARAMS, rect_dataset, tmp_path / f"{task}.ckpt", CLASSES, {})
    assert not (tmp_path / f"{task}.ckpt").exists()


def test_other_runtime_errors_are_not_disguised(
    rect_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("shape mismatch in conv")

    monkeypatch.setattr(L.Trainer, "fit", broken)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        fit(PARAMS, rect_dataset, tmp_path / "detector.ckpt", CLASSES, {})
