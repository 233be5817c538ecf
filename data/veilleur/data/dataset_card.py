"""The dataset card ``reports/data/dataset_card.md`` (French), generated from the data alone
(EX-084, EX-086, EX-089).

Read: ``manifest.json`` (version, source, parameters, counts), ``splits.json`` (clips, their
metadata and, for ingested data, their provenance), each split's COCO (resolutions, and the
coverage counts of :mod:`veilleur.data.coverage`), the reports folder's ``validation.json`` when
it describes this ``dataset_version``, and the DVC hash of the raw data from ``dvc.lock`` (or
the raw folder's ``.dvc`` file) when there is one. Nothing else: no clock, no host name, so the
same data give the same card byte for byte.

:func:`card_context` (pure) gathers the figures; :func:`render_card` fills
``templates/dataset_card.md.j2``; :func:`write_dataset_card` does the I/O.

Example:
    >>> write_dataset_card(Path("data/processed"), Path("reports/data"),
    ...                    CoverageParams())  # doctest: +SKIP
    PosixPath('reports/data/dataset_card.md')
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from veilleur.data.coverage import (
    ALL,
    DISTANCE_LABEL_FR,
    SPLIT_LABELS_FR,
    CoverageParams,
    CoverageReport,
    compute_coverage,
)
from veilleur.data.expectations import BIOMETRIC_WORDS, DatasetReadError, load_tables
from veilleur.data.slices import CRITERIA, CRITERIA_BY_KEY
from veilleur.data.splits import SPLITS
from veilleur.runtime.core.taxonomy import CLASSES

CARD_NAME: Final = "dataset_card.md"
TEMPLATES_DIR: Final = Path(__file__).parent / "templates"
PROVENANCE_FIELDS: Final = (
    ("licence", "Licence / convention"),
    ("site", "Site"),
    ("camera", "Caméra"),
    ("capture_date", "Date de captation"),
    ("acquisition", "Acquisition"),
    ("selection", "Sélection"),
    ("annotation", "Annotation"),
    ("source_format", "Format d'origine"),
)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DatasetReadError(f"{path} not found: run the prepare stage first") from exc
    except json.JSONDecodeError as exc:
        raise DatasetReadError(f"{path} is not valid JSON: {exc}") from exc


def raw_dvc_hash(raw_dir: str, dvc_lock: Path) -> tuple[str | None, str]:
    """DVC md5 of the raw data folder and where it was read.

    Looked for, in order: a stage *output* ``raw_dir`` in ``dvc_lock`` (current during
    ``dvc repro``: DVC locks each stage as it finishes), a stage *dependency* ``raw_dir`` (the
    ``prepare`` stage's, as of the last locked run), then ``<raw_dir>.dvc`` (``dvc add``).

    Returns:
        ``(md5, origin)``; ``(None, reason)`` when none is found.
    """
    wanted = raw_dir.rstrip("/")
    if dvc_lock.is_file():
        doc = yaml.safe_load(dvc_lock.read_text(encoding="utf-8")) or {}
        stages = doc.get("stages") or {}
        for kind, label in (("outs", "sortie"), ("deps", "dépendance")):
            for name in sorted(stages):
                for entry in stages[name].get(kind) or []:
                    if str(entry.get("path", "")).rstrip("/") == wanted and entry.get("md5"):
                        return str(entry["md5"]), f"dvc.lock, {label} de l'étape « {name} »"
    dvc_file = dvc_lock.parent / f"{wanted}.dvc"
    if dvc_file.is_file():
        doc = yaml.safe_load(dvc_file.read_text(encoding="utf-8")) or {}
        for entry in doc.get("outs") or []:
            if entry.get("md5"):
                return str(entry["md5"]), f"{wanted}.dvc"
    return None, "non disponible (ni dvc.lock ni fichier .dvc ne décrivent ce dossier)"


def _sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _sources(manifest: Mapping[str, Any], clips: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One entry per source: name, kind, and each provenance field's distinct values."""
    source = manifest.get("source") or {}
    if source.get("kind") != "ingest":
        return [
            {
                "name": "générateur synthétique Veilleur",
                "synthetic": True,
                "generator_version": source.get("generator_version"),
                "seed": source.get("seed"),
                "raw_dir": source.get("raw_dir"),
                "manifest_sha256": source.get("manifest_sha256"),
                "fields": [],
                "clips": len(clips),
            }
        ]
    out: list[dict[str, Any]] = []
    declared = {s.get("name"): s for s in source.get("sources") or []}
    per_source: dict[str, list[Mapping[str, Any]]] = {}
    for record in clips.values():
        name = str(record.get("source") or (record.get("provenance") or {}).get("source"))
        per_source.setdefault(name, []).append(record.get("provenance") or {})
    for name in sorted(set(per_source) | {str(n) for n in declared}):
        records = per_source.get(name, [])
        fields = []
        for key, label in PROVENANCE_FIELDS:
            values = sorted({str(r[key]) for r in records if r.get(key) is not None})
            fields.append({"label": label, "values": values or ["non renseigné"]})
        info = declared.get(name) or {}
        out.append(
            {
                "name": name,
                "synthetic": False,
                "format": info.get("format"),
                "root": info.get("root"),
                "fields": fields,
                "clips": len(records),
            }
        )
    return out


def _known_gaps(cov: CoverageReport) -> list[str]:
    """Known gaps, found in the data: targets not met, slice values missing from a split or
    from the whole dataset, classes missing from a split, criteria the metadata lack."""
    gaps = [g.reason_fr() for g in cov.failed_gaps]
    for criterion in CRITERIA:
        found = cov.values_of(criterion.key)
        if not found:
            gaps.append(f"{criterion.label_fr} : non renseigné dans les métadonnées.")
            continue
        present = {s.value for s in found}
        absent = [criterion.label_of(v) for v in criterion.values_fr if v not in present]
        if absent:
            gaps.append(f"{criterion.label_fr} : aucune image « {' », « '.join(absent)} ».")
        for s in found:
            missing = [SPLIT_LABELS_FR[split] for split in SPLITS if s.images[split] == 0]
            if missing:
                gaps.append(
                    f"{criterion.label_fr} = {s.label_fr} : absent du jeu "
                    f"{', '.join(missing)} ({s.images[ALL]} images au total)."
                )
    for c in cov.classes:
        missing = [SPLIT_LABELS_FR[split] for split in SPLITS if c.boxes[split] == 0]
        if c.boxes[ALL] == 0:
            gaps.append(f"Classe « {c.name} » : aucune boîte.")
        elif missing:
            gaps.append(
                f"Classe « {c.name} » : aucune boîte dans le jeu {', '.join(missing)} "
                f"({c.boxes[ALL]} au total)."
            )
    return gaps


def card_context(
    manifest: Mapping[str, Any],
    splits_doc: Mapping[str, Any],
    resolutions: Mapping[str, int],
    cov: CoverageReport,
    validation: Mapping[str, Any] | None,
    raw_hash: tuple[str | None, str],
    annotation_hashes: Mapping[str, str | None],
) -> dict[str, Any]:
    """Everything the card shows (pure)."""
    clips: Mapping[str, Any] = splits_doc.get("clips") or {}
    source = manifest.get("source") or {}
    synthetic = source.get("kind") != "ingest"
    version = manifest.get("dataset_version")
    unknown = "non renseigné"
    params: dict[str, Any] = dict.fromkeys(
        ("frame_stride", "jpeg_quality", "min_box_px", "seed"), unknown
    )
    params |= manifest.get("params") or {}
    fractions: dict[str, Any] = dict.fromkeys(SPLITS, unknown)
    fractions |= params.get("fractions") or {}
    counts = manifest.get("counts") or {}
    # synthetic: per clip; ingested: per split
    dropped = sum(
        int(c.get("dropped_small_boxes") or 0)
        for group in ((manifest.get("clips") or {}).values(), counts.values())
        for c in group
    )
    scenarios = Counter(
        str((r.get("metadata") or {}).get("scenario"))
        for r in clips.values()
        if (r.get("metadata") or {}).get("scenario") is not None
    )
    scenes = sorted(
        {
            str((r.get("provenance") or {}).get("camera"))
            for r in clips.values()
            if (r.get("provenance") or {}).get("camera")
        }
    )
    if validation is None:
        validation_state = (
            "absente : la validation Great Expectations n'a pas été exécutée sur ce jeu"
        )
    elif validation.get("dataset_version") != version:
        validation_state = (
            f"périmée : validation.json décrit la version {validation.get('dataset_version')}"
        )
    elif validation.get("success"):
        validation_state = f"conforme ({validation.get('evaluated')} attentes réussies)"
    else:
        validation_state = (
            f"NON CONFORME ({validation.get('failed')} attentes en échec sur "
            f"{validation.get('evaluated')})"
        )
    biometric = "non vérifiée"
    if validation is not None and validation.get("dataset_version") == version:
        labels = [r for r in validation.get("expectations", []) if r.get("table") == "labels"]
        if labels:
            biometric = (
                "vérifiée : aucun nom biométrique trouvé"
                if all(r.get("success") for r in labels)
                else "ÉCHEC : des noms biométriques ont été trouvés (voir validation.json)"
            )
    criteria = []
    for criterion in CRITERIA:
        rows = cov.values_of(criterion.key)
        classes = [c for c in CLASSES if any(s.boxes_per_class[c][ALL] for s in rows)]
        criteria.append({"label": criterion.label_fr, "rows": rows, "classes": classes})
    distances: dict[str, dict[str, str]] = {}
    for d in cov.distances:
        label = (
            "Classe (boîtes)" if d.criterion == "class" else CRITERIA_BY_KEY[d.criterion].label_fr
        )
        distances.setdefault(label, {})[f"{d.a}/{d.b}"] = (
            "—" if d.divergence is None else f"{d.divergence:.3f}"
        )
    return {
        "version": version,
        "format_version": manifest.get("format_version"),
        "files": manifest.get("files"),
        "synthetic": synthetic,
        "sources": _sources(manifest, clips),
        "params": params,
        "fractions": fractions,
        "split_notes": list(manifest.get("split_notes") or []),
        "splits": SPLITS,
        "split_fr": SPLIT_LABELS_FR,
        "totals": cov.totals,
        "scopes": [*SPLITS, ALL],
        "resolutions": sorted(resolutions.items(), key=lambda kv: (-kv[1], kv[0])),
        "classes": cov.classes,
        "criteria": criteria,
        "combinations": len(cov.combinations),
        "distances": distances,
        "distance_label": DISTANCE_LABEL_FR,
        "pairs": ["train/val", "train/test", "val/test"],
        "coverage": cov,
        "targets": cov.params,
        "gaps": cov.gaps,
        "reasons": cov.reasons_fr(),
        "known_gaps": _known_gaps(cov),
        "scenarios": sorted(scenarios.items()),
        "scenes": scenes,
        "validation_state": validation_state,
        "biometric": biometric,
        "biometric_words": sorted(BIOMETRIC_WORDS),
        "raw_md5": raw_hash[0],
        "raw_md5_origin": raw_hash[1],
        "annotation_hashes": annotation_hashes,
        "dropped_small_boxes": dropped,
        "curation": manifest.get("curation"),
        "class_names": list(CLASSES),
    }


def render_card(context: Mapping[str, Any]) -> str:
    """The card's Markdown."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        undefined=StrictUndefined,
        autoescape=False,  # Markdown, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template("dataset_card.md.j2").render(**context)


def write_dataset_card(
    dataset_dir: Path,
    reports_dir: Path,
    coverage: CoverageParams,
    *,
    dvc_lock: Path = Path("dvc.lock"),
) -> Path:
    """Write ``reports_dir/dataset_card.md`` from ``dataset_dir`` (and ``validation.json`` of
    ``reports_dir`` when it describes the same version).

    Raises:
        DatasetReadError: the dataset's JSON files are missing or broken.
    """
    manifest = _read_json(dataset_dir / "manifest.json")
    splits_doc = _read_json(dataset_dir / "splits.json")
    tables = load_tables(dataset_dir)
    images, boxes = tables.coverage_records()
    cov = compute_coverage(images, boxes, coverage)
    resolutions = Counter(
        f"{w}×{h}" for w, h in zip(tables.images["width"], tables.images["height"], strict=True)
    )
    validation_path = reports_dir / "validation.json"
    validation = _read_json(validation_path) if validation_path.is_file() else None
    source = manifest.get("source") or {}
    raw_dir = source.get("raw_dir")
    if raw_dir is None and source.get("sources"):
        raw_dir = str(source["sources"][0].get("root"))
    raw_hash = (
        raw_dvc_hash(str(raw_dir), dvc_lock)
        if raw_dir
        else (None, "non disponible (dossier source inconnu)")
    )
    hashes: dict[str, str | None] = {
        s: _sha256(dataset_dir / s / "annotations.json") for s in SPLITS
    }
    context = card_context(manifest, splits_doc, resolutions, cov, validation, raw_hash, hashes)
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / CARD_NAME
    path.write_text(render_card(context), encoding="utf-8")
    return path
