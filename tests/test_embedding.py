"""The static word embedding: the shipped table, TextEmbedding as an sklearn transformer."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from modkit.embedding import TextEmbedding, default_path, load_table
from modkit.errors import ModkitError
from modkit.features import TextStats, count_tokens

TEXTS = [
    "You are an idiot and a moron.",
    "The council approved the new budget for the school district.",
    "",
    "zzqxv qqqzzx",
    "What a STUPID, stupid idea!!!",
]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def table():
    return load_table()


def test_shipped_table_loads_from_package_data_with_its_licence_and_metadata(table):
    path = default_path()
    assert path.is_file() and path.parent.name == "embedding"
    assert len(table) > 20_000 and table.dims in (128, 256)
    assert table.vectors.shape == (len(table), table.dims)
    assert np.isfinite(table.vectors).all()
    assert {"the", "idiot", "moron", "table", "budget"} <= set(table.index)
    assert all(w == w.lower() and w.strip() == w and w for w in table.words)
    meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert meta["source_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert meta["vocab_size"] == len(table) and meta["dims"] == table.dims
    assert "Apache License" in (path.parent / "LICENSE").read_text(encoding="utf-8")
    assert "all-MiniLM-L6-v2" in (path.parent / "NOTICE").read_text(encoding="utf-8")


def test_load_table_reads_each_path_once(table):
    assert load_table() is table
    assert load_table(default_path()) is table


@pytest.mark.parametrize("word, near, far", [
    ("idiot", "moron", "table"),
    ("stupid", "dumb", "river"),
    ("kill", "murder", "garden"),
    ("car", "vehicle", "banana"),
])
def test_synonyms_are_closer_than_unrelated_words(table, word, near, far):
    assert cosine(table.vector(word), table.vector(near)) > cosine(table.vector(word), table.vector(far)) + 0.2


def test_a_sentence_vector_is_the_normalised_mean_of_its_known_words(table):
    emb = TextEmbedding().fit(TEXTS)
    text = "You're an IDIOT, a total idiot... zzqxv!"
    words = ["you're", "an", "idiot", "a", "total", "idiot", "zzqxv"]  # lower-cased, punctuation stripped
    known = [w for w in words if w in table]
    assert "zzqxv" not in known and known.count("idiot") == 2
    mean = np.mean([table.vector(w) for w in known], axis=0)
    np.testing.assert_allclose(emb.transform([text])[0], mean / np.linalg.norm(mean), rtol=1e-6, atol=1e-9)
    raw = TextEmbedding(normalize=False).fit(TEXTS).transform([text])[0]
    np.testing.assert_allclose(raw, mean, rtol=1e-6, atol=1e-9)


def test_a_text_with_no_known_word_is_all_zeros():
    X = TextEmbedding().fit(TEXTS).transform(["", "   ", "zzqxv qqqzzx", "!!! ..."])
    assert X.shape == (4, load_table().dims)
    assert not X.any()


def test_output_is_dense_float64_unit_rows_named_emb():
    emb = TextEmbedding().fit(TEXTS)
    X = emb.transform(pd.DataFrame({"text": TEXTS, "other": range(len(TEXTS))}))
    assert isinstance(X, np.ndarray) and X.dtype == np.float64 and X.shape == (len(TEXTS), emb.n_features_out_)
    norms = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(norms[[0, 1, 4]], 1.0)
    assert norms[2] == norms[3] == 0.0
    names = emb.get_feature_names_out()
    assert names[0] == "emb:0" and names[-1] == f"emb:{emb.n_features_out_ - 1}" and len(names) == X.shape[1]


def test_column_parameter_picks_the_text_column():
    frame = pd.DataFrame({"text": ["the budget"] * 2, "parent_text": ["you idiot", "the budget"]})
    a = TextEmbedding(column="parent_text").fit(frame).transform(frame)
    b = TextEmbedding().fit(frame).transform(["you idiot", "the budget"])
    np.testing.assert_array_equal(a, b)


def test_transform_counts_equals_transform():
    emb = TextEmbedding().fit(TEXTS)
    np.testing.assert_array_equal(emb.transform_counts(*count_tokens(TEXTS)), emb.transform(TEXTS))


def test_empty_batch():
    emb = TextEmbedding().fit(TEXTS)
    assert emb.transform([]).shape == (0, emb.n_features_out_)
    assert emb.similarity([], []).shape == (0,)


def test_transform_before_fit_is_an_error():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        TextEmbedding().transform(TEXTS)


def test_similarity_is_row_wise_cosine():
    emb = TextEmbedding().fit(TEXTS)
    a = ["you idiot", "the school budget", "", "the school budget"]
    b = ["what a moron", "the council approved the budget", "the budget", "idiot"]
    sim = emb.similarity(a, b)
    A, B = emb.transform(a), emb.transform(b)
    np.testing.assert_allclose(sim, (A * B).sum(axis=1), atol=1e-12)
    assert sim[2] == 0.0
    assert sim[1] > sim[3]
    with pytest.raises(ModkitError, match="3 texts against 2"):
        emb.similarity(["a", "b", "c"], ["a", "b"])


def test_clone_pickle_and_refit_keep_no_cached_table():
    emb = TextEmbedding(normalize=False).fit(TEXTS)
    before = emb.transform(TEXTS)
    state = pickle.dumps(emb)
    assert len(state) < 2_000  # the table is not in the pickle
    again = pickle.loads(state)
    np.testing.assert_array_equal(again.transform(TEXTS), before)
    c = clone(emb)
    assert c.get_params() == emb.get_params() and not hasattr(c, "n_features_out_")
    np.testing.assert_array_equal(c.fit(["other", "data"]).transform(TEXTS), before)
    emb.set_params(normalize=True)
    np.testing.assert_allclose(np.linalg.norm(emb.transform(TEXTS[:2]), axis=1), 1.0)


def test_a_model_fitted_with_another_table_refuses_this_one(tmp_path):
    tab = load_table()
    other = tmp_path / "small.npz"
    words = ["idiot", "budget"]
    blob = "\n".join(words).encode("utf-8")
    np.savez_compressed(other, vectors=np.stack([tab.vector(w) for w in words]).astype(np.float16),
                        words=np.frombuffer(blob, dtype=np.uint8))
    small = TextEmbedding(table=other).fit(TEXTS)
    assert small.n_features_out_ == tab.dims
    X = small.transform(["idiot budget zebra", "zebra"])
    assert X[0].any() and not X[1].any()
    moved = pickle.loads(pickle.dumps(small))
    moved.table = None  # pointed at the shipped table without refitting
    with pytest.raises(ModkitError, match="not the embedding table this model was fitted with"):
        moved.transform(TEXTS)
    np.testing.assert_array_equal(moved.fit(TEXTS).transform(TEXTS), TextEmbedding().fit(TEXTS).transform(TEXTS))


def test_missing_table_names_the_file(tmp_path):
    with pytest.raises(ModkitError, match="small.npz: embedding table missing"):
        TextEmbedding(table=tmp_path / "small.npz").fit(TEXTS)


def test_pipeline_with_other_features_round_trips_through_pickle():
    texts = ["you idiot", "what a moron", "stupid fool", "the budget passed", "school board meeting",
             "thanks for the article"] * 3
    y = np.array([1, 1, 1, 0, 0, 0] * 3)
    frame = pd.DataFrame({"text": texts})
    pipe = Pipeline([("features", FeatureUnion([("emb", TextEmbedding()), ("stats", TextStats())])),
                     ("clf", LogisticRegression(C=10.0))])
    pipe.fit(frame, y)
    assert (pipe.predict(frame) == y).all()
    p = pipe.predict_proba(pd.DataFrame({"text": ["a total moron", "the city council budget"]}))[:, 1]
    assert p[0] > p[1]
    loaded = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(loaded.predict_proba(frame), pipe.predict_proba(frame))
    assert clone(pipe).fit(frame, y).predict(frame).tolist() == y.tolist()
    names = pipe[0].get_feature_names_out()
    assert names[0] == "emb__emb:0"
