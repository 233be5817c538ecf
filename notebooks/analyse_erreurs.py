# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Analyse des erreurs et des biais — Veilleur
#
# Lit le `metrics.json` du rapport de validation (`reports/validation/metrics.json`, étape DVC
# `report`) : pires tranches, faux positifs et faux négatifs par événement et par cause, et,
# si un second `metrics.json` est donné, la comparaison de deux modèles sur les mêmes séquences.
# Variables d'environnement : `VEILLEUR_METRICS` (défaut ci-dessus), `VEILLEUR_COMPARE`
# (metrics.json de référence, facultatif). Ce carnet n'écrit rien.

# %%
# ruff: noqa: T201 - a notebook's output is what it prints
import json
import os
from pathlib import Path

import pandas as pd

from veilleur.evaluation.compare import compare_metrics

metrics_path = Path(os.environ.get("VEILLEUR_METRICS", "reports/validation/metrics.json"))
metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
pd.set_option("display.width", 160)

# %% [markdown]
# ## Pires tranches et rapports de disparité

# %%
bias = metrics.get("bias") or {"findings": [], "verdicts": [], "passed": True}
findings = pd.DataFrame(
    [
        {
            "critère": f["key"],
            "indicateur": f["metric"],
            "pire": f["worst"]["value"] if f["worst"] else None,
            "pire_valeur": f["worst"]["estimate"] if f["worst"] else None,
            "meilleure": f["best"]["value"] if f["best"] else None,
            "disparité": f["disparity_ratio"],
        }
        for f in bias["findings"]
    ]
)
print(findings.sort_values("disparité", na_position="last").to_string(index=False))
print("Contrôles de biais :", "satisfaits" if bias["passed"] else "NON satisfaits")
for v in bias["verdicts"]:
    if not v["passed"]:
        print(" -", v["message_fr"])

# %% [markdown]
# ## Faux positifs et faux négatifs par événement

# %%
per_event = pd.DataFrame(
    [
        {"événement": k, "VP": v["tp"], "FP": v["fp"], "FN": v["fn"],
         "précision": v["precision"], "rappel": v["recall"],
         "FA/h": v["false_alarms_per_hour"]}
        for k, v in metrics["events"]["per_event"].items()
        if v.get("status") == "evaluated"
    ]
)  # fmt: skip
print(per_event.to_string(index=False))

# %%
errors = metrics.get("errors") or {}
causes = pd.DataFrame(
    [{"type": "FP", "cause": c, "nombre": n} for c, n in errors.get("fp_causes", {}).items()]
    + [{"type": "FN", "cause": c, "nombre": n} for c, n in errors.get("fn_causes", {}).items()]
)
print(causes.to_string(index=False) if not causes.empty else "Pas d'analyse des erreurs.")
event_errors = pd.DataFrame(errors.get("event_errors", []))
if not event_errors.empty:
    print(event_errors[["kind", "event", "clip", "time_s", "confidence"]].to_string(index=False))

# %% [markdown]
# ## Comparaison de deux modèles (si `VEILLEUR_COMPARE` est donné)

# %%
reference = os.environ.get("VEILLEUR_COMPARE")
if reference:
    cmp = compare_metrics(json.loads(Path(reference).read_text(encoding="utf-8")), metrics)
    table = pd.DataFrame(
        [
            {"ligne": r.key if r.value is None else f"{r.key}={r.value}", "indicateur": r.metric,
             "référence": r.reference, "candidat": r.candidate, "écart": r.delta,
             "p": r.p_value, "conclusion": r.verdict_fr}
            for r in cmp.rows
        ]
    )  # fmt: skip
    print(table.to_string(index=False))
    print(f"{len(cmp.regressions)} régression(s) significative(s)")
