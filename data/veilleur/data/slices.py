"""THE slice definitions: criteria, buckets and French labels (EX-086, EX-087).

One place for the conditions a dataset is described by and a model is judged on: the data stage
counts images and boxes per slice (:mod:`veilleur.data.coverage`) and evaluation reports error
rates per slice (:mod:`veilleur.evaluation.slices`), both with the functions below, so that a
"night" image in the dataset card is a "night" clip in the validation report.

A criterion reads a flat metadata mapping: the clip's metadata (``splits.json`` → ``clips`` →
``metadata``, synthetic or ingested) overlaid with the image's own ``metadata`` when the COCO
image carries one (ingested data), plus the person box heights of the image for the person
size. Buckets:

- ``camera_height``: ``"< 4 m"``, ``"4–8 m"``, ``"≥ 8 m"`` from ``camera_height_m``;
- ``person_size``: median height of the image's person boxes, ``small`` (< 50 px), ``medium``
  (< 150 px) or ``large``, as the ingest measures it (``person_size`` metadata wins when given);
- ``lighting``, ``weather``, ``density``, ``scenario``: the metadata value as is.

Pure: no I/O.

Example:
    >>> camera_height_bucket_of(6.0)
    '4–8 m'
    >>> slice_values({"lighting": "night", "camera_height_m": 9.5}, [30.0, 40.0])["person_size"]
    'small'
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

CAMERA_HEIGHT_BUCKETS_M: Final = ((4.0, "< 4 m"), (8.0, "4–8 m"))
"""Camera height (metres) below which a clip falls in each bucket; else ``"≥ 8 m"``."""
CAMERA_HEIGHT_TOP: Final = "≥ 8 m"
PERSON_SIZE_PX: Final = ((50.0, "small"), (150.0, "medium"))
"""Median person box height (pixels) below which an image is ``small``, ``medium``; else
``large``. The same thresholds as :data:`veilleur.data.ingest.build.PERSON_SIZE_PX` (a test
keeps them equal)."""
PERSON_SIZE_TOP: Final = "large"

SliceValue = Callable[[Mapping[str, Any], Sequence[float]], str | None]
"""``(metadata, person box heights) → slice value`` (``None``: the sample is in no slice)."""


def _bucket(value: float, thresholds: tuple[tuple[float, str], ...], last: str) -> str:
    for limit, name in thresholds:
        if value < limit:
            return name
    return last


def camera_height_bucket_of(height_m: Any) -> str | None:
    """Camera height in three buckets: ``"< 4 m"``, ``"4–8 m"``, ``"≥ 8 m"`` (``None`` if
    unknown or not a number)."""
    if height_m is None or isinstance(height_m, bool):
        return None
    try:
        h = float(height_m)
    except (TypeError, ValueError):
        return None
    return _bucket(h, CAMERA_HEIGHT_BUCKETS_M, CAMERA_HEIGHT_TOP)


def person_size_bucket_of(heights_px: Sequence[float]) -> str | None:
    """``small`` / ``medium`` / ``large`` from the median person box height; ``None`` without
    persons."""
    if not heights_px:
        return None
    return _bucket(float(statistics.median(heights_px)), PERSON_SIZE_PX, PERSON_SIZE_TOP)


def metadata_value(metadata: Mapping[str, Any], key: str) -> str | None:
    """A metadata value as a slice value; booleans become ``"true"``/``"false"``."""
    value = metadata.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _plain(key: str) -> SliceValue:
    def value(metadata: Mapping[str, Any], heights: Sequence[float]) -> str | None:
        del heights
        return metadata_value(metadata, key)

    return value


def _camera_height(metadata: Mapping[str, Any], heights: Sequence[float]) -> str | None:
    del heights
    return camera_height_bucket_of(metadata.get("camera_height_m"))


def _person_size(metadata: Mapping[str, Any], heights: Sequence[float]) -> str | None:
    declared = metadata.get("person_size")
    return str(declared) if declared is not None else person_size_bucket_of(heights)


@dataclass(frozen=True, slots=True)
class SliceCriterion:
    """One slicing criterion: its key, French label, how a sample gets its value, and the
    French labels (and display order) of its values."""

    key: str
    label_fr: str
    value_of: SliceValue = field(repr=False)
    values_fr: Mapping[str, str] = field(default_factory=dict)

    def label_of(self, value: str) -> str:
        """French label of ``value`` (the value itself when unknown)."""
        return self.values_fr.get(value, value)

    def order(self, values: Sequence[str]) -> list[str]:
        """``values`` in display order: known values as declared, then the others sorted."""
        known = [v for v in self.values_fr if v in values]
        return known + sorted(v for v in values if v not in self.values_fr)


LIGHTING_FR: Final = {"day": "jour", "dusk": "crépuscule", "night": "nuit", "indoor": "intérieur"}
WEATHER_FR: Final = {
    "clear": "temps clair",
    "rain": "pluie",
    "fog": "brouillard",
    "snow": "neige",
    "indoor": "intérieur",
}
DENSITY_FR: Final = {"low": "faible", "medium": "moyenne", "high": "forte"}
CAMERA_HEIGHT_FR: Final = {"< 4 m": "< 4 m", "4–8 m": "4–8 m", "≥ 8 m": "≥ 8 m"}
PERSON_SIZE_FR: Final = {
    "small": "petite (< 50 px)",
    "medium": "moyenne (50–150 px)",
    "large": "grande (≥ 150 px)",
}

CRITERIA: Final[tuple[SliceCriterion, ...]] = (
    SliceCriterion("lighting", "Éclairage", _plain("lighting"), LIGHTING_FR),
    SliceCriterion("weather", "Conditions météorologiques", _plain("weather"), WEATHER_FR),
    SliceCriterion("camera_height", "Hauteur de caméra", _camera_height, CAMERA_HEIGHT_FR),
    SliceCriterion("density", "Densité de foule", _plain("density"), DENSITY_FR),
    SliceCriterion("person_size", "Taille des personnes", _person_size, PERSON_SIZE_FR),
)
"""The slicing criteria of the data stage, in display order (the class is crossed with each)."""

CRITERIA_BY_KEY: Final[Mapping[str, SliceCriterion]] = {c.key: c for c in CRITERIA}

SLICE_KEY_LABELS_FR: Final[Mapping[str, str]] = {
    **{c.key: c.label_fr for c in CRITERIA},
    "scenario": "Scénario",
    "negative": "Scène sans événement attendu",
    "class": "Classe",
    "camera": "Caméra",
}
"""French label of every slice key (criteria, plus the keys evaluation also slices on)."""


def slice_values(
    metadata: Mapping[str, Any],
    person_heights_px: Sequence[float] = (),
    criteria: Sequence[SliceCriterion] = CRITERIA,
) -> dict[str, str | None]:
    """The value of every criterion for one sample (``None`` where it has none)."""
    return {c.key: c.value_of(metadata, person_heights_px) for c in criteria}


CLIP_CRITERIA: Final[tuple[str, ...]] = ("lighting", "weather", "camera_height", "density")
"""The criteria a clip has a single value of (person size varies from frame to frame)."""


def clip_slices(metadata: Mapping[str, Any]) -> tuple[str, ...]:
    """A clip's ``"criterion=value"`` slice labels, for the splitter to cover every value."""
    values = slice_values(metadata, (), [CRITERIA_BY_KEY[k] for k in CLIP_CRITERIA])
    return tuple(f"{k}={v}" for k, v in values.items() if v is not None)


def scene_of(record: Mapping[str, Any]) -> str | None:
    """The scene (site and camera) of a ``splits.json`` clip record, when its provenance or
    metadata names one: ``"<source>:<site>/<camera>"``; ``None`` otherwise (synthetic clips,
    each filmed by its own virtual camera)."""
    provenance = record.get("provenance") or {}
    metadata = record.get("metadata") or {}
    site = provenance.get("site") or metadata.get("site")
    camera = provenance.get("camera") or metadata.get("camera_id") or metadata.get("camera")
    if site is None and camera is None:
        return None
    source = provenance.get("source") or record.get("source") or ""
    return f"{source}:{site or '-'}/{camera or '-'}"
