"""Veilleur evaluation: COCO detection metrics, event-level metrics and the French report.

Modules (import them directly; this package imports nothing heavy):

- :mod:`~veilleur.evaluation.detection_metrics` — ``evaluate_coco`` (pycocotools engine);
- :mod:`~veilleur.evaluation.event_gt` — ground-truth events of the synthetic clips;
- :mod:`~veilleur.evaluation.event_matching` — TP / FP / FN / duplicate matching;
- :mod:`~veilleur.evaluation.event_metrics` — ``evaluate_events`` with bootstrap CIs;
- :mod:`~veilleur.evaluation.slices` — the same metrics per condition (``evaluate_slices``);
- :mod:`~veilleur.evaluation.report_context` / :mod:`~veilleur.evaluation.report` — the
  French validation report (``render_report``) and ``metrics.json``.
"""

from __future__ import annotations
