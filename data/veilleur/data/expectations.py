"""Great Expectations suites on the prepared detection dataset (contracts §6).

Tables are built from ``data/processed`` and each is validated by its own suite:

- ``images``: one row per image (split, clip, image id, file, width, height). Images at least
  4CIF (704×576, EX-006), file present, ids non-null and unique within the split.
- ``boxes``: one row per annotation, with its image size. Box inside the image, positive width
  and height, category in the taxonomy, ids non-null, the image known.
- ``splits``: one row per split (train, val, test): at least one clip and one image each.
- ``clip_splits``: one row per distinct (split, clip) pair, from ``splits.json`` and from the
  images: a clip appears in a single split (no leakage between training and evaluation).
- ``labels``: one row per distinct name used anywhere in the annotations (category, annotation
  field, attribute name and text value, source label, image field, image and clip metadata name
  and text value), with a first example: no biometric annotation (faces, identities, plates …:
  :data:`BIOMETRIC_WORDS`, the ingest's refused labels plus French words; EX-089).

With coverage targets (``params.yaml`` → ``prepare.coverage``, :mod:`veilleur.data.coverage`),
five more (each validated only when it holds rows):

- ``scene_splits``: one row per distinct (split, scene), the scene being the site and camera of
  an ingested clip: a camera/site appears in a single split (synthetic clips name none);
- ``slice_targets``: one row per (required slice, measure, scope): actual ≥ required;
- ``class_targets``: one row per (class, scope) minimum: actual ≥ required;
- ``class_balance``: one row, boxes(most frequent class) / boxes(rarest) ≤ max ratio;
- ``split_distances``: one row per (criterion, pair of splits): Jensen–Shannon divergence ≤ max.

:func:`validate_dataset` returns a :class:`ValidationReport` that names, for each failed
expectation, the table, the expectation, and sample rows (split / clip / image / annotation ids)
that broke it. It writes ``validation.json``, ``coverage.json`` (counts per slice and class,
gaps, distances) and a self-contained French ``index.html`` (expectations, then coverage
tables) under the reports folder and, on request, the GX Data Docs site under
``<reports>/gx/``. Data Docs are opt-in because their pages load Bootstrap, jQuery, Vega and
fonts from public CDNs when opened in a browser (an air-gapped site shows them unstyled, and a
connected one phones out).

GX is imported lazily (≈ 2.5 s) and with ``GX_ANALYTICS_ENABLED=false``: the product runs
air-gapped and must never phone home.

Example:
    >>> report = validate_dataset(Path("data/processed"), Path("reports/data"))  # doctest: +SKIP
    >>> report.success, report.message()  # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import math
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from veilleur.data.coverage import (
    ALL,
    DISTANCE_LABEL_FR,
    SPLIT_LABELS_FR,
    BoxRecord,
    CoverageParams,
    CoverageReport,
    ImageRecord,
    compute_coverage,
)
from veilleur.data.ingest.taxonomy import BIOMETRIC_LABELS, BIOMETRIC_TOKENS, normalise
from veilleur.data.slices import CRITERIA, scene_of, slice_values
from veilleur.data.splits import SPLITS
from veilleur.runtime.core.taxonomy import CLASSES
from veilleur.runtime.offline import air_gap

if TYPE_CHECKING:
    from great_expectations.expectations.expectation import Expectation

MIN_WIDTH: Final = 704
"""4CIF width (EX-006)."""
MIN_HEIGHT: Final = 576
"""4CIF height (EX-006)."""
COVERAGE_NAME: Final = "coverage.json"
"""Counts per slice and class, gaps and distances, next to ``validation.json``."""
COMBINATIONS_SHOWN: Final = 40
"""Rows of the combinations table in index.html (coverage.json holds them all)."""
MAX_SAMPLES: Final = 20
"""Offending rows kept per failed expectation in the report."""
COORD_DECIMALS: Final = 6
"""Box corners are rounded to this many decimals before comparison (float noise of x + w)."""

IMAGE_COLUMNS: Final = ("split", "clip", "image_id", "file_name", "frame_index", "width", "height")
BOX_COLUMNS: Final = (
    "split",
    "clip",
    "image_id",
    "annotation_id",
    "category",
    "category_id",
    "x1",
    "y1",
    "x2",
    "y2",
    "image_width",
    "image_height",
)
INDEX_COLUMNS: Final[dict[str, list[str]]] = {
    "images": ["split", "clip", "image_id", "file_name"],
    "boxes": ["split", "clip", "image_id", "annotation_id"],
    "splits": ["split"],
    "clip_splits": ["split", "clip"],
    "scene_splits": ["split", "scene"],
    "labels": ["split", "kind", "name", "clip", "image_id", "annotation_id"],
    "slice_targets": ["criterion", "value", "measure", "scope"],
    "class_targets": ["class", "scope"],
    "class_balance": ["most", "class"],
    "split_distances": ["criterion", "a", "b"],
}
BIOMETRIC_WORDS: Final = frozenset(
    {
        *BIOMETRIC_LABELS,
        *BIOMETRIC_TOKENS,
        "visage",
        "visages",
        "identite",
        "identité",
        "biometrie",
        "biométrie",
        "biometrique",
        "biométrique",
        "plate",
        "plates",
        "license_plate",
        "licence_plate",
        "number_plate",
        "plaque",
        "plaques",
        "immatriculation",
        "empreinte",
    }
)
"""Names refused anywhere in the annotations (EX-089): the ingest's biometric labels and words
(:mod:`veilleur.data.ingest.taxonomy`), plus French words and licence plates."""
BIOMETRIC_PATTERNS: Final = (
    "^(?:" + "|".join(sorted(re.escape(w) for w in BIOMETRIC_WORDS)) + ")$",
    "(?:^|_)(?:"
    + "|".join(sorted(re.escape(w) for w in BIOMETRIC_WORDS if "_" not in w))
    + ")(?:_|$)",
)
"""Regexes on a normalised name (:func:`normalise_name`): the whole name, or one of its
``_``-separated words, is a biometric word."""
OPTIONAL_TABLES: Final = frozenset(
    {"scene_splits", "slice_targets", "class_targets", "class_balance", "split_distances"}
)
"""Tables validated only when they hold rows (scenes named, targets set)."""
LABEL_COLUMNS: Final = ("split", "kind", "name", "clip", "image_id", "annotation_id", "count")
TARGET_COLUMNS: Final = {
    "slice_targets": ("criterion", "value", "measure", "scope", "actual", "required"),
    "class_targets": ("class", "scope", "actual", "required"),
    "class_balance": ("most", "class", "actual", "required"),
    "split_distances": ("criterion", "a", "b", "actual", "required"),
}


class DatasetReadError(RuntimeError):
    """The prepared dataset cannot be read; the message names the file."""


def normalise_name(name: str) -> str:
    """A name as the biometric check reads it: camelCase split, case-folded, spaces and dashes
    as underscores (``faceBox`` → ``face_box``)."""
    return normalise(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name))


def is_biometric_name(name: str) -> bool:
    """Whether ``name`` names a biometric annotation (the check of the ``labels`` suite)."""
    key = normalise_name(name)
    return any(re.search(p, key) for p in BIOMETRIC_PATTERNS)


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame([], columns=list(columns))


@dataclass(frozen=True, slots=True)
class DatasetTables:
    """The tables the suites run on (the target tables are empty until targets are given)."""

    images: pd.DataFrame
    boxes: pd.DataFrame
    splits: pd.DataFrame
    clip_splits: pd.DataFrame
    labels: pd.DataFrame
    scene_splits: pd.DataFrame
    slice_targets: pd.DataFrame = field(
        default_factory=lambda: _empty(TARGET_COLUMNS["slice_targets"])
    )
    class_targets: pd.DataFrame = field(
        default_factory=lambda: _empty(TARGET_COLUMNS["class_targets"])
    )
    class_balance: pd.DataFrame = field(
        default_factory=lambda: _empty(TARGET_COLUMNS["class_balance"])
    )
    split_distances: pd.DataFrame = field(
        default_factory=lambda: _empty(TARGET_COLUMNS["split_distances"])
    )

    def items(self) -> list[tuple[str, pd.DataFrame]]:
        """``(name, frame)`` pairs, in validation order."""
        return [
            ("images", self.images),
            ("boxes", self.boxes),
            ("splits", self.splits),
            ("clip_splits", self.clip_splits),
            ("labels", self.labels),
            ("scene_splits", self.scene_splits),
            ("slice_targets", self.slice_targets),
            ("class_targets", self.class_targets),
            ("class_balance", self.class_balance),
            ("split_distances", self.split_distances),
        ]

    def coverage_records(self) -> tuple[list[ImageRecord], list[BoxRecord]]:
        """The images (with their slice values) and boxes, as :mod:`veilleur.data.coverage`
        counts them."""
        keys = [c.key for c in CRITERIA]
        images = [
            ImageRecord(
                split=str(row["split"]),
                clip=str(row["clip"]),
                image_id=row["image_id"],
                values={k: (None if pd.isna(row[k]) else str(row[k])) for k in keys},
            )
            for row in self.images.to_dict("records")
        ]
        boxes = [
            BoxRecord(
                split=str(row["split"]),
                image_id=row["image_id"],
                category=None if pd.isna(row["category"]) else str(row["category"]),
            )
            for row in self.boxes.to_dict("records")
        ]
        return images, boxes


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DatasetReadError(f"{path} not found: run the prepare stage first") from exc
    except json.JSONDecodeError as exc:
        raise DatasetReadError(f"{path} is not valid JSON: {exc}") from exc


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _corners(bbox: Any) -> tuple[float | None, ...]:
    """``(x1, y1, x2, y2)`` of a COCO ``[x, y, w, h]``; ``None``s when malformed."""
    try:
        x, y, w, h = (float(v) for v in bbox)
    except (TypeError, ValueError):
        return (None, None, None, None)
    return tuple(round(v, COORD_DECIMALS) for v in (x, y, x + w, y + h))


class _Labels:
    """Collects the distinct names of the ``labels`` table, with a first example of each."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, str], dict[str, Any]] = {}

    def add(
        self,
        split: str,
        kind: str,
        name: Any,
        clip: Any = None,
        image_id: Any = None,
        annotation_id: Any = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            return
        key = (split, kind, name)
        row = self.rows.get(key)
        if row is None:
            self.rows[key] = {
                "split": split,
                "kind": kind,
                "name": name,
                "normalised": normalise_name(name),
                "clip": None if clip is None else str(clip),
                "image_id": image_id,
                "annotation_id": annotation_id,
                "count": 1,
            }
        else:
            row["count"] += 1

    def add_mapping(self, split: str, kind: str, mapping: Any, **where: Any) -> None:
        """Names (``<kind>_field``) and text values (``<kind>_value``) of a metadata mapping."""
        if not isinstance(mapping, Mapping):
            return
        for key, value in mapping.items():
            self.add(split, f"{kind}_field", key, **where)
            for item in value if isinstance(value, list | tuple) else [value]:
                self.add(split, f"{kind}_value", item, **where)

    def frame(self) -> pd.DataFrame:
        # object dtype: ids stay integers beside the missing ones (no 1.0 in messages)
        return pd.DataFrame(
            list(self.rows.values()), columns=[*LABEL_COLUMNS, "normalised"], dtype=object
        )


def _person_heights(
    annotations: Sequence[Mapping[str, Any]], person_ids: set[int]
) -> dict[int | None, list[float]]:
    heights: dict[int | None, list[float]] = {}
    for ann in annotations:
        if _int(ann.get("category_id")) not in person_ids:
            continue
        bbox = ann.get("bbox")
        try:
            h = float(bbox[3])  # type: ignore[index]
        except (TypeError, ValueError, IndexError):
            continue
        heights.setdefault(_int(ann.get("image_id")), []).append(h)
    return heights


def load_tables(dataset_dir: Path, *, scenes: bool = False) -> DatasetTables:
    """Build the validation tables from a prepared dataset folder.

    Args:
        dataset_dir: the prepared dataset (``splits.json`` and one COCO per split).
        scenes: fill the ``scene_splits`` table (its suite forbids a camera/site in two splits);
            left empty otherwise.

    Raises:
        DatasetReadError: ``splits.json`` or a split's ``annotations.json`` is missing or broken.
    """
    splits_doc = _read_json(dataset_dir / "splits.json")
    clip_records: Mapping[str, Any] = splits_doc.get("clips") or {}
    image_rows: list[dict[str, Any]] = []
    box_rows: list[dict[str, Any]] = []
    summary_rows: list[dict[str, Any]] = []
    pairs: set[tuple[str, str]] = set()
    labels = _Labels()
    for split in SPLITS:
        listed = [str(c) for c in splits_doc.get(split, [])]
        pairs.update((split, c) for c in listed)
        coco_path = dataset_dir / split / "annotations.json"
        coco = _read_json(coco_path) if coco_path.exists() else {}
        names = {_int(c.get("id")): str(c.get("name")) for c in coco.get("categories", [])}
        for category in coco.get("categories", []):
            labels.add(split, "category", category.get("name"))
            labels.add(split, "supercategory", category.get("supercategory"))
        image_list = coco.get("images", [])
        images: dict[int | None, dict[str, Any]] = {}
        for image in image_list:
            images.setdefault(_int(image.get("id")), image)  # duplicates: a failed expectation
        annotations = coco.get("annotations", [])
        persons = {i for i, n in names.items() if n == "person" and i is not None}
        heights = _person_heights(annotations, persons)
        for image in image_list:
            clip = image.get("clip")
            if clip is not None:
                pairs.add((split, str(clip)))
            record = clip_records.get(str(clip)) or {}
            metadata = {**(record.get("metadata") or {}), **(image.get("metadata") or {})}
            where = {"clip": clip, "image_id": image.get("id")}
            for key in image:
                labels.add(split, "image_field", key, **where)
            labels.add_mapping(split, "image_metadata", image.get("metadata"), **where)
            image_rows.append(
                {
                    "split": split,
                    "clip": clip,
                    "image_id": image.get("id"),
                    "file_name": image.get("file_name"),
                    "frame_index": image.get("frame_index"),
                    "width": image.get("width"),
                    "height": image.get("height"),
                    "file_exists": (dataset_dir / split / str(image.get("file_name"))).is_file(),
                    **slice_values(metadata, heights.get(_int(image.get("id")), [])),
                    "scene": scene_of(record) if record else None,
                }
            )
        for ann in annotations:
            image = images.get(_int(ann.get("image_id")), {}) if "image_id" in ann else {}
            x1, y1, x2, y2 = _corners(ann.get("bbox"))
            where = {
                "clip": image.get("clip"),
                "image_id": ann.get("image_id"),
                "annotation_id": ann.get("id"),
            }
            for key in ann:
                labels.add(split, "annotation_field", key, **where)
            labels.add(split, "source_label", ann.get("source_label"), **where)
            labels.add_mapping(split, "attribute", ann.get("attributes"), **where)
            box_rows.append(
                {
                    "split": split,
                    "clip": image.get("clip"),
                    "image_id": ann.get("image_id"),
                    "annotation_id": ann.get("id"),
                    "category": names.get(_int(ann.get("category_id"))),
                    "category_id": ann.get("category_id"),
                    "x1": x1,
                    "y1": y1,
                    "x2": x2,
                    "y2": y2,
                    "image_width": image.get("width"),
                    "image_height": image.get("height"),
                }
            )
        summary_rows.append(
            {
                "split": split,
                "clips": len({c for s, c in pairs if s == split}),
                "images": len(image_list),
                "boxes": len(annotations),
            }
        )
    scene_pairs: set[tuple[str, str]] = set()
    for clip_id, record in sorted(clip_records.items()):
        if not isinstance(record, Mapping):
            continue
        clip_split = str(record.get("split"))
        labels.add_mapping(clip_split, "clip_metadata", record.get("metadata"), clip=clip_id)
        scene = scene_of(record)
        if scenes and scene is not None:
            scene_pairs.add((clip_split, scene))
    criteria = [c.key for c in CRITERIA]
    return DatasetTables(
        images=pd.DataFrame(
            image_rows, columns=[*IMAGE_COLUMNS, "file_exists", *criteria, "scene"]
        ),
        boxes=pd.DataFrame(box_rows, columns=list(BOX_COLUMNS)),
        splits=pd.DataFrame(summary_rows, columns=["split", "clips", "images", "boxes"]),
        clip_splits=pd.DataFrame(sorted(pairs), columns=["split", "clip"]),
        labels=labels.frame(),
        scene_splits=pd.DataFrame(sorted(scene_pairs), columns=["split", "scene"]),
    )


def target_tables(report: CoverageReport) -> dict[str, pd.DataFrame]:
    """The target tables (``slice_targets``, ``class_targets``, ``class_balance``,
    ``split_distances``) of the coverage gaps."""
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TARGET_COLUMNS}
    for gap in report.gaps:
        actual = math.inf if gap.actual is None else gap.actual
        if gap.kind == "slice":
            rows["slice_targets"].append(
                {**gap.key, "measure": gap.measure, "scope": gap.scope, "actual": actual,
                 "required": gap.required}
            )  # fmt: skip
        elif gap.kind == "class":
            rows["class_targets"].append(
                {"class": gap.key.get("class"), "scope": gap.scope, "actual": actual,
                 "required": gap.required}
            )  # fmt: skip
        elif gap.kind == "balance":
            rows["class_balance"].append(
                {"most": gap.key.get("most"), "class": gap.key.get("class"), "actual": actual,
                 "required": gap.required}
            )  # fmt: skip
        else:
            rows["split_distances"].append({**gap.key, "actual": actual, "required": gap.required})
    return {
        name: pd.DataFrame(rows[name], columns=list(columns))
        for name, columns in TARGET_COLUMNS.items()
    }


