"""Dataset curation (EX-086, EX-087): near-duplicates, label quality, FiftyOne dataset.

Pure logic and file I/O only: FiftyOne is imported by :mod:`.fiftyone_dataset` alone, inside
its functions (it starts a MongoDB).
"""

from veilleur.data.curation.curate import (
    CURATION_NAME,
    CurationError,
    CurationResult,
    curate_prepared,
)
from veilleur.data.curation.label_quality import check_labels
from veilleur.data.curation.near_duplicates import (
    HashedImage,
    NearDuplicatePlan,
    dhash,
    hamming,
    hash_file,
    image_hash,
    phash,
    plan_near_duplicates,
)
from veilleur.data.curation.params import CurateParams, CurateSeverities, Finding

__all__ = [
    "CURATION_NAME",
    "CurateParams",
    "CurateSeverities",
    "CurationError",
    "CurationResult",
    "Finding",
    "HashedImage",
    "NearDuplicatePlan",
    "check_labels",
    "curate_prepared",
    "dhash",
    "hamming",
    "hash_file",
    "image_hash",
    "phash",
    "plan_near_duplicates",
]
