"""``veilleur calibrate-density``: fit a densite rule's count correction on annotated clips.

Prints the held-out error before and after correction, and the ``count_correction`` line to
paste into the rule of the site file.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from veilleur.evaluation.density_calibration import (
    calibrate,
    ground_truth_detector,
    onnx_frame_detector,
    write,
)
from veilleur.evaluation.event_eval import clips_from_manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="veilleur calibrate-density", description=__doc__)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--bundle", type=Path, help="manifest.json of annotated clips.")
    src.add_argument("--generate", type=int, metavar="N", help="Render N crowded clips first.")
    ap.add_argument("--clips-dir", type=Path)
    ap.add_argument("--seed", type=int, default=200)
    ap.add_argument("--rule", default="densite-zone", help="Id of the densite rule to fit.")
    ap.add_argument(
        "--detector", default=None, help="ONNX detector (default: ground truth with --drop)."
    )
    ap.add_argument("--confidence", type=float, default=0.35)
    ap.add_argument(
        "--drop", type=float, default=0.3, help="Without --detector: share of boxes missed."
    )
    ap.add_argument("--min-frames", type=int, default=3)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)

    if args.bundle is not None:
        if not args.bundle.is_file():
            ap.error(f"{args.bundle}: no such manifest file")
        specs = clips_from_manifest(args.bundle)
        specs = [s for s in specs if "densite" in s.site.read_text(encoding="utf-8")]
    else:
        from veilleur.data.synth.bundle import generate_clip
        from veilleur.data.synth.params import SynthParams
        from veilleur.evaluation.event_eval import ClipSpec

        out = args.clips_dir or Path(tempfile.mkdtemp(prefix="veilleur-density-"))
        params = SynthParams(seed=args.seed, duration_s=8.0, density_weights={"high": 1.0})
        specs, records = [], []
        for i in range(args.generate):
            rec = generate_clip(params, i, out, "density")
            records.append(rec.model_dump(mode="json"))
            specs.append(ClipSpec(rec.id, out / rec.site, out / rec.coco, out / rec.events))
        # a manifest, so that the same clips can be measured again with --bundle
        (out / "manifest.json").write_text(json.dumps({"clips": records}, indent=1) + "\n")
    if args.detector is not None:
        model = Path(args.detector)
        if not model.is_file():
            ap.error(f"{model}: no such detector file")
        detect = onnx_frame_detector(model, args.confidence)
    else:
        detect = ground_truth_detector(args.drop, args.seed)
    try:
        result = calibrate(specs, args.rule, detect, args.min_frames)
    except ValueError as exc:
        ap.exit(2, f"erreur: {exc}\n")
    d = result.to_dict()
    print(  # noqa: T201 - the command's output
        f"Règle {result.rule_id} : {result.fit_frames} images d'ajustement, "
        f"{result.holdout_frames} images de contrôle\n"
        f"Erreur absolue moyenne (contrôle) : brute {result.mae_raw}, corrigée "
        f"{result.mae_corrected} personne(s) ; biais brut {result.bias_raw}, corrigé "
        f"{result.bias_corrected}\n"
        f"count_correction: {json.dumps(d['count_correction'])}"
    )
    if args.out is not None:
        write(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