def build_expectations(coverage: CoverageParams | None = None) -> dict[str, list[Expectation]]:
    """The expectations of each table (imports GX)."""
    gxe = _import_gx().expectations

    def not_null(*columns: str) -> list[Expectation]:
        return [
            gxe.ExpectColumnValuesToNotBeNull(column=c, description=f"{c} renseigné")
            for c in columns
        ]

    return {
        "images": [
            *not_null("split", "clip", "image_id", "file_name", "width", "height"),
            gxe.ExpectColumnValuesToBeBetween(
                column="width",
                min_value=MIN_WIDTH,
                description=f"EX-006: image width ≥ {MIN_WIDTH} px (4CIF)",
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="height",
                min_value=MIN_HEIGHT,
                description=f"EX-006: image height ≥ {MIN_HEIGHT} px (4CIF)",
            ),
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=["split", "image_id"], description="image ids unique within a split"
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="file_exists", value_set=[True], description="image file present"
            ),
        ],
        "boxes": [
            *not_null("split", "clip", "image_id", "annotation_id", "category"),
            *not_null("x1", "y1", "x2", "y2", "image_width", "image_height"),
            gxe.ExpectColumnValuesToBeInSet(
                column="category", value_set=list(CLASSES), description="category in the taxonomy"
            ),
            gxe.ExpectColumnValuesToBeBetween(column="x1", min_value=0, description="x1 ≥ 0"),
            gxe.ExpectColumnValuesToBeBetween(column="y1", min_value=0, description="y1 ≥ 0"),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="image_width", column_B="x2", or_equal=True, description="x2 ≤ width"
            ),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="image_height", column_B="y2", or_equal=True, description="y2 ≤ height"
            ),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="x2", column_B="x1", or_equal=False, description="box width > 0"
            ),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="y2", column_B="y1", or_equal=False, description="box height > 0"
            ),
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=["split", "annotation_id"],
                description="annotation ids unique within a split",
            ),
        ],
        "splits": [
            gxe.ExpectColumnValuesToBeBetween(
                column="clips", min_value=1, description="no empty split (clips)"
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="images", min_value=1, description="no empty split (images)"
            ),
        ],
        "clip_splits": [
            gxe.ExpectColumnValuesToBeUnique(
                column="clip", description="a clip is in one split only (no leakage)"
            ),
        ],
        "labels": [
            gxe.ExpectColumnValuesToNotMatchRegexList(
                column="normalised",
                regex_list=list(BIOMETRIC_PATTERNS),
                description="EX-089: no biometric annotation (face, identity, plate …)",
            ),
        ],
        "scene_splits": [
            gxe.ExpectColumnValuesToBeUnique(
                column="scene",
                description="a scene (site/camera) is in one split only (no leakage)",
            ),
        ],
        "slice_targets": [
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="actual",
                column_B="required",
                or_equal=True,
                description="EX-086: each slice of the deployment profile reaches its minimum",
            ),
        ],
        "class_targets": [
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="actual",
                column_B="required",
                or_equal=True,
                description="EX-086: each class reaches its minimum number of boxes",
            ),
        ],
        "class_balance": [
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="required",
                column_B="actual",
                or_equal=True,
                description=(
                    "EX-087: class balance, boxes(most frequent) / boxes(rarest) ≤ "
                    f"{coverage.max_class_ratio if coverage else '—'}"
                ),
            ),
        ],
        "split_distances": [
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="required",
                column_B="actual",
                or_equal=True,
                description="EX-086: splits alike on every criterion (Jensen–Shannon ≤ max)",
            ),
        ],
    }


