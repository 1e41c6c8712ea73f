"""The fast paths behind `labels stats` at scale give what the slow definitions gave.

Cohen's kappa of every pair at once (numpy contingency counts) against
``sklearn.metrics.cohen_kappa_score`` per pair; Krippendorff's alpha from the coincidence matrix
against the ``krippendorff`` package on a dense annotators x comments matrix; the whole
``compute_stats`` against the per-pair, per-comment loops it replaced; the streamed readers
(label files, import tables) against reading the whole file; the directly written big tables
against rich's.
"""

from __future__ import annotations

import io
import json
import math
import random
from collections import Counter
from itertools import combinations
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from modkit.errors import ModkitError, ParseError
from modkit.labels import LabelEvent, LabelStore, compute_stats, disagreements, load_schema, read_table
from modkit.labels.agreement import TaskLabels, alpha_from_counts, krippendorff_alpha, pair_kappas
from modkit.labels.store import parse_lines

VALUES = ["civil", "uncivil", "abusive", "off", "x"]


def random_units(rng: random.Random, n_units: int, n_annotators: int, n_values: int, p_label: float,
                 agree: float = 0.6) -> list[dict[str, str]]:
    """Per comment, annotator -> value; annotators missing at random, values correlated."""
    names = [f"a{i:02d}" for i in range(n_annotators)]
    values = VALUES[:n_values]
    units = []
    for _ in range(n_units):
        truth = rng.choice(values)
        units.append({w: truth if rng.random() < agree else rng.choice(values)
                      for w in names if rng.random() < p_label})
    return units


def slow_kappas(units: list[dict[str, str]]) -> dict[tuple[str, str], tuple[float, int]]:
    """What compute_stats did: sklearn per pair of annotators, on the comments both labeled."""
    who = sorted({w for u in units for w in u})
    out = {}
    for a, b in combinations(who, 2):
        both = [u for u in units if a in u and b in u]
        if not both:
            continue
        x, y = [u[a] for u in both], [u[b] for u in both]
        k = math.nan if len(set(x) | set(y)) == 1 else float(cohen_kappa_score(x, y))
        out[(a, b)] = (k, len(both))
    return out


def slow_alpha(units: list[dict[str, str]]) -> float:
    """The krippendorff package on the dense annotators x comments matrix (NaN = missing)."""
    pairable = [u for u in units if len(u) >= 2]
    values = sorted({v for u in pairable for v in u.values()})
    if not pairable or len(values) < 2:
        return math.nan
    who = sorted({w for u in pairable for w in u})
    code = {v: i for i, v in enumerate(values)}
    data = np.full((len(who), len(pairable)), np.nan)
    for j, u in enumerate(pairable):
        for i, w in enumerate(who):
            if w in u:
                data[i, j] = code[u[w]]
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal",
                                    value_domain=list(range(len(values)))))


def same(x: float, y: float) -> bool:
    return (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, abs=1e-12)


def labels_of(units: list[dict[str, str]]) -> TaskLabels:
    return TaskLabels.build((f"c{j}", w, v) for j, u in enumerate(units) for w, v in u.items())


@pytest.mark.parametrize("seed", range(8))
def test_kappa_of_every_pair_at_once_equals_sklearn_per_pair(seed):
    rng = random.Random(seed)
    for n_units, n_ann, n_val, p in [(40, 6, 3, 0.5), (25, 12, 2, 0.3), (60, 4, 5, 0.8), (8, 5, 1, 0.7),
                                     (30, 9, 4, 0.2)]:
        units = random_units(rng, n_units, n_ann, n_val, p)
        fast, slow = pair_kappas(labels_of(units)), slow_kappas(units)
        assert list(fast) == list(slow)  # the same pairs, in combinations() order
        for pair, (k, n) in slow.items():
            assert pair in fast
            got_k, got_n = fast[pair]
            # the same floats as sklearn, not only close: the printed 3 decimals never differ
            assert got_n == n and (got_k == k or (math.isnan(got_k) and math.isnan(k))), (pair, got_k, k)
        assert ("nobody", "a00") not in fast


