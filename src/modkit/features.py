"""Features for the classifier, as scikit-learn transformers.

Every transformer takes a pandas DataFrame with the columns of :func:`comment_frame` (one row
per comment: its text and its thread context) and follows sklearn's conventions: ``__init__``
only stores its parameters, ``fit`` learns state ending in ``_``, ``transform`` returns a
matrix, ``get_feature_names_out`` names its columns. They compose in a ``Pipeline`` /
``FeatureUnion``, clone, and pickle.

- :class:`TextTfidf`   word and character n-gram TF-IDF of the comment itself;
- :class:`TextStats`   length, capitals and punctuation ratios, links, profanity-lexicon hits;
- :class:`ThreadContext` similarity to its article and to its parent, depth, self-reply,
  exact or near duplicate of an earlier comment on the same page.

Speed: character n-grams are the costly part of a TF-IDF model. A comment's ``char_wb``
n-grams are the sum of the n-grams of its whitespace tokens, so :class:`TextTfidf` counts the
tokens of a batch once (fast) and multiplies by a cached token-to-n-gram matrix: each distinct
token is cut into n-grams once per process, not once per occurrence. The result is the same
matrix ``TfidfVectorizer(analyzer="char_wb")`` gives, several times faster.

Caches: two kinds, neither in an estimator's ``__dict__`` (so ``transform`` leaves the
estimator's state as ``fit`` made it, and nothing cached is cloned or pickled):

- per estimator, the token -> column maps of :class:`TextTfidf` and :class:`ThreadContext`:
  built on the first ``transform`` after ``fit``, keyed on the fitted vocabulary object and
  the parameters ``transform`` reads, dropped by ``fit``;
- per process, a memo of the last two batches' :func:`count_tokens` and
  :meth:`TextStats._raw` results, keyed on the batch's texts (compared by content, so a
  different batch, a slice or an edited frame is never served a stale result): scoring runs
  several pipelines on one batch, and each would otherwise tokenise it again.
"""

from __future__ import annotations

import math
import string
import threading
import weakref
from collections.abc import Iterable, Sequence
from itertools import chain
from operator import methodcaller
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import normalize

#: Columns of the frame every transformer reads (see :func:`comment_frame`).
FRAME_COLUMNS = (
    "comment_id", "doc", "parent_id", "depth", "position", "author", "timestamp", "text",
    "article", "parent_text", "parent_author",
)

_PUNCT = string.punctuation + "“”‘’«»…–—"
_STRIP = _PUNCT
_PUNCT_BYTES = np.zeros(256, dtype=bool)
_PUNCT_BYTES[[ord(c) for c in string.punctuation]] = True

# Function words carry no topic: left out of the similarity vectors of ThreadContext.
STOP_WORDS = frozenset(["a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves", "it's", "i'm", "don't", "can't", "that's", "dont", "im", "also", "one", "like", "get", "even", "us"])


# --------------------------------------------------------------------------------------------
# The frame: one row per comment with its thread context
# --------------------------------------------------------------------------------------------
def comment_frame(threads: Iterable[Any]) -> pd.DataFrame:
    """One row per comment of ``threads`` with the columns in :data:`FRAME_COLUMNS`.

    ``article`` is the page's title and article text (the same string object on every row of
    a page, so it costs no memory per row); ``parent_text`` / ``parent_author`` are the direct
    parent's ("" for a top-level comment or a parent not on the page).
    """
    rows: list[tuple] = []
    for t in threads:
        article = f"{t.title}\n{t.article}" if t.title else t.article
        index = {c.id: c for c in t.comments}
        for c in t.comments:
            p = index.get(c.parent_id) if c.parent_id else None
            rows.append((c.id, c.doc, c.parent_id, c.depth, c.position, c.author, c.timestamp,
                         c.text, article, p.text if p else "", p.author if p else ""))
    # Text columns as object arrays of the comments' own str objects: pandas' default string
    # dtype (Arrow) would copy every text out again at each column read, and the batch memos
    # compare these columns (the same objects compare instantly).
    columns = list(zip(*rows)) if rows else [()] * len(FRAME_COLUMNS)
    return pd.DataFrame({name: pd.Series(col, dtype="int64" if name in ("depth", "position") else object)
                         for name, col in zip(FRAME_COLUMNS, columns)})


