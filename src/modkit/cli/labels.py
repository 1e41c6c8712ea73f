"""`modkit label` (the labeler and `--set`) and `modkit labels import|export|stats|adjudicate|check|schema`."""

from __future__ import annotations

import math
import sys
from collections import Counter
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from modkit import labels as L
from modkit.cli.app import AllowPickle, app, command, data_stdout, err, out, warn
from modkit.errors import EXIT_USAGE, EXIT_USER_ERROR, ModkitError, NotFoundError, not_found
from modkit.labels.agreement import Coverage
from modkit.safeio import atomic_write, check_writable
from modkit.safetext import visible

labels_app = typer.Typer(
    name="labels", help="Import, export, count, compare, adjudicate and check labels (the files in labels/).",
    no_args_is_help=True, rich_markup_mode=None,
)
app.add_typer(labels_app, name="labels")

LabelsDir = Annotated[Path, typer.Option("--labels", help="Folder of label files and schema.toml.")]
Pages = Annotated[list[str] | None, typer.Option("--pages", "-p", help="Pages the comment ids belong to (file, folder or prefix; repeatable). Default: seeds/.")]
Annotator = Annotated[str | None, typer.Option("--annotator", "-a", help="Your annotator id (default: $MODKIT_ANNOTATOR, else your login name).")]

NO_TTY = ("modkit label needs an interactive terminal (stdin and stdout are not a TTY); in scripts use "
          "`modkit label --set COMMENT_ID TASK=VALUE...` or `modkit labels import FILE`")


class Order(str, Enum):
    document = "document"
    random = "random"
    uncertain = "uncertain"


class Fmt(str, Enum):
    csv = "csv"
    jsonl = "jsonl"


def _schema(labels_dir: Path) -> L.Schema:
    return L.schema_for(labels_dir)


def _report(warnings: list[str]) -> None:
    for w in dict.fromkeys(warnings):
        warn(w)


@command(app, "label")
def label_cmd(
    sources: Annotated[list[str] | None, typer.Argument(help="Pages to label (file, folder or unique prefix; default seeds/). With --set: the TASK=VALUE pairs.")] = None,
    set_id: Annotated[str | None, typer.Option("--set", metavar="COMMENT_ID", help="Record labels without the TUI: --set COMMENT_ID civility=abusive topic=off.")] = None,
    annotator: Annotator = None,
    note: Annotated[str, typer.Option("--note", help="With --set: a free-text note stored with the labels.")] = "",
    task: Annotated[str | None, typer.Option("--task", "-t", help="Label one task only (e.g. civility).")] = None,
    only_unlabeled: Annotated[bool, typer.Option("--only-unlabeled", help="Show only comments you have not fully labeled.")] = False,
    order: Annotated[Order, typer.Option("--order", help="document: page order; random: shuffled (--seed); uncertain: least sure model predictions first.")] = Order.document,
    seed: Annotated[int, typer.Option("--seed", help="Seed of --order random.")] = 0,
    model_dir: Annotated[Path, typer.Option("--model", help="With --order uncertain: the trained model folder.")] = Path("models/default"),
    labels_dir: LabelsDir = Path("labels"),
    allow_pickle: AllowPickle = False,
) -> None:
    """Label comments in a full-screen terminal app (one key per value), or record labels with --set."""
    args = list(sources or [])
    schema = _schema(labels_dir)
    store = L.LabelStore(labels_dir)
    who = annotator or L.default_annotator()
    L.check_annotator(who)
    if set_id is not None:
        pairs = [a for a in args if "=" in a]
        for a in args:
            if "=" not in a and a in schema.task_names:
                raise ModkitError(f"{a!r}: expected TASK=VALUE, e.g. {a}={schema.task(a).values[0].name}")
        pages = [a for a in args if "=" not in a] or ["seeds/"]
        corpus = L.Corpus.read(pages)
        events = L.set_labels(store, schema, corpus, set_id, pairs, annotator=who, note=note)
        err.print(f"{events[0].comment_id}: " + " ".join(f"{e.task}={e.value}" for e in events)
                  + f"  ({who}, {store.path_for(who)})", highlight=False)
        return
    if any("=" in a for a in args):
        raise ModkitError(f"{next(a for a in args if '=' in a)!r} looks like TASK=VALUE: use --set COMMENT_ID TASK=VALUE...")
    if task is not None:
        schema = schema.only(task)
    corpus = L.Corpus.read(args or ["seeds/"])
    if not len(corpus):
        raise ModkitError("no comments to label in the pages given")
    from modkit.labels.session import LabelSession, comment_order

    unc = _uncertainty(corpus, model_dir, allow_pickle) if order is Order.uncertain else None
    ids = comment_order(corpus, order.value, seed=seed, uncertainty=unc)

    session = LabelSession(corpus, store, schema, who, order=ids, only_unlabeled=only_unlabeled)
    if not session.queue:
        err.print(f"{who}: nothing left to label ({len(corpus)} comments, all labeled on "
                  f"{', '.join(schema.task_names)})", highlight=False)
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        err.print(NO_TTY, highlight=False)
        raise typer.Exit(EXIT_USAGE)
    from modkit.tui.labeler import LabelerApp  # Textual loads only for the interactive labeler

    app_ = LabelerApp(corpus, store, schema, who, session=session)
    app_.run()
    err.print(app_.summary(), highlight=False)


