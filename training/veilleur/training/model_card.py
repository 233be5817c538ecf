"""The model card (``reports/models/model_card.md``, French, EX-085), generated from the files
the stages wrote: ``train_summary.json``, ``export_report.json`` and the ONNX sidecar.

Every figure of the card comes from those files (formatted by :func:`fmt`), so a test can check
the card against them.

Example:
    >>> fmt(0.123456), fmt(None), fmt(3)
    ('0.1235', 'n/d', '3')
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from veilleur.runtime.core.events import EventType
from veilleur.runtime.core.taxonomy import CLASSES

DATASET_CARD = Path("reports/data/index.html")


def fmt(value: Any) -> str:
    """A figure as the card prints it: 4 decimals for floats, ``n/d`` when unknown."""
    if value is None:
        return "n/d"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def card_figures(
    summary: dict[str, Any], report: dict[str, Any], sidecar: dict[str, Any]
) -> dict[str, str]:
    """The figures of the card, by label (what the test compares with the JSON files)."""
    final = summary.get("final_metrics") or {}
    int8 = report.get("int8") or {}
    fp16 = report.get("fp16") or {}
    figures = {
        "mAP@0.5 validation (FP32, fin d'entraînement)": fmt(final.get("val/map50")),
        "Perte de validation": fmt(final.get("val/loss")),
        "Perte d'entraînement": fmt(final.get("train/loss")),
        "Écart max. torch / ONNX": fmt(report.get("max_abs_diff")),
        "Accord des détections torch / ONNX": fmt(report.get("agreement")),
        "Images d'entraînement": fmt(summary.get("num_train_images")),
        "Images de validation": fmt(summary.get("num_val_images")),
        "Durée d'entraînement (s)": fmt(summary.get("duration_s")),
    }
    if int8:
        figures |= {
            "INT8 : mAP@0.5 validation FP32": fmt(int8.get("map50_fp32")),
            "INT8 : mAP@0.5 validation INT8": fmt(int8.get("map50")),
            "INT8 : écart de mAP@0.5": fmt(int8.get("map50_delta")),
            "INT8 : écart max. des boîtes (pixels)": fmt(int8.get("max_abs_diff_boxes")),
            "INT8 : écart max. des scores": fmt(int8.get("max_abs_diff_scores")),
            "INT8 : accord des détections": fmt(int8.get("agreement")),
            "INT8 : taille (octets)": fmt(int8.get("size_bytes")),
            "INT8 : ms par image (CPU, FP32 → INT8)": (
                f"{fmt(int8.get('ms_per_image_fp32'))} → {fmt(int8.get('ms_per_image'))}"
            ),
        }
    if fp16:
        figures |= {
            "FP16 : écart de mAP@0.5": fmt(fp16.get("map50_delta")),
            "FP16 : accord des détections": fmt(fp16.get("agreement")),
        }
    figures["SHA-256 ONNX"] = str(sidecar.get("sha256", "n/d"))
    return figures


def _relative(target: Path, start: Path) -> str:
    return os.path.relpath(target.resolve(), start.resolve())


def render_card(
    summary: dict[str, Any],
    report: dict[str, Any],
    sidecar: dict[str, Any],
    card_path: Path,
    dataset_card: Path = DATASET_CARD,
    dvc_hash: str | None = None,
) -> str:
    """The card's Markdown."""
    p = summary.get("params") or {}
    figures = card_figures(summary, report, sidecar)
    events = ", ".join(f"`{e.value}`" for e in EventType)
    classes = ", ".join(f"`{c}`" for c in sidecar.get("classes", CLASSES))
    int8 = report.get("int8") or {}
    lines = [
        "# Fiche du modèle — détecteur Veilleur",
        "",
        "_Générée par `veilleur export` à partir de `train_summary.json`, `export_report.json` et "
        "du fichier compagnon du modèle ONNX : ne pas modifier à la main._",
        "",
        "## Usage prévu",
        "",
        f"Détection d'objets ({classes}) dans des images de vidéoprotection (4CIF et plus), "
        f"au service des huit événements de Veilleur uniquement : {events}.",
        "Les détections alimentent les règles d'événements ; une alerte est toujours qualifiée "
        "par un opérateur.",
        "",
        "## Ce que le modèle ne doit pas faire",
        "",
        "- aucune identification de personne, aucune reconnaissance faciale, aucune donnée "
        "biométrique, aucune ré-identification d'une caméra à l'autre (EX-089) ;",
        "- aucun apprentissage en exploitation : le modèle est figé et vérifié par SHA-256 "
        "(manifeste de déploiement, EX-131) ;",
        "- aucun usage hors des huit événements ci-dessus ni hors du périmètre de validation.",
        "",
        "## Architecture",
        "",
        f"Détecteur mono-étape sans ancres (type FCOS/YOLO), taille `{p.get('model_size')}` "
        f"(largeur {p.get('width_mult') or 'du préréglage'}, profondeur "
        f"{p.get('depth_mult') or 'du préréglage'}), entrée "
        f"{sidecar.get('input_size')} (H, W), letterbox RGB ÷ 255, sortie contrat v1 "
        f"`[B, A, 4 + {len(sidecar.get('classes', CLASSES))}]`, ONNX opset "
        f"{report.get('opset')}, lot dynamique, sans NMS dans le graphe.",
        "",
        "## Données d'entraînement",
        "",
        f"Fiche du jeu de données : [{dataset_card}]({_relative(dataset_card, card_path.parent)}). "
        f"Version du jeu (`dataset_version`) : `{summary.get('dataset_version')}`.",
        f"Entraînement : {p.get('epochs')} époques, lot {p.get('batch_size')}, "
        f"lr {p.get('lr')}, graine {p.get('seed')}, augmentation "
        f"{_augment_text(p.get('augment'))}, précision `{p.get('precision')}`.",
        "",
        "## Mesures",
        "",
        "| Mesure | Valeur |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in figures.items() if k != "SHA-256 ONNX"],
        "",
        "Le mAP@0.5 ci-dessus est l'indicateur rapide de suivi (AP VOC, seuil 0,05) ; les "
        "métriques de référence (COCO, par événement, par condition) sont dans le rapport de "
        "validation (`reports/validation/`).",
        "",
        "## Coût de la quantification INT8",
        "",
    ]
    if int8:
        lines += [
            f"Quantification statique onnxruntime (QDQ, poids par canal : "
            f"{fmt(int8.get('per_channel'))}), calibrée sur {int8.get('n_calibration')} images "
            f"de validation, mesurée sur {int8.get('n_images')} images de validation : écart de "
            f"mAP@0.5 {figures['INT8 : écart de mAP@0.5']}, accord des détections "
            f"{figures['INT8 : accord des détections']} ; seuils : baisse ≤ "
            f"{fmt(int8.get('max_map50_drop'))}, accord ≥ {fmt(int8.get('min_agreement'))} — "
            f"{'respectés' if int8.get('passed') else 'NON respectés'}.",
        ]
    else:
        lines.append("Pas de variante INT8 produite (`export.int8: false`).")
    lines += [
        "",
        "## Limites",
        "",
        "- entraîné sur les données décrites par la fiche du jeu de données ; hors de ce domaine "
        "(autres caméras, nuit, météo, foules denses) la performance doit être re-mesurée ;",
        "- les classes rares du jeu d'entraînement ont les mesures les moins fiables ;",
        "- les foules denses relèvent du modèle de densité, pas des boîtes du détecteur.",
        "",
        "## Provenance",
        "",
        f"- jeu de données (`dataset_version`) : `{summary.get('dataset_version')}`",
        f"- empreinte DVC de `data/processed` : `{dvc_hash or 'n/d'}`",
        f"- commit git : `{summary.get('git_commit')}`",
        f"- run MLflow : `{summary.get('mlflow_run_id')}` "
        f"(expérience `{summary.get('experiment')}`)",
        f"- SHA-256 ONNX : `{figures['SHA-256 ONNX']}`",
    ]
    if int8.get("sha256"):
        lines.append(f"- SHA-256 ONNX INT8 : `{int8['sha256']}`")
    return "\n".join(lines) + "\n"


