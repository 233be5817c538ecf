"""Pascal VOC XML: one ``<annotation>`` file per image.

``SRC`` is a VOC folder (``Annotations/*.xml`` with images in ``JPEGImages/``) or any folder of
``.xml`` files with the images next to them. The image is ``<filename>`` looked up in
``JPEGImages/``, next to the XML, then at ``<path>``. Boxes are ``<object><name>`` with
``<bndbox><xmin><ymin><xmax><ymax>`` in VOC's 1-based inclusive pixels, read as
``x1 = xmin - 1``, ``x2 = xmax`` (same for y). ``difficult``, ``truncated``, ``occluded`` and
``pose`` are carried as box attributes.
"""

from __future__ import annotations

from pathlib import Path

from veilleur.data.ingest.model import Problems, RawBox, RawDataset, RawSample
from veilleur.data.ingest.util import number, parse_xml, rel


def read_voc(src: Path, problems: Problems) -> RawDataset:
    """Read a Pascal VOC dataset; every problem is added to ``problems``."""
    root = src
    ann_dir = root / "Annotations" if (root / "Annotations").is_dir() else root
    files = sorted(ann_dir.rglob("*.xml"))
    if not files:
        problems.add(ann_dir, "", "no VOC .xml annotation file")
    samples: list[RawSample] = []
    labels: set[str] = set()
    for path in files:
        xml_root = parse_xml(path, problems)
        if xml_root is None:
            continue
        if xml_root.tag != "annotation":
            problems.add(path, f"<{xml_root.tag}>", "the root element must be <annotation>")
            continue
        filename = (xml_root.findtext("filename") or "").strip()
        if not filename:
            problems.add(path, "<filename>", "missing")
            continue
        candidates = [root / "JPEGImages" / filename, path.parent / filename, root / filename]
        declared_path = (xml_root.findtext("path") or "").strip()
        if declared_path:
            candidates.append(Path(declared_path))
        image = next((c for c in candidates if c.is_file()), candidates[0])
        width = number(xml_root.findtext("size/width"))
        height = number(xml_root.findtext("size/height"))
        if not width or not height or width <= 0 or height <= 0:
            problems.add(path, "<size>", "needs positive <width> and <height>")
            continue
        boxes: list[RawBox] = []
        for j, obj in enumerate(xml_root.findall("object")):
            name = (obj.findtext("name") or "").strip()
            where = f"<object #{j + 1} name={name!r}>"
            values = [number(obj.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")]
            if not name or any(v is None for v in values):
                problems.add(path, where, "needs <name> and numeric <bndbox> xmin ymin xmax ymax")
                continue
            xmin, ymin, xmax, ymax = (float(v or 0.0) for v in values)
            attrs: dict[str, str | int] = {}
            for key in ("difficult", "truncated", "occluded"):
                value = number(obj.findtext(key))
                if value is not None:
                    attrs[key] = int(value)
            pose = (obj.findtext("pose") or "").strip()
            if pose and pose.lower() != "unspecified":
                attrs["pose"] = pose
            labels.add(name)
            boxes.append(
                RawBox(
                    xmin - 1.0,
                    ymin - 1.0,
                    xmax,
                    ymax,
                    name,
                    f"{path}: {where}",
                    None,
                    attrs,
                )
            )
        samples.append(
            RawSample(image, rel(root, image), int(width), int(height), str(path), tuple(boxes))
        )
    return RawDataset(root, "voc", tuple(samples), labels_declared=tuple(sorted(labels)))
