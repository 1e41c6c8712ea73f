"""Quality on a held-out split of a public corpus, modkit's civility model side by side with
alt-profanity-check (``predict_prob``), on the same comments.

    .venv/bin/pip install alt-profanity-check      # the `bench` extra
    .venv/bin/python bench/quality.py [--seed 0] [--json bench/out/quality.json]

Split: 20% of each corpus held out (by comment id, seeded); modkit's civility pipeline (as
``modkit train`` builds it, same weights) is trained on the other 80% of both corpora plus the
seed labels. Targets: ``abusive`` vs not (p_abusive), and ``uncivil or abusive`` vs civil
(p_uncivil); alt-profanity-check gives one score for both. F1 at 0.5 for both tools, and for
modkit also at its balanced thresholds chosen on out-of-fold predictions of its training split.

What each has seen: alt-profanity-check was trained by its authors on Davidson et al. 2017
(among others), so the Davidson held-out rows are part of its training data: that comparison
flatters it. Neither tool has seen the held-out Civil Comments rows.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def _tasks():
    from modkit.labels import schema_for as _sf
    from modkit.tasks import Registry

    reg = Registry.from_schema(_sf(ROOT / "labels"))
    return reg.task("civility"), reg.task("topic")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "quality.json")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")

    from profanity_check import predict_prob

    from modkit import data, model
    from modkit.labels import schema_for

    CIVILITY, TOPIC = _tasks()

    td = model.gather(schema_for(ROOT / "labels"), ROOT / "labels", [ROOT / "seeds"], seed=args.seed)
    civ = td.examples["civility"].reset_index(drop=True)
    rng = np.random.default_rng(args.seed)
    public = civ["source"] != "seed-labels"
    held = public.to_numpy() & (rng.random(len(civ)) < 0.2)
    train, test = civ[~held].reset_index(drop=True), civ[held].reset_index(drop=True)
    y = train["civility"].to_numpy().astype(str)
    w = model.balanced_weights(train["civility"], train["source"])
    lexicon = data.load_lexicon()
    t0 = time.perf_counter()
    # balanced thresholds from out-of-fold predictions on the training split, as `modkit train` does
    P, classes = model.out_of_fold(lambda: model.task_pipeline(CIVILITY, lexicon, len(train), args.seed), train, y,
                                   train["group"].to_numpy(), w, args.seed)
    thr_abusive, _ = model.choose_threshold(y == "abusive", P[:, classes.index("abusive")],
                                            CIVILITY.flags[0].precision["balanced"])
    p_unc_oof = P[:, classes.index("uncivil")] + P[:, classes.index("abusive")]
    thr_uncivil, _ = model.choose_threshold(y != "civil", p_unc_oof, CIVILITY.flags[1].precision["balanced"])
    pipe = model.task_pipeline(CIVILITY, lexicon, len(train), args.seed).fit(train, y, clf__sample_weight=w)
    fit_s = time.perf_counter() - t0
    p = pipe.predict_proba(test)
    cls = [str(c) for c in pipe.classes_]
    p_abusive = p[:, cls.index("abusive")]
    p_uncivil = p_abusive + p[:, cls.index("uncivil")]
    apc = predict_prob(test["text"].tolist())
    yt = test["civility"].to_numpy().astype(str)

    results: dict[str, object] = {
        "split": "20% of each public corpus held out (seeded), modkit trained on the other 80% + seed labels",
        "train_rows": len(train), "fit_seconds_with_cv": round(fit_s, 1),
        "thresholds": {"ABUSIVE": round(thr_abusive, 4), "UNCIVIL": round(thr_uncivil, 4)},
        "corpora": {},
    }
    for src in sorted(set(test["source"])):
        m = (test["source"] == src).to_numpy()
        row: dict[str, object] = {"n": int(m.sum())}
        for target, truth, ours, thr in (("abusive_vs_not", yt[m] == "abusive", p_abusive[m], thr_abusive),
                                         ("uncivil_or_abusive_vs_civil", yt[m] != "civil", p_uncivil[m], thr_uncivil)):
            row[target] = {
                "positives": int(truth.sum()),
                "modkit_roc_auc": round(roc_auc_score(truth, ours), 4),
                "apc_roc_auc": round(roc_auc_score(truth, apc[m]), 4),
                "modkit_f1_at_0.5": round(f1_score(truth, ours >= 0.5), 4),
                "modkit_f1_at_balanced_threshold": round(f1_score(truth, ours >= thr), 4),
                "apc_f1_at_0.5": round(f1_score(truth, apc[m] >= 0.5), 4),
            }
        row["seen_by"] = ("alt-profanity-check was TRAINED on this corpus (flatters it); modkit saw the other 80%"
                          if src == "davidson-2017" else "neither tool saw these rows; modkit saw the other 80%")
        results["corpora"][src] = row

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"held-out quality ({results['split']}; modkit fit incl. CV {fit_s:.0f} s)")
    print(f"{'corpus':<28}{'target':<30}{'n/pos':>12}  {'ROC-AUC modkit/APC':>20}  {'F1@0.5 modkit/APC':>20}  F1 modkit@bal")
    for src, row in results["corpora"].items():
        for target in ("abusive_vs_not", "uncivil_or_abusive_vs_civil"):
            r = row[target]
            print(f"{src:<28}{target:<30}{row['n']:>6}/{r['positives']:<5}  "
                  f"{r['modkit_roc_auc']:>9} / {r['apc_roc_auc']:<8}  {r['modkit_f1_at_0.5']:>9} / {r['apc_f1_at_0.5']:<8}"
                  f"  {r['modkit_f1_at_balanced_threshold']}")
        print(f"  ({row['seen_by']})")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
