"""Labels: the schema, the append-only store, batch import/export, agreement statistics.

>>> from modkit import labels
>>> schema = labels.schema_for("labels")          # labels/schema.toml, or the package default
>>> corpus = labels.Corpus.read("seeds/")         # the comments to label, by id
>>> store = labels.LabelStore("labels")           # labels/<annotator>.jsonl
>>> labels.set_labels(store, schema, corpus, "cd6e10b388724", ["civility=civil"], annotator="me")
>>> report = labels.compute_stats(store, schema, corpus)   # counts, coverage, kappa, alpha
>>> labels.check_store("labels", texts=corpus.texts()).problems   # torn lines, unknown values, stale labels
"""

from modkit.labels.agreement import (
    Disagreement,
    PairKappas,
    Stats,
    TaskAgreement,
    alpha_from_counts,
    cohen_kappa,
    compute_stats,
    disagreements,
    krippendorff_alpha,
    pair_kappas,
    task_agreement,
)
from modkit.labels.check import CheckReport, Problem, check_store, repair
from modkit.labels.corpus import Corpus, Item, default_annotator
from modkit.labels.ops import (
    ImportResult,
    RowErrors,
    export_columns,
    export_rows,
    import_labels,
    iter_table,
    parse_assignments,
    plan_import,
    read_table,
    set_labels,
    write_rows,
)
from modkit.labels.platform import PLATFORM_ANNOTATOR, StatusImport, import_status_labels, plan_status_labels
from modkit.labels.schema import (
    DEFAULT_SCHEMA_TOML,
    Schema,
    SchemaError,
    Task,
    Value,
    load_schema,
    parse_schema,
    schema_for,
)
from modkit.labels.store import (
    SOURCES,
    LabelEvent,
    LabelStore,
    Resolved,
    check_annotator,
    read_events,
    text_sha,
    text_shas,
)

__all__ = [
    "DEFAULT_SCHEMA_TOML", "SOURCES", "CheckReport", "Problem", "check_store", "repair", "Corpus", "Disagreement", "ImportResult", "Item", "LabelEvent",
    "LabelStore", "Resolved", "RowErrors", "Schema", "SchemaError", "Stats", "Task", "TaskAgreement",
    "Value", "check_annotator", "cohen_kappa", "compute_stats", "default_annotator", "disagreements",
    "export_columns", "export_rows", "import_labels", "krippendorff_alpha", "load_schema",
    "parse_assignments", "parse_schema", "plan_import", "read_events", "read_table", "schema_for", "set_labels",
    "text_sha", "text_shas", "write_rows",
    "PLATFORM_ANNOTATOR", "StatusImport", "import_status_labels", "plan_status_labels",
    "PairKappas", "alpha_from_counts", "pair_kappas", "task_agreement", "iter_table",
]
