"""Password hashing (argon2id) and the password policy (ANSSI guidance).

The policy follows ANSSI's recommendations on passwords (2021): at least 12 characters mixing
at least three character classes, or a passphrase of 16 characters or more; never the login
itself, never one of the commonest passwords, never a single repeated character.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

HASHER = PasswordHasher()
"""argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile: 64 MiB, t=3, p=4)."""

_DUMMY_HASH = HASHER.hash("veilleur-dummy-password-for-constant-time")

_COMMON = frozenset(
    {
        "motdepasse123",
        "motdepasse1234",
        "password1234",
        "password12345",
        "azertyuiop123",
        "azertyuiop1234",
        "qwertyuiop123",
        "123456789012",
        "administrateur",
        "administrateur1",
        "bienvenue1234",
        "soleil123456",
        "changeme1234",
        "veilleur1234",
    }
)


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 12
    min_classes: int = 3
    passphrase_length: int = 16
    """From this length on, any mix of characters is accepted (a passphrase)."""

    def problems(self, password: str, login: str = "") -> list[str]:
        """What is wrong with ``password``, in French; empty when it is acceptable."""
        out: list[str] = []
        if len(password) < self.min_length:
            out.append(f"au moins {self.min_length} caractères (ici {len(password)})")
        classes = sum(
            any(c in chars for c in password)
            for chars in (string.ascii_lowercase, string.ascii_uppercase, string.digits)
        ) + any(not c.isalnum() for c in password)
        if len(password) < self.passphrase_length and classes < self.min_classes:
            out.append(
                f"au moins {self.min_classes} types de caractères parmi minuscules, majuscules, "
                f"chiffres et caractères spéciaux (ou une phrase de passe de "
                f"{self.passphrase_length} caractères ou plus)"
            )
        if login and login.lower() in password.lower():
            out.append("ne doit pas contenir l'identifiant")
        if password and len(set(password)) == 1:
            out.append("ne doit pas répéter un seul caractère")
        if password.lower() in _COMMON:
            out.append("mot de passe trop courant")
        return out


class PasswordPolicyError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("mot de passe refusé : " + " ; ".join(problems))
        self.problems = problems


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant-work check: an unknown account (``None``) still costs one argon2 verification."""
    try:
        return HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return HASHER.check_needs_rehash(stored_hash)
