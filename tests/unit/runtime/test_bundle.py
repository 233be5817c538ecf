"""End-of-deployment bundle (EX-016, EX-122): open formats, manifest, AES-256-GCM, verify."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import tarfile
from pathlib import Path

import pytest
from tests_helpers import sample_alert
from typer.testing import CliRunner

from veilleur.runtime.journal.bundle import (
    MAGIC,
    BundleError,
    EncryptingWriter,
    WrongPassphrase,
    build_bundle,
    decrypt_bundle,
    safe_member_path,
    verify_bundle,
)
from veilleur.runtime.journal.repository import Journal

pytest.importorskip("cryptography")
pytest.importorskip("pyarrow")

PHRASE = "correct horse battery staple"
FAST_N = 1 << 12  # scrypt cost for tests only (the default is 2**17)


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    j = Journal(tmp_path / "j.db")
    ids = [j.append("alert", sample_alert(i, camera=f"cam-{i % 3}"))["id"] for i in range(300)]
    for n, aid in enumerate(ids[:40]):
        j.append(
            "review",
            {
                "id": f"r{n}",
                "utc": "2026-06-04T00:00:00.000+00:00",
                "alert_id": aid,
                "action": "qualify",
                "actor": "op",
                "qualification": "vrai_positif" if n % 4 else "faux_positif",
            },
        )
    j.append("control", {"id": "c1", "utc": "2026-06-04T00:00:00.000+00:00", "action": "pause"})
    return j


@pytest.fixture
def site_yaml(tmp_path: Path) -> Path:
    p = tmp_path / "site.yaml"
    p.write_text(
        "version: 1\nsite: {name: Stade, timezone: America/Martinique}\n"
        "cameras:\n  - {id: cam-0, source: {url: clip.mp4}}\n",
        encoding="utf-8",
    )
    return p


def _bundle(journal: Journal, tmp_path: Path, site_yaml: Path, chunk: int = 4096) -> Path:
    r = build_bundle(
        journal,
        tmp_path / "usb",
        PHRASE,
        config=site_yaml,
        scrypt_n=FAST_N,
        chunk_size=chunk,
        name="b.veilleur-bundle",
    )
    assert r.path.parent == tmp_path / "usb" and r.chain_ok
    assert r.entries == {"alert": 300, "control": 1, "review": 40}
    assert r.files == 1 + 3 * 3 + 1  # manifest, 3 kinds x (csv, parquet, jsonl), config
    assert list((tmp_path / "usb").iterdir()) == [r.path]  # nothing clear on the drive
    return r.path


@pytest.mark.req("EX-016", "EX-122")
def test_round_trip_verify_and_decrypt(journal: Journal, tmp_path: Path, site_yaml: Path):
    path = _bundle(journal, tmp_path, site_yaml)
    assert path.read_bytes()[: len(MAGIC)] == MAGIC
    assert b"vrai_positif" not in path.read_bytes() and b"cam-1" not in path.read_bytes()
    rep = verify_bundle(path, PHRASE)
    assert rep.ok and rep.files == 10 and not rep.problems
    assert rep.manifest["entries"]["alert"] == 300
    assert rep.manifest["journal_chain"]["ok"] is True
    out = tmp_path / "clear"
    rep2 = decrypt_bundle(path, out, PHRASE)
    assert rep2.ok
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for f in manifest["files"]:
        assert hashlib.sha256((out / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    assert (out / "config/site.yaml").read_text(encoding="utf-8") == site_yaml.read_text()
    lines = (out / "journal/review.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 40 and json.loads(lines[0])["qualification"] == "false_positive"
    import pyarrow.parquet as pq

    t = pq.read_table(out / "journal/alert.parquet")
    assert t.num_rows == 300
    assert t.column("qualification").to_pylist()[:4] == [
        "false_positive",
        "true_positive",
        "true_positive",
        "true_positive",
    ]
    with pytest.raises(BundleError, match="existe déjà"):
        decrypt_bundle(path, out, PHRASE)  # never overwrites


@pytest.mark.req("EX-122")
def test_wrong_passphrase(journal: Journal, tmp_path: Path, site_yaml: Path):
    path = _bundle(journal, tmp_path, site_yaml)
    with pytest.raises(WrongPassphrase, match="phrase de passe incorrecte"):
        verify_bundle(path, PHRASE + "!")
    with pytest.raises(BundleError, match="trop courte"):
        build_bundle(journal, tmp_path / "x", "court", scrypt_n=FAST_N)


def _records(data: bytes) -> tuple[int, list[tuple[int, int]]]:
    """Offset of the first chunk, and (offset, length) of each chunk record."""
    (hlen,) = struct.unpack(">I", data[8:12])
    pos = start = 12 + hlen
    recs = []
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        recs.append((pos, 4 + n))
        pos += 4 + n
    return start, recs


@pytest.mark.req("EX-122")
def test_truncated_flipped_reordered_and_extended_bundles_are_refused(
    journal: Journal, tmp_path: Path, site_yaml: Path
):
    path = _bundle(journal, tmp_path, site_yaml)
    data = path.read_bytes()
    start, recs = _records(data)
    assert len(recs) > 10
    bad = tmp_path / "bad.veilleur-bundle"

    def check(blob: bytes, match: str) -> None:
        bad.write_bytes(blob)
        with pytest.raises(BundleError, match=match):
            verify_bundle(bad, PHRASE)

    last_off = recs[-1][0]
    check(data[:last_off], "ne s'authentifie pas|tronqué")  # final chunk dropped, on a boundary
    check(data[: len(data) - 7], "tronqué")  # cut inside the final chunk
    check(data[: recs[3][0] + 100], "tronqué")  # cut in the middle
    check(data[:5], "en-tête")
    flipped = bytearray(data)
    flipped[recs[5][0] + 50] ^= 0x01
    check(bytes(flipped), "bloc 5 ne s'authentifie pas")
    (o1, l1), (o2, l2) = recs[2], recs[3]
    swapped = data[:o1] + data[o2 : o2 + l2] + data[o1 : o1 + l1] + data[o2 + l2 :]
    check(swapped, "bloc 2 ne s'authentifie pas")
    check(data + data[recs[-1][0] :], "ne s'authentifie pas")  # a chunk appended after the end
    header = bytearray(data)
    header[start - 3] ^= 0x01  # inside the JSON header
    bad.write_bytes(bytes(header))
    with pytest.raises(BundleError):
        verify_bundle(bad, PHRASE)
    with pytest.raises(BundleError, match="pas un lot"):
        bad.write_bytes(b"PK\x03\x04" + data[4:])
        verify_bundle(bad, PHRASE)


def _crafted(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    with path.open("wb") as sink:
        enc = EncryptingWriter(sink, PHRASE, scrypt_n=FAST_N)
        with tarfile.open(fileobj=enc, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for info, body in members:
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body) if info.isfile() else None)
        enc.close()


def _manifest(files: dict[str, bytes]) -> tuple[tarfile.TarInfo, bytes]:
    body = json.dumps(
        {"files": [{"path": k, "sha256": hashlib.sha256(v).hexdigest()} for k, v in files.items()]}
    ).encode()
    return tarfile.TarInfo("manifest.json"), body


@pytest.mark.req("EX-122")
@pytest.mark.parametrize(
    "name", ["../evil.txt", "/etc/evil.txt", "a/../../evil.txt", "a\\..\\evil.txt", "C:evil.txt"]
)
def test_path_traversal_is_refused_on_extraction(tmp_path: Path, name: str):
    path = tmp_path / "evil.veilleur-bundle"
    _crafted(path, [_manifest({name: b"x"}), (tarfile.TarInfo(name), b"x")])
    out = tmp_path / "out" / "inner"
    with pytest.raises(BundleError, match="dangereux"):
        decrypt_bundle(path, out, PHRASE)
    assert not (tmp_path / "out" / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()
    assert list(out.iterdir()) == [out / "manifest.json"]


@pytest.mark.req("EX-122")
def test_links_missing_and_altered_files_are_reported(tmp_path: Path):
    path = tmp_path / "link.veilleur-bundle"
    link = tarfile.TarInfo("journal/x.csv")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    _crafted(path, [_manifest({}), (link, b"")])
    with pytest.raises(BundleError, match="non ordinaire"):
        decrypt_bundle(path, tmp_path / "o1", PHRASE)
    path2 = tmp_path / "alt.veilleur-bundle"
    _crafted(
        path2,
        [
            _manifest({"a.csv": b"original", "b.csv": b"b"}),
            (tarfile.TarInfo("a.csv"), b"altered"),
            (tarfile.TarInfo("c.csv"), b"c"),
        ],
    )
    rep = verify_bundle(path2, PHRASE)
    assert not rep.ok
    assert rep.problems == [
        "a.csv: SHA-256 différent du manifeste",
        "c.csv: absent du manifeste",
        "b.csv: manquant",
    ]
    assert safe_member_path("journal/alert.csv").parts == ("journal", "alert.csv")


@pytest.mark.req("EX-016", "EX-122")
def test_cli_export_bundle_verify_decrypt(journal: Journal, tmp_path: Path, site_yaml: Path):
    from veilleur.runtime.cli import app

    runner = CliRunner()
    pf = tmp_path / "phrase.txt"
    pf.write_text(PHRASE + "\n", encoding="utf-8")
    db = str(tmp_path / "j.db")
    r = runner.invoke(
        app,
        [
            "export-bundle",
            "--journal",
            db,
            "--to",
            str(tmp_path / "usb"),
            "--config",
            str(site_yaml),
            "--audit",
            str(tmp_path / "audit.db"),
            "--passphrase-file",
            str(pf),
        ],
    )
    assert r.exit_code == 2 and "audit.db: journal introuvable" in r.output
    from veilleur.runtime.auth.audit import AuditLog

    AuditLog(tmp_path / "audit.db").record("login", actor="agent")
    r = runner.invoke(
        app,
        ["export-bundle", "--journal", db, "--to", str(tmp_path / "usb"), "--config",
         str(site_yaml), "--audit", str(tmp_path / "audit.db"), "--passphrase-file", str(pf)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["entries"] == {"alert": 300, "control": 1, "review": 40}
    assert out["files"] == 1 + 3 * 3 + 3 + 1  # manifest, journal, audit, config
    bundle = out["bundle"]
    r = runner.invoke(app, ["export-bundle", "verify", bundle, "--passphrase-file", str(pf)])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["ok"] is True
    r = runner.invoke(
        app,
        [
            "export-bundle",
            "decrypt",
            bundle,
            "--to",
            str(tmp_path / "c"),
            "--passphrase-file",
            str(pf),
        ],
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "c" / "config" / "site.yaml").is_file()
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["timezone"] == "America/Martinique"  # local times follow the site
    assert "-04:00" in (tmp_path / "c" / "journal" / "alert.csv").read_text(encoding="utf-8")
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the passphrase\n", encoding="utf-8")
    r = runner.invoke(app, ["export-bundle", "verify", bundle, "--passphrase-file", str(wrong)])
    assert r.exit_code == 1 and "phrase de passe incorrecte" in r.output
    short = tmp_path / "short.txt"
    short.write_text("abc\n", encoding="utf-8")
    r = runner.invoke(
        app,
        [
            "export-bundle",
            "--journal",
            db,
            "--to",
            str(tmp_path / "u2"),
            "--passphrase-file",
            str(short),
        ],
    )
    assert r.exit_code == 2 and "trop courte" in r.output


@pytest.mark.req("EX-014")
def test_cli_journal_export_and_stats(journal: Journal, tmp_path: Path):
    from veilleur.runtime.cli import app

    runner = CliRunner()
    db = str(tmp_path / "j.db")
    r = runner.invoke(
        app,
        [
            "journal",
            "export",
            str(tmp_path / "fp.csv"),
            "--journal",
            db,
            "--qualification",
            "false_positive",
            "--camera",
            "cam-0",
        ],
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["rows"] == 4  # alerts 0, 12, 24, 36 (every 4th review is FP)
    r = runner.invoke(app, ["journal", "export", str(tmp_path / "x.doc"), "--journal", db])
    assert r.exit_code == 2 and "extension inconnue" in r.output
    r = runner.invoke(app, ["journal", "stats", "--journal", db])
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    assert s["total"] == 300 and s["true_positives"] == 30 and s["false_positives"] == 10


_VERIFY = """
import json, sys
from pathlib import Path
from veilleur.runtime.journal.bundle import verify_bundle
import cryptography.hazmat.primitives.ciphers.aead, cryptography.hazmat.primitives.kdf.scrypt
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
def hwm():
    with open("/proc/self/status") as f:
        return next(int(x.split()[1]) * 1024 for x in f if x.startswith("VmHWM"))
