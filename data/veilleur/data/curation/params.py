"""The ``curate`` section of ``params.yaml`` and the findings the checks return.

Pure: no I/O. :class:`CurateParams` is read like the other sections
(``load_params_section(path, "curate", CurateParams)``): frozen, unknown keys refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from veilleur.data.curation.near_duplicates import HashMethod

Severity = Literal["error", "warning", "off"]
CheckName = Literal[
    "cross_split_duplicate",
    "out_of_bounds",
    "tiny_box",
    "duplicate_box",
    "missing_label",
    "empty_image",
]


class CurateSeverities(BaseModel, frozen=True, extra="forbid"):
    """What each finding is: ``error`` stops the stage, ``warning`` is reported, ``off`` skips.

    An unreadable image is always an error.
    """

    cross_split_duplicate: Severity = Field(
        default="error", description="near-duplicate images in two splits (leak)"
    )
    out_of_bounds: Severity = Field(default="error", description="box outside its image")
    tiny_box: Severity = Field(default="warning", description="box under min_box_px")
    duplicate_box: Severity = Field(
        default="warning", description="two boxes of one class with IoU >= duplicate_iou"
    )
    missing_label: Severity = Field(
        default="warning", description="track on frames t-1 and t+1, absent on t"
    )
    empty_image: Severity = Field(
        default="warning", description="image without boxes in a clip that has boxes"
    )

    def of(self, check: CheckName) -> Severity:
        """The severity of ``check``."""
        value: Severity = getattr(self, check)
        return value


class CurateParams(BaseModel, frozen=True, extra="forbid"):
    """The ``curate`` section of ``params.yaml``: near-duplicates and label-quality checks."""

    hash: HashMethod = Field(default="phash", description="perceptual hash: phash | dhash")
    hamming_threshold: int = Field(
        default=6, ge=0, le=32, description="near-duplicates: Hamming distance at most this"
    )
    remove_near_duplicates: bool = Field(
        default=True, description="remove near-duplicates across clips of one split"
    )
    min_box_px: float = Field(
        default=4.0, ge=0.0, description="tiny box: narrower or shorter than this (pixels)"
    )
    duplicate_iou: float = Field(
        default=0.9, gt=0.0, le=1.0, description="duplicate boxes: same class, IoU at least this"
    )
    bounds_tolerance_px: float = Field(
        default=1.0, ge=0.0, description="out of bounds: beyond the image by more than this"
    )
    workers: int = Field(default=2, ge=1, le=32, description="threads decoding images to hash")
    severity: CurateSeverities = Field(default_factory=CurateSeverities)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found: the check, its severity, the samples concerned, a French message.

    ``sample_ids`` are paths relative to the prepared folder (``<split>/<file_name>``).
    """

    check: str
    severity: Literal["error", "warning"]
    sample_ids: tuple[str, ...]
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``curation.json``)."""
        return {
            "check": self.check,
            "severity": self.severity,
            "sample_ids": list(self.sample_ids),
            "message": self.message,
            "details": self.details,
        }
