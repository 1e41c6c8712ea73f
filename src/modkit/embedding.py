"""Sentence meaning at TF-IDF speed: a static word embedding shipped with modkit.

The table (``resources/embedding/embedding.npz``) holds one float16 vector per whole,
lower-cased word, distilled once from sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0; its
LICENSE, NOTICE and how the table was made are beside it: ``embedding.json``) by
``scripts/build_embedding.py``, in the manner of model2vec: each word embedded by the
transformer, PCA, Zipf/SIF weights so frequent words count less. At run time there is no
transformer and nothing is downloaded: a text's vector is the mean of its known words' rows
(numpy and scipy only).

Texts are tokenised as the TF-IDF features are (:func:`modkit.features.count_tokens`, then
:func:`modkit.features.word_of`), and a batch is one sparse (docs x tokens) @ (tokens x dims)
product. Words not in the table are ignored; a text with no known word gets zeros.

- :func:`load_table` reads a table (by default the shipped one), once per process and path;
- :class:`TextEmbedding` is the sklearn transformer (``Pipeline`` / ``FeatureUnion``, clone,
  pickle); its :meth:`~TextEmbedding.similarity` gives row-wise cosines of two lists of texts
  (comment vs article or parent).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from modkit.errors import ModkitError
from modkit.features import _texts, count_tokens, word_of

#: The shipped table, inside the package.
RESOURCE = ("resources", "embedding", "embedding.npz")


class EmbeddingTable:
    """Words and their vectors, read from an ``.npz`` made by ``scripts/build_embedding.py``.

    ``vectors`` is float32 (words x dims); ``index`` maps a word to its row; ``meta`` is the
    ``embedding.json`` beside the file (``{}`` if there is none); ``sha256`` identifies the file
    (a fitted :class:`TextEmbedding` refuses a different table than the one it was fitted with).
    """

    def __init__(self, words: Sequence[str], vectors: np.ndarray, meta: dict[str, Any] | None = None,
                 sha256: str = "", path: str = "") -> None:
        if len(words) != vectors.shape[0]:
            raise ModkitError(f"{path or 'embedding table'}: {len(words)} words but {vectors.shape[0]} vectors")
        self.words = list(words)
        self.index = {w: i for i, w in enumerate(self.words)}
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.meta = meta or {}
        self.sha256 = sha256
        self.path = path
        self._token_rows: dict[str, int] = {}  # whitespace token -> row or -1, filled lazily

    @property
    def dims(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.index

    def vector(self, word: str) -> np.ndarray:
        """The stored row of ``word`` (float64); ``KeyError`` for a word not in the table."""
        return self.vectors[self.index[word]].astype(np.float64)

    def rows(self, tokens: Sequence[str]) -> np.ndarray:
        """The row of each whitespace token's word, -1 when unknown (cached per token)."""
        cache = self._token_rows
        if len(cache) > 400_000:
            cache.clear()
        index = self.index
        out = np.empty(len(tokens), dtype=np.int64)
        for i, tok in enumerate(tokens):
            r = cache.get(tok)
            if r is None:
                r = cache[tok] = index.get(word_of(tok), -1)
            out[i] = r
        return out

    def embed_counts(self, D: sp.csr_matrix, tokens: Sequence[str], normalize: bool = True) -> np.ndarray:
        """Mean vector of the known words of each row of ``D`` (the output of
        :func:`modkit.features.count_tokens`), l2-normalised when ``normalize``; zeros for a
        row with no known word."""
        rows = self.rows(tokens)
        keep = np.flatnonzero(rows >= 0)
        Dk = sp.csr_matrix(D)[:, keep]
        out = np.asarray(Dk @ self.vectors[rows[keep]].astype(np.float64))
        if out.shape != (D.shape[0], self.dims):  # an empty batch
            out = np.zeros((D.shape[0], self.dims))
        n = np.asarray(Dk.sum(axis=1)).ravel()
        out /= np.maximum(n, 1.0)[:, None]
        if normalize:
            norms = np.sqrt(np.einsum("ij,ij->i", out, out))
            out /= np.where(norms > 0, norms, 1.0)[:, None]
        return out

    def embed(self, texts: Sequence[str], normalize: bool = True) -> np.ndarray:
        return self.embed_counts(*count_tokens(texts), normalize=normalize)


def sif_weights(n: int, a: float) -> np.ndarray:
    """model2vec's Zipf-based SIF weights of ``n`` words in frequency order: a / (a + p_r) with
    p_r proportional to 1 / (r + 2) (how ``scripts/build_embedding.py`` scales the rows)."""
    inv_rank = 1.0 / np.arange(2, n + 2, dtype=np.float64)
    return a / (a + inv_rank / inv_rank.sum())


def default_path() -> Path:
    """Where the shipped table lies (found through :mod:`importlib.resources`)."""
    return Path(str(resources.files("modkit").joinpath(*RESOURCE)))