@dataclass(frozen=True, slots=True)
class FailedExpectation:
    """One expectation that failed, with the rows that broke it."""

    table: str
    expectation: str
    kwargs: Mapping[str, Any]
    description: str | None
    unexpected_count: int | None
    samples: tuple[Mapping[str, Any], ...]
    observed: Any = None
    error: str | None = None

    def describe(self) -> str:
        """One line: which expectation failed on which samples."""
        args = ", ".join(f"{k}={_short(repr(v))}" for k, v in self.kwargs.items())
        what = f"{self.table}: {self.expectation}({args})"
        if self.description:
            what += f" [{self.description}]"
        if self.error:
            return f"{what} raised: {self.error}"
        if self.samples:
            shown = " | ".join(_sample_text(s) for s in self.samples[:5])
            more = " | …" if (self.unexpected_count or 0) > 5 else ""
            return f"{what} failed on {self.unexpected_count} rows: {shown}{more}"
        return f"{what} failed; observed {self.observed!r}"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sample_text(sample: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sample.items())


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The outcome of :func:`validate_dataset`."""

    success: bool
    evaluated: int
    failures: tuple[FailedExpectation, ...]
    rows: Mapping[str, int]
    json_path: Path | None = None
    html_path: Path | None = None
    data_docs_index: Path | None = None
    coverage: CoverageReport | None = None

    def message(self) -> str:
        """Human summary; one line per failed expectation."""
        if self.success:
            return f"all {self.evaluated} expectations passed ({dict(self.rows)})"
        lines = [f"{len(self.failures)} of {self.evaluated} expectations failed:"]
        lines += [f"- {f.describe()}" for f in self.failures]
        return "\n".join(lines)


def _import_gx() -> Any:
    air_gap()
    import great_expectations as gx

    return gx


def _plain(value: Any) -> Any:
    """JSON-friendly copy (numpy scalars → Python)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _failure(table: str, result: Any) -> FailedExpectation:
    config = result.expectation_config
    kwargs = {k: v for k, v in dict(config.kwargs).items() if k != "batch_id"}
    details: Mapping[str, Any] = result.result or {}
    samples = tuple(_plain(s) for s in (details.get("unexpected_index_list") or [])[:MAX_SAMPLES])
    info = result.exception_info or {}
    error = info.get("exception_message") if info.get("raised_exception") else None
    return FailedExpectation(
        table=table,
        expectation=str(config.type),
        kwargs=_plain(kwargs),
        description=config.description,
        unexpected_count=details.get("unexpected_count"),
        samples=samples,
        observed=_plain(details.get("observed_value")),
        error=error,
    )


