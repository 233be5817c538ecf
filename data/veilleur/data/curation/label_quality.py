"""Label-quality checks on one split's COCO document (contracts §6), pure (no I/O).

Each check returns :class:`~veilleur.data.curation.params.Finding` objects (one per box, pair
of boxes or image concerned) whose severity comes from the ``curate`` parameters; a check whose
severity is ``off`` returns nothing:

- ``out_of_bounds``: a box extends beyond its image by more than ``bounds_tolerance_px``;
- ``tiny_box``: a box narrower or shorter than ``min_box_px``;
- ``duplicate_box``: two boxes of one class on one image with IoU ≥ ``duplicate_iou`` (the
  same object annotated twice);
- ``missing_label``: a track present on the previous and the next prepared frame of its clip
  but absent on the frame between (a forgotten box, or an object fully hidden for one frame);
- ``empty_image``: an image without any box in a clip that has boxes elsewhere (an object may
  have left the scene, or the frame was not annotated).

Sample ids are ``prefix + file_name``; pass ``prefix="<split>/"`` to get paths relative to the
prepared folder.

Example:
    >>> coco = {"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
    ...         "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
    ...                          "bbox": [8, 0, 5, 5]}],
    ...         "categories": [{"id": 1, "name": "person"}]}
    >>> [f.check for f in check_labels(coco, CurateParams(), "train/")]
    ['out_of_bounds']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from veilleur.data.curation.params import CheckName, CurateParams, Finding
from veilleur.runtime.core.detections import box_iou


def _fmt(values: Sequence[float]) -> str:
    return "[" + ", ".join(f"{float(v):g}" for v in values) + "]"


class _Doc:
    """Indexes of a COCO document used by the checks."""

    def __init__(self, coco: Mapping[str, Any], prefix: str) -> None:
        self.images: dict[int, Mapping[str, Any]] = {int(i["id"]): i for i in coco["images"]}
        self.names = {int(c["id"]): str(c["name"]) for c in coco.get("categories", [])}
        self.prefix = prefix
        self.by_image: dict[int, list[Mapping[str, Any]]] = {i: [] for i in self.images}
        for ann in coco["annotations"]:
            image_id = int(ann["image_id"])
            if image_id in self.by_image:  # a dangling image_id is the expectations' business
                self.by_image[image_id].append(ann)

    def sample_id(self, image_id: int) -> str:
        return self.prefix + str(self.images[image_id]["file_name"])

    def name(self, ann: Mapping[str, Any]) -> str:
        cid = int(ann["category_id"])
        return self.names.get(cid, f"catégorie {cid}")


def _out_of_bounds(doc: _Doc, params: CurateParams) -> list[Finding]:
    tol = params.bounds_tolerance_px
    out: list[Finding] = []
    for image_id, anns in doc.by_image.items():
        image = doc.images[image_id]
        width, height = float(image["width"]), float(image["height"])
        for ann in anns:
            x, y, w, h = (float(v) for v in ann["bbox"])
            if x < -tol or y < -tol or x + w > width + tol or y + h > height + tol:
                sid = doc.sample_id(image_id)
                out.append(
                    Finding(
                        "out_of_bounds",
                        "error",
                        (sid,),
                        f"{sid} : la boîte {_fmt((x, y, w, h))} ({doc.name(ann)}, annotation "
                        f"{ann['id']}) sort de l'image {width:g}×{height:g} de plus de "
                        f"{tol:g} px ; corrigez l'annotation ou recadrez la boîte",
                        {"annotation_id": int(ann["id"]), "bbox": [x, y, w, h]},
                    )
                )
    return out


def _tiny(doc: _Doc, params: CurateParams) -> list[Finding]:
    out: list[Finding] = []
    for image_id, anns in doc.by_image.items():
        for ann in anns:
            x, y, w, h = (float(v) for v in ann["bbox"])
            if w < params.min_box_px or h < params.min_box_px:
                sid = doc.sample_id(image_id)
                out.append(
                    Finding(
                        "tiny_box",
                        "error",
                        (sid,),
                        f"{sid} : boîte minuscule {w:g}×{h:g} px ({doc.name(ann)}, annotation "
                        f"{ann['id']}), sous le minimum de {params.min_box_px:g} px",
                        {"annotation_id": int(ann["id"]), "bbox": [x, y, w, h]},
                    )
                )
    return out


def _duplicates(doc: _Doc, params: CurateParams) -> list[Finding]:
    out: list[Finding] = []
    for image_id, anns in doc.by_image.items():
        if len(anns) < 2:
            continue
        xywh = np.array([[float(v) for v in a["bbox"]] for a in anns], dtype=np.float32)
        xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        iou = box_iou(xyxy, xyxy)
        for i in range(len(anns)):
            for j in range(i + 1, len(anns)):
                same = int(anns[i]["category_id"]) == int(anns[j]["category_id"])
                if same and float(iou[i, j]) >= params.duplicate_iou:
                    sid = doc.sample_id(image_id)
                    out.append(
                        Finding(
                            "duplicate_box",
                            "error",
                            (sid,),
                            f"{sid} : annotations {anns[i]['id']} et {anns[j]['id']} "
                            f"({doc.name(anns[i])}) en double (IoU {float(iou[i, j]):.2f} ≥ "
                            f"{params.duplicate_iou:g}) ; supprimez l'une des deux",
                            {
                                "annotation_ids": [int(anns[i]["id"]), int(anns[j]["id"])],
                                "iou": round(float(iou[i, j]), 4),
                            },
                        )
                    )
    return out


def _clips(doc: _Doc) -> dict[str, list[int]]:
    clips: dict[str, list[int]] = {}
    for image_id, image in doc.images.items():
        if image.get("clip") is not None:
            clips.setdefault(str(image["clip"]), []).append(image_id)
    return clips


def _tracks(anns: Sequence[Mapping[str, Any]]) -> set[Any]:
    return {a["track_id"] for a in anns if a.get("track_id") is not None}


def _missing(doc: _Doc) -> list[Finding]:
    out: list[Finding] = []
    for clip, image_ids in sorted(_clips(doc).items()):
        frames = sorted(
            (int(doc.images[i]["frame_index"]), i)
            for i in image_ids
            if doc.images[i].get("frame_index") is not None
        )
        for (f0, prev), (f1, cur), (f2, nxt) in zip(frames, frames[1:], frames[2:], strict=False):
            gone = (_tracks(doc.by_image[prev]) & _tracks(doc.by_image[nxt])) - _tracks(
                doc.by_image[cur]
            )
            for track in sorted(gone, key=str):
                sid = doc.sample_id(cur)
                out.append(
                    Finding(
                        "missing_label",
                        "error",
                        (sid,),
                        f"{sid} : la piste {track} du clip {clip} est annotée aux images "
                        f"{f0} et {f2} mais pas à l'image {f1} ; vérifiez s'il manque une "
                        "boîte (ou si l'objet est entièrement masqué)",
                        {"clip": clip, "track_id": track, "frames": [f0, f1, f2]},
                    )
                )
    return out


def _empty(doc: _Doc) -> list[Finding]:
    out: list[Finding] = []
    for clip, image_ids in sorted(_clips(doc).items()):
        boxes = sum(len(doc.by_image[i]) for i in image_ids)
        if not boxes:
            continue
        for image_id in sorted(image_ids, key=doc.sample_id):
            if not doc.by_image[image_id]:
                sid = doc.sample_id(image_id)
                out.append(
                    Finding(
                        "empty_image",
                        "error",
                        (sid,),
                        f"{sid} : aucune boîte sur cette image alors que le clip {clip} est "
                        f"annoté ({boxes} boîtes) ; vérifiez qu'elle est bien vide",
                        {"clip": clip},
                    )
                )
    return out


def check_labels(coco: Mapping[str, Any], params: CurateParams, prefix: str = "") -> list[Finding]:
    """Run every label check whose severity is not ``off``; findings carry their severity."""
    doc = _Doc(coco, prefix)
    checks: list[tuple[CheckName, list[Finding]]] = []
    severity = params.severity
    if severity.out_of_bounds != "off":
        checks.append(("out_of_bounds", _out_of_bounds(doc, params)))
    if severity.tiny_box != "off":
        checks.append(("tiny_box", _tiny(doc, params)))
    if severity.duplicate_box != "off":
        checks.append(("duplicate_box", _duplicates(doc, params)))
    if severity.missing_label != "off":
        checks.append(("missing_label", _missing(doc)))
    if severity.empty_image != "off":
        checks.append(("empty_image", _empty(doc)))
    out: list[Finding] = []
    for check, findings in checks:
        level: Literal["error", "warning"] = (
            "error" if params.severity.of(check) == "error" else "warning"
        )
        out.extend(Finding(f.check, level, f.sample_ids, f.message, f.details) for f in findings)
    return out