@pytest.mark.parametrize("dense_cells", [0, 10**9])
def test_kappa_with_many_annotators_on_the_same_comments_counts_every_pair(monkeypatch, dense_cells):
    import modkit.labels.agreement as A

    monkeypatch.setattr(A, "PAIR_CHUNK", 500)  # several numpy steps, merged
    monkeypatch.setattr(A, "DENSE_PAIR_CELLS", dense_cells)  # the sparse and the dense counts
    rng = random.Random(7)
    units = random_units(rng, 12, 40, 3, 0.9) + random_units(rng, 30, 40, 3, 0.1)
    fast, slow = pair_kappas(labels_of(units)), slow_kappas(units)
    assert len(fast) == len(slow) > 700
    assert all(fast[p][1] == n and same(fast[p][0], k) for p, (k, n) in slow.items())


@pytest.mark.parametrize("seed", range(8))
def test_alpha_from_the_coincidence_matrix_equals_the_krippendorff_package_with_missing_values(seed):
    rng = random.Random(100 + seed)
    for n_units, n_ann, n_val, p in [(50, 5, 3, 0.6), (30, 15, 2, 0.25), (80, 3, 5, 0.9), (20, 8, 4, 0.15)]:
        units = random_units(rng, n_units, n_ann, n_val, p, agree=rng.random())
        expected = slow_alpha(units)
        assert same(krippendorff_alpha(units, sorted({w for u in units for w in u})), expected)
        assert same(alpha_from_counts(labels_of(units).value_counts()), expected)


def test_alpha_on_random_value_counts_equals_the_package_given_the_same_counts():
    rng = np.random.default_rng(3)
    for _ in range(50):
        counts = rng.integers(0, 4, size=(rng.integers(2, 40), rng.integers(2, 6)))
        if (counts.sum(axis=1) < 2).all() or (counts[counts.sum(axis=1) >= 2].sum(axis=0) > 0).sum() < 2:
            continue
        expected = krippendorff.alpha(value_counts=counts, level_of_measurement="nominal")
        assert alpha_from_counts(counts) == pytest.approx(expected, abs=1e-12)


def test_alpha_ignores_a_value_only_single_labels_used():
    # the old dense matrix raised KeyError here: 'abusive' appears only on a comment one annotator labeled
    units = [{"a": "civil", "b": "civil"}, {"a": "uncivil", "b": "civil"}, {"a": "abusive"}]
    assert krippendorff_alpha(units, ["a", "b"]) == pytest.approx(slow_alpha(units))


# -- the whole stats against the loops they replaced ------------------------------------------


def random_store(root: Path, seed: int, n_comments: int = 60, n_annotators: int = 7) -> LabelStore:
    rng = random.Random(seed)
    schema = load_schema(None)
    store = LabelStore(root)
    events = []
    for j in range(n_comments):
        cid, doc = f"c{j:03d}", f"doc{j % 4}"
        for w in rng.sample([f"ann{i}" for i in range(n_annotators)], rng.randint(1, 4)):
            for task in schema.tasks:
                if rng.random() < 0.85:
                    events.append(LabelEvent(cid, doc, task.name, rng.choice(task.names), w, time=f"t{j}"))
                if rng.random() < 0.1:  # relabel, undo
                    events.append(LabelEvent(cid, doc, task.name, rng.choice([None, *task.names]), w, time=f"u{j}"))
        if rng.random() < 0.1:
            events.append(LabelEvent(cid, doc, "civility", "civil", "lead", source="adjudicated", time=f"v{j}"))
    rng.shuffle(events)
    store.append(events)
    return store


