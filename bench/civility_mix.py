"""Which civility training mix and regularisation rank held-out news comments best?

    .venv/bin/python bench/civility_mix.py            # about 12 minutes on 2 cores

Held out: 20% of civil-comments-toxic-spans (news comments, grouped by comment; never trained
on), scored by every variant and by alt-profanity-check's ``predict_prob`` on the same texts.
Variants (all with the seed labels): with and without the Davidson tweets, the fixed
regularisation of modkit 0.1 against the one chosen by grouped cross-validation on the
training part, linear SVM (SGD) against logistic regression. Figures: ROC-AUC of uncivil-or-
abusive against civil, of abusive against the rest, and of uncivil-or-abusive on the held-out
comments without any lexicon word (where a word list cannot help). Writes
``bench/results/civility_mix.json``.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def main() -> int:
    warnings.simplefilter("ignore")
    from profanity_check import predict_prob

    from modkit import data, model
    from modkit.features import lexicon_hits
    from modkit.labels import schema_for
    from modkit.tasks import Registry

    spec = Registry.from_schema(schema_for(ROOT / "labels")).task("civility")
    td = model.gather(schema_for(ROOT / "labels"), ROOT / "labels", [ROOT / "seeds"],
                      data=["civil-comments-toxic-spans", "davidson-2017"])
    civ = td.examples["civility"].reset_index(drop=True)
    rng = np.random.default_rng(0)
    cc = (civ["source"] == "civil-comments-toxic-spans").to_numpy()
    held = cc & (rng.random(len(civ)) < 0.2)
    test = civ[held].reset_index(drop=True)
    yt = test["civility"].to_numpy().astype(str)
    lexicon = data.load_lexicon(ROOT / "data")
    lex = frozenset(lexicon)
    clean = np.array([not lexicon_hits(t, lex) for t in test["text"].astype(str)])
    apc = predict_prob(test["text"].tolist())

    def figures(p_unc: np.ndarray, p_ab: np.ndarray) -> dict[str, float]:
        return {"uncivil_or_abusive_auc": round(roc_auc_score(yt != "civil", p_unc), 4),
                "abusive_auc": round(roc_auc_score(yt == "abusive", p_ab), 4),
                "no_lexicon_uncivil_or_abusive_auc": round(roc_auc_score((yt != "civil")[clean], p_unc[clean]), 4)}

    results = {"held_out": {"n": len(test), "no_lexicon_word": int(clean.sum()),
                            "uncivil_or_abusive": int((yt != "civil").sum()), "abusive": int((yt == "abusive").sum())},
               "alt-profanity-check": figures(apc, apc), "variants": {}}
    print(f"held out: {len(test)} news comments ({clean.sum()} without a lexicon word)")
    print(f"alt-profanity-check: {results['alt-profanity-check']}")
    from dataclasses import replace

    for name, sources, clf, tune in (
        ("tweets + news, svm, fixed alpha (as modkit 0.1)", None, "linear-svm", False),
        ("news only, svm, fixed alpha", ("civil-comments-toxic-spans", "seed-labels"), "linear-svm", False),
        ("news only, svm, alpha by grouped CV", ("civil-comments-toxic-spans", "seed-labels"), "linear-svm", True),
        ("tweets + news, svm, alpha by grouped CV", None, "linear-svm", True),
        ("news only, logistic, C by grouped CV (slow: 8 min)", ("civil-comments-toxic-spans", "seed-labels"), "logistic", True),
    ):
        train = civ[~held]
        if sources:
            train = train[train["source"].isin(sources)]
        train = train.reset_index(drop=True)
        y = train["civility"].to_numpy().astype(str)
        w = model.balanced_weights(train["civility"], train["source"])
        s = replace(spec, classifier=clf)
        t0 = time.perf_counter()
        if tune:
            best = model.tune(s, lexicon, train, y, w, train["group"].to_numpy(), seed=0, powers=(1.0,))  # 0.2's study
            pipe = model.task_pipeline(s, lexicon, len(train), 0, reg=best["reg"])
        else:
            best, pipe = {}, model.task_pipeline(s, lexicon, len(train), 0)
        pipe.fit(train, y, clf__sample_weight=w)
        P = pipe.predict_proba(test)
        cls = [str(c) for c in pipe.classes_]
        p_ab = P[:, cls.index("abusive")]
        p_unc = p_ab + P[:, cls.index("uncivil")]
        fig = figures(p_unc, p_ab)
        fig.update({"train_rows": len(train), "seconds": round(time.perf_counter() - t0, 1), **{
            k: v for k, v in best.items() if k != "grid"}})
        results["variants"][name] = fig
        print(f"{name}: {fig}")
    out = ROOT / "bench" / "results" / "civility_mix.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
