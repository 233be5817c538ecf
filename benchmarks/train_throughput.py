"""Training throughput of the detector on this machine: images/s and data-loader wait share.

Usage::

    .venv/bin/python benchmarks/train_throughput.py [--data data/processed] [--workers 0,1,2]
        [--steps 10] [--batch-size 16] [--input-size 288 352] [--model-size nano] [--out FILE]

Same data path (letterbox + augmentation), model and optimiser step as ``veilleur train``. For
each ``num_workers`` it prints images/s, the share of the time spent waiting for the next batch
and the speed ratio against the first setting; on a GPU (picked automatically) a wait share
well above 0 means the loader starves it. Keep runs short on shared CPUs.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

from veilleur.runtime.offline import air_gap


def main(argv: list[str] | None = None) -> int:
    air_gap()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/processed"))
    parser.add_argument("--workers", default="0,1,2", help="num_workers values, comma-separated")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--input-size", type=int, nargs=2, default=(288, 352))
    parser.add_argument("--model-size", default="nano")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    parser.add_argument("--out", type=Path, default=None, help="JSON results")
    args = parser.parse_args(argv)

    import torch

    from veilleur.runtime.core.taxonomy import CLASSES
    from veilleur.training.bench import measure
    from veilleur.training.config import TrainParams

    # One throwaway run first: the first training steps of a process pay one-time costs
    # (oneDNN kernel selection, allocator growth) that would bias the first setting.
    warm = TrainParams(
        model_size=args.model_size,
        input_size=tuple(args.input_size),
        batch_size=args.batch_size,
        num_workers=0,
        max_train_images=args.batch_size * 3,
    )
    measure(args.data, warm, CLASSES, 1, 2, args.device)
    rows = []
    for workers in (int(w) for w in args.workers.split(",")):
        params = TrainParams(
            model_size=args.model_size,
            input_size=tuple(args.input_size),
            batch_size=args.batch_size,
            num_workers=workers,
            max_train_images=max(args.batch_size * (args.steps + args.warmup), 1),
        )
        r = measure(args.data, params, CLASSES, args.steps, args.warmup, args.device)
        rows.append(
            {
                "workers": workers,
                "device": r.device,
                "images": r.images,
                "seconds": round(r.seconds, 3),
                "images_per_s": round(r.images_per_s, 2),
                "loader_wait_share": round(r.wait_share, 3),
            }
        )
    base = rows[0]["images_per_s"] or 1.0
    sys.stdout.write(
        f"training throughput: {args.model_size} {list(args.input_size)}, batch "
        f"{args.batch_size}, {args.steps} steps, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads\n"
        "workers  device  images/s  loader wait  ratio\n"
    )
    for row in rows:
        row["ratio_vs_first"] = round(float(row["images_per_s"]) / float(base), 2)
        sys.stdout.write(
            f"{row['workers']:>7}  {row['device']:>6}  {row['images_per_s']:>8}  "
            f"{float(row['loader_wait_share']):>10.1%}  {row['ratio_vs_first']:>5}\n"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"python": platform.python_version(), "args": vars(args), "rows": rows}
        args.out.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