@pytest.mark.parametrize("seed", range(4))
def test_stats_on_a_random_store_equal_the_slow_definitions(tmp_path, seed):
    store = random_store(tmp_path / "labels", seed)
    schema = load_schema(None)
    st = compute_stats(store, schema)
    cur = store.current()
    adj = store.adjudications()
    for task in schema.task_names:
        units: dict[str, dict[str, str]] = {}
        for (cid, t, who), ev in cur.items():
            if t == task:
                units.setdefault(cid, {})[who] = ev.value
        multi = [u for u in units.values() if len(u) >= 2]
        ag = st.agreement[task]
        assert ag.annotators == sorted({w for u in units.values() for w in u})
        assert ag.items == len(multi)
        assert ag.percent == pytest.approx(sum(len(set(u.values())) == 1 for u in multi) / len(multi))
        assert same(ag.alpha, slow_alpha(list(units.values())))
        slow = slow_kappas(list(units.values()))
        assert list(ag.kappa) == list(slow)
        assert all(ag.kappa[p][1] == n and same(ag.kappa[p][0], k) for p, (k, n) in slow.items())
        ok = [(k, n) for k, n in slow.values() if not math.isnan(k)]
        assert ag.kappa_mean == pytest.approx(sum(k * n for k, n in ok) / sum(n for _, n in ok))
    expected = []
    for task in schema.task_names:
        for cid in sorted({c for (c, t, _) in cur if t == task}):
            vals = {w: e.value for (c, t, w), e in cur.items() if c == cid and t == task}
            if len(set(vals.values())) > 1:
                a = adj.get((cid, task))
                expected.append((cid, task, dict(sorted(vals.items())), a.value if a else None))
    order = {t: i for i, t in enumerate(schema.task_names)}
    expected.sort(key=lambda d: (d[0], order[d[1]]))
    assert [(d.comment_id, d.task, d.values, d.adjudicated) for d in st.disagreements] == expected
    assert [(d.comment_id, d.task) for d in disagreements(store, schema)] == [(d[0], d[1]) for d in expected]
    assert st.adjudicated == len(adj)
    # coverage: a dict per page, every annotator, as before
    done = Counter((c, w) for (c, t, w) in cur)
    for doc, total, per in st.coverage:
        ids = {c for (c, _, _), e in cur.items() if e.doc == doc}
        assert total == len(ids)
        assert dict(per) == {w: sum(done.get((c, w), 0) == 3 for c in ids) for w in st.per_annotator}


def test_coverage_of_many_pages_and_annotators_is_a_sparse_view_equal_to_the_dict(tmp_path, monkeypatch):
    import modkit.labels.agreement as A

    store = random_store(tmp_path / "labels", 9)
    dense = compute_stats(store, load_schema(None)).coverage
    monkeypatch.setattr(A, "DENSE_COVERAGE", 0)
    sparse = compute_stats(store, load_schema(None)).coverage
    assert [type(per).__name__ for _, _, per in sparse] == ["Coverage"] * len(sparse)
    assert sparse == dense  # a Mapping equals the dict it stands for
    per = sparse[0][2]
    assert per.get("nobody", "none") == "none" and "nobody" not in per
    with pytest.raises(KeyError):
        per["nobody"]


# -- streamed reading -------------------------------------------------------------------------


def whole_file_events(path: Path) -> tuple[list[LabelEvent], list[str]]:
    """What read_records did: the whole file at once through parse_lines."""
    data = path.read_bytes()
    last = data.count(b"\n") + 1
    out, warnings = [], []
    for i, _raw, _d, rec, exc in parse_lines(data, path, LabelEvent.from_dict):
        if exc is None:
            out.append(rec)
        else:
            torn = i == last and not data.endswith(b"\n")
            warnings.append(f"{path}:{i}: {'torn last line (interrupted write?)' if torn else f'invalid line ({exc})'}; skipped")
    return out, warnings


@pytest.mark.parametrize("seed", range(6))
def test_store_read_a_megabyte_at_a_time_equals_the_whole_file_read(tmp_path, seed):
    rng = random.Random(seed)
    lines = []
    for i in range(rng.randint(1, 300)):
        r = rng.random()
        ev = LabelEvent(f"c{i % 17}", "d", "civility", rng.choice(["civil", None, "x"]), "ann", note="é" * rng.randint(0, 9))
        lines.append(ev.to_json().encode() if r < 0.9 else (b"{oops" if r < 0.95 else b"   "))
    data = b"\n".join(lines) + (b"\n" if rng.random() < 0.5 else b"")
    if rng.random() < 0.5:
        data = data[: rng.randint(0, len(data))]  # a torn end
    path = tmp_path / "ann.jsonl"
    path.write_bytes(data)
    expected = whole_file_events(path)
    warnings: list[str] = []
    got = list(LabelStore(tmp_path).events(warnings))
    assert (got, warnings) == expected