def _uncertainty(corpus: L.Corpus, model_dir: Path, allow_pickle: bool = False) -> dict[str, float]:
    """The trained model's uncertainty per comment id (needs `modkit train`)."""
    from modkit.cli.app import model_path, warn_if_pickle

    no_model = f"--order uncertain: no trained model in {model_dir} (run `modkit train` first)"
    try:
        model_dir = model_path(model_dir)
    except NotFoundError:
        raise NotFoundError(no_model) from None
    try:
        from modkit import flag, model
    except ImportError:
        raise ModkitError(no_model) from None
    warn_if_pickle(model_dir, allow_pickle)
    scores = flag.score(corpus.threads, model.load_model(model_dir, allow_pickle=allow_pickle))
    return {str(c): float(u) for c, u in zip(scores["comment_id"], scores["uncertainty"])}


# -- modkit labels ... -------------------------------------------------------------------------


@command(labels_app, "import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="CSV or JSONL: comment_id plus a column per task (or task,value); optional annotator, note. With --from-status: a SOURCE (export file, folder or prefix).")],
    annotator: Annotated[str | None, typer.Option("--annotator", "-a", help="Annotator for rows without an annotator column (with --from-status: default 'platform').")] = None,
    pages: Pages = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate every row and say what would be written; write nothing.")] = False,
    from_status: Annotated[bool, typer.Option("--from-status", help="Turn the platform's own decisions on the comments of SOURCE (an export: spam, rejected with a reason...) into labels with source=platform, through the 'platform' mapping of each task in schema.toml.")] = False,
    labels_dir: LabelsDir = Path("labels"),
) -> None:
    """Import labels from a file: every row is validated first; nothing is written unless all are valid."""
    schema, store = _schema(labels_dir), L.LabelStore(labels_dir)
    if from_status:
        _import_status(str(file), store, schema, annotator or L.PLATFORM_ANNOTATOR, dry_run)
        return
    corpus = L.Corpus.read(pages or ["seeds/"])
    fn = L.plan_import if dry_run else L.import_labels
    res = fn(file, store, schema, corpus, annotator=annotator)
    verb = "would write" if dry_run else "imported"
    err.print(f"{file}: {res.rows} rows, {verb} {len(res.written)} labels, {res.unchanged} already current (skipped)",
              highlight=False)


