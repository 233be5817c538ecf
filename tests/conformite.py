"""Regenerate ``docs/conformite.md``: every requirement of the digest against what covers it.

Reads the requirement table of ``../shared/requirements.md``, the ``req`` marks and outcomes of
the last test run (``.cache/req-results.json``, written by ``tests/conftest.py``), and the
requirement ids cited in ``docs/*.md``. Run by ``make test`` after pytest.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQ_ROW = re.compile(
    r"^\| ((?:EX|ARCH)-\d{3}) \| ([^|]*) \| ([^|]*) \| (.*) \| ([^|]*) \| (.*) \|$"
)
REQ_ID = re.compile(r"\b((?:EX|ARCH)-\d{3})\b")


def parse_requirements(path: Path) -> list[dict[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = REQ_ROW.match(line.strip())
        if m:
            rid, level, section, statement, software, _hint = (g.strip() for g in m.groups())
            rows.append(
                {
                    "id": rid,
                    "level": level,
                    "section": section,
                    "statement": statement,
                    "software": software,
                }
            )
    return rows


def docs_citations(docs: Path, exclude: Path) -> dict[str, set[str]]:
    cited: dict[str, set[str]] = defaultdict(set)
    for doc in sorted(docs.resolve().rglob("*.md")):
        if doc.resolve() == exclude.resolve():
            continue
        for rid in REQ_ID.findall(doc.read_text(encoding="utf-8")):
            cited[rid].add(doc.relative_to(ROOT).as_posix())
    return cited


def shorten(text: str, n: int = 110) -> str:
    text = re.sub(r"\*\*|`", "", text)
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def render(
    reqs: list[dict[str, str]], results: dict[str, dict[str, object]], cited: dict[str, set[str]]
) -> str:
    tests: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for nodeid, entry in sorted(results.items()):
        for rid in entry["reqs"]:  # type: ignore[attr-defined]
            tests[str(rid)].append((nodeid, str(entry["outcome"])))
    symbol = {"passed": "✅", "failed": "❌", "skipped": "⏭️", "not run": "·"}
    lines = [
        "# Matrice de conformité",
        "",
        "Générée par `make test` (`tests/conformite.py`) : ne pas modifier à la main.",
        "Chaque exigence du CCTP (résumé `../shared/requirements.md`) face aux tests qui la",
        "couvrent (marque `@pytest.mark.req`) et aux documents qui la citent.",
        "",
    ]
    software = [r for r in reqs if r["software"] != "no"]
    covered = [r for r in software if tests.get(r["id"])]
    passing = [r for r in covered if all(o == "passed" for _, o in tests[r["id"]])]
    lines += [
        f"- Exigences logicielles (yes / partly / doc) : **{len(software)}**",
        f"- Couvertes par au moins un test : **{len(covered)}**, dont tous les tests passent : "
        f"**{len(passing)}**",
        f"- Citées par la documentation seulement : "
        f"**{sum(1 for r in software if not tests.get(r['id']) and cited.get(r['id']))}**",
        "",
        "| Exigence | Niveau | Logiciel | Énoncé (résumé) | Tests | Documents |",
        "|---|---|---|---|---|---|",
    ]
    for r in reqs:
        t = tests.get(r["id"], [])
        cell_tests = "<br>".join(f"{symbol.get(o, o)} `{n}`" for n, o in t) or "—"
        cell_docs = "<br>".join(sorted(cited.get(r["id"], ()))) or "—"
        lines.append(
            f"| {r['id']} | {r['level']} | {r['software']} | {shorten(r['statement'])} | "
            f"{cell_tests} | {cell_docs} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requirements", type=Path, default=ROOT.parent / "shared" / "requirements.md")
    ap.add_argument("--results", type=Path, default=ROOT / ".cache" / "req-results.json")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "conformite.md")
    args = ap.parse_args(argv)
    args.out = args.out.resolve()
    reqs = parse_requirements(args.requirements)
    if not reqs:
        print(f"no requirement rows found in {args.requirements}", file=sys.stderr)
        return 1
    results = json.loads(args.results.read_text()) if args.results.is_file() else {}
    unknown = sorted(
        {str(r) for e in results.values() for r in e["reqs"]} - {r["id"] for r in reqs}
    )
    if unknown:
        print(f"tests cite unknown requirement ids: {unknown}", file=sys.stderr)
        return 1
    args.out.write_text(
        render(reqs, results, docs_citations(args.out.parent, args.out)), encoding="utf-8"
    )
    print(f"{args.out}: {len(reqs)} requirements, {len(results)} traced tests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