@functools.lru_cache(maxsize=4)
def _load(path: str) -> EmbeddingTable:
    p = Path(path)
    if not p.is_file():
        raise ModkitError(f"{p}: embedding table missing (build it with scripts/build_embedding.py)")
    raw = p.read_bytes()
    try:
        with np.load(p, allow_pickle=False) as z:
            vectors = z["vectors"]
            words = z["words"].tobytes().decode("utf-8").split("\n")
    except (OSError, KeyError, ValueError) as e:
        raise ModkitError(f"{p}: not an embedding table ({e})") from e
    meta_path = p.with_suffix(".json")
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    return EmbeddingTable(words, vectors, meta, hashlib.sha256(raw).hexdigest(), str(p))


def load_table(path: str | Path | None = None) -> EmbeddingTable:
    """The embedding table at ``path`` (default: the one shipped in the package), read once
    per process and path and shared by every :class:`TextEmbedding` using it."""
    return _load(str(Path(path).resolve() if path is not None else default_path()))


class TextEmbedding(TransformerMixin, BaseEstimator):
    """Mean static word embedding of each comment's text (dense, one column per dimension).

    ``column``: the frame column holding the text (a list or Series of texts works too);
    ``table``: path of an embedding ``.npz`` (None: the shipped table); ``normalize``: l2-normalise
    each row (a text with no known word stays all zeros).

    Nothing is learned from the data: ``fit`` records the table's dimension and identity, so a
    model pickled with one table is not silently used with another. The loaded table is a
    per-process cache, not pickled, read again on first use.
    """

    def __init__(self, column: str = "text", table: str | Path | None = None, normalize: bool = True) -> None:
        self.column = column
        self.table = table
        self.normalize = normalize

    def _table(self) -> EmbeddingTable:
        key, tab = self.__dict__.get("_loaded", (None, None))
        if tab is None or key != self.table:  # set_params(table=...) since the last load
            tab = load_table(self.table)
            fitted = self.__dict__.get("table_sha256_")
            if fitted is not None and fitted != tab.sha256:
                raise ModkitError(f"{tab.path}: not the embedding table this model was fitted with "
                                  f"(sha256 {tab.sha256[:12]}, expected {fitted[:12]}): refit the model")
            self.__dict__["_loaded"] = (self.table, tab)
        return tab

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_loaded", None)
        return state

    def fit(self, X: Any = None, y: Any = None) -> TextEmbedding:
        self.__dict__.pop("_loaded", None)
        self.__dict__.pop("table_sha256_", None)
        tab = self._table()
        self.table_sha256_ = tab.sha256
        self.n_features_out_ = tab.dims
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "n_features_out_")
        return self.transform_counts(*count_tokens(_texts(X, self.column)))

    def transform_counts(self, D: sp.csr_matrix, tokens: list[str]) -> np.ndarray:
        """:meth:`transform` from the output of :func:`modkit.features.count_tokens` (a batch
        shared with the TF-IDF features is tokenised once)."""
        check_is_fitted(self, "n_features_out_")
        return self._table().embed_counts(D, tokens, normalize=self.normalize)

    def similarity(self, a_texts: Any, b_texts: Any) -> np.ndarray:
        """Cosine similarity of ``a_texts[i]`` and ``b_texts[i]`` for each i (0 when either
        has no known word). Each distinct text is embedded once (an article repeated on every
        row of its page costs one row)."""
        a, b = _texts(a_texts, self.column), _texts(b_texts, self.column)
        if len(a) != len(b):
            raise ModkitError(f"similarity: {len(a)} texts against {len(b)}: expected the same number")
        codes, uniques = pd.factorize(pd.Series(a + b, dtype=object))
        V = self._table().embed(list(uniques), normalize=True)
        n = len(a)
        return np.einsum("ij,ij->i", V[codes[:n]], V[codes[n:]]) if n else np.zeros(0)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "n_features_out_")
        return np.array([f"emb:{i}" for i in range(self.n_features_out_)], dtype=object)


class MeaningContext(TransformerMixin, BaseEstimator):
    """How close a comment's meaning is to its article and to its parent: cosine of their mean
    static word embeddings (:class:`TextEmbedding`), where the thread context's TF-IDF
    similarity needs the same words. Columns ``meaning_article``, ``meaning_parent`` (0 for a
    top-level comment) and ``meaning_context`` (the larger). Reads the frame's ``text``,
    ``article``, ``parent_text`` and ``parent_id`` columns; learns nothing from the data."""

    def __init__(self, table: str | Path | None = None) -> None:
        self.table = table

    def fit(self, X: Any = None, y: Any = None) -> MeaningContext:
        self.embedding_ = TextEmbedding(table=self.table).fit()
        self.n_features_out_ = 3
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "embedding_")
        emb = self.embedding_
        art = emb.similarity(_texts(X, "text"), _texts(X, "article"))
        par = emb.similarity(_texts(X, "text"), _texts(X, "parent_text"))
        par = par * (X["parent_id"].astype(str) != "").to_numpy(dtype=np.float64)
        return np.c_[art, par, np.maximum(art, par)]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array(["meaning_article", "meaning_parent", "meaning_context"], dtype=object)
