"""``train.augment``: named augmentations, weather and geometric ones, boxes that stay right."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from veilleur.runtime.config import ParamsError, load_params_section
from veilleur.training.augment import MIN_VISIBILITY, Augmenter
from veilleur.training.config import AUGMENTATIONS, DEFAULT_AUGMENT, TrainParams, resolve_augment
from veilleur.training.preprocess import PAD_VALUE

SIZE = (96, 128)  # network input [H, W]
CONTENT = (96, 117)  # letterboxed content [h, w]; the rest is padding
COLOUR = (250, 10, 240)  # drawn nowhere else (background is grey noise)


def _frame(x1: int, y1: int, x2: int, y2: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    image = np.full((*SIZE, 3), PAD_VALUE, np.uint8)
    h, w = CONTENT
    image[:h, :w] = rng.integers(60, 120, size=(h, w, 3), dtype=np.uint8)
    image[y1:y2, x1:x2] = COLOUR
    return image


def _colour_box(image: np.ndarray) -> tuple[np.ndarray | None, int]:
    """Bounding box (xyxy, pixel edges) of the drawn colour, and its pixel count."""
    mask = (np.abs(image.astype(int) - COLOUR).max(axis=2) < 40).astype(np.uint8)
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None, 0
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32), len(xs)


def test_true_means_the_default_set_and_lists_take_probabilities() -> None:
    assert [n for n, _ in resolve_augment(True)] == list(DEFAULT_AUGMENT)
    assert resolve_augment(False) == [] and resolve_augment(()) == []
    params = TrainParams.model_validate({"augment": ["rain", {"fog": 0.4}, {"crop": 1.0}]})
    assert resolve_augment(params.augment) == [("rain", 0.15), ("fog", 0.4), ("crop", 1.0)]
    assert TrainParams.model_validate(params.model_dump(mode="json")) == params


@pytest.mark.parametrize(
    ("augment", "message"),
    [
        (["hflip", "rian"], "augmentation inconnue 'rian' ; noms valides : hflip, "),
        ([{"fog": 1.5}], "hors de \\[0, 1\\]"),
        ([{"fog": 0.1, "rain": 0.1}], "un seul nom par élément"),
        (["fog", "fog"], "citée deux fois"),
    ],
)
def test_bad_augmentation_lists_are_refused(augment: list[object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TrainParams.model_validate({"augment": augment})


def test_a_typo_in_params_yaml_lists_the_valid_names(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  augment: [hflip, fogg]\n", encoding="utf-8")
    with pytest.raises(ParamsError) as err:
        load_params_section(path, "train", TrainParams)
    assert "fogg" in str(err.value)
    assert all(name in str(err.value) for name in AUGMENTATIONS)


@pytest.mark.parametrize("name", ["rain", "fog"])
def test_weather_changes_the_content_and_keeps_the_padding(name: str) -> None:
    image = _frame(20, 20, 50, 60)
    boxes, labels = np.array([[20, 20, 50, 60]], np.float32), np.array([3])
    out, out_boxes, out_labels = Augmenter([(name, 1.0)], SIZE, seed=3)(
        image.copy(), CONTENT, boxes, labels
    )
    h, w = CONTENT
    assert not np.array_equal(out[:h, :w], image[:h, :w])
    assert bool((out[:, w:] == PAD_VALUE).all())
    np.testing.assert_array_equal(out_boxes, boxes)
    assert out_labels.tolist() == [3] and out_labels.dtype == np.int64


@pytest.mark.parametrize("name", ["affine", "perspective", "crop"])
def test_geometric_boxes_still_enclose_the_drawn_rectangle(name: str) -> None:
    rect = (40, 30, 80, 70)
    image = _frame(*rect)
    area = (rect[2] - rect[0]) * (rect[3] - rect[1])
    kept = 0
    for seed in range(12):
        out, boxes, labels = Augmenter([(name, 1.0)], SIZE, seed=seed)(
            image.copy(), CONTENT, np.array([rect], np.float32), np.array([5])
        )
        assert out.shape == (*SIZE, 3) and labels.dtype == np.int64
        assert len(boxes) == len(labels) <= 1 and set(labels.tolist()) <= {5}
        truth, pixels = _colour_box(out)
        if len(boxes) == 0:  # dropped: (almost) nothing of it is left in the image
            assert pixels <= MIN_VISIBILITY * area * 1.5, (seed, pixels)
            continue
        kept += 1
        box = boxes[0]
        assert bool((box >= 0).all()) and box[2] <= SIZE[1] and box[3] <= SIZE[0]
        assert truth is not None
        # the box encloses the rectangle (interpolation blurs edges by a pixel or two) ...
        assert bool((box[:2] <= truth[:2] + 2).all() and (box[2:] >= truth[2:] - 2).all()), (
            seed, box, truth,
        )  # fmt: skip
        # ... and is tight around it
        assert float(np.abs(box - truth).max()) <= 3.0, (seed, box, truth)
    assert kept >= 6


def test_boxes_pushed_out_of_the_image_are_clipped_or_dropped() -> None:
    rect = (100, 70, 117, 96)  # in the bottom-right corner of the content
    image = _frame(*rect)
    outcomes = set()
    for seed in range(30):
        _, boxes, labels = Augmenter([("affine", 1.0), ("perspective", 1.0)], SIZE, seed=seed)(
            image.copy(), CONTENT, np.array([rect], np.float32), np.array([2])
        )
        assert labels.dtype == np.int64 and len(labels) == len(boxes)
        if len(boxes):
            assert bool((boxes >= 0).all() and (boxes[:, [0, 2]] <= SIZE[1]).all())
            assert bool((boxes[:, [1, 3]] <= SIZE[0]).all())
            outcomes.add("clipped" if boxes[0, 3] == SIZE[0] or boxes[0, 2] == SIZE[1] else "in")
        else:
            outcomes.add("dropped")
    assert "dropped" in outcomes or "clipped" in outcomes


def test_the_random_stream_can_be_saved_and_restored() -> None:
    aug = Augmenter([("affine", 1.0), ("noise", 1.0)], SIZE, seed=0)
    image, box = _frame(40, 30, 80, 70), np.array([[40, 30, 80, 70]], np.float32)
    aug(image.copy(), CONTENT, box, np.array([1]))
    state = aug.get_state()
    first = aug(image.copy(), CONTENT, box, np.array([1]))
    aug.set_state(state)
    again = aug(image.copy(), CONTENT, box, np.array([1]))
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])


def test_the_model_card_names_the_augmentations() -> None:
    from veilleur.training.model_card import _augment_text

    assert _augment_text(True) == "oui (jeu par défaut)" and _augment_text(False) == "non"
    assert _augment_text(["hflip", {"rain": 0.2}]) == "hflip (p = 0.5), rain (p = 0.2)"
