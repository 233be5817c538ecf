"""Representativeness of a prepared dataset, before any model exists (EX-086, EX-087).

Counts images, boxes and clips per slice (:data:`veilleur.data.slices.CRITERIA`: lighting,
weather, camera height, density, person size) and per slice × class, for each split and overall;
compares them with the targets of ``params.yaml`` → ``prepare.coverage`` (:class:`CoverageParams`:
the slices the deployment profile requires with their minimum images / boxes, per-class
minimums, a class balance bound) and lists the gaps; measures how far apart the splits are on
each criterion with the **Jensen–Shannon divergence** (base 2, so in [0, 1]: 0 for identical
distributions, 1 for disjoint ones) of their image distributions (of their box distributions for
the class). The verdict gives French reasons.

Pure: the caller reads the dataset (:func:`veilleur.data.expectations.load_tables`) and turns it
into :class:`ImageRecord` / :class:`BoxRecord`; the Great Expectations suites check the same
targets (``slice_targets``, ``class_targets`` and ``split_distances`` tables), so the stage fails
with GX's message naming the slice, the class or the pair of splits.

Example:
    >>> images = [ImageRecord("train", "c1", 1, {"lighting": "night"})]
    >>> report = compute_coverage(images, [BoxRecord("train", 1, "person")], CoverageParams())
    >>> report.slice("lighting", "night").images["all"]
    1
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from pydantic import BaseModel, Field, field_validator

from veilleur.data.slices import CRITERIA, CRITERIA_BY_KEY, SliceCriterion
from veilleur.data.splits import SPLITS
from veilleur.runtime.core.taxonomy import CLASSES

ALL: Final = "all"
"""The whole dataset, next to the three splits."""
SCOPES: Final[tuple[str, ...]] = (*SPLITS, ALL)
SPLIT_LABELS_FR: Final = {"train": "entraînement", "val": "validation", "test": "test", ALL: "tout"}
DISTANCE_NAME: Final = "jensen_shannon"
DISTANCE_LABEL_FR: Final = "divergence de Jensen–Shannon (base 2, entre 0 et 1)"
CLASS_KEY: Final = "class"


class SliceTarget(BaseModel, frozen=True, extra="forbid"):
    """A slice the deployment profile requires, with its minimums."""

    criterion: str = Field(description="criterion key (veilleur.data.slices.CRITERIA)")
    value: str = Field(description="the slice value (e.g. night, rain, '≥ 8 m', small)")
    min_images: int = Field(default=0, ge=0, description="images over the whole dataset")
    min_boxes: int = Field(default=0, ge=0, description="boxes over the whole dataset")
    min_images_per_split: int = Field(
        default=0, ge=0, description="images in each of train, val and test"
    )

    @field_validator("criterion")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in CRITERIA_BY_KEY:
            raise ValueError(f"unknown criterion {value!r}; use one of {sorted(CRITERIA_BY_KEY)}")
        return value


class CoverageParams(BaseModel, frozen=True, extra="forbid"):
    """``params.yaml`` → ``prepare.coverage``: the representativeness targets of the data stage."""

    profile_name: str = Field(
        default="non renseigné", description="name of the deployment profile (dataset card)"
    )
    required_slices: tuple[SliceTarget, ...] = Field(
        default=(), description="slices the deployment profile requires"
    )
    min_boxes_per_class: dict[str, int] = Field(
        default_factory=dict, description="class → least boxes over the whole dataset"
    )
    min_split_boxes_per_class: dict[str, int] = Field(
        default_factory=dict, description="class → least boxes in each of train, val and test"
    )
    max_class_ratio: float | None = Field(
        default=None,
        ge=1.0,
        description="largest allowed ratio boxes(most frequent class) / boxes(rarest class)",
    )
    max_split_divergence: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="largest Jensen–Shannon divergence between two splits, per criterion",
    )
    forbid_scene_leakage: bool = Field(
        default=True, description="a camera/site (when named) must not appear in two splits"
    )

    @field_validator("min_boxes_per_class", "min_split_boxes_per_class")
    @classmethod
    def _classes(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(CLASSES))
        if unknown:
            raise ValueError(f"unknown classes {unknown}; the taxonomy has {list(CLASSES)}")
        negative = sorted(k for k, v in value.items() if v < 0)
        if negative:
            raise ValueError(f"minimums must be ≥ 0 (classes {negative})")
        return value


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """One image: where it is and its slice values (criterion key → value or ``None``)."""

    split: str
    clip: str
    image_id: Any
    values: Mapping[str, str | None]


@dataclass(frozen=True, slots=True)
class BoxRecord:
    """One box: its image and class."""

    split: str
    image_id: Any
    category: str | None


def _scoped() -> dict[str, int]:
    return dict.fromkeys(SCOPES, 0)


@dataclass(frozen=True, slots=True)
class SliceCount:
    """Counts of one slice, per split and overall (``"all"``)."""

    criterion: str
    value: str
    label_fr: str
    images: Mapping[str, int]
    boxes: Mapping[str, int]
    clips: Mapping[str, int]
    boxes_per_class: Mapping[str, Mapping[str, int]]
    """class → scope → boxes."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "criterion": self.criterion,
            "value": self.value,
            "label": self.label_fr,
            "images": dict(self.images),
            "boxes": dict(self.boxes),
            "clips": dict(self.clips),
            "boxes_per_class": {k: dict(v) for k, v in self.boxes_per_class.items()},
        }


