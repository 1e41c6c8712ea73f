"""Training time on 100,000 labeled comments (the issue's goal: under two minutes here).

    .venv/bin/python bench/quality_train_time.py [--rows 100000]

The public corpora hold 40,891 civility examples; the rest up to ``--rows`` are made by joining
two random examples of the same class (same label, new text), so the vocabulary and the
sparse matrix grow as they would with more real data. Times the civility pipeline exactly as
``modkit train`` fits it (features + calibrated linear SVM, the same weights) and the topic
pipeline, without cross-validation (``modkit train --no-eval``); cross-validation costs about
five more fits.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def _tasks():
    from modkit.labels import schema_for as _sf
    from modkit.tasks import Registry

    reg = Registry.from_schema(_sf(ROOT / "labels"))
    return reg.task("civility"), reg.task("topic")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "train_time.json")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    from modkit import data, model
    from modkit.labels import schema_for

    CIVILITY, TOPIC = _tasks()

    td = model.gather(schema_for(ROOT / "labels"), ROOT / "labels", [ROOT / "seeds"], seed=args.seed)
    civ = td.examples["civility"].reset_index(drop=True)
    rng = np.random.default_rng(args.seed)
    extra = max(0, args.rows - len(civ))
    parts = [civ]
    if extra:
        a = rng.integers(0, len(civ), extra)
        same = civ.groupby("civility").indices
        b = np.array([rng.choice(same[civ.at[i, "civility"]]) for i in a])
        joined = civ.iloc[a].reset_index(drop=True).copy()
        joined["text"] = civ["text"].to_numpy()[a] + " " + civ["text"].to_numpy()[b]
        joined["comment_id"] = [f"join-{k}" for k in range(extra)]
        parts.append(joined)
    big = pd.concat(parts, ignore_index=True)
    y = big["civility"].to_numpy().astype(str)
    w = model.balanced_weights(big["civility"], big["source"])
    lexicon = data.load_lexicon()
    t = time.perf_counter()
    model.task_pipeline(CIVILITY, lexicon, len(big), args.seed).fit(big, y, clf__sample_weight=w)
    civ_s = time.perf_counter() - t
    top = td.examples["topic"]
    t = time.perf_counter()
    model.task_pipeline(TOPIC, lexicon, len(top), args.seed).fit(top, top["topic"].to_numpy().astype(str))
    top_s = time.perf_counter() - t
    res = {"rows": len(big), "real_rows": len(civ), "civility_fit_s": round(civ_s, 1),
           "topic_fit_s": round(top_s, 1), "total_s": round(civ_s + top_s, 1)}
    print(f"civility pipeline on {len(big)} labeled comments ({len(civ)} real): {civ_s:.1f} s; "
          f"topic pipeline on {len(top)}: {top_s:.1f} s; total {civ_s + top_s:.1f} s (goal < 120 s)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
