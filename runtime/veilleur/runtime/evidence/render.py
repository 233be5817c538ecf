"""Drawing boxes, track ids, classes and zones over a frame (alert snapshots, live view).

Pure image code (OpenCV); boxes and zones in normalised coordinates (0–1) or pixels.
Labels are ASCII-transliterated French (OpenCV's Hershey fonts have no accents).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from veilleur.runtime.core.detections import Detections
from veilleur.runtime.core.taxonomy import CLASS_LABELS_FR, CLASSES

Image = NDArray[np.uint8]
Point = tuple[float, float]

ALERT_COLOUR = (0, 0, 255)  # BGR red
BOX_COLOUR = (0, 200, 255)  # amber
ZONE_COLOUR = (255, 160, 0)  # blue


def ascii_fr(text: str) -> str:
    """``« personne au sol »`` → ``personne au sol``; ``é`` → ``e`` (Hershey fonts)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


@dataclass(frozen=True)
class ZoneShape:
    id: str
    kind: str  # polygon | line
    points: tuple[Point, ...]  # normalised


def _px(points: Sequence[Point], w: int, h: int) -> NDArray[np.int32]:
    return np.array([[round(x * w), round(y * h)] for x, y in points], dtype=np.int32)


def draw_zones(img: Image, zones: Sequence[ZoneShape], highlight: str | None = None) -> None:
    h, w = img.shape[:2]
    for z in zones:
        pts = _px(z.points, w, h)
        colour = ALERT_COLOUR if z.id == highlight else ZONE_COLOUR
        thick = 3 if z.id == highlight else 2
        if z.kind == "line":
            cv2.line(img, tuple(pts[0]), tuple(pts[1]), colour, thick, cv2.LINE_AA)
        else:
            cv2.polylines(img, [pts], True, colour, thick, cv2.LINE_AA)
        x, y = pts[0]
        cv2.putText(img, ascii_fr(z.id), (int(x) + 4, int(y) + 16), cv2.FONT_HERSHEY_SIMPLEX,
                    0.5, colour, 1, cv2.LINE_AA)  # fmt: skip


def _label(img: Image, text: str, x: int, y: int, colour: tuple[int, int, int]) -> None:
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
    y = max(y, th + 4)
    cv2.rectangle(img, (x, y - th - 4), (x + tw + 4, y), colour, -1)
    cv2.putText(img, text, (x + 2, y - 3), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1,
                cv2.LINE_AA)  # fmt: skip


def draw_detections(
    img: Image, dets: Detections, colour: tuple[int, int, int] = BOX_COLOUR
) -> None:
    """Boxes in pixels with class (French) and track id."""
    for (x1, y1, x2, y2), cid, tid in zip(dets.xyxy, dets.class_id, dets.tracker_id, strict=True):
        p1, p2 = (round(float(x1)), round(float(y1))), (round(float(x2)), round(float(y2)))
        cv2.rectangle(img, p1, p2, colour, 2, cv2.LINE_AA)
        name = CLASSES[int(cid)] if 0 <= int(cid) < len(CLASSES) else str(int(cid))
        text = ascii_fr(CLASS_LABELS_FR.get(name, name))
        if int(tid) >= 0:
            text += f" #{int(tid)}"
        _label(img, text, p1[0], p1[1], colour)


def draw_alert(
    image: Image,
    boxes: Sequence[Sequence[float]],
    track_ids: Sequence[int],
    title: str,
    zones: Sequence[ZoneShape] = (),
    zone: str | None = None,
) -> Image:
    """A copy of ``image`` with the alert's boxes (normalised), its zone and a title band."""
    img = image.copy()
    h, w = img.shape[:2]
    draw_zones(img, zones, highlight=zone)
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        p1, p2 = (round(x1 * w), round(y1 * h)), (round(x2 * w), round(y2 * h))
        cv2.rectangle(img, p1, p2, ALERT_COLOUR, 3, cv2.LINE_AA)
        if i < len(track_ids):
            _label(img, f"#{track_ids[i]}", p1[0], p1[1], ALERT_COLOUR)
    band = max(22, h // 20)
    cv2.rectangle(img, (0, 0), (w, band), (0, 0, 0), -1)
    cv2.putText(img, ascii_fr(title), (6, band - 6), cv2.FONT_HERSHEY_SIMPLEX,
                band / 40, (255, 255, 255), 1, cv2.LINE_AA)  # fmt: skip
    return img


def encode_jpeg(img: Image, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buf)
