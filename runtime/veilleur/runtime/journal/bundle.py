"""End-of-deployment bundle (EX-016, EX-122): every journal kind in open formats, encrypted.

The bundle is a tar archive (``manifest.json`` first, then ``journal/<kind>.{csv,parquet,
jsonl}``, the site configuration) encrypted into one file:

``MAGIC`` (8 bytes) · header length (4 bytes, big-endian) · header (JSON: cipher, scrypt salt
and parameters, base nonce, chunk size, passphrase check) · chunks. Each chunk is a 4-byte
length and an AES-256-GCM ciphertext of up to 1 MiB of the archive; its nonce is the base
nonce plus the chunk index, and its associated data is SHA-256(header) · index · final flag,
so a reordered, dropped, truncated or extended stream, or an edited header, fails to decrypt.
The key comes from the operator's passphrase by scrypt; 32 more derived bytes, hashed into the
header, tell a wrong passphrase from a damaged file. Encryption and decryption both stream:
memory stays around two chunks whatever the bundle's size.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import struct
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any, Final

from veilleur.runtime.journal.export import ExportFilter, export
from veilleur.runtime.journal.repository import Journal, entries

MAGIC: Final = b"VLRBDL01"
CHUNK_SIZE: Final = 1 << 20
SCRYPT_N: Final = 1 << 17  # 128 MiB, ~0.3 s here: costly to brute-force a passphrase
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
MIN_PASSPHRASE: Final = 12
MAX_HEADER: Final = 64 * 1024
MANIFEST: Final = "manifest.json"
BUNDLE_FORMATS: Final = ("csv", "parquet", "jsonl")
SUFFIX: Final = ".veilleur-bundle"


class BundleError(Exception):
    """A bundle that cannot be written, opened or trusted; the message is for the operator."""


class WrongPassphrase(BundleError):
    pass


# --------------------------------------------------------------------------- crypto stream


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> tuple[bytes, bytes]:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    raw = Scrypt(salt=salt, length=64, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))
    return raw[:32], hashlib.sha256(raw[32:]).digest()


def _nonce(base: bytes, index: int) -> bytes:
    return ((int.from_bytes(base, "big") + index) % (1 << 96)).to_bytes(12, "big")


def _aad(header_hash: bytes, index: int, final: bool) -> bytes:
    return header_hash + struct.pack(">QB", index, 1 if final else 0)


class EncryptingWriter(io.RawIOBase):
    """A write-only stream that encrypts what it is given into ``sink``, chunk by chunk."""

    def __init__(
        self,
        sink: IO[bytes],
        passphrase: str,
        *,
        chunk_size: int = CHUNK_SIZE,
        scrypt_n: int = SCRYPT_N,
    ) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        super().__init__()
        salt, base = os.urandom(16), os.urandom(12)
        key, check = _derive(passphrase, salt, scrypt_n, SCRYPT_R, SCRYPT_P)
        header = json.dumps(
            {
                "format": "veilleur-bundle/1",
                "cipher": "AES-256-GCM",
                "kdf": {
                    "name": "scrypt",
                    "n": scrypt_n,
                    "r": SCRYPT_R,
                    "p": SCRYPT_P,
                    "salt": salt.hex(),
                },
                "nonce": base.hex(),
                "chunk_size": chunk_size,
                "check": check.hex(),
                "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            sort_keys=True,
        ).encode()
        sink.write(MAGIC + struct.pack(">I", len(header)) + header)
        self._sink = sink
        self._aead = AESGCM(key)
        self._base = base
        self._hh = hashlib.sha256(header).digest()
        self._chunk = chunk_size
        self._buf = bytearray()
        self._index = 0
        self.plain_bytes = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self._buf += data
        self.plain_bytes += len(data)
        while len(self._buf) > self._chunk:  # keep >= 1 byte back: the final chunk is last
            self._emit(bytes(self._buf[: self._chunk]), final=False)
            del self._buf[: self._chunk]
        return len(data)

    def _emit(self, plain: bytes, final: bool) -> None:
        ct = self._aead.encrypt(
            _nonce(self._base, self._index), plain, _aad(self._hh, self._index, final)
        )
        self._sink.write(struct.pack(">I", len(ct)) + ct)
        self._index += 1

    def close(self) -> None:
        if not self.closed and not self._sink.closed:
            self._emit(bytes(self._buf), final=True)
            self._buf.clear()
        super().close()


class DecryptingReader(io.RawIOBase):
    """A read-only stream of the plaintext of an encrypted bundle; errors are BundleError."""

    def __init__(self, source: IO[bytes], passphrase: str) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        super().__init__()
        head = source.read(len(MAGIC) + 4)
        if len(head) < len(MAGIC) + 4 or head[: len(MAGIC)] != MAGIC:
            raise BundleError("ce fichier n'est pas un lot d'export Veilleur (en-tête inconnu)")
        (hlen,) = struct.unpack(">I", head[len(MAGIC) :])
        if hlen > MAX_HEADER:
            raise BundleError("en-tête du lot invalide (taille)")
        header = source.read(hlen)
        try:
            h = json.loads(header)
            kdf = h["kdf"]
            n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
            salt, base = bytes.fromhex(kdf["salt"]), bytes.fromhex(h["nonce"])
            check = bytes.fromhex(h["check"])
            self._chunk = int(h["chunk_size"])
        except (ValueError, KeyError, TypeError) as exc:
            raise BundleError(f"en-tête du lot illisible ou tronqué : {exc}") from None
        if h.get("cipher") != "AES-256-GCM" or kdf.get("name") != "scrypt" or len(base) != 12:
            raise BundleError("lot chiffré avec un algorithme non pris en charge")
        if not (2 <= n <= 1 << 20 and r <= 32 and p <= 16 and 0 < self._chunk <= 64 << 20):
            raise BundleError("paramètres de dérivation du lot hors limites")
        key, got = _derive(passphrase, salt, n, r, p)
        if got != check:
            raise WrongPassphrase("phrase de passe incorrecte (ou en-tête du lot modifié)")
        self.header: dict[str, Any] = h
        self._src = source
        self._aead = AESGCM(key)
        self._base = base
        self._hh = hashlib.sha256(header).digest()
        self._index = 0
        self.cipher_bytes = len(head) + hlen
        self._pending = self._read_record()
        self._plain = b""
        self._pos = 0
        self._done = False

    def _read_record(self) -> bytes | None:
        raw = self._src.read(4)
        if not raw:
            return None
        if len(raw) < 4:
            raise BundleError(f"lot tronqué (bloc {self._index})")
        (n,) = struct.unpack(">I", raw)
        if n > self._chunk + 16:
            raise BundleError(f"lot corrompu (bloc {self._index} de taille invalide)")
        ct = self._src.read(n)
        if len(ct) < n:
            raise BundleError(f"lot tronqué (bloc {self._index} incomplet)")
        self.cipher_bytes += 4 + n
        return ct

    def _next_chunk(self) -> bool:
        from cryptography.exceptions import InvalidTag

        if self._done:
            return False
        ct = self._pending
        if ct is None:
            raise BundleError("lot tronqué : le dernier bloc manque")
        nxt = self._read_record()
        final = nxt is None
        try:
            self._plain = self._aead.decrypt(
                _nonce(self._base, self._index), ct, _aad(self._hh, self._index, final)
            )
        except InvalidTag:
            what = "tronqué ou modifié" if final else "modifié, réordonné ou tronqué"
            raise BundleError(f"lot {what} : le bloc {self._index} ne s'authentifie pas") from None
        self._pos = 0
        self._pending = nxt
        self._index += 1
        self._done = final
        return True

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        mv = memoryview(b).cast("B")
        while self._pos >= len(self._plain):
            if not self._next_chunk():
                return 0
        n = min(len(mv), len(self._plain) - self._pos)
        mv[:n] = self._plain[self._pos : self._pos + n]
        self._pos += n
        return n


# --------------------------------------------------------------------------- building


def read_passphrase(path: Path, *, creating: bool = False) -> str:
    """The first line of ``path`` (trailing newline removed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BundleError(
            f"{path}: fichier de phrase de passe illisible ({exc.strerror})"
        ) from None
    lines = text.splitlines()
    phrase = lines[0] if lines else ""
    if not phrase:
        raise BundleError(f"{path}: phrase de passe vide")
    if creating and len(phrase) < MIN_PASSPHRASE:
        raise BundleError(
            f"{path}: phrase de passe trop courte ({len(phrase)} caractères, "
            f"{MIN_PASSPHRASE} au moins)"
        )
    return phrase


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class BundleResult:
    path: Path
    files: int
    plain_bytes: int
    bundle_bytes: int
    entries: dict[str, int]
    seconds: float
    chain_ok: bool


def build_bundle(
    journal: Journal | str | Path,
    to: Path,
    passphrase: str,
    *,
    config: Path | None = None,
    audit: Journal | str | Path | None = None,
    app_logs: Path | None = None,
    snapshots: Path | None = None,
    tz: str = "Europe/Paris",
    work_dir: Path | None = None,
    scrypt_n: int = SCRYPT_N,
    chunk_size: int = CHUNK_SIZE,
    name: str | None = None,
) -> BundleResult:
    """Export every journal kind, the site config and a manifest; write one encrypted file.

    With ``audit`` (the audit log, its own journal), its entries go to ``audit/`` in the same
    formats and its chain is checked too; ``app_logs`` (the application log file) adds it and
    its rotated copies under ``logs/``; ``snapshots`` adds the alert snapshots under
    ``snapshots/`` (they follow the video-protection retention: only what is still kept).

    The clear files are staged in ``work_dir`` (default: the system's temporary directory, not
    the removable drive) and removed afterwards; only the encrypted bundle reaches ``to``.
    """
    import time

    from sqlalchemy import func, select

    t0 = time.perf_counter()
    if len(passphrase) < MIN_PASSPHRASE:
        raise BundleError(f"phrase de passe trop courte ({MIN_PASSPHRASE} caractères au moins)")
    if config is not None and not config.is_file():
        raise BundleError(f"{config}: configuration du site introuvable")
    j = journal if isinstance(journal, Journal) else Journal(journal)
    with j.engine.connect() as conn:
        counts = {
            str(k): int(c)
            for k, c in conn.execute(
                select(entries.c.kind, func.count()).group_by(entries.c.kind)
            ).all()
        }
    kinds = sorted(counts)
    chain = j.verify()
    to.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = to / (name or f"veilleur-export-{stamp}{SUFFIX}")
    with tempfile.TemporaryDirectory(prefix="veilleur-bundle-", dir=work_dir) as tmp:
        stage = Path(tmp)
        members: list[tuple[str, Path]] = []
        for kind in kinds:
            for fmt in BUNDLE_FORMATS:
                rel = f"journal/{kind}.{fmt}"
                export(j, stage / rel, ExportFilter(kinds=(kind,)), fmt=fmt, tz=tz)
                members.append((rel, stage / rel))
        audit_chain: dict[str, Any] | None = None
        if audit is not None:
            aj = audit if isinstance(audit, Journal) else Journal(audit)
            for fmt in BUNDLE_FORMATS:
                rel = f"audit/audit.{fmt}"
                export(aj, stage / rel, ExportFilter(kinds=("audit", "purge")), fmt=fmt, tz=tz)
                members.append((rel, stage / rel))
            ac = aj.verify()
            audit_chain = {
                "ok": ac.ok,
                "entries": ac.entries,
                "first_broken_seq": ac.first_broken_seq,
                "reason": ac.reason,
            }
        if app_logs is not None:
            logs = (
                sorted(app_logs.parent.glob(app_logs.name + "*"))
                if app_logs.parent.is_dir()
                else []
            )
            for f in logs:
                if f.is_file() and not f.is_symlink():
                    members.append((f"logs/{f.name}", f))
        if snapshots is not None and snapshots.is_dir():
            for f in sorted(snapshots.rglob("*.jpg")):
                if f.is_file() and not f.is_symlink():
                    members.append((f"snapshots/{f.relative_to(snapshots).as_posix()}", f))
        if config is not None:
            rel = f"config/{config.name}"
            (stage / "config").mkdir(exist_ok=True)
            shutil.copyfile(config, stage / rel)
            members.append((rel, stage / rel))
        manifest = {
            "format": "veilleur-bundle/1",
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "timezone": tz,
            "entries": counts,
            "journal_chain": {
                "ok": chain.ok,
                "entries": chain.entries,
                "first_broken_seq": chain.first_broken_seq,
                "reason": chain.reason,
                "last_hash": _last_hash(j),
            },
            "audit_chain": audit_chain,
            "files": [
                {"path": rel, "bytes": p.stat().st_size, "sha256": _sha256_file(p)}
                for rel, p in members
            ],
        }
        mbytes = json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8")
        partial = out.with_name(out.name + ".partial")
        with partial.open("wb") as sink:
            enc = EncryptingWriter(sink, passphrase, chunk_size=chunk_size, scrypt_n=scrypt_n)
            with tarfile.open(fileobj=enc, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                info = tarfile.TarInfo(MANIFEST)
                info.size = len(mbytes)
                info.mtime = int(time.time())
                tar.addfile(info, io.BytesIO(mbytes))
                for rel, p in members:
                    tar.add(p, arcname=rel, recursive=False)
            enc.close()
            sink.flush()
            os.fsync(sink.fileno())
        partial.replace(out)
    return BundleResult(
        out,
        len(members) + 1,
        enc.plain_bytes,
        out.stat().st_size,
        counts,
        time.perf_counter() - t0,
        chain.ok,
    )


def _last_hash(j: Journal) -> str | None:
    from sqlalchemy import select

    with j.engine.connect() as conn:
        h = conn.execute(select(entries.c.hash).order_by(entries.c.seq.desc()).limit(1)).scalar()
    return None if h is None else str(h)


# --------------------------------------------------------------------------- reading


def safe_member_path(name: str) -> PurePosixPath:
    """The member's relative path; refuses absolute paths, ``..`` and odd names."""
    p = PurePosixPath(name)
    if (
        not name
        or p.is_absolute()
        or name.startswith(("/", "\\"))
        or "\\" in name
        or any(part in ("..", "") for part in p.parts)
        or ":" in p.parts[0]
        or "\x00" in name
    ):
        raise BundleError(f"nom de fichier dangereux dans le lot, refusé : {name!r}")
    return p


@dataclass
class VerifyReport:
    ok: bool
    files: int = 0
    plain_bytes: int = 0
    problems: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "manifest"}
        d["entries"] = self.manifest.get("entries")
        d["journal_chain"] = self.manifest.get("journal_chain")
        return d


def _walk(
    path: Path, passphrase: str, sink: Callable[[PurePosixPath, tarfile.TarInfo], IO[bytes] | None]
) -> VerifyReport:
    """Decrypt and read ``path`` in one pass, checking each file against the manifest."""
    import time

    t0 = time.perf_counter()
    report = VerifyReport(ok=False)
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise BundleError(f"{path}: illisible ({exc.strerror})") from None
    with fh:
        reader = DecryptingReader(fh, passphrase)
        stream = io.BufferedReader(reader, CHUNK_SIZE)
        seen: set[str] = set()
        expected: dict[str, dict[str, Any]] = {}
        try:
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for i, info in enumerate(tar):
                    rel = safe_member_path(info.name)
                    if not info.isfile():
                        if info.isdir():
                            continue
                        raise BundleError(
                            f"membre non ordinaire dans le lot, refusé : {info.name!r}"
                        )
                    src = tar.extractfile(info)
                    assert src is not None
                    if i == 0:
                        if info.name != MANIFEST or info.size > 64 << 20:
                            raise BundleError("le lot ne commence pas par son manifeste")
                        data = src.read()
                        report.manifest = json.loads(data)
                        expected = {f["path"]: f for f in report.manifest["files"]}
                        out = sink(rel, info)
                        if out is not None:
                            with out:
                                out.write(data)
                        continue
                    key = str(rel)
                    if key in seen:
                        raise BundleError(f"fichier en double dans le lot : {key!r}")
                    seen.add(key)
                    out = sink(rel, info)
                    h = hashlib.sha256()
                    try:
                        while block := src.read(1 << 20):
                            h.update(block)
                            if out is not None:
                                out.write(block)
                    finally:
                        if out is not None:
                            out.close()
                    report.files += 1
                    report.plain_bytes += info.size
                    want = expected.get(key)
                    if want is None:
                        report.problems.append(f"{key}: absent du manifeste")
                    elif want["sha256"] != h.hexdigest():
                        report.problems.append(f"{key}: SHA-256 différent du manifeste")
        except tarfile.TarError as exc:
            raise BundleError(f"archive illisible après déchiffrement : {exc}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise BundleError(f"manifeste illisible : {exc}") from None
        # Drain to the final chunk: a bundle cut after the tar's end must still fail.
        while stream.read(1 << 20):
            pass
    report.problems += [f"{p}: manquant" for p in sorted(set(expected) - seen)]
    chain = report.manifest.get("journal_chain") or {}
    if chain and not chain.get("ok", True):
        report.problems.append(
            f"la chaîne du journal était rompue à l'export (entrée {chain.get('first_broken_seq')})"
        )
    report.ok = not report.problems
    report.seconds = time.perf_counter() - t0
    return report


def verify_bundle(path: Path, passphrase: str) -> VerifyReport:
    """Decrypt ``path`` in a streaming pass (nothing written) and check every SHA-256."""
    return _walk(path, passphrase, lambda _rel, _info: None)


def decrypt_bundle(path: Path, to: Path, passphrase: str) -> VerifyReport:
    """Decrypt and extract ``path`` under ``to``, checking every SHA-256 on the way.

    Member names are checked before anything is written (no absolute path, no ``..``, no
    links or devices); files are written under ``to`` only and never overwrite existing ones.
    """
    to.mkdir(parents=True, exist_ok=True)
    root = to.resolve()

    def open_target(rel: PurePosixPath, _info: tarfile.TarInfo) -> IO[bytes]:
        target = (root / Path(*rel.parts)).resolve()
        if root not in target.parents:
            raise BundleError(f"nom de fichier hors du dossier cible, refusé : {str(rel)!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            return target.open("xb")
        except FileExistsError:
            raise BundleError(f"{target}: existe déjà, non écrasé") from None

    return _walk(path, passphrase, open_target)
