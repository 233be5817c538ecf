"""Label assignment (FCOS centre sampling + scale ranges) and the detection loss.

* classification: sigmoid focal loss over every point, one-hot targets at positives;
* boxes: GIoU loss at positives;
* quality (IoU-aware objectness): BCE at positives towards the detached IoU of the predicted
  box with its ground truth, so that ``sqrt(σ(cls) σ(quality))`` ranks well-localised boxes.

A ground-truth box that gets no positive point (too small for its level's grid, or shadowed by
a smaller box) is given the free point nearest its centre on the level whose range fits it.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from veilleur.training.nets.detector import DetectorOutput, decode_boxes

INF = 1e8


class LossParts(NamedTuple):
    total: torch.Tensor
    cls: torch.Tensor
    box: torch.Tensor
    quality: torch.Tensor
    num_pos: torch.Tensor


def size_ranges(strides: torch.Tensor, ratio: float = 8.0) -> torch.Tensor:
    """Per-point ``[lo, hi]`` of the largest box-side distance a level handles (FCOS).

    With strides 8/16/32 and ``ratio`` 8: ``[0, 64]``, ``[64, 128]``, ``[128, inf]``.
    """
    levels = torch.unique(strides)
    hi = torch.where(strides == levels.max(), torch.full_like(strides, INF), strides * ratio)
    lo = torch.where(strides == levels.min(), torch.zeros_like(strides), strides * ratio / 2)
    return torch.stack((lo, hi), dim=1)


def assign(
    points: torch.Tensor,
    strides: torch.Tensor,
    boxes: torch.Tensor,
    radius: float = 1.5,
) -> torch.Tensor:
    """Index of the ground-truth box each point is assigned to, ``-1`` for background.

    Args:
        points: [A, 2] point coordinates (pixels).
        strides: [A] stride of each point's level.
        boxes: [G, 4] ground-truth ``x1, y1, x2, y2`` (pixels).
        radius: centre-sampling radius in strides.
    """
    num_points = points.shape[0]
    if boxes.shape[0] == 0:
        return torch.full((num_points,), -1, dtype=torch.long, device=points.device)
    px, py = points[:, 0:1], points[:, 1:2]  # [A, 1]
    x1, y1, x2, y2 = boxes.T  # [G]
    ltrb = torch.stack((px - x1, py - y1, x2 - px, y2 - py), dim=2)  # [A, G, 4]
    inside_box = ltrb.min(dim=2).values > 0
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    r = strides[:, None] * radius
    inside_centre = ((px - cx).abs() < r) & ((py - cy).abs() < r)
    ranges = size_ranges(strides)
    max_dist = ltrb.max(dim=2).values
    in_range = (max_dist >= ranges[:, 0:1]) & (max_dist <= ranges[:, 1:2])
    area = ((x2 - x1) * (y2 - y1))[None, :].expand(num_points, -1)
    cost = torch.where(inside_box & inside_centre & in_range, area, torch.full_like(area, INF))
    best_cost, matched = cost.min(dim=1)
    matched = torch.where(best_cost < INF, matched, torch.full_like(matched, -1))

    # Fallback: boxes without any positive take the nearest point of a fitting level.
    has_pos = torch.zeros(boxes.shape[0], dtype=torch.bool, device=points.device)
    has_pos[matched[matched >= 0]] = True
    if not bool(has_pos.all()):
        half = torch.maximum(x2 - x1, y2 - y1)[None, :] / 2
        fits = (half >= ranges[:, 0:1]) & (half <= ranges[:, 1:2])
        dist = torch.hypot(px - cx, py - cy) / strides[:, None]
        dist = torch.where(fits, dist, dist + INF)
        dist = dist + (matched >= 0).float()[:, None] * (INF / 2)  # prefer free points
        nearest = dist.argmin(dim=0)  # [G]
        for g in torch.nonzero(~has_pos).flatten().tolist():
            matched[nearest[g]] = g
    return matched


def giou_loss(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-box ``1 - GIoU`` and the (detached-friendly) IoU of xyxy boxes [N, 4]."""
    lt = torch.maximum(pred[:, :2], target[:, :2])
    rb = torch.minimum(pred[:, 2:], target[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=1)
    area_p = (pred[:, 2:] - pred[:, :2]).clamp(min=0).prod(dim=1)
    area_t = (target[:, 2:] - target[:, :2]).clamp(min=0).prod(dim=1)
    union = area_p + area_t - inter + 1e-7
    iou = inter / union
    enclose = (
        torch.maximum(pred[:, 2:], target[:, 2:]) - torch.minimum(pred[:, :2], target[:, :2])
    ).prod(dim=1) + 1e-7
    giou = iou - (enclose - union) / enclose
    return 1.0 - giou, iou


def focal_loss(
    logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25, gamma: float = 2.0
) -> torch.Tensor:
    """Sum of the sigmoid focal loss (Lin et al. 2017)."""
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return (alpha_t * ce * (1 - p_t) ** gamma).sum()


class DetectionLoss:
    """Callable ``(output, boxes, labels) -> LossParts``; one box/label tensor per image."""

    def __init__(self, box_weight: float = 2.0, quality_weight: float = 1.0) -> None:
        self.box_weight = box_weight
        self.quality_weight = quality_weight

    def __call__(
        self, out: DetectorOutput, boxes: list[torch.Tensor], labels: list[torch.Tensor]
    ) -> LossParts:
        cls_targets = torch.zeros_like(out.cls_logits)
        pos_img, pos_pt, pos_box = [], [], []
        for i, (gt_boxes, gt_labels) in enumerate(zip(boxes, labels, strict=True)):
            matched = assign(out.points, out.strides, gt_boxes)
            pos = torch.nonzero(matched >= 0).flatten()
            cls_targets[i, pos, gt_labels[matched[pos]]] = 1.0
            pos_img.append(torch.full_like(pos, i))
            pos_pt.append(pos)
            pos_box.append(gt_boxes[matched[pos]])
        img_idx, pt_idx = torch.cat(pos_img), torch.cat(pos_pt)
        target_boxes = torch.cat(pos_box)
        num_pos = torch.tensor(float(max(pt_idx.numel(), 1)), device=out.cls_logits.device)

        loss_cls = focal_loss(out.cls_logits, cls_targets) / num_pos
        if pt_idx.numel() == 0:
            zero = out.distances.sum() * 0.0 + out.quality_logits.sum() * 0.0
            return LossParts(loss_cls + zero, loss_cls.detach(), zero, zero, num_pos)
        pred_boxes = decode_boxes(out.points[pt_idx], out.distances[img_idx, pt_idx])
        box_losses, iou = giou_loss(pred_boxes, target_boxes)
        loss_box = box_losses.mean()
        loss_q = F.binary_cross_entropy_with_logits(
            out.quality_logits[img_idx, pt_idx], iou.detach().clamp(0, 1), reduction="mean"
        )
        total = loss_cls + self.box_weight * loss_box + self.quality_weight * loss_q
        return LossParts(total, loss_cls.detach(), loss_box.detach(), loss_q.detach(), num_pos)
