"""A team's own labels alone: is modkit's civility pipeline at least as good as the simple
alternative a data scientist would fit on the same labels?

    .venv/bin/python bench/team_labels.py [--n 4000]     # about 4 minutes on 2 cores

The "site": ``--n`` news comments of civil-comments-toxic-spans with their civility labels, as
`modkit labels import` would hold them (no public corpus: ``--data none``). Both models are
measured by the same grouped 5-fold cross-validation (:func:`modkit.model.grouped_folds`),
out-of-fold ROC-AUC of uncivil-or-abusive against civil and of abusive against the rest:

- modkit: the default schema's civility pipeline (``model.task_pipeline``), regularisation
  chosen by :func:`modkit.model.tune` inside each training fold, class- and source-balanced
  weights, as ``modkit train --data none`` fits it;
- baseline: sklearn ``TfidfVectorizer`` (words 1-2-grams, sublinear) + ``LogisticRegressionCV``
  (C tuned by 3-fold CV inside each training fold, balanced class weight).

Writes ``bench/results/team_labels.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=4000)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    from modkit import data, model
    from modkit.labels import schema_for
    from modkit.tasks import Registry

    spec = Registry.from_schema(schema_for(ROOT / "labels")).task("civility")
    cc = data.load_civil_comments(ROOT / "data").sample(n=args.n, random_state=0).reset_index(drop=True)
    cc["source"] = model.OWN_SOURCE
    y = cc["civility"].to_numpy().astype(str)
    groups = cc["group"].to_numpy()
    lexicon = data.load_lexicon(ROOT / "data")
    folds = model.grouped_folds(y, groups, 5, 0)
    P_mod = np.zeros((len(y), 3))
    p_base_unc = np.zeros(len(y))
    p_base_ab = np.zeros(len(y))
    t_mod = t_base = 0.0
    classes = ["abusive", "civil", "uncivil"]
    for train, test in folds:
        tr = cc.iloc[train].reset_index(drop=True)
        w = model.balanced_weights(tr["civility"], tr["source"])
        t0 = time.perf_counter()
        chosen = model.tune(spec, lexicon, tr, y[train], w, groups[train], seed=0)
        pipe = model.task_pipeline(spec, lexicon, len(tr), 0, reg=chosen["reg"]).fit(
            tr, y[train], clf__sample_weight=model.weights_at(w, chosen["weight_power"]))  # as modkit train does
        P = pipe.predict_proba(cc.iloc[test])
        for j, c in enumerate(pipe.classes_):
            P_mod[test, classes.index(str(c))] = P[:, j]
        t_mod += time.perf_counter() - t0
        t0 = time.perf_counter()
        texts = cc["text"].astype(str).to_numpy()
        for target, out in ((y != "civil", p_base_unc), (y == "abusive", p_base_ab)):
            base = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
                                 LogisticRegressionCV(Cs=[0.1, 0.3, 1, 3, 10, 30], cv=3, scoring="roc_auc",
                                                      class_weight="balanced", max_iter=2000))
            base.fit(texts[train], target[train])
            out[test] = base.predict_proba(texts[test])[:, 1]
        t_base += time.perf_counter() - t0
    unc = P_mod[:, 0] + P_mod[:, 2]
    res = {"n": len(y), "data": "civil-comments-toxic-spans sample as a team's own labels; grouped 5-fold CV",
           "modkit": {"uncivil_or_abusive_auc": round(roc_auc_score(y != "civil", unc), 4),
                      "abusive_auc": round(roc_auc_score(y == "abusive", P_mod[:, 0]), 4), "seconds": round(t_mod, 1)},
           "tfidf_logistic_tuned_C": {"uncivil_or_abusive_auc": round(roc_auc_score(y != "civil", p_base_unc), 4),
                                      "abusive_auc": round(roc_auc_score(y == "abusive", p_base_ab), 4),
                                      "seconds": round(t_base, 1)}}
    print(json.dumps(res, indent=2))
    out = ROOT / "bench" / "results" / "team_labels.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
