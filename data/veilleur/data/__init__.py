"""Veilleur data stages: synthetic clips, preparation, validation, splits."""