def dvc_data_hash(lock: Path = Path("dvc.lock"), path: str = "data/processed") -> str | None:
    """The ``md5`` DVC recorded for ``path`` (an output of a locked stage), if any."""
    if not lock.is_file():
        return None
    import yaml

    stages = (yaml.safe_load(lock.read_text(encoding="utf-8")) or {}).get("stages", {})
    for stage in stages.values():
        for out in stage.get("outs", []):
            if out.get("path") == path and out.get("md5"):
                return str(out["md5"])
    return None


def write_card(
    summary_path: Path,
    report_path: Path,
    sidecar_path: Path,
    card_path: Path,
    dataset_card: Path = DATASET_CARD,
) -> Path:
    """Render the card from the three JSON files and write it to ``card_path``."""

    def load(p: Path) -> dict[str, Any]:
        return dict(json.loads(p.read_text(encoding="utf-8")))

    text = render_card(
        load(summary_path),
        load(report_path),
        load(sidecar_path),
        card_path,
        dataset_card,
        dvc_data_hash(),
    )
    card_path.parent.mkdir(parents=True, exist_ok=True)
    card_path.write_text(text, encoding="utf-8")
    return card_path


def _augment_text(spec: object) -> str:
    """``train.augment`` in words: oui (default set), non, or the list with probabilities."""
    from veilleur.training.config import resolve_augment

    if isinstance(spec, list):
        spec = tuple(spec)
    if not isinstance(spec, bool | tuple):
        return "inconnue"
    items = resolve_augment(spec)
    if spec is True or not items:
        return "oui (jeu par défaut)" if items else "non"
    return ", ".join(f"{name} (p = {prob:g})" for name, prob in items)