@dataclass(frozen=True, slots=True)
class ClassCount:
    """Boxes and images holding the class, per split and overall."""

    name: str
    boxes: Mapping[str, int]
    images: Mapping[str, int]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"class": self.name, "boxes": dict(self.boxes), "images": dict(self.images)}


@dataclass(frozen=True, slots=True)
class Gap:
    """One target against what the dataset holds."""

    kind: Literal["slice", "class", "balance", "distance"]
    subject: str
    """What is measured, in French (``Éclairage = nuit``, ``classe weapon`` …)."""
    measure: str
    """``images``, ``boxes``, ``ratio`` or ``divergence``."""
    scope: str
    """``train`` / ``val`` / ``test`` / ``all`` (or ``train/test`` for a distance)."""
    actual: float | None
    required: float
    ok: bool
    key: Mapping[str, str] = field(default_factory=dict)
    """Identifying fields (criterion, value, class, splits) for the GX tables."""

    @property
    def missing(self) -> float | None:
        """How much is missing (minimums) or in excess (maximums); 0 when met."""
        if self.actual is None:
            return None
        if self.kind in ("slice", "class"):
            return max(0.0, self.required - self.actual)
        return max(0.0, self.actual - self.required)

    def reason_fr(self) -> str:
        """One French sentence saying what is wrong (or met)."""
        where = "l'ensemble du jeu" if self.scope == ALL else f"le jeu « {self.scope} »"
        unit = {"images": "images", "boxes": "boîtes"}.get(self.measure, self.measure)
        if self.kind in ("slice", "class"):
            verdict = "couverte" if self.ok else "sous-représentée"
            return (
                f"{self.subject} {verdict} dans {where} : {self.actual or 0:g} {unit} "
                f"(minimum {self.required:g})"
            )
        if self.kind == "balance":
            actual = "infini (classe absente)" if self.actual is None else f"{self.actual:.1f}"
            return (
                f"Déséquilibre des classes : rapport plus fréquente / plus rare = {actual}, "
                f"maximum {self.required:g} ({self.subject})"
            )
        actual = "non mesurable" if self.actual is None else f"{self.actual:.3f}"
        return (
            f"Écart entre les jeux {self.scope} sur {self.subject} : {DISTANCE_LABEL_FR} = "
            f"{actual}, maximum {self.required:g}"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "kind": self.kind,
            "subject": self.subject,
            "measure": self.measure,
            "scope": self.scope,
            "actual": self.actual,
            "required": self.required,
            "ok": self.ok,
            "key": dict(self.key),
            "reason": self.reason_fr(),
        }