def run_suites(
    tables: DatasetTables,
    data_docs_dir: Path | None = None,
    coverage: CoverageParams | None = None,
) -> tuple[int, list[FailedExpectation], list[dict[str, Any]]]:
    """Run every suite on its table (the optional tables, :data:`OPTIONAL_TABLES`, only when
    they hold rows).

    Returns:
        The number of expectations evaluated, the failures, and one JSON-friendly record per
        expectation.
    """
    gx = _import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    # The ephemeral context ships a "local_site" in a fresh temp dir: drop it, or every run
    # leaves a Data Docs copy in /tmp.
    for site in list(context.list_data_docs_sites()):
        context.delete_data_docs_site(site)
    actions: list[Any] = []
    if data_docs_dir is not None:
        if data_docs_dir.exists():
            shutil.rmtree(data_docs_dir)
        context.add_data_docs_site(
            "veilleur",
            {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(data_docs_dir.resolve()),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        actions.append(gx.checkpoint.UpdateDataDocsAction(name="data_docs"))

    source = context.data_sources.add_pandas("veilleur_prepared")
    expectations = build_expectations(coverage)
    failures: list[FailedExpectation] = []
    records: list[dict[str, Any]] = []
    evaluated = 0
    for table, frame in tables.items():
        if table in OPTIONAL_TABLES and frame.empty:
            continue
        batch = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe(table)
        suite = context.suites.add(gx.ExpectationSuite(name=f"prepared_{table}"))
        for expectation in expectations[table]:
            suite.add_expectation(expectation)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"prepared_{table}", data=batch, suite=suite)
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"prepared_{table}",
                validation_definitions=[definition],
                actions=actions,
                result_format={
                    "result_format": "COMPLETE",
                    "unexpected_index_column_names": INDEX_COLUMNS[table],
                },
            )
        )
        outcome = checkpoint.run(batch_parameters={"dataframe": frame})
        for run_result in outcome.run_results.values():
            for result in run_result.results:
                evaluated += 1
                record = {
                    "table": table,
                    "expectation": str(result.expectation_config.type),
                    "description": result.expectation_config.description,
                    "success": bool(result.success),
                }
                if not result.success:
                    failure = _failure(table, result)
                    failures.append(failure)
                    record.update(
                        kwargs=failure.kwargs,
                        unexpected_count=failure.unexpected_count,
                        samples=list(failure.samples),
                        observed=failure.observed,
                        error=failure.error,
                        message=failure.describe(),
                    )
                records.append(record)
    return evaluated, failures, records


