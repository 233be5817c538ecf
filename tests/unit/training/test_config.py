"""``params.yaml`` sections → typed, frozen parameters; typos fail at start-up."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from veilleur.runtime.config import load_params_section
from veilleur.training.config import ExportParams, TrainParams


@pytest.mark.parametrize(
    ("raw", "expected", "raises"),
    [
        ({}, {"input_size": (256, 320), "model_size": "nano"}, nullcontext()),
        ({"input_size": [320, 384], "epochs": 5}, {"input_size": (320, 384)}, nullcontext()),
        ({"input_size": [250, 320]}, {}, pytest.raises(ValidationError, match="multiples of 32")),
        ({"epoch": 3}, {}, pytest.raises(ValidationError, match="Extra inputs")),
        ({"model_size": "huge"}, {}, pytest.raises(ValidationError)),
        ({"batch_size": 0}, {}, pytest.raises(ValidationError)),
    ],
)
def test_train_params(
    raw: dict[str, Any], expected: dict[str, Any], raises: AbstractContextManager[Any]
) -> None:
    with raises:
        params = TrainParams.model_validate(raw)
        for key, value in expected.items():
            assert getattr(params, key) == value


def test_params_are_frozen() -> None:
    with pytest.raises(ValidationError):
        TrainParams().epochs = 9  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "raises"),
    [
        ({"opset": 18}, nullcontext()),
        ({"opset": 16}, pytest.raises(ValidationError)),
        ({"exporter": "torchscript"}, pytest.raises(ValidationError)),
    ],
)
def test_export_params(raw: dict[str, Any], raises: AbstractContextManager[Any]) -> None:
    with raises:
        ExportParams.model_validate(raw)


def test_load_params(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  epochs: 7\nexport:\n", encoding="utf-8")
    assert load_params_section(path, "train", TrainParams).epochs == 7
    assert load_params_section(path, "export", ExportParams) == ExportParams()
    assert load_params_section(None, "train", TrainParams) == TrainParams()
    path.write_text("train:\n  epoch: 7\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"'train' section.*\n  - epoch: unknown field"):
        load_params_section(path, "train", TrainParams)
