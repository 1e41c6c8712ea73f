"""Property tests of every input reader: for any bytes, a result or one ModkitError, never any
other exception (and the tree's invariants hold on every result).

The inputs and targets are those of ``fuzz/fuzz_readers.py`` (the long run); here each target
gets a bounded number of examples so the file runs in well under a minute. Crashes the long run
found have their own regression tests in ``tests/test_hostile_input.py``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

ROOT = Path(__file__).resolve().parent.parent


def _load_fuzz_module():
    spec = importlib.util.spec_from_file_location("fuzz_readers", ROOT / "fuzz" / "fuzz_readers.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fuzz_readers", module)
    spec.loader.exec_module(module)
    return module


fz = _load_fuzz_module()
STRATEGIES = fz.strategies()
EXAMPLES = {"page": 250, "csv": 200, "jsonl": 100, "json": 60, "review": 150, "labels": 150, "labels_jsonl": 100}


@pytest.fixture(scope="module")
def targets(tmp_path_factory):
    return fz.Targets(tmp_path_factory.mktemp("fuzz"))


def _property(name: str):
    @settings(max_examples=EXAMPLES[name], deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(data=STRATEGIES[name])
    def check(targets, data: bytes) -> None:
        exc = fz.run_one(getattr(targets, name), data)
        if exc is not None:
            raise exc

    return check


test_any_page_bytes_give_a_thread_or_a_modkit_error = _property("page")
test_any_csv_export_gives_threads_or_a_modkit_error = _property("csv")
test_any_jsonl_export_gives_threads_or_a_modkit_error = _property("jsonl")
test_any_json_export_gives_threads_or_a_modkit_error = _property("json")
test_any_flagged_csv_gives_decisions_or_a_modkit_error = _property("review")
test_any_label_csv_gives_labels_or_a_modkit_error = _property("labels")
test_any_label_jsonl_gives_labels_or_a_modkit_error = _property("labels_jsonl")
