# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Exploration du jeu de données préparé — Veilleur
#
# Point d'entrée du data scientist sur un jeu préparé (contrats §6 : `data/processed` de la
# démonstration, ou le `processed` du pipeline des données réelles `data/pipelines/reel`) :
# comptes par split, couverture des classes et des tranches (éclairage, météo, hauteur de
# caméra, densité, taille des personnes), résultats de la validation Great Expectations, et,
# sur demande, une vue FiftyOne des lacunes.
#
# Variables d'environnement :
#
# - `VEILLEUR_DATA` : le jeu préparé (défaut `data/processed`) ;
# - `VEILLEUR_REPORTS` : les rapports de validation (défaut `reports/data` : `validation.json`) ;
# - `VEILLEUR_PARAMS` : le `params.yaml` dont la section `prepare.coverage` donne les objectifs
#   de couverture (défaut `params.yaml` s'il existe ; sinon aucun objectif) ;
# - `VEILLEUR_NOTEBOOK_FIFTYONE=1` : construit le jeu FiftyOne et la vue des lacunes (démarre
#   la base MongoDB de FiftyOne : quelques secondes).
#
# Ce carnet ne modifie pas le jeu : il lit les sorties DVC (la vue FiftyOne est enregistrée dans
# la base FiftyOne, pas dans le jeu).

# %%
# ruff: noqa: T201 - a notebook's output is what it prints
import json
import os
from pathlib import Path

import pandas as pd

from veilleur.data.coverage import ALL, CoverageParams, compute_coverage
from veilleur.data.expectations import load_tables
from veilleur.data.slices import CRITERIA_BY_KEY
from veilleur.data.splits import SPLITS

data_dir = Path(os.environ.get("VEILLEUR_DATA", "data/processed"))
reports_dir = Path(os.environ.get("VEILLEUR_REPORTS", "reports/data"))
params_path = Path(os.environ.get("VEILLEUR_PARAMS", "params.yaml"))
manifest = json.loads((data_dir / "manifest.json").read_text(encoding="utf-8"))
tables = load_tables(data_dir)
pd.set_option("display.width", 160)
print(f"Jeu : {data_dir} — version {manifest['dataset_version'][:12]}")
sources = manifest.get("source", {}).get("sources") or [{"name": "synthétique", "format": "-"}]
print("Sources :", ", ".join(f"{s['name']} ({s['format']})" for s in sources))

# %% [markdown]
# ## Comptes par split
#
# Le découpage se fait par clip (vidéo, ou groupe d'images d'une même scène) : aucun clip
# n'est dans deux splits.

# %%
images, boxes = tables.images, tables.boxes
per_split = pd.DataFrame(
    [
        {
            "split": split,
            "clips": images.loc[images.split == split, "clip"].nunique(),
            "images": int((images.split == split).sum()),
            "boîtes": int((boxes.split == split).sum()),
        }
        for split in SPLITS
    ]
)
print(per_split.to_string(index=False))
print(f"Total : {images['clip'].nunique()} clips, {len(images)} images, {len(boxes)} boîtes")

# %% [markdown]
# ## Couverture des classes

# %%
classes = (
    boxes.pivot_table(index="category", columns="split", values="annotation_id", aggfunc="count")
    .reindex(columns=list(SPLITS))
    .fillna(0)
    .astype(int)
)
classes["total"] = classes.sum(axis=1)
print(classes.sort_values("total", ascending=False).to_string())
absent = sorted(set(classes.index[classes.get("train", 0) == 0]))
if absent:
    print("Classes sans boîte d'entraînement :", ", ".join(absent))

# %% [markdown]
# ## Couverture des tranches
#
# Comptes de `veilleur.data.coverage` (les mêmes que `coverage.json` et que les suites Great
# Expectations), avec les objectifs de `prepare.coverage` quand `params.yaml` en donne.
# Une tranche présente dans le jeu mais absente d'un split est une lacune : le modèle n'y est
# pas évalué (absente de `test`) ou n'y apprend rien (absente de `train`).