def validate_dataset(
    dataset_dir: Path,
    reports_dir: Path,
    *,
    data_docs: bool = False,
    coverage: CoverageParams | None = None,
) -> ValidationReport:
    """Validate a prepared dataset and write the reports.

    Writes ``reports_dir/validation.json``, ``reports_dir/coverage.json`` (counts per slice and
    class, gaps, distances between splits: :mod:`veilleur.data.coverage`),
    ``reports_dir/index.html`` and, when ``data_docs``, the GX Data Docs site
    ``reports_dir/gx/index.html`` (removed otherwise, so that it never describes an older run).

    Args:
        coverage: the targets of ``params.yaml`` → ``prepare.coverage``. Without them, the
            structural suites run (schema, boxes, classes, 4CIF, clip leakage, no biometrics)
            and coverage is counted but not gated; with them, scene leakage (when
            ``forbid_scene_leakage``) and every target are expectations too.

    Raises:
        DatasetReadError: the dataset's JSON files are missing or broken.
    """
    scenes = coverage is not None and coverage.forbid_scene_leakage
    tables = load_tables(dataset_dir, scenes=scenes)
    images, boxes = tables.coverage_records()
    cov = compute_coverage(images, boxes, coverage or CoverageParams())
    tables = replace(tables, **target_tables(cov))
    docs_dir = reports_dir / "gx" if data_docs else None
    if docs_dir is None and (reports_dir / "gx").is_dir():
        shutil.rmtree(reports_dir / "gx")  # a previous run's site would not match this one
    evaluated, failures, records = run_suites(tables, docs_dir, coverage)
    rows = {
        name: len(frame)
        for name, frame in tables.items()
        if name not in OPTIONAL_TABLES or not frame.empty
    }
    reports_dir.mkdir(parents=True, exist_ok=True)
    json_path = reports_dir / "validation.json"
    html_path = reports_dir / "index.html"
    success = not failures
    version = _dataset_version(dataset_dir)
    summary = {
        "success": success,
        "dataset_dir": dataset_dir.as_posix(),
        "dataset_version": version,
        "evaluated": evaluated,
        "failed": len(failures),
        "rows": rows,
        "expectations": records,
    }
    json_path.write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", "utf-8")
    coverage_doc = {"dataset_version": version, "targets_set": coverage is not None}
    coverage_doc |= cov.as_dict()
    (reports_dir / COVERAGE_NAME).write_text(
        json.dumps(_plain(coverage_doc), indent=1, ensure_ascii=False) + "\n", "utf-8"
    )
    docs_index = docs_dir / "index.html" if docs_dir is not None else None
    html_path.write_text(
        _html(summary, records, docs_index, reports_dir, cov, coverage is not None),
        encoding="utf-8",
    )
    return ValidationReport(
        success=success,
        evaluated=evaluated,
        failures=tuple(failures),
        rows=rows,
        json_path=json_path,
        html_path=html_path,
        data_docs_index=docs_index,
        coverage=cov,
    )


