"""Curation of a prepared folder (contracts §6), run by both writers before the manifest.

:func:`curate_prepared` reads each split's ``annotations.json``, hashes every image
(:mod:`~veilleur.data.curation.near_duplicates`), removes the near-duplicates across clips of
one split (image files and COCO entries), runs the label checks
(:mod:`~veilleur.data.curation.label_quality`) on what is left, and writes ``curation.json``:
what was removed and why, and every finding. The writer then computes the ``dataset_version``
over the curated files, ``curation.json`` included, so two datasets with the same version were
curated the same way.

Errors (a near-duplicate across splits, an unreadable image, and whatever the ``curate``
section marks ``error``) raise :class:`CurationError` after ``curation.json`` is written.

Example:
    >>> result = curate_prepared(Path("data/processed"), CurateParams())  # doctest: +SKIP
    >>> len(result.removals), len(result.warnings)  # doctest: +SKIP
    (0, 384)
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from veilleur.data.curation.label_quality import check_labels
from veilleur.data.curation.near_duplicates import (
    HashedImage,
    NearDuplicatePlan,
    Removal,
    hash_files,
    plan_near_duplicates,
)
from veilleur.data.curation.params import CurateParams, Finding

logger = logging.getLogger(__name__)

CURATION_NAME = "curation.json"
CURATION_FORMAT = 1
ANNOTATIONS = "annotations.json"
DEFAULT_SPLITS: tuple[str, ...] = ("train", "val", "test")
_SHOWN = 5  # errors quoted in the exception message


class CurationError(RuntimeError):
    """The prepared dataset has curation errors; the message lists them (in French)."""

    def __init__(self, message: str, errors: Sequence[Finding] = ()) -> None:
        super().__init__(message)
        self.errors: tuple[Finding, ...] = tuple(errors)
        """The error findings (empty when the folder could not be read)."""


@dataclass(frozen=True, slots=True)
class CurationResult:
    """What :func:`curate_prepared` did and found."""

    removals: tuple[Removal, ...]
    findings: tuple[Finding, ...]
    documents: dict[str, dict[str, Any]]  # split -> curated COCO document
    removed_per_clip: dict[str, dict[str, int]]  # clip -> {"images": n, "boxes": n}
    images_hashed: int
    same_clip_pairs: int

    @property
    def errors(self) -> tuple[Finding, ...]:
        """Findings of severity ``error``."""
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """Findings of severity ``warning``."""
        return tuple(f for f in self.findings if f.severity == "warning")

    def summary(self) -> dict[str, Any]:
        """Counts for the manifest."""
        return {
            "images_hashed": self.images_hashed,
            "near_duplicates_removed": len(self.removals),
            "same_clip_near_duplicate_pairs": self.same_clip_pairs,
            "findings": _finding_counts(self.findings),
        }


def _finding_counts(findings: Sequence[Finding]) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter[str]] = {}
    for f in findings:
        counts.setdefault(f.check, Counter())[f.severity] += 1
    return {check: dict(sorted(c.items())) for check, c in sorted(counts.items())}


def _json_bytes(obj: object) -> bytes:
    """The bytes the writers use for JSON files (``_Writer.write_json``)."""
    return (json.dumps(obj, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def _read_documents(root: Path, splits: Sequence[str]) -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for split in splits:
        path = root / split / ANNOTATIONS
        try:
            doc = json.loads(path.read_bytes())
        except (OSError, json.JSONDecodeError) as exc:
            raise CurationError(
                f"{path} : COCO illisible ({exc}) ; relancez la préparation du jeu"
            ) from exc
        if not (
            isinstance(doc, dict)
            and isinstance(doc.get("images"), list)
            and isinstance(doc.get("annotations"), list)
        ):
            raise CurationError(
                f"{path} : document COCO sans listes « images » et « annotations » ; "
                "relancez la préparation du jeu"
            )
        docs[split] = doc
    return docs


def _leak_findings(plan: NearDuplicatePlan, params: CurateParams) -> list[Finding]:
    severity = params.severity.cross_split_duplicate
    if severity == "off":
        return []
    level: Literal["error", "warning"] = "error" if severity == "error" else "warning"
    return [
        Finding(
            "cross_split_duplicate",
            level,
            (pair.a, pair.b),
            f"fuite entre splits : {pair.a} et {pair.b} sont des quasi-doublons (distance de "
            f"Hamming {pair.distance} ≤ {params.hamming_threshold}) ; regroupez leurs clips "
            "dans le même split (même scène ou caméra) ou retirez l'une des deux images",
            {"distance": pair.distance},
        )
        for pair in plan.leaks
    ]


def _remove(
    root: Path,
    docs: dict[str, dict[str, Any]],
    removals: Sequence[Removal],
    hashes: MutableMapping[str, str] | None,
) -> tuple[set[str], dict[str, dict[str, int]]]:
    """Delete the removed images and their COCO entries; return the changed splits."""
    gone: dict[str, set[str]] = {}
    for r in removals:
        split, _, file_name = r.sample_id.partition("/")
        gone.setdefault(split, set()).add(file_name)
    per_clip: dict[str, dict[str, int]] = {}
    for split, names in gone.items():
        doc = docs[split]
        dropped = {int(i["id"]): i for i in doc["images"] if i["file_name"] in names}
        doc["images"] = [i for i in doc["images"] if int(i["id"]) not in dropped]
        kept_anns = []
        for ann in doc["annotations"]:
            image = dropped.get(int(ann["image_id"]))
            if image is None:
                kept_anns.append(ann)
            else:
                per_clip.setdefault(str(image.get("clip")), {"images": 0, "boxes": 0})["boxes"] += 1
        doc["annotations"] = kept_anns
        for image in dropped.values():
            per_clip.setdefault(str(image.get("clip")), {"images": 0, "boxes": 0})["images"] += 1
            rel = f"{split}/{image['file_name']}"
            (root / rel).unlink(missing_ok=True)
            if hashes is not None:
                hashes.pop(rel, None)
    return set(gone), dict(sorted(per_clip.items()))


def _write(root: Path, rel: str, data: bytes, hashes: MutableMapping[str, str] | None) -> None:
    (root / rel).write_bytes(data)
    if hashes is not None:
        hashes[rel] = hashlib.sha256(data).hexdigest()


def curate_prepared(
    root: Path,
    params: CurateParams,
    hashes: MutableMapping[str, str] | None = None,
    splits: Sequence[str] = DEFAULT_SPLITS,
) -> CurationResult:
    """Curate the prepared folder ``root`` in place and write ``root/curation.json``.

    Args:
        root: the prepared folder, with ``<split>/annotations.json`` and the images.
        params: the ``curate`` section.
        hashes: the writer's ``relative path → SHA-256`` map, kept in sync (removed images
            dropped, rewritten ``annotations.json`` and ``curation.json`` rehashed).
        splits: the split folders to read.

    Raises:
        CurationError: an unreadable COCO (before anything changes), or error findings (after
            ``curation.json`` is written), listed in French with the first few samples.
    """
    started = time.perf_counter()
    docs = _read_documents(root, splits)
    keys: list[tuple[str, str, str]] = [
        (f"{split}/{image['file_name']}", split, str(image.get("clip") or image["file_name"]))
        for split in splits
        for image in docs[split]["images"]
    ]
    values = hash_files([root / sid for sid, _, _ in keys], params.hash, params.workers)
    findings: list[Finding] = [
        Finding(
            "unreadable_image",
            "error",
            (sid,),
            f"{sid} : image illisible (absente ou corrompue) ; relancez la préparation du jeu",
        )
        for (sid, _, _), value in zip(keys, values, strict=True)
        if value is None
    ]
    hashed = [
        HashedImage(sid, split, clip, value)
        for (sid, split, clip), value in zip(keys, values, strict=True)
        if value is not None
    ]
    plan = plan_near_duplicates(hashed, params.hamming_threshold)
    findings.extend(_leak_findings(plan, params))
    removals = plan.removals if params.remove_near_duplicates else ()
    changed, per_clip = _remove(root, docs, removals, hashes)
    for split in splits:
        try:
            findings.extend(check_labels(docs[split], params, f"{split}/"))
        except (KeyError, TypeError, ValueError) as exc:
            raise CurationError(
                f"{root / split / ANNOTATIONS} : image ou annotation malformée ({exc!r}) ; "
                "relancez la préparation du jeu (champs : contrats §6)"
            ) from exc
    for split in sorted(changed):
        _write(root, f"{split}/{ANNOTATIONS}", _json_bytes(docs[split]), hashes)

    result = CurationResult(
        removals=tuple(removals),
        findings=tuple(findings),
        documents=docs,
        removed_per_clip=per_clip,
        images_hashed=len(hashed),
        same_clip_pairs=plan.same_clip_pairs,
    )
    report = {
        "format_version": CURATION_FORMAT,
        "params": params.model_dump(mode="json"),
        "policy": "quasi-doublons retirés entre clips d'un même split (un gardé par groupe), "
        "jamais au sein d'un clip ; quasi-doublons entre splits signalés comme fuite",
        **result.summary(),
        "removed": [
            {"sample_id": r.sample_id, "kept": r.kept, "distance": r.distance} for r in removals
        ],
        "removed_per_clip": per_clip,
        "near_duplicate_groups": plan.groups() if params.remove_near_duplicates else {},
        "findings": [f.as_dict() for f in findings],
    }
    _write(root, CURATION_NAME, _json_bytes(report), hashes)
    logger.info(
        "curation: %d images hashed, %d near-duplicates removed, %d errors, %d warnings (%.1f s)",
        len(hashed),
        len(removals),
        len(result.errors),
        len(result.warnings),
        time.perf_counter() - started,
    )
    if result.errors:
        raise CurationError(_error_message(root, result.errors), result.errors)
    return result


def _error_message(root: Path, errors: Sequence[Finding]) -> str:
    counts = Counter(f.check for f in errors)
    head = ", ".join(f"{check} : {n}" for check, n in sorted(counts.items()))
    lines = [f"curation : {len(errors)} erreur(s) ({head}) ; détail dans {root / CURATION_NAME}"]
    lines += [f"- {f.message}" for f in errors[:_SHOWN]]
    if len(errors) > _SHOWN:
        lines.append(f"- … et {len(errors) - _SHOWN} autre(s)")
    return "\n".join(lines)