def _import_status(source: str, store: L.LabelStore, schema: L.Schema, annotator: str, dry_run: bool) -> None:
    from modkit import threads as threads_api

    errors: list[ModkitError] = []
    pages = threads_api.iter_threads([source], errors=errors)
    fn = L.plan_status_labels if dry_run else L.import_status_labels
    res = fn(pages, store, schema, annotator)
    for exc in errors:
        err.print(f"error: {exc.message}", highlight=False, markup=False)
    verb = "would write" if dry_run else "imported"
    what = ", ".join(f"{k} {n}" for k, n in sorted(res.by_label.items())) or "none"
    err.print(f"{source}: {res.comments} comments, {res.decided} with a decision the schema maps; {verb} "
              f"{len(res.written) - res.retracted} labels ({what}) as {annotator}, {res.unchanged} already current, "
              f"{res.retracted} retracted", highlight=False, markup=False)
    if errors:
        raise typer.Exit(1)


@command(labels_app, "export")
def export_cmd(
    fmt: Annotated[Fmt, typer.Option("--format", "-f", help="csv or jsonl.")] = Fmt.csv,
    resolved: Annotated[bool, typer.Option("--resolved", help="One row per comment: adjudicated value, else the majority; ties flagged.")] = False,
    out_path: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")] = None,
    pages: Pages = None,
    labels_dir: LabelsDir = Path("labels"),
) -> None:
    """Export labels: one row per comment and annotator, or one resolved row per comment."""
    if out_path:
        check_writable(out_path)
    schema, store = _schema(labels_dir), L.LabelStore(labels_dir)
    corpus = L.Corpus.read(pages or ["seeds/"])
    warnings: list[str] = []
    rows = L.export_rows(store, schema, resolved=resolved, texts=corpus.texts(), warnings=warnings, order=corpus.ids())
    _report(warnings)
    cols = L.export_columns(schema, resolved)
    if out_path:
        with atomic_write(out_path, newline="") as fh:  # fsync + rename: never half-written
            n = L.write_rows(rows, fh, fmt.value, cols)
        err.print(f"wrote {n} rows to {out_path}", highlight=False)
    else:
        L.write_rows(rows, data_stdout(), fmt.value, cols)


def _fmt(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


#: Tables longer than this are laid out by :func:`_print_table` itself (same box, same widths)
#: when they fit the terminal: rich takes about a millisecond a row, a minute for 100k rows.
FAST_ROWS = 200
#: Above this many annotators, coverage is one row per page with totals, not a column each.
COVERAGE_COLUMNS = 8


def _print_table(title: str, columns: list[tuple[str, str]], rows: list[tuple[str, ...]]) -> None:
    """A table as rich lays it out (``rich.table.Table``, its default box), rows as given.

    Up to :data:`FAST_ROWS` rows, rich itself; longer tables the same characters written
    directly: rich's column widths (its own collapse of the widest columns when the table is
    wider than the terminal) and its word wrapping of each cell that does not fit, with rich's
    styles on the title and header only. ``tests/test_labels_scale.py`` checks the result is
    rich's, character for character."""
    from rich._ratio import ratio_reduce
    from rich.cells import cell_len
    from rich.segment import Segment, Segments
    from rich.text import Text

    def with_rich() -> None:
        t = Table(title=title)
        for name, justify in columns:
            t.add_column(name, justify=justify)  # type: ignore[arg-type]
        for row in rows:
            t.add_row(*row)
        out.print(t)

    if len(rows) <= FAST_ROWS or any("\n" in cell for row in rows for cell in row):
        with_rich()
        return
    widths = [cell_len(name) + 2 for name, _ in columns]  # with the cell padding, as rich measures
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], cell_len(cell) + 2)
    room = out.width - (len(columns) + 1)  # rich's _extra_width: the box's vertical lines
    if sum(widths) > room:
        widths = Table._collapse_widths(widths, [True] * len(widths), room)
        if sum(widths) > room:
            widths = ratio_reduce(sum(widths) - room, [1] * len(widths), widths, widths)
    inner = [w - 2 for w in widths]
    if min(inner) < 1:
        with_rich()
        return

    def line(cells: tuple[str, ...] | list[str], bar: str) -> str:
        parts: list[list[str]] = []
        for (_, justify), w, cell in zip(columns, inner, cells):
            n = cell_len(cell)
            if n <= w:
                pad = " " * (w - n)
                parts.append([pad + cell if justify == "right" else cell + pad])
            else:  # wrapped as rich wraps a cell: at spaces, long words folded
                parts.append([x.plain for x in Text(cell).wrap(out, w, justify=justify, overflow="fold")])  # type: ignore[arg-type]
        height = max(len(p) for p in parts)
        return "".join(f"{bar} " + f" {bar} ".join(p[k] if k < len(p) else " " * w for p, w in zip(parts, inner))
                       + f" {bar}\n" for k in range(height))

    total = sum(widths) + len(columns) + 1
    opts = out.options.update(width=total, height=None)
    for segs in out.render_lines(Text(title, style="table.title", justify="center"), opts, pad=True):
        out.print(Segments([*segs, Segment.line()]), soft_wrap=True, end="")
    out.print(Text("┏" + "┳".join("━" * w for w in widths) + "┓"), soft_wrap=True)
    head = line([name for name, _ in columns], "┃")
    for text in head.rstrip("\n").split("\n"):
        out.print(Text(text, style="table.header"), soft_wrap=True)
    out.print(Text("┡" + "╇".join("━" * w for w in widths) + "┩"), soft_wrap=True)
    chunk: list[str] = []
    for row in rows:
        chunk.append(line(row, "│"))
        if len(chunk) >= 5000:
            out.out("".join(chunk), end="", highlight=False)
            chunk = []
    chunk.append("└" + "┴".join("─" * w for w in widths) + "┘\n")
    out.out("".join(chunk), end="", highlight=False)