def _texts(X: Any, column: str = "text") -> list[str]:
    if isinstance(X, pd.DataFrame):
        col = X[column]
    elif isinstance(X, pd.Series):
        col = X
    else:
        col = pd.Series(list(X))
    # one conversion to an object array, then a list: iterating a pandas string column element by
    # element is ~6x slower (and the same str objects come back, so the batch memos compare fast)
    values = col.to_numpy(dtype=object, na_value="").tolist()
    return [v if type(v) is str else "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
            for v in values]


# --------------------------------------------------------------------------------------------
# Fast token counting shared by the TF-IDF transformers
# --------------------------------------------------------------------------------------------
class _BatchMemo:
    """The results of the last ``size`` calls of a function of a batch, keyed by content.

    Keys are tuples of the batch's texts (plus any parameter the result depends on); a hit needs
    ``==``, which compares the strings themselves (instantly for the same str objects, as when
    several pipelines score one frame). Only ``size`` batches are held; the memo lives in the
    module, never in an estimator, so it is not pickled.
    """

    def __init__(self, size: int = 2) -> None:
        self.size = size
        self._entries: list[tuple[tuple, Any]] = []
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Any:
        with self._lock:
            for i, (k, value) in enumerate(self._entries):
                if k == key:
                    self._entries.insert(0, self._entries.pop(i))
                    return value
        return None

    def put(self, key: tuple, value: Any) -> None:
        with self._lock:
            self._entries = [(key, value), *self._entries][:self.size]

    def clear(self) -> None:
        with self._lock:
            self._entries = []


_COUNTS_MEMO = _BatchMemo()
_STATS_MEMO = _BatchMemo()
_CONTEXT_MEMO = _BatchMemo()


def clear_memos() -> None:
    """Forget the memoised batches (tests and benchmarks; never needed for correctness)."""
    _COUNTS_MEMO.clear()
    _STATS_MEMO.clear()
    _CONTEXT_MEMO.clear()


def count_tokens(texts: Sequence[str]) -> tuple[sp.csr_matrix, list[str]]:
    """Lower-cased whitespace tokens of each text: (docs x distinct tokens) counts, tokens.

    The distinct tokens are found with ``pandas.factorize`` (hashing in C), not a Python loop.
    The last two batches' results are memoised (see the module docstring); the caller gets its
    own copy, so changing it cannot change a later call's result.
    """
    key = tuple(texts)
    hit = _COUNTS_MEMO.get(key)
    if hit is None:
        hit = _count_tokens(key)
        _COUNTS_MEMO.put(key, hit)
    D, tokens = hit
    return D.copy(), list(tokens)


def _count_tokens(texts: Sequence[str]) -> tuple[sp.csr_matrix, list[str]]:
    """:func:`count_tokens` without the memo (for side inputs such as a batch's articles,
    which would push the batch itself out of the memo)."""
    per_doc = [s.lower().split() for s in texts]
    lens = np.fromiter(map(len, per_doc), dtype=np.int64, count=len(per_doc))
    flat = np.array(list(chain.from_iterable(per_doc)), dtype=object)
    if len(flat):
        codes, uniques = pd.factorize(flat)
        tokens = uniques.tolist()
    else:
        codes, tokens = np.zeros(0, dtype=np.int64), []
    indptr = np.zeros(len(per_doc) + 1, dtype=np.int64)
    np.cumsum(lens, out=indptr[1:])
    D = sp.csr_matrix((np.ones(len(codes), dtype=np.float64), codes.astype(np.int32), indptr),
                      shape=(len(per_doc), len(tokens)))
    D.sum_duplicates()
    return D, tokens


# Per-estimator caches derived from fitted state: estimator -> (key, value). Outside the
# estimator (a weak reference: gone with it), so transform does not touch its __dict__.
_FITTED_CACHES: weakref.WeakKeyDictionary[Any, dict[str, tuple[tuple, Any]]] = weakref.WeakKeyDictionary()


def fitted_cache(owner: Any, fitted: tuple, params: tuple, build: Any, name: str = "") -> Any:
    """``owner``'s cache ``name`` for its fitted objects ``fitted`` (compared by identity: fit makes
    new ones) and parameters ``params`` (compared by value), built by ``build()`` on a miss. An
    estimator may hold several caches, one per ``name`` (its own token maps, the flag reasons'
    vocabulary); they go with the estimator and are dropped when it is fitted again."""
    caches = _FITTED_CACHES.get(owner)
    if caches is None:
        caches = _FITTED_CACHES[owner] = {}
    entry = caches.get(name)
    if entry is not None:
        (f, p), value = entry
        if len(f) == len(fitted) and all(a is b for a, b in zip(f, fitted)) and p == params:
            return value
    value = build()
    caches[name] = ((fitted, params), value)
    return value


