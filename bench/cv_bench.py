"""modkit.model.grouped_folds against sklearn's StratifiedGroupKFold: seconds and class balance.

    .venv/bin/python bench/cv_bench.py                        # table on stdout, bench/results/cv.json
    PYTHONPATH=/other/checkout/src .venv/bin/python bench/cv_bench.py --json /tmp/cv.json

Two shapes, 5 folds each, ``--seeds`` seeds (``grouped_folds(y, groups, 5, seed)`` and
``StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)``):

- ``civility``: the civility training data's shape: every labeled comment of
  ``modkit.data.load_civil_comments`` and ``load_davidson`` (``data/``) as its own one-comment
  group (their ``group`` column), plus 38 seed-like rows in 5 multi-comment groups (6, 12, 12,
  4, 4 comments; 23 civil, 14 uncivil, 1 abusive, shuffled);
- ``small``: 4,000 rows in 400 groups of 10 (labels drawn from the civility labels, groups
  assigned at random).

Figures: seconds per split (all 5 folds; best and mean over seeds), rows per test fold (min,
max), and the class balance: the largest absolute difference between a class's share in a test
fold and its share overall, over folds and classes (worst over seeds), plus whether any group
lands on both sides of a split.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if importlib.util.find_spec("modkit") is None:
    sys.path.insert(1, str(ROOT / "src"))

import numpy as np


def civility_shape(root: Path) -> tuple[np.ndarray, np.ndarray]:
    from modkit import data

    frames = [data.load_civil_comments(root=root), data.load_davidson(root=root)]
    y = np.concatenate([f["civility"].astype(str).to_numpy() for f in frames])
    g = np.concatenate([f["group"].astype(str).to_numpy() for f in frames])
    rng = np.random.default_rng(38)
    seed_y = np.array(["civil"] * 23 + ["uncivil"] * 14 + ["abusive"] * 1, dtype=object)
    rng.shuffle(seed_y)
    seed_g = np.repeat([f"page:seed{i}" for i in range(5)], [6, 12, 12, 4, 4])
    return np.concatenate([y, seed_y]).astype(str), np.concatenate([g, seed_g]).astype(str)


def small_shape(y_pool: np.ndarray, n: int = 4000, n_groups: int = 400) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4000)
    y = rng.choice(y_pool, size=n, replace=False)
    g = np.array([f"g{i % n_groups}" for i in rng.permutation(n)])
    return y, g


def balance(y: np.ndarray, groups: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, object]:
    classes = np.unique(y)
    overall = np.array([(y == c).mean() for c in classes])
    dev = 0.0
    sizes = []
    leak = False
    covered = np.zeros(len(y), dtype=int)
    for train, test in folds:
        sizes.append(len(test))
        covered[test] += 1
        shares = np.array([(y[test] == c).mean() for c in classes]) if len(test) else overall
        dev = max(dev, float(np.abs(shares - overall).max()))
        leak = leak or bool(set(groups[train]) & set(groups[test]))
    return {"max_share_deviation": round(dev, 4), "test_rows_min": int(min(sizes)), "test_rows_max": int(max(sizes)),
            "group_on_both_sides": leak, "every_row_tested_once": bool((covered == 1).all())}


def run(name: str, y: np.ndarray, groups: np.ndarray, seeds: list[int]) -> dict[str, object]:
    from sklearn.model_selection import StratifiedGroupKFold

    from modkit.model import grouped_folds

    methods = {
        "modkit grouped_folds": lambda s: grouped_folds(y, groups, 5, s),
        "sklearn StratifiedGroupKFold": lambda s: list(
            StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=s).split(np.zeros(len(y)), y, groups)),
    }
    classes, counts = np.unique(y, return_counts=True)
    out: dict[str, object] = {"rows": len(y), "groups": len(np.unique(groups)),
                              "class_shares": {str(c): round(float(n) / len(y), 4) for c, n in zip(classes, counts)},
                              "methods": {}}
    for mname, fn in methods.items():
        secs, bals = [], []
        for s in seeds:
            t = time.perf_counter()
            folds = fn(s)
            secs.append(time.perf_counter() - t)
            bals.append(balance(y, groups, folds))
        out["methods"][mname] = {  # type: ignore[index]
            "seconds_best": round(min(secs), 4), "seconds_mean": round(float(np.mean(secs)), 4),
            "max_share_deviation": max(b["max_share_deviation"] for b in bals),
            "test_rows_min": min(b["test_rows_min"] for b in bals), "test_rows_max": max(b["test_rows_max"] for b in bals),
            "group_on_both_sides": any(b["group_on_both_sides"] for b in bals),
            "every_row_tested_once": all(b["every_row_tested_once"] for b in bals),
            "per_seed": [{"seed": s, "seconds": round(t, 4), **b} for s, t, b in zip(seeds, secs, bals)],
        }
        print(f"  {name}: {mname} done ({min(secs):.3f} s best)", file=sys.stderr, flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT / "data")
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "cv.json")
    args = ap.parse_args(argv)
    import sklearn

    import modkit

    seeds = [int(s) for s in args.seeds.split(",")]
    y, g = civility_shape(args.data)
    ys, gs = small_shape(y)
    shapes = {"civility": run("civility", y, g, seeds), "small": run("small", ys, gs, seeds)}
    print("| data | rows / groups | method | seconds (best, mean) | test rows per fold | max class-share deviation | group leak |")
    print("|---|---|---|---|---|---|---|")
    for name, res in shapes.items():
        for mname, r in res["methods"].items():
            print(f"| {name} | {res['rows']:,} / {res['groups']:,} | {mname} | {r['seconds_best']:.3f}, "
                  f"{r['seconds_mean']:.3f} | {r['test_rows_min']:,}-{r['test_rows_max']:,} | "
                  f"{r['max_share_deviation']:.4f} | {'yes' if r['group_on_both_sides'] else 'no'} |")
    for name, res in shapes.items():
        a, b = res["methods"]["modkit grouped_folds"], res["methods"]["sklearn StratifiedGroupKFold"]
        res["speedup_mean"] = round(b["seconds_mean"] / a["seconds_mean"], 1)
        print(f"{name}: grouped_folds {res['speedup_mean']}x faster (mean); class shares {res['class_shares']}")
    result = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "cwd": os.getcwd(),
              "modkit": str(Path(modkit.__file__).resolve().parent), "sklearn": sklearn.__version__,
              "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "loadavg": [round(x, 2) for x in os.getloadavg()],
              "seeds": seeds, "shapes": shapes}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
