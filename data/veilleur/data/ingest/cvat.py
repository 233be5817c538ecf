"""CVAT for images / CVAT for video, XML 1.1 (``annotations.xml``).

Images: ``<image id name width height>`` holding ``<box label xtl ytl xbr ybr>`` (pixels) with
optional ``<attribute name="…">value</attribute>``; ``name`` is resolved against ``SRC/images/``
then ``SRC``. Video: ``<track id label>`` holding one ``<box frame … outside keyframe>`` per
frame (CVAT writes every frame; gaps between two listed frames are linearly interpolated, and a
box with ``outside="1"`` ends the track until its next box). The track id is the track's
``id``. The video is ``<meta><task><source>`` (or ``<meta><job>…``) resolved against ``SRC``,
else the only video file in ``SRC``; its frames ``start_frame … stop_frame`` (default: all) are
the samples, with or without boxes, and its stem is the clip id; an ``<image>`` whose ``name``
is no file (``frame_000008``) is then a frame of the video, its ``id`` the frame index. Other
shapes (polygons, points, tags) are not boxes and are left out with a warning.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from veilleur.data.ingest.media import MediaError, probe_video
from veilleur.data.ingest.model import VIDEO_EXTS, Problems, RawBox, RawDataset, RawSample
from veilleur.data.ingest.util import attribute, number, parse_xml, rel

logger = logging.getLogger(__name__)


def find_annotation_file(src: Path) -> Path:
    """``src`` itself, or ``src/annotations.xml`` (or the only ``*.xml`` in ``src``)."""
    if src.is_file():
        return src
    if (src / "annotations.xml").is_file():
        return src / "annotations.xml"
    found = sorted(src.glob("*.xml"))
    return found[0] if len(found) == 1 else src / "annotations.xml"


@dataclass(frozen=True, slots=True)
class _Shape:
    frame: int
    outside: bool
    corners: tuple[float, float, float, float]
    attributes: dict[str, str]


def _corners(
    element: ET.Element, path: Path, where: str, problems: Problems
) -> tuple[float, float, float, float] | None:
    values = [number(element.get(k)) for k in ("xtl", "ytl", "xbr", "ybr")]
    if any(v is None for v in values):
        problems.add(path, where, "needs numeric xtl, ytl, xbr, ybr")
        return None
    x1, y1, x2, y2 = (float(v or 0.0) for v in values)
    return x1, y1, x2, y2


def _attrs(element: ET.Element) -> dict[str, str]:
    attrs = {str(a.get("name")): (a.text or "") for a in element.findall("attribute")}
    if element.get("occluded") == "1":
        attrs["occluded"] = "1"
    return attrs


def _meta_text(root: ET.Element, *names: str) -> str | None:
    for kind in ("task", "job", "project"):
        for name in names:
            node = root.find(f"meta/{kind}/{name}")
            if node is not None and (node.text or "").strip():
                return (node.text or "").strip()
    return None


def _find_video(root_dir: Path, xml_root: ET.Element) -> Path | None:
    source = _meta_text(xml_root, "source")
    if source and (root_dir / source).is_file():
        return root_dir / source
    videos = sorted(p for p in root_dir.iterdir() if p.suffix.lower() in VIDEO_EXTS)
    return videos[0] if len(videos) == 1 else None


def read_cvat(src: Path, problems: Problems) -> RawDataset:
    """Read a CVAT XML 1.1 export; every problem is added to ``problems``."""
    root_dir = src.parent if src.is_file() else src
    path = find_annotation_file(src)
    if not path.is_file():
        problems.add(path, "", "CVAT annotation file not found (give the XML or its folder)")
        return RawDataset(root_dir, "cvat", ())
    xml_root = parse_xml(path, problems)
    if xml_root is None:
        return RawDataset(root_dir, "cvat", ())
    if xml_root.tag != "annotations":
        problems.add(path, f"<{xml_root.tag}>", "the root element must be <annotations>")
        return RawDataset(root_dir, "cvat", ())
    version = xml_root.findtext("version")
    if version is not None and version.strip() != "1.1":
        logger.warning("%s: CVAT XML version %s, read as 1.1", path, version.strip())
    labels = tuple(
        (node.text or "").strip() for node in xml_root.iterfind(".//meta//labels/label/name")
    )
    tracks = xml_root.findall("track")
    video = _find_video(root_dir, xml_root)
    samples: list[RawSample] = []
    frame_boxes: dict[int, list[RawBox]] = {}
    skipped: dict[str, int] = {}

    for i, image in enumerate(xml_root.findall("image")):
        where = f"<image id={image.get('id')!r} name={image.get('name')!r}>"
        name = image.get("name") or ""
        width, height = number(image.get("width")), number(image.get("height"))
        boxes: list[RawBox] = []
        for j, box in enumerate(image.findall("box")):
            bwhere = f"{where} <box #{j + 1} label={box.get('label')!r}>"
            corners = _corners(box, path, bwhere, problems)
            if corners is None:
                continue
            boxes.append(
                RawBox(
                    *corners,
                    str(box.get("label") or ""),
                    f"{path}: {bwhere}",
                    None,
                    {k: attribute(v) for k, v in _attrs(box).items()},
                )
            )
        for child in image:
            if child.tag not in {"box", "tag"}:
                skipped[child.tag] = skipped.get(child.tag, 0) + 1
        file = next(
            (p for p in (root_dir / "images" / name, root_dir / name) if name and p.is_file()),
            None,
        )
        if file is None and video is not None:
            frame_boxes.setdefault(int(image.get("id", i)), []).extend(boxes)
            continue
        if width is None or height is None or width <= 0 or height <= 0:
            problems.add(path, where, "needs positive integer width and height")
            continue
        file = file or (
            root_dir / "images" / name if (root_dir / "images").is_dir() else root_dir / name
        )
        samples.append(
            RawSample(
                file, rel(root_dir, file), int(width), int(height), f"{path}: {where}", tuple(boxes)
            )
        )

    if tracks or frame_boxes:
        samples.extend(
            _video_samples(path, root_dir, xml_root, video, tracks, frame_boxes, problems)
        )
    if skipped:
        logger.warning("%s: non-box shapes left out: %s", path, skipped)
    return RawDataset(root_dir, "cvat", tuple(samples), labels_declared=labels)


def _video_samples(
    path: Path,
    root_dir: Path,
    xml_root: ET.Element,
    video: Path | None,
    tracks: list[ET.Element],
    frame_boxes: dict[int, list[RawBox]],
    problems: Problems,
) -> list[RawSample]:
    if video is None:
        problems.add(
            path,
            "<meta>",
            "annotations of a video but no video: put the file named by "
            "<source> (or a single video file) next to the XML",
        )
        return []
    try:
        info = probe_video(video)
    except MediaError as exc:
        problems.add(video, "", str(exc))
        return []
    declared_w = number(xml_root.findtext(".//meta//original_size/width"))
    declared_h = number(xml_root.findtext(".//meta//original_size/height"))
    if (
        declared_w
        and declared_h
        and (int(declared_w), int(declared_h)) != (info.width, info.height)
    ):
        problems.add(
            path,
            "<meta><original_size>",
            f"declares {int(declared_w)}x{int(declared_h)} but {video.name} is "
            f"{info.width}x{info.height}",
        )
        return []
    start = int(number(_meta_text(xml_root, "start_frame")) or 0)
    stop_text = number(_meta_text(xml_root, "stop_frame"))
    stop = min(int(stop_text), info.frames - 1) if stop_text is not None else info.frames - 1
    for t, track in enumerate(tracks):
        try:
            track_id = int(track.get("id", t))
        except ValueError:
            problems.add(
                path, f"<track #{t + 1}>", f"track id {track.get('id')!r} is not an integer"
            )
            continue
        label = str(track.get("label") or "")
        shapes: list[_Shape] = []
        for box in track.findall("box"):
            where = f"<track id={track_id} label={label!r}> <box frame={box.get('frame')!r}>"
            frame = number(box.get("frame"))
            corners = _corners(box, path, where, problems)
            if frame is None or corners is None:
                if frame is None:
                    problems.add(path, where, "needs an integer frame")
                continue
            if not 0 <= frame < info.frames:
                problems.add(
                    path,
                    where,
                    f"frame {int(frame)} is outside {video.name} ({info.frames} frames)",
                )
                continue
            shapes.append(_Shape(int(frame), box.get("outside") == "1", corners, _attrs(box)))
        shapes.sort(key=lambda s: s.frame)
        for a, b in zip(shapes, [*shapes[1:], None], strict=True):
            if a.outside:
                continue
            last = a.frame if b is None else b.frame - 1
            for frame in range(a.frame, last + 1):
                k = 0.0 if b is None or b.outside else (frame - a.frame) / (b.frame - a.frame)
                x1, y1, x2, y2 = a.corners
                if b is not None and not b.outside:
                    u1, v1, u2, v2 = b.corners
                    x1, y1 = x1 + k * (u1 - x1), y1 + k * (v1 - y1)
                    x2, y2 = x2 + k * (u2 - x2), y2 + k * (v2 - y2)
                frame_boxes.setdefault(frame, []).append(
                    RawBox(
                        x1,
                        y1,
                        x2,
                        y2,
                        label,
                        f"{path}: <track id={track_id}> <box frame={frame}>",
                        track_id,
                        {key: attribute(v) for key, v in a.attributes.items()},
                    )
                )
    clip = video.stem
    out: list[RawSample] = []
    for frame in range(start, stop + 1):
        out.append(
            RawSample(
                path=video,
                rel_path=rel(root_dir, video),
                width=info.width,
                height=info.height,
                where=f"{path}: frame {frame}",
                boxes=tuple(frame_boxes.get(frame, ())),
                frame_index=frame,
                clip=clip,
                timestamp_s=frame / info.fps if info.fps else None,
                fps=info.fps or None,
            )
        )
    return out