base = rss()
rep = verify_bundle(Path(sys.argv[1]), sys.argv[2])
print(json.dumps({"ok": rep.ok, "bytes": rep.plain_bytes, "growth": hwm() - base}))
"""


@pytest.mark.req("EX-122")
def test_verify_streams_a_large_bundle_in_bounded_memory(tmp_path: Path, repo_root: Path):
    import subprocess
    import sys

    big = tmp_path / "big.bin"
    block = bytes(range(256)) * 4096  # 1 MiB
    size = 128 << 20
    with big.open("wb") as fh:
        for _ in range(size >> 20):
            fh.write(block)
    path = tmp_path / "big.veilleur-bundle"
    info = tarfile.TarInfo("big.bin")
    with path.open("wb") as sink:
        enc = EncryptingWriter(sink, PHRASE, scrypt_n=FAST_N)
        with tarfile.open(fileobj=enc, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            man, body = _manifest({})
            man.size = len(body)
            tar.addfile(man, io.BytesIO(body))
            info.size = size
            with big.open("rb") as src:
                tar.addfile(info, src)
        enc.close()
    big.unlink()
    res = subprocess.run(
        [sys.executable, "-c", _VERIFY, str(path), PHRASE],
        capture_output=True, text=True, cwd=repo_root, check=True,
    )  # fmt: skip
    m = json.loads(res.stdout.strip().splitlines()[-1])
    assert m["bytes"] == size and m["ok"] is False  # big.bin is not in the (empty) manifest
    # One 1 MiB chunk in and out, the tar reader's buffer, scrypt's 4 MiB at this cost:
    # far below the 128 MiB a non-streamed decryption would hold.
    print(m)
    assert m["growth"] < 32 << 20, m


@pytest.mark.req("EX-016", "EX-122", "EX-024")
def test_bundle_carries_the_audit_log_application_logs_and_snapshots(
    journal: Journal, tmp_path: Path, site_yaml: Path
):
    from veilleur.runtime.auth.audit import AuditLog

    audit = AuditLog(tmp_path / "audit.db")
    for who in ("agent", "chef"):
        audit.record("login", actor=who, ip="10.0.0.2")
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "veilleur.log").write_text('{"level": "ERROR", "message": "flux perdu"}\n')
    (logs / "veilleur.log.1").write_text('{"level": "WARNING", "message": "ancien"}\n')
    snaps = tmp_path / "snapshots" / "2026-11-28"
    snaps.mkdir(parents=True)
    (snaps / "a.jpg").write_bytes(b"\xff\xd8jpeg")
    r = build_bundle(
        journal, tmp_path / "usb", PHRASE, config=site_yaml, audit=audit.journal,
        app_logs=logs / "veilleur.log", snapshots=tmp_path / "snapshots", scrypt_n=FAST_N,
    )  # fmt: skip
    out = tmp_path / "clear"
    assert decrypt_bundle(r.path, out, PHRASE).ok
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["audit_chain"]["ok"] is True and manifest["audit_chain"]["entries"] == 2
    lines = (out / "audit/audit.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["event"] for x in lines] == ["login", "login"]
    assert (out / "logs/veilleur.log.1").read_text().endswith('"ancien"}\n')
    assert (out / "snapshots/2026-11-28/a.jpg").read_bytes() == b"\xff\xd8jpeg"