@command(labels_app, "stats")
def stats_cmd(
    pages: Pages = None,
    labels_dir: LabelsDir = Path("labels"),
    max_disagreements: Annotated[int, typer.Option("--max-disagreements", help="List at most this many disagreements (0: all).")] = 0,
    max_pairs: Annotated[int, typer.Option("--max-pairs", help="List Cohen's kappa for at most this many pairs of annotators per task, those sharing the most comments (0: all).")] = 100,
) -> None:
    """Counts per task and value, per annotator, coverage per page, agreement (kappa, alpha), disagreements."""
    schema, store = _schema(labels_dir), L.LabelStore(labels_dir)
    corpus = L.Corpus.read(pages or ["seeds/"])
    st = L.compute_stats(store, schema, corpus)
    _report(st.warnings)
    n = len(corpus)
    t = Table(title="Labels per task and value (all annotators)")
    t.add_column("task")
    t.add_column("value")
    t.add_column("labels", justify="right")
    for task in schema.tasks:
        for v in task.values:
            t.add_row(visible(task.name), visible(v.name), str(st.counts[task.name][v.name]))
    out.print(t)
    _print_table(f"Per annotator (comments labeled, of {n})",
                 [("annotator", "left"), *((visible(task), "right") for task in st.tasks)],
                 [(visible(who), *(str(per[task]) for task in st.tasks)) for who, per in st.per_annotator.items()])
    if len(st.per_annotator) <= COVERAGE_COLUMNS:
        _print_table("Coverage per page (comments labeled on every task)",
                     [("page", "left"), ("comments", "right"), *((visible(w), "right") for w in st.per_annotator)],
                     [(visible(doc), str(total), *(f"{per.get(w, 0)}/{total}" for w in st.per_annotator))
                      for doc, total, per in st.coverage])
    else:  # a column per annotator would not fit: who labeled how much of each page
        rows = []
        for doc, total, per in st.coverage:
            done = per.nonzero() if isinstance(per, Coverage) else {w: k for w, k in per.items() if k}
            top = max(done.items(), key=lambda x: (x[1], x[0]), default=("", 0))
            rows.append((visible(doc), str(total), str(len(done)), str(sum(done.values())),
                         f"{visible(top[0])} {top[1]}/{total}" if top[1] else ""))
        _print_table(f"Coverage per page (comments labeled on every task; {len(st.per_annotator)} annotators)",
                     [("page", "left"), ("comments", "right"), ("annotators", "right"), ("labelings", "right"),
                      ("most by one", "right")], rows)
    t = Table(title="Agreement per task (comments labeled by 2+ annotators)")
    for col in ("task", "annotators", "comments", "agree %", "Cohen's kappa", "Krippendorff's alpha"):
        t.add_column(col, justify="left" if col == "task" else "right")
    many = False
    for task, ag in st.agreement.items():
        ks = [k for k, _ in ag.kappa.values() if not math.isnan(k)]
        if len(ag.kappa) == 1:
            kap = _fmt(next(iter(ag.kappa.values()))[0])
        elif ks:
            many = True
            kap = f"{min(ks):.3f}..{max(ks):.3f} ({len(ag.kappa)} pairs)"
        else:
            kap = "n/a"
        pct = "n/a" if math.isnan(ag.percent) else f"{100 * ag.percent:.1f}"
        t.add_row(visible(task), str(len(ag.annotators)), str(ag.items), pct, kap, _fmt(ag.alpha))
    out.print(t)
    if many:
        rows, cut = [], []
        for task, ag in st.agreement.items():
            pairs = list(ag.kappa.items())
            if max_pairs and len(pairs) > max_pairs:  # the best-supported pairs, most shared comments first
                pairs = sorted(pairs, key=lambda p: -p[1][1])[:max_pairs]
                cut.append(f"{visible(task)}: {len(ag.kappa)} pairs, mean kappa weighted by shared comments "
                           f"{_fmt(ag.kappa_mean)}")
            rows += [(visible(task), visible(f"{a} ~ {b}"), str(m), _fmt(k)) for (a, b), (k, m) in pairs]
        title = "Cohen's kappa per pair of annotators"
        if cut:
            title += f" (at most {max_pairs} per task, most shared comments first; --max-pairs 0: all)"
        _print_table(title, [(c, "left") for c in ("task", "pair", "comments", "kappa")], rows)
        for line in cut:
            out.print(line, highlight=False)
    ds = st.disagreements
    shown = ds if not max_disagreements else ds[:max_disagreements]
    _print_table(f"Disagreements: {len(ds)} (comment, task); adjudicated labels: {st.adjudicated}",
                 [(c, "left") for c in ("comment", "page", "task", "values", "adjudicated")],
                 [tuple(map(visible, (d.comment_id, d.doc[:3], d.task, ", ".join(f"{w}={v}" for w, v in d.values.items()),
                                      d.adjudicated or ""))) for d in shown])


