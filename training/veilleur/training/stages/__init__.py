"""DVC stage entry points (``python -m veilleur.training.stages.<name>``)."""
