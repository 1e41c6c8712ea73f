"""`modkit train --jobs`: the cross-validation folds (feature extraction and fits) in worker
processes give the same model file, byte for byte, as one process."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modkit import flag as flag_api
from modkit import model, threads
from modkit.labels import schema_for
from modkit.tasks import Registry


def test_two_jobs_train_the_same_model_file_as_one(seeds, tmp_path):
    runs = {}
    for jobs in (1, 2):
        runs[jobs] = m = model.train(labels="labels", pages=[str(seeds)], data_dir="data", limit=200, small=True,
                                     seed=3, name="x", jobs=jobs)
        model.save(m, tmp_path / f"j{jobs}")
    assert (tmp_path / "j1" / "model.skops").read_bytes() == (tmp_path / "j2" / "model.skops").read_bytes()
    one, two = runs[1], runs[2]
    strip = lambda card: {k: v for k, v in card.items() if k != "train_seconds"}  # noqa: E731
    assert strip(one.card) == strip(two.card)
    assert one.card["metrics"] and one.card["regularisation"]  # the folds did run (evaluation and tuning)
    pages = threads.read([str(seeds)])
    pd.testing.assert_frame_equal(flag_api.score(pages, one), flag_api.score(pages, two))


def test_out_of_fold_probabilities_are_the_same_in_worker_processes():
    schema = schema_for("labels")
    td = model.gather(schema, "labels", ["seeds"], limit=150, seed=0)
    spec = Registry.from_schema(schema).tasks[0]
    df = td.examples[spec.name]
    y = df[spec.name].to_numpy(dtype=object).astype(str)
    w = model.balanced_weights(df[spec.name], df["source"])
    make = lambda: model.task_pipeline(spec, ("idiot",), len(df), 0, True)  # noqa: E731
    p1, c1 = model.out_of_fold(make, df, y, df["group"].to_numpy(), w, 0, jobs=1)
    p2, c2 = model.out_of_fold(make, df, y, df["group"].to_numpy(), w, 0, jobs=2)
    assert c1 == c2
    assert np.array_equal(p1, p2, equal_nan=True)
    assert np.isfinite(p1).any()
