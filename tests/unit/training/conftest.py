"""A tiny prepared dataset (contract §6) drawn on the fly: coloured rectangles on noise."""

from __future__ import annotations

from pathlib import Path

import pytest
from rect_dataset import COLOURS, make_rect_dataset, write_split

__all__ = ["COLOURS", "make_rect_dataset", "rect_dataset", "write_split"]


@pytest.fixture(scope="session")
def rect_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_rect_dataset(tmp_path_factory.mktemp("processed"))
