"""Image-level scene cues computed per camera before the rules run (static objects, view)."""