def word_of(token: str) -> str:
    """The word inside a whitespace token: punctuation stripped from both ends."""
    return token.strip(_STRIP)


def char_ngrams(token: str, lo: int, hi: int) -> list[str]:
    """``char_wb`` n-grams of one token, as sklearn cuts them (padded with one space)."""
    w = f" {token} "
    out: list[str] = []
    n_w = len(w)
    for n in range(lo, hi + 1):
        if n > n_w:
            break
        out.extend(w[i:i + n] for i in range(n_w - n + 1))
    return out


class _TokenMaps:
    """Cache of one fitted :class:`TextTfidf`: token -> (word column or -1, char n-gram
    columns and counts). Held in ``_FITTED_CACHES``, not in the estimator: never pickled or cloned.

    A batch's distinct tokens are looked up once each (a dict hit for a token seen before); the
    token x n-gram matrix is then assembled from per-token numpy arrays with one concatenate, not
    grown element by element in Python lists."""

    def __init__(self, words: dict[str, int], chars: dict[str, int], lo: int, hi: int, limit: int = 400_000,
                 blind: frozenset[str] = frozenset()):
        self.words, self.chars, self.lo, self.hi, self.limit = words, chars, lo, hi, limit
        self.blind = blind
        self.cache: dict[str, int] = {}  # token -> its row in the arrays below
        self.word_col: list[int] = []
        self.char_cols: list[np.ndarray] = []  # sorted, distinct columns of the token's n-grams
        self.char_counts: list[np.ndarray] = []

    def matrices(self, tokens: list[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        key = tuple(tokens)  # the same batch's tokens again (transform, then the flag reasons)
        last = self.__dict__.get("_last")
        if last is not None and last[0] == key:
            return last[1].copy(), last[2].copy()
        TW, TC = self._matrices(tokens)
        self._last = (key, TW, TC)
        return TW.copy(), TC.copy()

    def _add(self, tok: str) -> int:
        chars = self.chars
        word = word_of(tok)
        blinded = word in self.blind  # read as nothing: no word, no n-gram
        cols = [] if blinded else [j for g in char_ngrams(tok, self.lo, self.hi) if (j := chars.get(g, -1)) >= 0]
        distinct = sorted(set(cols))
        if len(distinct) == len(cols):  # the usual case: no n-gram twice in one token
            counts = np.ones(len(cols))
        else:
            tally = dict.fromkeys(distinct, 0)
            for j in cols:
                tally[j] += 1
            counts = np.array(list(tally.values()), dtype=np.float64)
        self.word_col.append(-1 if blinded else self.words.get(word, -1))
        self.char_cols.append(np.array(distinct, dtype=np.int32))
        self.char_counts.append(counts)
        k = self.cache[tok] = len(self.word_col) - 1
        return k

    def _matrices(self, tokens: list[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        if len(self.cache) > self.limit:
            self.cache.clear()
            self.word_col, self.char_cols, self.char_counts = [], [], []
        get, add = self.cache.get, self._add
        rows = [k if (k := get(tok)) is not None else add(tok) for tok in tokens]
        n = len(tokens)
        wc = np.asarray(self.word_col, dtype=np.int64)[rows] if rows else np.zeros(0, dtype=np.int64)
        has = np.flatnonzero(wc >= 0)
        TW = sp.csr_matrix((np.ones(len(has)), (has, wc[has])), shape=(n, len(self.words)))
        cols = [self.char_cols[k] for k in rows]
        lens = np.fromiter(map(len, cols), dtype=np.int64, count=n)
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lens, out=ptr[1:])
        ind = np.concatenate(cols) if n else np.zeros(0, dtype=np.int32)
        data = np.concatenate([self.char_counts[k] for k in rows]) if n else np.zeros(0)
        TC = sp.csr_matrix((data, ind, ptr), shape=(n, len(self.chars)))
        TC.has_canonical_format = True  # each row's columns are sorted and distinct (np.unique)
        return TW, TC


def _tfidf(counts: sp.csr_matrix, idf: np.ndarray, sublinear: bool = True) -> sp.csr_matrix:
    X = counts.tocsr().astype(np.float64, copy=False)  # a fresh product: modified in place
    if sublinear:
        np.log(X.data, out=X.data)
        X.data += 1.0
    X.data *= idf[X.indices]
    return normalize(X, copy=False)


def _idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    return np.log((1.0 + n_docs) / (1.0 + df)) + 1.0


def _select(df_counts: dict[str, int], min_df: int, max_features: int) -> dict[str, int]:
    kept = [(t, n) for t, n in df_counts.items() if n >= min_df]
    kept.sort(key=lambda tn: (-tn[1], tn[0]))  # deterministic: by document frequency, then term
    kept = sorted(t for t, _ in kept[:max_features])
    return {t: i for i, t in enumerate(kept)}


class TextTfidf(TransformerMixin, BaseEstimator):
    """Word and character n-gram TF-IDF of the comment text (sublinear tf, l2-normalised).

    Words are the lower-cased whitespace tokens with punctuation stripped; character n-grams
    are ``char_wb`` n-grams of length ``char_ngram_range`` (they catch misspellings such as
    "f*ck" or "idi0t" and word endings). Output: ``[word block | char block]``, each block
    l2-normalised; the word block comes first (the flag reasons read it).

    ``blind``: words read as nothing (no word column, no n-gram: the comment reads as if the
    word were not there), e.g. the identity terms of :data:`modkit.identity.BLIND_TERMS` for a
    task measured for bias.
    """

    def __init__(self, column: str = "text", max_words: int = 30000, max_chars: int = 50000,
                 char_ngram_range: tuple[int, int] = (2, 4), min_df: int = 2, blind: tuple[str, ...] = ()) -> None:
        self.column = column
        self.max_words = max_words
        self.max_chars = max_chars
        self.char_ngram_range = char_ngram_range
        self.min_df = min_df
        self.blind = blind

    def fit(self, X: Any, y: Any = None) -> TextTfidf:
        _FITTED_CACHES.pop(self, None)
        texts = _texts(X, self.column)
        D, tokens = count_tokens(texts)
        blind = frozenset(self.blind)
        lo, hi = self.char_ngram_range
        # Document frequency of each word and n-gram: (docs x tokens) @ (tokens x terms) > 0.
        all_words: dict[str, int] = {}
        all_chars: dict[str, int] = {}
        w_rows, w_cols, c_rows, c_cols = [], [], [], []
        for i, tok in enumerate(tokens):
            w = word_of(tok)
            if w in blind:
                continue  # read as nothing (see ``blind``)
            if w:
                w_rows.append(i)
                w_cols.append(all_words.setdefault(w, len(all_words)))
            for g in set(char_ngrams(tok, lo, hi)):
                c_rows.append(i)
                c_cols.append(all_chars.setdefault(g, len(all_chars)))
        B = (D > 0).astype(np.float64)
        TW = sp.csr_matrix((np.ones(len(w_rows)), (w_rows, w_cols)), shape=(len(tokens), len(all_words)))
        TC = sp.csr_matrix((np.ones(len(c_rows)), (c_rows, c_cols)), shape=(len(tokens), len(all_chars)))
        wdf = np.asarray(((B @ TW) > 0).sum(axis=0)).ravel()
        cdf = np.asarray(((B @ TC) > 0).sum(axis=0)).ravel()
        self.words_ = _select(dict(zip(all_words, wdf.tolist())), self.min_df, self.max_words)
        self.chars_ = _select(dict(zip(all_chars, cdf.tolist())), self.min_df, self.max_chars)
        wdf_map = dict(zip(all_words, wdf.tolist()))
        cdf_map = dict(zip(all_chars, cdf.tolist()))
        n = len(texts)
        self.word_idf_ = _idf(np.array([wdf_map[t] for t in self.words_], dtype=np.float64), n)
        self.char_idf_ = _idf(np.array([cdf_map[t] for t in self.chars_], dtype=np.float64), n)
        self.n_features_out_ = len(self.words_) + len(self.chars_)
        return self

    # A model file stores each vocabulary as one array of terms in index order, not as a dict of
    # 100,000+ entries: skops rebuilds a dict entry by entry (seconds), an array in one read.
    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # a copy: object.__getstate__ returns __dict__ itself
        for name in ("words_", "chars_"):
            if isinstance(state.get(name), dict):
                state[name] = np.array(list(state[name]), dtype=str)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        for name in ("words_", "chars_"):
            if isinstance(state.get(name), np.ndarray):
                state[name] = {str(t): i for i, t in enumerate(state[name].tolist())}
        super().__setstate__(state)

    def _maps(self) -> _TokenMaps:
        # keyed on the fitted vocabularies and the n-gram range transform cuts tokens with
        lo, hi = self.char_ngram_range
        blind = tuple(self.blind)
        return fitted_cache(self, (self.words_, self.chars_), (lo, hi, blind),
                             lambda: _TokenMaps(self.words_, self.chars_, lo, hi, blind=frozenset(blind)))

    def word_block(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The word TF-IDF block alone (used by ThreadContext-style similarity and reasons)."""
        D, tokens = count_tokens(texts)
        TW, _ = self._maps().matrices(tokens)
        return _tfidf(D @ TW, self.word_idf_)

    def transform(self, X: Any) -> sp.csr_matrix:
        return self.transform_counts(*count_tokens(_texts(X, self.column)))

    def transform_counts(self, D: sp.csr_matrix, tokens: list[str]) -> sp.csr_matrix:
        """:meth:`transform` from the output of :func:`count_tokens` (shared with the other
        transformers when scoring, so a batch is tokenised once)."""
        return sp.hstack(self.blocks_counts(D, tokens), format="csr")

    def blocks_counts(self, D: sp.csr_matrix, tokens: list[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """The word block and the character block of :meth:`transform_counts`, not stacked
        (a linear model can take them block by block: no copy of the whole matrix)."""
        TW, TC = self._maps().matrices(tokens)
        return _tfidf(D @ TW, self.word_idf_), _tfidf(D @ TC, self.char_idf_)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array([f"word:{w}" for w in self.words_] + [f"char:{c}" for c in self.chars_], dtype=object)


# --------------------------------------------------------------------------------------------
# Surface statistics and the lexicon
# --------------------------------------------------------------------------------------------
def lexicon_hits(text: str, lexicon: frozenset[str]) -> list[str]:
    """Lexicon words in ``text``, in order of first appearance (lower-cased, de-duplicated)."""
    seen: dict[str, None] = {}
    for tok in text.lower().split():
        w = word_of(tok)
        if w in lexicon:
            seen.setdefault(w, None)
    return list(seen)


STAT_NAMES = (
    "log_length", "log_words", "caps_ratio", "punct_ratio", "exclamations", "questions",
    "links", "lexicon_hits", "lexicon_share", "empty", "shouting",
)


class TextStats(TransformerMixin, BaseEstimator):
    """Surface features of the text: length, capitals and punctuation ratios, links, lexicon.

    ``lexicon`` is a tuple of lower-case words (by default modkit's profanity/insult list from
    ``data/profanity-lexicon``, read by :func:`modkit.data.load_lexicon` at training time and
    stored in the model). Outputs are standardised with the means and scales learned in fit.
    """

    def __init__(self, column: str = "text", lexicon: tuple[str, ...] = ()) -> None:
        self.column = column
        self.lexicon = lexicon

    def _raw(self, texts: Sequence[str], counts: tuple[sp.csr_matrix, list[str]] | None = None) -> np.ndarray:
        """The statistics of each text, computed column by column (no Python loop per text
        except C-level ``map`` calls): ASCII letter and punctuation counts from one byte
        buffer of the whole batch, words and lexicon hits from the token counts.

        ``counts``: ``count_tokens(texts)`` when the caller has it. The last two batches'
        results are memoised per texts and lexicon (the caller gets its own copy)."""
        key = (tuple(texts), tuple(self.lexicon))
        hit = _STATS_MEMO.get(key)
        if hit is None:
            hit = self._compute_raw(key[0], frozenset(self.lexicon), counts)
            _STATS_MEMO.put(key, hit)
        return hit.copy()

    @staticmethod
    def _compute_raw(texts: Sequence[str], lex: frozenset[str],
                     counts: tuple[sp.csr_matrix, list[str]] | None) -> np.ndarray:
        m = len(texts)
        out = np.zeros((m, len(STAT_NAMES)), dtype=np.float64)
        if m == 0:
            return out
        D, tokens = counts if counts is not None else count_tokens(texts)
        n = np.fromiter(map(len, texts), dtype=np.float64, count=m)
        enc = [t.encode("utf-8") for t in texts]
        nbytes = np.fromiter(map(len, enc), dtype=np.int64, count=m)
        buf = np.frombuffer(b"".join(enc) + b"\0", dtype=np.uint8)  # a NUL sentinel: every start is an index
        ends = np.cumsum(nbytes)
        starts = ends - nbytes

        nonempty = nbytes > 0

        def per_text(mask: np.ndarray) -> np.ndarray:
            # per-text sums of a byte mask in one pass (reduceat; an empty text sums to 0; the
            # last text's segment runs to the sentinel, which no mask counts)
            sums = np.add.reduceat(mask.view(np.uint8), starts, dtype=np.int64)
            return np.where(nonempty, sums, 0).astype(np.float64)

        up = per_text((buf >= 65) & (buf <= 90))
        low = per_text((buf >= 97) & (buf <= 122))
        punct = per_text(_PUNCT_BYTES[buf])
        excl = per_text(buf == 33)
        ques = per_text(buf == 63)
        letters = up + low
        nw = np.asarray(D.sum(axis=1)).ravel()
        if lex:
            is_lex = np.fromiter((word_of(t) in lex for t in tokens), dtype=np.float64, count=len(tokens))
            hits = D @ is_lex
        else:
            hits = np.zeros(m)
        links = (np.fromiter(map(methodcaller("count", "http://"), texts), dtype=np.float64, count=m)
                 + np.fromiter(map(methodcaller("count", "https://"), texts), dtype=np.float64, count=m)
                 + np.fromiter(map(methodcaller("count", "www."), texts), dtype=np.float64, count=m))
        empty = np.fromiter(map(len, map(str.strip, texts)), dtype=np.int64, count=m) == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            caps = np.where(letters > 0, up / np.maximum(letters, 1), 0.0)
            out[:, 0] = np.log1p(n)
            out[:, 1] = np.log1p(nw)
            out[:, 2] = caps
            out[:, 3] = np.where(n > 0, punct / np.maximum(n, 1), 0.0)
            out[:, 4] = np.minimum(excl, 10)
            out[:, 5] = np.minimum(ques, 10)
            out[:, 6] = np.minimum(links, 5)
            out[:, 7] = np.minimum(hits, 10)
            out[:, 8] = np.where(nw > 0, hits / np.maximum(nw, 1), 0.0)
            out[:, 9] = empty
            out[:, 10] = (caps > 0.7) & (letters >= 12)
        return out

    def fit(self, X: Any, y: Any = None) -> TextStats:
        raw = self._raw(_texts(X, self.column))
        self.mean_ = raw.mean(axis=0)
        scale = raw.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        return self

    def raw(self, X: Any) -> pd.DataFrame:
        """The unscaled statistics, one named column each (for reasons and flags)."""
        return pd.DataFrame(self._raw(_texts(X, self.column)), columns=list(STAT_NAMES))

    def scale(self, raw: np.ndarray) -> sp.csr_matrix:
        """Standardise raw statistics as :meth:`transform` does."""
        return sp.csr_matrix(np.clip((raw - self.mean_) / self.scale_, -3.0, 3.0) / 3.0)

    def scale_dense(self, raw: np.ndarray) -> np.ndarray:
        """:meth:`scale` as a dense array (the statistics are dense anyway)."""
        return np.clip((raw - self.mean_) / self.scale_, -3.0, 3.0) / 3.0

    def transform(self, X: Any) -> sp.csr_matrix:
        raw = self._raw(_texts(X, self.column))
        # Clipped so a rare feature (an empty comment) cannot dominate a linear model.
        return sp.csr_matrix(np.clip((raw - self.mean_) / self.scale_, -3.0, 3.0) / 3.0)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array([f"stat:{n}" for n in STAT_NAMES], dtype=object)


# --------------------------------------------------------------------------------------------
# Thread context
# --------------------------------------------------------------------------------------------
CONTEXT_NAMES = (
    "sim_article", "sim_parent", "sim_context", "depth", "is_reply", "self_reply",
    "exact_repeat", "near_repeat", "no_article",
)


def _content_counts(texts: Sequence[str], vocab: dict[str, int], cache: dict[str, int]) -> sp.csr_matrix:
    """Counts of content words (stop words dropped) per text over a fixed vocabulary."""
    indices: list[int] = []
    indptr = [0]
    for s in texts:
        for tok in s.lower().split():
            j = cache.get(tok)
            if j is None:
                w = word_of(tok)
                j = cache[tok] = vocab.get(w, -1) if w not in STOP_WORDS else -1
            if j >= 0:
                indices.append(j)
        indptr.append(len(indices))
    X = sp.csr_matrix((np.ones(len(indices)), np.asarray(indices, dtype=np.int32),
                       np.asarray(indptr, dtype=np.int64)), shape=(len(texts), len(vocab)))
    X.sum_duplicates()
    return X


class ThreadContext(TransformerMixin, BaseEstimator):
    """Where a comment sits in its thread, and how much it shares with its surroundings.

    - ``sim_article``: cosine similarity of the comment's content words (TF-IDF, stop words
      out) with its page's title and article; ``sim_parent``: with its direct parent;
      ``sim_context``: the larger of the two (a reply may follow its parent off the article);
    - ``depth`` (log1p), ``is_reply``, ``self_reply`` (a reply to the same author);
    - ``exact_repeat``: the same text (case and spacing folded) appeared earlier on the page; ``near_repeat``: highest word-TF-IDF cosine with one of the ``window`` previous
      comments on the page (a reworded repost scores near 1);
    - ``no_article``: the page has no article text.
    """

    def __init__(self, max_features: int = 40000, window: int = 200, min_df: int = 1) -> None:
        self.max_features = max_features
        self.window = window
        self.min_df = min_df

    def fit(self, X: pd.DataFrame, y: Any = None) -> ThreadContext:
        _FITTED_CACHES.pop(self, None)
        texts = _texts(X, "text")
        articles = list(dict.fromkeys(_texts(X, "article")))
        docs = texts + articles
        df: dict[str, int] = {}
        for s in docs:
            for w in {word_of(t) for t in s.lower().split()}:
                if w and w not in STOP_WORDS:
                    df[w] = df.get(w, 0) + 1
        self.vocabulary_ = _select(df, self.min_df, self.max_features)
        self.idf_ = _idf(np.array([df[t] for t in self.vocabulary_], dtype=np.float64), len(docs))
        return self

    def _vectors(self, texts: Sequence[str], counts: tuple[sp.csr_matrix, list[str]] | None = None) -> sp.csr_matrix:
        """Content-word TF-IDF vectors (l2-normalised) of ``texts``."""
        # token -> vocabulary column (-1: none), keyed on the fitted vocabulary
        cache = fitted_cache(self, (self.vocabulary_,), (), dict)
        if len(cache) > 400_000:
            cache.clear()
        D, tokens = counts if counts is not None else count_tokens(texts)
        vocab = self.vocabulary_
        cols = np.empty(len(tokens), dtype=np.int64)
        for i, tok in enumerate(tokens):
            j = cache.get(tok)
            if j is None:
                w = word_of(tok)
                j = cache[tok] = vocab.get(w, -1) if w not in STOP_WORDS else -1
            cols[i] = j
        keep = np.flatnonzero(cols >= 0)
        T = sp.csr_matrix((np.ones(len(keep)), (keep, cols[keep])), shape=(len(tokens), len(vocab)))
        return _tfidf(D @ T, self.idf_)

    def transform(self, X: pd.DataFrame) -> sp.csr_matrix:
        return sp.csr_matrix(self.context(X).to_numpy(dtype=np.float64))

    def context(self, X: pd.DataFrame, counts: tuple[sp.csr_matrix, list[str]] | None = None) -> pd.DataFrame:
        """The features as a named DataFrame (used by flag reasons). ``counts``: the batch's
        :func:`count_tokens` output when the caller already has it.

        Memoised for the last two batches (the topic pipeline and the rule flags read the same
        frame): the key is every column the features read, the fitted vocabulary and window."""
        cols = ("text", "article", "parent_text", "comment_id", "parent_id", "doc", "author", "parent_author")
        key = (id(self.vocabulary_), self.window, tuple(X["depth"].to_numpy().tolist()),
               *(tuple(_texts(X, c)) for c in cols))
        hit = _CONTEXT_MEMO.get(key)
        if hit is not None and hit[0] is self.vocabulary_:
            return hit[1].copy()
        out = self._context(X, counts)
        _CONTEXT_MEMO.put(key, (self.vocabulary_, out))  # holds the vocabulary: its id is not reused
        return out.copy()

    def _context(self, X: pd.DataFrame, counts: tuple[sp.csr_matrix, list[str]] | None = None) -> pd.DataFrame:
        n = len(X)
        texts = _texts(X, "text")
        V = self._vectors(texts, counts)
        # Articles: vectorise each distinct article once.
        art = _texts(X, "article")
        uniq: dict[str, int] = {}
        art_idx = np.fromiter((uniq.setdefault(a, len(uniq)) for a in art), dtype=np.int64, count=n)
        A = self._vectors(list(uniq), _count_tokens(list(uniq)))
        sim_article = np.asarray(V.multiply(A[art_idx]).sum(axis=1)).ravel()
        # A parent on the same page is a row of the frame: reuse its vector; vectorise only the
        # parent texts that are not (synthetic placements, partial frames).
        ids = pd.Index(X["comment_id"].astype(str))
        prow = ids.get_indexer(X["parent_id"].astype(str)) if ids.is_unique else np.full(n, -1)
        parents = _texts(X, "parent_text")
        P = sp.csr_matrix(V[np.maximum(prow, 0)])
        missing = np.flatnonzero((prow < 0) & np.fromiter((bool(p) for p in parents), dtype=bool, count=n))
        if len(missing):
            P = sp.lil_matrix(P)
            P[missing] = self._vectors([parents[i] for i in missing], _count_tokens([parents[i] for i in missing]))
            P = P.tocsr()
        no_parent = np.flatnonzero((prow < 0) & ~np.isin(np.arange(n), missing))
        if len(no_parent):
            P = sp.diags(np.where(np.isin(np.arange(n), no_parent), 0.0, 1.0)) @ P
        sim_parent = np.asarray(V.multiply(P).sum(axis=1)).ravel()
        is_reply = (X["parent_id"].astype(str) != "").to_numpy(dtype=np.float64)
        sim_parent = sim_parent * is_reply
        depth = np.log1p(X["depth"].to_numpy(dtype=np.float64).clip(min=0))
        authors = X["author"].astype(str).to_numpy()
        pauth = X["parent_author"].astype(str).to_numpy()
        self_reply = ((authors == pauth) & (is_reply > 0) & (authors != "")).astype(np.float64)
        exact, near = self._repeats(X, texts, V)
        no_article = np.array([0.0 if a.strip() else 1.0 for a in art])
        return pd.DataFrame({
            "sim_article": sim_article, "sim_parent": sim_parent,
            "sim_context": np.maximum(sim_article, sim_parent), "depth": depth,
            "is_reply": is_reply, "self_reply": self_reply, "exact_repeat": exact,
            "near_repeat": np.maximum(near, exact), "no_article": no_article,
        }, columns=list(CONTEXT_NAMES))

    def _repeats(self, X: pd.DataFrame, texts: list[str], V: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """``exact_repeat`` and ``near_repeat`` for every row, vectorised over all pages.

        Rows of one page keep their frame order (page order). The candidate pairs are each
        comment with the ``window`` comments before it on its page; their cosines come from one
        row-wise product, not a loop over pages."""
        n = len(X)
        docs = X["doc"].astype(str).to_numpy()
        keys = [" ".join(t.lower().split()) for t in texts]
        exact = pd.DataFrame({"d": docs, "k": keys}).duplicated().to_numpy() & (np.array(keys, dtype=object) != "")
        order = np.argsort(docs, kind="stable")  # page by page, page order kept
        sd = docs[order]
        starts = np.flatnonzero(np.r_[True, sd[1:] != sd[:-1]])
        page_start = np.repeat(starts, np.diff(np.r_[starts, n]))
        pos = np.arange(n) - page_start  # position within its page
        m = np.minimum(pos, self.window)  # how many earlier comments each one is compared with
        total = int(m.sum())
        near = np.zeros(n)
        if total:
            i_sorted = np.repeat(np.arange(n), m)
            t = np.arange(total) - np.repeat(np.cumsum(m) - m, m)
            j_sorted = i_sorted - 1 - t
            i_rows, j_rows = order[i_sorted], order[j_sorted]
            for lo in range(0, total, 2_000_000):  # bounded memory on giant pages
                ii, jj = i_rows[lo:lo + 2_000_000], j_rows[lo:lo + 2_000_000]
                cos = np.asarray(V[ii].multiply(V[jj]).sum(axis=1)).ravel()
                np.maximum.at(near, ii, cos)
        return exact.astype(np.float64), near

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array([f"thread:{n}" for n in CONTEXT_NAMES], dtype=object)
