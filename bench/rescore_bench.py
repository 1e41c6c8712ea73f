"""One stage or two: the fast civility model alone, or with the e5 second stage deciding the
comments near a threshold.

    .venv/bin/pip install -e '.[rescore,bench]'
    .venv/bin/python bench/rescore_bench.py [--examples 1500] [--band 0.1]   # about 5 minutes

Held out: 20% of civil-comments-toxic-spans (the split of bench/civility_mix.py), never trained
on. The fast pipeline is trained on the rest plus the Davidson tweets and the seed labels (the
shipped recipe without identity swaps); the e5 stage (modkit.rescore.fit_rescorer) on at most
``--examples`` of the same examples. Thresholds: the shipped model's balanced ones. Figures:
ROC-AUC of uncivil-or-abusive and of abusive for one stage and two, how many comments the
second stage rescored, comments/s of each stage. Writes ``bench/results/rescore.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=1500)
    ap.add_argument("--band", type=float, default=0.1)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    from modkit import data, model
    from modkit.labels import schema_for
    from modkit.rescore import fit_rescorer
    from modkit.tasks import Registry

    spec = Registry.from_schema(schema_for(ROOT / "labels")).task("civility")
    td = model.gather(schema_for(ROOT / "labels"), ROOT / "labels", [ROOT / "seeds"],
                      data=["civil-comments-toxic-spans", "davidson-2017"])
    civ = td.examples["civility"].reset_index(drop=True)
    rng = np.random.default_rng(0)
    held = (civ["source"] == "civil-comments-toxic-spans").to_numpy() & (rng.random(len(civ)) < 0.2)
    train, test = civ[~held].reset_index(drop=True), civ[held].reset_index(drop=True)
    y, yt = train["civility"].to_numpy().astype(str), test["civility"].to_numpy().astype(str)
    w = model.balanced_weights(train["civility"], train["source"])
    lexicon = data.load_lexicon(ROOT / "data")
    fast = model.task_pipeline(spec, lexicon, len(train), 0).fit(train, y, clf__sample_weight=w)
    t0 = time.perf_counter()
    rescorer, n_seen = fit_rescorer(train.assign(augmented=False), y, w, 0, args.examples)
    fit_s = time.perf_counter() - t0
    thr = model.load_model(ROOT / "models" / "default").thresholds["balanced"]
    t0 = time.perf_counter()
    P = fast.predict_proba(test)
    fast_s = time.perf_counter() - t0
    cls = [str(c) for c in fast.classes_]

    def figures(P: np.ndarray) -> dict[str, float]:
        p_ab = P[:, cls.index("abusive")]
        return {"uncivil_or_abusive_auc": round(roc_auc_score(yt != "civil", p_ab + P[:, cls.index("uncivil")]), 4),
                "abusive_auc": round(roc_auc_score(yt == "abusive", p_ab), 4)}

    one = figures(P)
    p_ab = P[:, cls.index("abusive")]
    p_unc = p_ab + P[:, cls.index("uncivil")]
    near = (np.abs(p_unc - thr["UNCIVIL"]) < args.band) | (np.abs(p_ab - thr["ABUSIVE"]) < args.band)
    t0 = time.perf_counter()
    Q = rescorer.predict_proba(test[near])
    e5_s = time.perf_counter() - t0
    P2 = P.copy()
    qcls = [str(c) for c in rescorer.classes_]
    P2[near] = 0.0
    for j, c in enumerate(qcls):
        P2[near, cls.index(c)] = Q[:, j]
    two = figures(P2)
    res = {"held_out": len(test), "band": args.band, "rescorer_examples": n_seen,
           "rescorer_fit_seconds": round(fit_s, 1), "rescored": int(near.sum()),
           "one_stage": one, "two_stages": two,
           "fast_comments_per_s": round(len(test) / fast_s), "e5_comments_per_s": round(near.sum() / max(e5_s, 1e-9), 1),
           "two_stage_comments_per_s": round(len(test) / (fast_s + e5_s), 1)}
    print(json.dumps(res, indent=2))
    out = ROOT / "bench" / "results" / "rescore.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