def test_store_read_across_chunk_boundaries(tmp_path):
    evs = [LabelEvent(f"c{i}", "d", "topic", "on", "ann", note="n" * (i % 700)) for i in range(6000)]
    (tmp_path / "ann.jsonl").write_text("".join(e.to_json() + "\n" for e in evs), encoding="utf-8")
    assert (tmp_path / "ann.jsonl").stat().st_size > 2 << 20
    assert list(LabelStore(tmp_path).events()) == evs


def old_read_table(path: Path):
    """read_table as it was (whole text, then split), for the rows of well-formed files."""
    from modkit import csvsafe

    text = path.read_text(encoding="utf-8-sig")
    if path.suffix == ".jsonl":
        return [(n, json.loads(line)) for n, line in enumerate(text.split("\n"), start=1) if line.strip()]
    records = csvsafe.rows(csvsafe.lines(text), path)
    header = next(cells for _, cells in records if cells)
    rows = []
    for n, cells in records:
        if cells:
            cells = [csvsafe.unneutralise(c) for c in cells]
            row = dict(zip(header, cells))
            row.update((name, None) for name in header[len(cells):])
            rows.append((n, row))
    return rows


@pytest.mark.parametrize("body", [
    "comment_id,civility,note\nc1,civil,ok\nc2,uncivil,\"two\nlines\"\n\nc3,abusive\n",
    "\ufeffcomment_id,civility\r\nc1,civil\r\nc2,civil",
    "comment_id,civility\rc1,civil\rc2,'=x\r",
    "\n\ncomment_id,civility\nc1," + "y" * 3_000_000 + "\n",
])
def test_import_table_streamed_equals_the_whole_text_read(tmp_path, body):
    path = tmp_path / "in.csv"
    path.write_text(body, encoding="utf-8", newline="")
    assert read_table(path) == old_read_table(path)


def test_import_table_jsonl_streamed_and_its_errors_name_the_line(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"comment_id": "c1"}\n\n{"comment_id": "c2", "note": "a\u2028b"}\n', encoding="utf-8")
    assert read_table(path) == old_read_table(path)
    path.write_bytes(b'{"comment_id": "c1"}\n' * 3 + b'{"comment_id": "\xff"}\n')
    with pytest.raises(ParseError, match=r"in.jsonl:4: not UTF-8 text \(byte 79\)"):
        read_table(path)
    path.write_bytes(b'{"comment_id": "c1"}\n\n{"a": "\x00"}\n')
    with pytest.raises(ParseError, match=r"in.jsonl:3: binary file \(NUL byte\)"):
        read_table(path)
    path.write_text(" \n\n  \n")
    with pytest.raises(ModkitError, match="empty file"):
        read_table(path)


# -- big tables -------------------------------------------------------------------------------


LONG = ", ".join(f"ann{i:04d}={v}" for i, v in enumerate(["civil", "uncivil", "abusive", "civil", "uncivil", "x"]))


@pytest.mark.parametrize("title", ["Short", "A title much longer than the table is wide, so rich wraps it on two lines"])
@pytest.mark.parametrize("wide", [False, True])
def test_a_big_table_written_directly_is_what_rich_prints(monkeypatch, title, wide):
    import modkit.cli.labels as CL
    from modkit.cli.app import SafeConsole

    cols = [("comment", "left"), ("n", "right"), ("values", "left"), ("adjudicated", "left")]
    rng = random.Random(5)
    rows = [(f"c{i}", str(i * 7), (LONG + ", " + "w" * rng.randint(0, 90) if wide and i % 4 == 0 else "") +
             "ann=civil, b=\u00e9\u4e2d" * (i % 3), rng.choice(["", "civil"])) for i in range(40)]
    got = {}
    for fast in (True, False):
        buf = io.StringIO()
        monkeypatch.setattr(CL, "out", SafeConsole(file=buf, width=120))
        monkeypatch.setattr(CL, "FAST_ROWS", 0 if fast else 10**9)
        CL._print_table(title, cols, rows)
        got[fast] = buf.getvalue()
    assert max(map(len, got[False].splitlines())) <= 120
    assert got[True] == got[False]
