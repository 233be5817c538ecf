"""DVC stage entry points of the evaluation (``python -m veilleur.evaluation.stages.<name>``)."""
