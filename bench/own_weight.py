"""How much should a team's own labels weigh against public corpora? (``--own-weight``)

    .venv/bin/python bench/own_weight.py             # about 3 minutes on 2 cores

A simulated site: 2,000 news comments of civil-comments-toxic-spans play the team's own labels
(source ``seed-labels``), the 24,783 Davidson tweets are the public corpus, and 3,000 other news
comments (never trained on) are the site's held-out comments. For each weight the civility
pipeline (the default schema's, regularisation chosen by grouped cross-validation once, at
weight 1) is fitted on own + public labels and scored on the held-out comments: ROC-AUC of
uncivil-or-abusive against civil and of abusive against the rest. Also: the own labels alone
(``--data none``). Writes ``bench/results/own_weight.json``.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def main() -> int:
    warnings.simplefilter("ignore")
    from modkit import data, model
    from modkit.labels import schema_for
    from modkit.tasks import Registry

    spec = Registry.from_schema(schema_for(ROOT / "labels")).task("civility")
    cc = data.load_civil_comments(ROOT / "data").sample(frac=1.0, random_state=0).reset_index(drop=True)
    own = cc.iloc[:2000].assign(source=model.OWN_SOURCE)
    test = cc.iloc[2000:5000].reset_index(drop=True)
    public = data.load_davidson(ROOT / "data")
    lexicon = data.load_lexicon(ROOT / "data")
    yt = test["civility"].to_numpy().astype(str)
    both = pd.concat([own, public], ignore_index=True)
    y = both["civility"].to_numpy().astype(str)
    chosen = model.tune(spec, lexicon, both, y, model.balanced_weights(both["civility"], both["source"]),
                        both["group"].to_numpy(), seed=0, powers=(1.0,))  # the weights are what varies here
    print(f"alpha by grouped CV at weight 1: {chosen['reg']}")
    res: dict[str, object] = {"own_labels": len(own), "public": len(public), "held_out": len(test),
                              "alpha": chosen["reg"], "weights": {}}

    def score(train: pd.DataFrame, w: np.ndarray) -> dict[str, float]:
        yy = train["civility"].to_numpy().astype(str)
        pipe = model.task_pipeline(spec, lexicon, len(train), 0, reg=chosen["reg"]).fit(train, yy, clf__sample_weight=w)
        P = pipe.predict_proba(test)
        cls = [str(c) for c in pipe.classes_]
        p_ab = P[:, cls.index("abusive")]
        return {"uncivil_or_abusive_auc": round(roc_auc_score(yt != "civil", p_ab + P[:, cls.index("uncivil")]), 4),
                "abusive_auc": round(roc_auc_score(yt == "abusive", p_ab), 4)}

    for ow in (1.0, 3.0, 10.0, 30.0):
        r = score(both, model.balanced_weights(both["civility"], both["source"], own_weight=ow))
        res["weights"][str(ow)] = r
        print(f"own weight {ow:>4}: {r}")
    r = score(own.reset_index(drop=True), model.balanced_weights(own["civility"], own["source"]))
    res["own_labels_alone"] = r
    print(f"own labels alone: {r}")
    out = ROOT / "bench" / "results" / "own_weight.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
