"""Why try X7's distillation moved whole boxes it held to the teacher: a network with the
weights of one checkpoint and the BatchNorm running statistics of another, exported as a run.

    .venv/bin/python docs/results/tries/batchnorm_swap.py checkpoints/fl_dl_sheet2.pt \
        /work/runs/X_filtered/best.pt /tmp/bn/shipW_x7BN
    .venv/bin/python docs/results/tries/batchnorm_swap.py /work/runs/X_filtered/best.pt \
        checkpoints/fl_dl_sheet2.pt /tmp/bn/x7W_shipBN
    deepssetracer evaluate --pairs ../shared/data/real --lowpass 6,8 --threads 2 \
        --weights /tmp/bn/NAME/deepssetracer.onnx --json batchnorm_swap_NAME.json
    python scripts/compare_evals.py --reference docs/results/eval_real.json --name shipped \
        X7=docs/results/tries/distill_pool_filtered_eval_real.json \
        shipped_weights_X7_stats=... X7_weights_shipped_stats=...
    (output: batchnorm_swap.txt beside it; model card, try X9)
"""
import sys
from pathlib import Path

import torch
from chimerax.deepssetracer.train.finish import finish


def state(path: str) -> tuple[dict, dict]:
    saved = torch.load(path, map_location="cpu", weights_only=False)
    return saved, (saved.get("ema") or saved["model"])


def hybrid(weights_from: str, stats_from: str, out: str) -> None:
    saved, weights = state(weights_from)
    _, stats = state(stats_from)
    mix = {k: (stats[k] if ("running_" in k or "num_batches" in k) else v).clone()
           for k, v in weights.items()}
    run = Path(out)
    run.mkdir(parents=True, exist_ok=True)
    config = {**saved["config"], "description": f"weights {weights_from}, BatchNorm "
                                                f"statistics {stats_from}"}
    torch.save({"model": mix, "step": 0, "score": None, "config": config}, run / "best.pt")
    print(finish(run))


hybrid(*sys.argv[1:4])
