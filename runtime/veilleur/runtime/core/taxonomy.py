"""The object classes the runtime knows (EX-047, EX-048).

The class id of a name is its index in :data:`CLASSES`. COCO files written by the project use
``index + 1`` as category id, since COCO ids start at 1.
"""

from __future__ import annotations

from typing import Final

CLASSES: Final[tuple[str, ...]] = (
    "person",
    "vehicle",
    "bicycle",
    "bag",
    "weapon",
    "fire",
    "smoke",
    "person_lying",
)

CLASS_LABELS_FR: Final[dict[str, str]] = {
    "person": "personne",
    "vehicle": "véhicule",
    "bicycle": "vélo",
    "bag": "bagage",
    "weapon": "arme",
    "fire": "feu",
    "smoke": "fumée",
    "person_lying": "personne au sol",
}

CLASS_IDS: Final[dict[str, int]] = {name: i for i, name in enumerate(CLASSES)}


def class_id(name: str) -> int:
    """Return the taxonomy id of ``name``.

    Raises:
        KeyError: with the list of known classes, when ``name`` is not one of them.
    """
    try:
        return CLASS_IDS[name]
    except KeyError:
        raise KeyError(f"unknown class {name!r}; known classes: {', '.join(CLASSES)}") from None


def coco_categories() -> list[dict[str, object]]:
    """COCO ``categories`` for the taxonomy (id = index + 1)."""
    return [
        {"id": i + 1, "name": name, "supercategory": "object"} for i, name in enumerate(CLASSES)
    ]
