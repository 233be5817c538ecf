"""Thin DVC stage entry points (`python -m veilleur.data.stages.<name>`)."""