@command(labels_app, "adjudicate")
def adjudicate_cmd(
    assignments: Annotated[list[str] | None, typer.Argument(help="With --set: TASK=VALUE pairs.")] = None,
    set_id: Annotated[str | None, typer.Option("--set", metavar="COMMENT_ID", help="Record the final value without the TUI: --set COMMENT_ID stance=agree.")] = None,
    annotator: Annotator = None,
    note: Annotated[str, typer.Option("--note", help="With --set: why this value.")] = "",
    all_: Annotated[bool, typer.Option("--all", help="Also walk disagreements already adjudicated.")] = False,
    pages: Pages = None,
    labels_dir: LabelsDir = Path("labels"),
) -> None:
    """Walk the comments where annotators disagree and record the final value (an `adjudicated` event)."""
    schema, store = _schema(labels_dir), L.LabelStore(labels_dir)
    corpus = L.Corpus.read(pages or ["seeds/"])
    who = annotator or L.default_annotator()
    if set_id is not None:
        events = L.set_labels(store, schema, corpus, set_id, assignments or [], annotator=who, note=note,
                              source="adjudicated")
        err.print(f"{events[0].comment_id}: adjudicated " + " ".join(f"{e.task}={e.value}" for e in events)
                  + f"  ({who})", highlight=False)
        return
    if assignments:
        raise ModkitError("TASK=VALUE pairs need --set COMMENT_ID")
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        err.print("modkit labels adjudicate needs an interactive terminal; in scripts use "
                  "`modkit labels adjudicate --set COMMENT_ID TASK=VALUE...`", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    warnings: list[str] = []
    ds = L.disagreements(store, schema, corpus.texts(), warnings)
    _report(warnings)
    if not all_:
        ds = [d for d in ds if d.adjudicated is None]
    if not ds:
        err.print("no disagreements to adjudicate", highlight=False)
        return
    from modkit.tui.labeler import AdjudicatorApp

    app_ = AdjudicatorApp(corpus, store, schema, who, ds)
    app_.run()
    err.print(app_.summary(), highlight=False)


@command(labels_app, "check")
def check_cmd(
    labels_dir: LabelsDir = Path("labels"),
    pages: Annotated[list[str] | None, typer.Option("--pages", "-p", help="Also check comment ids and texts (text_sha) against these pages (file, folder or prefix; repeatable).")] = None,
    repair: Annotated[bool, typer.Option("--repair", help="Complete batches a killed import or review left, drop torn and invalid lines (backup FILE.bak-<time> first, atomic rewrite); the rest is only reported.")] = False,
) -> None:
    """Verify the label files: torn or invalid lines, values the schema lacks, unknown or changed comments; exit 1 if any."""
    from modkit.review import DecisionLog, decision_record

    if not labels_dir.is_dir():
        raise not_found(labels_dir, "label folder")
    texts = L.Corpus.read(pages).texts() if pages else None
    logs = {DecisionLog(labels_dir).path: decision_record}
    fn = L.repair if repair else L.check_store
    report = fn(labels_dir, texts=texts, logs=logs)
    for batch in report.completed:
        err.print(f"completed batch {batch} (left by a killed import or review)", highlight=False, markup=False)
    for r in report.repaired:
        err.print(f"repaired {r.path}: dropped {r.dropped} line{'s' if r.dropped != 1 else ''} (old file kept as "
                  f"{r.backup})", highlight=False, markup=False)
    stdout = data_stdout()
    for p in report.problems:
        stdout.write(f"{p}\n")
    stdout.flush()
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(Counter(p.kind for p in report.problems).items()))
    what = f"{report.files} file{'s' if report.files != 1 else ''}, {report.records} records"
    if report.problems:
        hint = "; --repair fixes the torn, invalid and uncommitted ones" if not repair and any(
            p.fixable for p in report.problems) else ""
        err.print(f"{labels_dir}: {what}: {len(report.problems)} problem{'s' if len(report.problems) != 1 else ''} "
                  f"({kinds}){hint}", highlight=False, markup=False)
        raise typer.Exit(EXIT_USER_ERROR)
    err.print(f"{labels_dir}: {what}: no problems", highlight=False, markup=False)


@command(labels_app, "schema")
def schema_cmd(
    file: Annotated[Path | None, typer.Argument(help="Schema file to check (default: labels/schema.toml or the built-in one).")] = None,
    labels_dir: LabelsDir = Path("labels"),
) -> None:
    """Check the label schema and print its tasks, values, keys and definitions."""
    schema = L.load_schema(file if file is not None else labels_dir)
    t = Table(title=f"Label schema ({schema.source})")
    for col in ("task", "key", "value", "definition"):
        t.add_column(col)
    for task in schema.tasks:
        for i, v in enumerate(task.values):
            t.add_row(task.name if i == 0 else "", v.key, v.name, v.definition)
    out.print(t)
    out.print("controls: " + ", ".join(f"{k}={a}" for a, k in schema.controls.items()), highlight=False)
    for task in schema.tasks:
        if task.platform:
            out.print(f"platform decisions -> {task.name}: " + ", ".join(f"{k} -> {v}" for k, v in task.platform),
                      highlight=False, markup=False)