# %%
coverage_params = CoverageParams()
if params_path.is_file():
    from veilleur.data.stages.prepare import PrepareStageParams
    from veilleur.runtime.config import load_params_section

    coverage_params = load_params_section(params_path, "prepare", PrepareStageParams).coverage
image_records, box_records = tables.coverage_records()
coverage = compute_coverage(image_records, box_records, coverage_params)
gaps: list[tuple[str, str, str]] = []  # (criterion, value, reason)
for s in coverage.slices:
    label = CRITERIA_BY_KEY[s.criterion].label_fr
    per = ", ".join(f"{split} {s.images[split]}" for split in SPLITS)
    print(f"{label} = {s.label_fr} : {s.images[ALL]} images ({per}), {s.boxes[ALL]} boîtes")
    missing = [split for split in SPLITS if s.images[split] == 0]
    if missing:
        gaps.append((s.criterion, s.value, f"absente de {', '.join(missing)}"))
for g in coverage.failed_gaps:
    if g.kind == "slice":
        gaps.append((g.key.get("criterion", ""), g.key.get("value", ""), g.reason_fr()))
print()
print("Objectifs :", " ; ".join(coverage.reasons_fr()))
print(f"{len(gaps)} lacune(s) de tranche :")
for criterion, value, reason in gaps:
    crit = CRITERIA_BY_KEY[criterion]
    print(f" - {crit.label_fr} = {crit.label_of(value)} : {reason}")

# %% [markdown]
# ## Validation Great Expectations
#
# Le rapport `validation.json` de l'étape `prepare` (démonstration) ou `validate` (pipeline des
# données réelles).

# %%
validation_path = reports_dir / "validation.json"
if validation_path.is_file():
    validation = json.loads(validation_path.read_text(encoding="utf-8"))
    verdict = "conforme" if validation["success"] else "NON CONFORME"
    print(
        f"Validation Great Expectations : {verdict} ({validation['evaluated']} attentes "
        f"évaluées, {validation['failed']} en échec)"
    )
    if validation.get("dataset_version") != manifest["dataset_version"]:
        print("Attention : le rapport porte sur une autre version du jeu, relancer la validation.")
    failed = pd.DataFrame(
        [
            {"table": e["table"], "attente": e["expectation"], "détail": e.get("message", "")}
            for e in validation["expectations"]
            if not e["success"]
        ]
    )
    print(failed.to_string(index=False) if not failed.empty else "Aucune attente en échec.")
else:
    print(f"Pas de rapport de validation ({validation_path}) : lancer `veilleur data validate`.")

# %% [markdown]
# ## Vue FiftyOne des lacunes (si `VEILLEUR_NOTEBOOK_FIFTYONE=1`)
#
# Les images des tranches lacunaires et celles que la curation a signalées (étiquettes
# `near_duplicate`, `tiny_box`, `missing_label` …) forment la vue enregistrée `lacunes` du jeu
# FiftyOne (`veilleur data fiftyone` l'ouvre dans l'application).

# %%
if os.environ.get("VEILLEUR_NOTEBOOK_FIFTYONE") == "1":
    from veilleur.data.curation.fiftyone_dataset import build_fiftyone_dataset

    summary = build_fiftyone_dataset(data_dir)  # reused when this version was already built
    import fiftyone as fo
    from fiftyone import ViewField as F

    dataset = fo.load_dataset(summary.name)
    frame = tables.images.assign(sample_id=tables.images.split + "/" + tables.images.file_name)
    in_gap: set[str] = set()
    for criterion, value, _ in gaps:
        values = [r.values.get(criterion) for r in image_records]
        in_gap |= set(frame.loc[[v == value for v in values], "sample_id"])
    flagged = F("tags").filter(~F().is_in(list(SPLITS))).length() > 0
    view = dataset.match(F("sample_id").is_in(sorted(in_gap)) | flagged)
    dataset.save_view("lacunes", view, overwrite=True)
    print(f"Vue FiftyOne « lacunes » de {summary.name} : {len(view)} image(s)")
else:
    print("Vue FiftyOne non construite (VEILLEUR_NOTEBOOK_FIFTYONE=1 pour la construire).")