@dataclass(frozen=True, slots=True)
class SplitDistance:
    """Jensen–Shannon divergence between two splits on one criterion (or the class)."""

    criterion: str
    a: str
    b: str
    divergence: float | None
    """``None`` when one split has no image with a value for the criterion."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"criterion": self.criterion, "a": self.a, "b": self.b, "value": self.divergence}


@dataclass(frozen=True, slots=True)
class CoverageReport:
    """Counts, gaps, distances and the verdict."""

    params: CoverageParams
    slices: tuple[SliceCount, ...]
    classes: tuple[ClassCount, ...]
    combinations: tuple[tuple[Mapping[str, str | None], Mapping[str, int]], ...]
    """Every non-empty cell of lighting × weather × camera height × density × person size:
    (values, images per scope), most images first."""
    totals: Mapping[str, Mapping[str, int]]
    """``images`` / ``boxes`` / ``clips`` → scope → count."""
    gaps: tuple[Gap, ...]
    distances: tuple[SplitDistance, ...]

    @property
    def passed(self) -> bool:
        """Whether every target is met."""
        return all(g.ok for g in self.gaps)

    @property
    def failed_gaps(self) -> tuple[Gap, ...]:
        """The targets not met."""
        return tuple(g for g in self.gaps if not g.ok)

    def reasons_fr(self) -> list[str]:
        """French reasons of the verdict (one per target not met; a line when all are met)."""
        failed = self.failed_gaps
        if not self.gaps:
            return ["Aucun objectif de couverture fixé."]
        if not failed:
            return [f"Les {len(self.gaps)} objectifs de couverture sont atteints."]
        return [g.reason_fr() for g in failed]

    def slice(self, criterion: str, value: str) -> SliceCount:
        """The counts of one slice.

        Raises:
            KeyError: no image has that value.
        """
        for s in self.slices:
            if (s.criterion, s.value) == (criterion, value):
                return s
        raise KeyError(f"no slice {criterion}={value!r}")

    def values_of(self, criterion: str) -> list[SliceCount]:
        """The slices of one criterion, in display order."""
        return [s for s in self.slices if s.criterion == criterion]

    def as_dict(self) -> dict[str, Any]:
        """The ``coverage.json`` document."""
        return {
            "passed": self.passed,
            "reasons": self.reasons_fr(),
            "distance": DISTANCE_NAME,
            "params": self.params.model_dump(mode="json"),
            "totals": {k: dict(v) for k, v in self.totals.items()},
            "criteria": [{"key": c.key, "label": c.label_fr} for c in CRITERIA],
            "slices": [s.as_dict() for s in self.slices],
            "classes": [c.as_dict() for c in self.classes],
            "combinations": [
                {"values": dict(values), "images": dict(images)}
                for values, images in self.combinations
            ],
            "gaps": [g.as_dict() for g in self.gaps],
            "distances": [d.as_dict() for d in self.distances],
        }


def jensen_shannon(p: Mapping[str, float], q: Mapping[str, float]) -> float | None:
    """Jensen–Shannon divergence (base 2, in [0, 1]) of two count distributions; ``None`` when
    either is empty."""
    total_p, total_q = sum(p.values()), sum(q.values())
    if total_p <= 0 or total_q <= 0:
        return None
    divergence = 0.0
    for key in set(p) | set(q):
        pi, qi = p.get(key, 0) / total_p, q.get(key, 0) / total_q
        mi = (pi + qi) / 2
        if pi > 0:
            divergence += 0.5 * pi * math.log2(pi / mi)
        if qi > 0:
            divergence += 0.5 * qi * math.log2(qi / mi)
    return round(min(1.0, max(0.0, divergence)), 6)


def _count_slices(
    images: Sequence[ImageRecord],
    boxes_of: Mapping[tuple[str, Any], Counter[str]],
    criteria: Sequence[SliceCriterion],
) -> list[SliceCount]:
    out: list[SliceCount] = []
    for criterion in criteria:
        img: dict[str, dict[str, int]] = defaultdict(_scoped)
        box: dict[str, dict[str, int]] = defaultdict(_scoped)
        clips: dict[str, dict[str, set[str]]] = defaultdict(lambda: {s: set() for s in SCOPES})
        per_class: dict[str, dict[str, dict[str, int]]] = defaultdict(
            lambda: {c: _scoped() for c in CLASSES}
        )
        for record in images:
            value = record.values.get(criterion.key)
            if value is None:
                continue
            counts = boxes_of.get((record.split, record.image_id), Counter())
            n_boxes = sum(counts.values())
            for scope in (record.split, ALL):
                img[value][scope] += 1
                box[value][scope] += n_boxes
                clips[value][scope].add(record.clip)
                for name, n in counts.items():
                    per_class[value].setdefault(name, _scoped())[scope] += n
        for value in criterion.order(list(img)):
            out.append(
                SliceCount(
                    criterion=criterion.key,
                    value=value,
                    label_fr=criterion.label_of(value),
                    images=img[value],
                    boxes=box[value],
                    clips={s: len(c) for s, c in clips[value].items()},
                    boxes_per_class=per_class[value],
                )
            )
    return out


def _count_classes(
    images: Sequence[ImageRecord], boxes_of: Mapping[tuple[str, Any], Counter[str]]
) -> list[ClassCount]:
    boxes: dict[str, dict[str, int]] = {c: _scoped() for c in CLASSES}
    holding: dict[str, dict[str, int]] = {c: _scoped() for c in CLASSES}
    for record in images:
        for name, n in boxes_of.get((record.split, record.image_id), Counter()).items():
            boxes.setdefault(name, _scoped())
            holding.setdefault(name, _scoped())
            for scope in (record.split, ALL):
                boxes[name][scope] += n
                holding[name][scope] += 1
    return [ClassCount(name, boxes[name], holding[name]) for name in boxes]


def _slice_gaps(params: CoverageParams, slices: Sequence[SliceCount]) -> list[Gap]:
    gaps: list[Gap] = []
    by_key = {(s.criterion, s.value): s for s in slices}
    for target in params.required_slices:
        criterion = CRITERIA_BY_KEY[target.criterion]
        found = by_key.get((target.criterion, target.value))
        subject = f"Tranche « {criterion.label_fr} = {criterion.label_of(target.value)} »"
        key = {"criterion": target.criterion, "value": target.value}
        checks: list[tuple[str, str, int]] = [
            ("images", ALL, target.min_images),
            ("boxes", ALL, target.min_boxes),
        ]
        checks += [("images", split, target.min_images_per_split) for split in SPLITS]
        for measure, scope, required in checks:
            if required <= 0:
                continue
            counts = getattr(found, measure) if found is not None else _scoped()
            actual = counts[scope]
            gaps.append(
                Gap("slice", subject, measure, scope, actual, required, actual >= required, key)
            )
    return gaps


def _class_gaps(params: CoverageParams, classes: Sequence[ClassCount]) -> list[Gap]:
    gaps: list[Gap] = []
    by_name = {c.name: c for c in classes}
    wanted = [(name, ALL, n) for name, n in params.min_boxes_per_class.items()]
    wanted += [
        (name, split, n) for name, n in params.min_split_boxes_per_class.items() for split in SPLITS
    ]
    for name, scope, required in wanted:
        if required <= 0:
            continue
        actual = by_name[name].boxes[scope] if name in by_name else 0
        gaps.append(
            Gap(
                "class",
                f"Classe « {name} »",
                "boxes",
                scope,
                actual,
                required,
                actual >= required,
                {"class": name},
            )
        )
    if params.max_class_ratio is not None:
        counts = {c.name: c.boxes[ALL] for c in classes if c.name in CLASSES}
        most = max(counts, key=lambda k: (counts[k], k))
        least = min(counts, key=lambda k: (counts[k], k))
        ratio = None if counts[least] == 0 else round(counts[most] / counts[least], 3)
        gaps.append(
            Gap(
                "balance",
                f"plus fréquente « {most} » {counts[most]} boîtes, plus rare « {least} » "
                f"{counts[least]} boîtes",
                "ratio",
                ALL,
                ratio,
                params.max_class_ratio,
                ratio is not None and ratio <= params.max_class_ratio,
                {"class": least, "most": most},
            )
        )
    return gaps


def _distances(
    images: Sequence[ImageRecord],
    classes: Sequence[ClassCount],
    criteria: Sequence[SliceCriterion],
) -> list[SplitDistance]:
    dists: dict[str, dict[str, Counter[str]]] = {
        c.key: {s: Counter() for s in SPLITS} for c in criteria
    }
    for record in images:
        for c in criteria:
            value = record.values.get(c.key)
            if value is not None and record.split in dists[c.key]:
                dists[c.key][record.split][value] += 1
    dists[CLASS_KEY] = {
        s: Counter({c.name: c.boxes[s] for c in classes if c.boxes[s]}) for s in SPLITS
    }
    out: list[SplitDistance] = []
    pairs = [(a, b) for i, a in enumerate(SPLITS) for b in SPLITS[i + 1 :]]
    for key, per_split in dists.items():
        for a, b in pairs:
            p = {k: float(v) for k, v in per_split[a].items()}
            q = {k: float(v) for k, v in per_split[b].items()}
            out.append(SplitDistance(key, a, b, jensen_shannon(p, q)))
    return out


def _distance_gaps(params: CoverageParams, distances: Sequence[SplitDistance]) -> list[Gap]:
    if params.max_split_divergence is None:
        return []
    gaps: list[Gap] = []
    for d in distances:
        if d.divergence is None:
            continue  # a criterion the data do not describe: reported, not gated
        label = "la classe" if d.criterion == CLASS_KEY else CRITERIA_BY_KEY[d.criterion].label_fr
        gaps.append(
            Gap(
                "distance",
                f"« {label} »",
                "divergence",
                f"{d.a}/{d.b}",
                d.divergence,
                params.max_split_divergence,
                d.divergence <= params.max_split_divergence,
                {"criterion": d.criterion, "a": d.a, "b": d.b},
            )
        )
    return gaps


def _combinations(
    images: Sequence[ImageRecord], criteria: Sequence[SliceCriterion]
) -> list[tuple[dict[str, str | None], dict[str, int]]]:
    cells: dict[tuple[str | None, ...], dict[str, int]] = defaultdict(_scoped)
    for record in images:
        cell = tuple(record.values.get(c.key) for c in criteria)
        for scope in (record.split, ALL):
            cells[cell][scope] += 1
    ordered = sorted(cells.items(), key=lambda kv: (-kv[1][ALL], [str(v) for v in kv[0]]))
    return [({c.key: v for c, v in zip(criteria, cell, strict=True)}, n) for cell, n in ordered]


def compute_coverage(
    images: Sequence[ImageRecord],
    boxes: Sequence[BoxRecord],
    params: CoverageParams,
    criteria: Sequence[SliceCriterion] = CRITERIA,
) -> CoverageReport:
    """Counts per slice and class, gaps against ``params``, distances between splits.

    Args:
        images: every image of every split, with its slice values.
        boxes: every box (a box whose image is unknown counts for its class only in no slice).
        params: the targets (``prepare.coverage``).
        criteria: the slicing criteria (default :data:`veilleur.data.slices.CRITERIA`).
    """
    boxes_of: dict[tuple[str, Any], Counter[str]] = defaultdict(Counter)
    for b in boxes:
        if b.category is not None:
            boxes_of[(b.split, b.image_id)][b.category] += 1
    slices = _count_slices(images, boxes_of, criteria)
    classes = _count_classes(images, boxes_of)
    totals: dict[str, dict[str, int]] = {"images": _scoped(), "boxes": _scoped()}
    clip_sets: dict[str, set[str]] = {s: set() for s in SCOPES}
    for record in images:
        n = sum(boxes_of.get((record.split, record.image_id), Counter()).values())
        for scope in (record.split, ALL):
            totals["images"][scope] += 1
            totals["boxes"][scope] += n
            clip_sets[scope].add(record.clip)
    totals["clips"] = {s: len(c) for s, c in clip_sets.items()}
    distances = _distances(images, classes, criteria)
    gaps = [
        *_slice_gaps(params, slices),
        *_class_gaps(params, classes),
        *_distance_gaps(params, distances),
    ]
    return CoverageReport(
        params=params,
        slices=tuple(slices),
        classes=tuple(classes),
        combinations=tuple(_combinations(images, criteria)),
        totals=totals,
        gaps=tuple(gaps),
        distances=tuple(distances),
    )
