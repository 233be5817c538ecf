"""The detector network, label assignment and loss (pure torch, no data on disk)."""

from __future__ import annotations

import pytest
import torch

from veilleur.training.nets import (
    DetectionLoss,
    Detector,
    DetectorConfig,
    DetectorExportWrapper,
)
from veilleur.training.nets.detector import DecoupledHead, make_points
from veilleur.training.nets.loss import assign, giou_loss, size_ranges

SIZE = (64, 96)
NUM_POINTS = 8 * 12 + 4 * 6 + 2 * 3


@pytest.fixture(scope="module")
def net() -> Detector:
    torch.manual_seed(0)
    return Detector(DetectorConfig.preset("nano", num_classes=8))


@pytest.mark.req("EX-047")
@pytest.mark.parametrize(
    ("size", "num_classes"), [("nano", 8), ("nano", 1), ("small", 3), ("medium", 2)]
)
def test_forward_shapes(size: str, num_classes: int) -> None:
    net = Detector(DetectorConfig.preset(size, num_classes)).eval()
    out = net(torch.zeros(2, 3, *SIZE))
    assert out.cls_logits.shape == (2, NUM_POINTS, num_classes)
    assert out.quality_logits.shape == (2, NUM_POINTS)
    assert out.distances.shape == (2, NUM_POINTS, 4)
    assert bool((out.distances >= 0).all())
    assert out.points.shape == (NUM_POINTS, 2)
    assert out.strides.tolist() == [8.0] * 96 + [16.0] * 24 + [32.0] * 6


def test_preset_overrides_and_errors() -> None:
    cfg = DetectorConfig.preset("nano", 8, width_mult=0.5, depth_mult=1.0)
    assert (cfg.width_mult, cfg.depth_mult, cfg.num_classes) == (0.5, 1.0, 8)
    with pytest.raises(ValueError, match="unknown model size"):
        DetectorConfig.preset("huge", 8)


@pytest.mark.req("EX-047")
def test_export_wrapper_follows_contract(net: Detector) -> None:
    wrapper = DetectorExportWrapper(net, SIZE).eval()
    with torch.no_grad():
        det = wrapper(torch.rand(3, 3, *SIZE))
    assert det.shape == (3, NUM_POINTS, 4 + 8)
    boxes, scores = det[..., :4], det[..., 4:]
    assert bool((boxes[..., 0] <= boxes[..., 2]).all() and (boxes[..., 1] <= boxes[..., 3]).all())
    assert float(boxes.min()) >= 0 and float(boxes[..., [0, 2]].max()) <= SIZE[1]
    assert float(boxes[..., [1, 3]].max()) <= SIZE[0]
    assert float(scores.min()) >= 0 and float(scores.max()) <= 1


def test_points_are_cell_centres() -> None:
    points, strides = make_points([(2, 3)], (8,))
    assert points.tolist() == [[4, 4], [12, 4], [20, 4], [4, 12], [12, 12], [20, 12]]
    assert strides.tolist() == [8.0] * 6


def test_size_ranges_follow_fcos() -> None:
    ranges = size_ranges(torch.tensor([8.0, 16.0, 32.0]))
    assert ranges[:, 0].tolist() == [0, 64, 128]
    assert ranges[:2, 1].tolist() == [64, 128] and ranges[2, 1] > 1e6


@pytest.mark.parametrize(
    ("box", "level"),
    [
        ([8.0, 8.0, 40.0, 40.0], 8.0),  # 32 px: largest side distance ≤ 64 → stride 8
        ([20.0, 20.0, 200.0, 200.0], 16.0),  # 180 px: distances 64–128 → stride 16
        ([0.0, 0.0, 300.0, 300.0], 32.0),  # > 256 px → stride 32
        ([100.0, 100.0, 103.0, 103.0], 8.0),  # 3 px: no point inside → nearest, stride 8
    ],
)
def test_assign_picks_the_level_by_size(box: list[float], level: float) -> None:
    points, strides = make_points([(32, 32), (16, 16), (8, 8)], (8, 16, 32))
    matched = assign(points, strides, torch.tensor([box]))
    pos = torch.nonzero(matched == 0).flatten()
    assert pos.numel() >= 1
    assert set(strides[pos].tolist()) == {level}


def test_assign_without_boxes_is_all_background() -> None:
    points, strides = make_points([(8, 12)], (8,))
    assert bool((assign(points, strides, torch.zeros(0, 4)) == -1).all())


def test_assign_prefers_the_smaller_box_when_ambiguous() -> None:
    points, strides = make_points([(8, 12)], (8,))
    boxes = torch.tensor([[0.0, 0.0, 60.0, 60.0], [16.0, 16.0, 40.0, 40.0]])
    matched = assign(points, strides, boxes)
    centre = int(torch.nonzero((points == torch.tensor([28.0, 28.0])).all(dim=1)))
    assert matched[centre] == 1


@pytest.mark.parametrize(
    ("pred", "target", "loss"),
    [
        ([0, 0, 10, 10], [0, 0, 10, 10], 0.0),
        ([0, 0, 10, 10], [10, 0, 20, 10], 1.0),  # touching: IoU 0, enclosure = union
        ([0, 0, 10, 10], [20, 0, 30, 10], 1 + 10 / 30),  # gap: GIoU < 0
    ],
)
def test_giou_loss(pred: list[float], target: list[float], loss: float) -> None:
    value, _ = giou_loss(torch.tensor([pred], dtype=torch.float32), torch.tensor([target]).float())
    assert value.item() == pytest.approx(loss, abs=1e-5)


def test_loss_is_finite_and_backpropagates(net: Detector) -> None:
    net.train()
    out = net(torch.rand(2, 3, *SIZE))
    boxes = [torch.tensor([[10.0, 12.0, 40.0, 50.0], [60.0, 5.0, 90.0, 30.0]]), torch.zeros(0, 4)]
    labels = [torch.tensor([0, 5]), torch.zeros(0, dtype=torch.long)]
    parts = DetectionLoss()(out, boxes, labels)
    assert torch.isfinite(parts.total) and parts.num_pos.item() >= 2
    parts.total.backward()  # type: ignore[no-untyped-call]
    head = net.heads[0]
    assert isinstance(head, DecoupledHead)
    grad = head.cls_pred.weight.grad
    assert grad is not None and float(grad.abs().sum()) > 0
    net.zero_grad()


def test_loss_without_any_box(net: Detector) -> None:
    out = net(torch.rand(1, 3, *SIZE))
    parts = DetectionLoss()(out, [torch.zeros(0, 4)], [torch.zeros(0, dtype=torch.long)])
    assert torch.isfinite(parts.total) and parts.box.item() == 0.0
    parts.total.backward()  # type: ignore[no-untyped-call]
    net.zero_grad()
