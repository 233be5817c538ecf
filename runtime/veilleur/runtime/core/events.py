"""The eight predetermined events of the specification, and nothing else."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class EventType(StrEnum):
    """Event types; the value is the config ``type`` and the journal ``event`` field."""

    SENS_CIRCULATION = "sens_circulation"
    FRANCHISSEMENT = "franchissement"
    MOUVEMENT_FOULE = "mouvement_foule"
    DENSITE = "densite"
    OBJET_ABANDONNE = "objet_abandonne"
    ARME = "arme"
    PERSONNE_AU_SOL = "personne_au_sol"
    FEU = "feu"


EVENT_LABELS_FR: Final[dict[EventType, str]] = {
    EventType.SENS_CIRCULATION: "Sens de circulation",
    EventType.FRANCHISSEMENT: "Franchissement",
    EventType.MOUVEMENT_FOULE: "Mouvement de Foule",
    EventType.DENSITE: "Densité",
    EventType.OBJET_ABANDONNE: "Objets abandonnés",
    EventType.ARME: "Armes",
    EventType.PERSONNE_AU_SOL: "Personne au sol",
    EventType.FEU: "Feu",
}

EVENT_DESCRIPTIONS_FR: Final[dict[EventType, str]] = {
    EventType.SENS_CIRCULATION: (
        "Non-respect du sens de circulation commun par une personne ou un véhicule"
    ),
    EventType.FRANCHISSEMENT: (
        "Franchissement ou présence d'une personne ou d'un véhicule dans une zone interdite "
        "ou sensible"
    ),
    EventType.MOUVEMENT_FOULE: "Mouvement de foule",
    EventType.DENSITE: "Densité trop importante de personnes",
    EventType.OBJET_ABANDONNE: "Présence d'objets abandonnés",
    EventType.ARME: (
        "Présence ou utilisation d'armes, parmi celles mentionnées à l'article R. 311-2 du "
        "code de la sécurité intérieure"
    ),
    EventType.PERSONNE_AU_SOL: "Présence d'une personne au sol à la suite d'une chute",
    EventType.FEU: "Départ de feu",
}