def _dataset_version(dataset_dir: Path) -> str | None:
    manifest = dataset_dir / "manifest.json"
    if not manifest.is_file():
        return None
    version = json.loads(manifest.read_text(encoding="utf-8")).get("dataset_version")
    return None if version is None else str(version)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], cls: Sequence[str] = ()) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(str(h))}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        attr = f" class='{cls[i]}'" if i < len(cls) and cls[i] else ""
        body.append(f"<tr{attr}>" + "".join(f"<td>{esc(str(v))}</td>" for v in row) + "</tr>")
    return f"<table><tr>{head}</tr>\n" + "\n".join(body) + "\n</table>"


def _coverage_html(cov: CoverageReport, targets_set: bool) -> str:
    esc = html.escape
    scopes = [*SPLITS, ALL]
    scope_fr = [SPLIT_LABELS_FR[s] for s in scopes]
    parts = ["<h2>Couverture par tranche</h2>"]
    verdict = "atteints" if cov.passed else "NON ATTEINTS"
    if not targets_set:
        parts.append("<p>Aucun objectif de couverture fourni : comptes seulement.</p>")
    else:
        parts.append(
            f"<p>Profil de déploiement : <b>{esc(cov.params.profile_name)}</b> — objectifs "
            f"{verdict}.</p>"
        )
    parts.append(
        "<p>Images par tranche et par jeu (une image sans valeur pour un critère n'est dans "
        "aucune de ses tranches).</p>"
    )
    for criterion in CRITERIA:
        found = cov.values_of(criterion.key)
        parts.append(f"<h3>{esc(criterion.label_fr)}</h3>")
        if not found:
            parts.append("<p>Non renseigné dans les métadonnées.</p>")
            continue
        header = ["Tranche", *(f"images {s}" for s in scope_fr), "boîtes (tout)", "clips (tout)"]
        rows = [
            [s.label_fr, *(s.images[k] for k in scopes), s.boxes[ALL], s.clips[ALL]] for s in found
        ]
        parts.append(_table(header, rows))
        classes = [c for c in CLASSES if any(s.boxes_per_class[c][ALL] for s in found)]
        if classes:
            parts.append("<p>Boîtes par tranche × classe (tout le jeu) :</p>")
            parts.append(
                _table(
                    ["Tranche", *classes],
                    [[s.label_fr, *(s.boxes_per_class[c][ALL] for c in classes)] for s in found],
                )
            )
    parts.append("<h3>Classes</h3>")
    parts.append(
        _table(
            ["Classe", *(f"boîtes {s}" for s in scope_fr), "images (tout)"],
            [[c.name, *(c.boxes[k] for k in scopes), c.images[ALL]] for c in cov.classes],
        )
    )
    parts.append("<h3>Écarts aux objectifs</h3>")
    if cov.gaps:
        parts.append(
            _table(
                ["Objectif", "Mesure", "Périmètre", "Constaté", "Exigé", "Statut"],
                [
                    [
                        g.subject,
                        g.measure,
                        g.scope,
                        g.actual,
                        g.required,
                        "atteint" if g.ok else "NON atteint",
                    ]
                    for g in cov.gaps
                ],
                ["ok" if g.ok else "ko" for g in cov.gaps],
            )
        )
    else:
        parts.append("<p>Aucun objectif fixé.</p>")
    parts.append(_li_html(cov.reasons_fr()))
    parts.append(f"<h3>Distances entre jeux ({esc(DISTANCE_LABEL_FR)})</h3>")
    by_criterion: dict[str, dict[str, Any]] = {}
    for d in cov.distances:
        by_criterion.setdefault(d.criterion, {})[f"{d.a}/{d.b}"] = (
            "—" if d.divergence is None else f"{d.divergence:.3f}"
        )
    pairs = ["train/val", "train/test", "val/test"]
    labels = {c.key: c.label_fr for c in CRITERIA} | {"class": "Classe (boîtes)"}
    parts.append(
        _table(
            ["Critère", *pairs],
            [[labels.get(k, k), *(v.get(p, "—") for p in pairs)] for k, v in by_criterion.items()],
        )
    )
    shown = cov.combinations[:COMBINATIONS_SHOWN]
    parts.append(
        f"<h3>Combinaisons présentes ({len(cov.combinations)} ; les {len(shown)} plus "
        "fournies)</h3>"
    )
    parts.append(
        _table(
            [*(c.label_fr for c in CRITERIA), *(f"images {s}" for s in scope_fr)],
            [
                [
                    *(
                        "—" if values.get(c.key) is None else c.label_of(str(values[c.key]))
                        for c in CRITERIA
                    ),
                    *(images[k] for k in scopes),
                ]
                for values, images in shown
            ],
        )
    )
    return "\n".join(parts)


def _li_html(items: Iterable[str]) -> str:
    return "<ul>" + _li(items) + "</ul>"


def _html(
    summary: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    docs_index: Path | None,
    reports_dir: Path,
    cov: CoverageReport | None = None,
    targets_set: bool = False,
) -> str:
    esc = html.escape
    verdict = "conforme" if summary["success"] else "NON CONFORME"
    rows = "\n".join(
        "<tr class='{cls}'><td>{table}</td><td>{exp}</td><td>{desc}</td><td>{status}</td>"
        "<td>{detail}</td></tr>".format(
            cls="ok" if r["success"] else "ko",
            table=esc(str(r["table"])),
            exp=esc(str(r["expectation"])),
            desc=esc(str(r.get("description") or "")),
            status="réussie" if r["success"] else "échouée",
            detail=esc(str(r.get("message", ""))),
        )
        for r in records
    )
    link = ""
    if docs_index is not None:
        rel = docs_index.relative_to(reports_dir).as_posix()
        link = f"<p><a href='{esc(rel)}'>Great Expectations Data Docs</a></p>"
    counts = _li(f"{name} : {n} lignes" for name, n in summary["rows"].items())
    return f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Validation des données</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{border:1px solid #999;padding:4px}}
table{{border-collapse:collapse}}tr.ko{{background:#fdd}}tr.ok{{background:#efe}}</style>
</head><body>
<h1>Validation du jeu de données préparé : {verdict}</h1>
<p>Version du jeu : <code>{esc(str(summary["dataset_version"]))}</code></p>
<p>{summary["evaluated"]} attentes évaluées, {summary["failed"]} en échec.</p>
<h2>Tables</h2><ul>{counts}</ul>
<h2>Attentes</h2>
<table><tr><th>Table</th><th>Attente</th><th>Description</th><th>Statut</th><th>Détail</th></tr>
{rows}
</table>
{_coverage_html(cov, targets_set) if cov is not None else ""}
{link}
</body></html>
"""


def _li(items: Iterable[str]) -> str:
    return "".join(f"<li>{html.escape(i)}</li>" for i in items)
