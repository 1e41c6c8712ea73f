"""`modkit train` and `modkit flag`: thin layers over :mod:`modkit.model` and :mod:`modkit.flag`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from modkit.cli.app import AllowPickle, app, command, data_path, err, model_path, warn, warn_if_pickle
from modkit.distributed import Engine, check_options
from modkit.errors import ModkitError, not_found
from modkit.safeio import check_writable
from modkit.safetext import visible
from modkit.tasks import PROFILES


Profile = Enum("Profile", {p: p for p in PROFILES}, type=str)  # the profiles of modkit.tasks


class OutFormat(str, Enum):
    """What `modkit flag` writes."""

    csv = "csv"
    parquet = "parquet"


@command(app, "train")
def train_cmd(
    labels: Annotated[Path, typer.Option("--labels", help="Label folder: its schema.toml says the tasks; its resolved labels of the --pages comments train them.")] = Path("labels"),
    data: Annotated[list[str] | None, typer.Option("--data", help="Public data to add (repeat): civil-comments-toxic-spans, davidson-2017, placements (synthetic off-topic placements), or none; default: all three.")] = None,
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Folder holding the public corpora and the lexicon.")] = Path("data"),
    out: Annotated[Path, typer.Option("--out", help="Model folder to write (model.skops + model_card.json), replaced as a whole.")] = Path("models/default"),
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed and data give the same model file.")] = 0,
    pages: Annotated[list[str] | None, typer.Option("--pages", help="Pages the labels refer to, and whose articles the synthetic off-topic examples are placed under (default: seeds/).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most N examples per public corpus (quick runs).")] = None,
    no_eval: Annotated[bool, typer.Option("--no-eval", help="Skip cross-validation (thresholds then default to 0.5).")] = False,
    small: Annotated[bool, typer.Option("--small", help="Smaller vocabularies (quick runs, tests).")] = False,
    own_weight: Annotated[float, typer.Option("--own-weight", help="How many public corpora the labels in --labels weigh, within each value (default 1: as one corpus).")] = 1.0,
    platform_weight: Annotated[float, typer.Option("--platform-weight", min=0.01, help="How much labels only the platform gave (modkit labels import --from-status) weigh, as a share of the team's own labels within each value (default 0.5: half as much; 1: the same).")] = 0.5,
    identity_swaps: Annotated[int, typer.Option("--identity-swaps", help="Copies of each example naming a group of people, with the group swapped, for tasks with a bias flag (default 0: such tasks read no identity term at all, so the copies would be the same text).")] = 0,
    rescorer: Annotated[bool, typer.Option("--rescorer", help="Also train the e5 second stage (needs pip install 'modkit[rescore]'; ~10 examples/s per core).")] = False,
    rescorer_examples: Annotated[int, typer.Option("--rescorer-examples", help="Examples the e5 second stage is trained on, at most.")] = 2000,
    no_tune: Annotated[bool, typer.Option("--no-tune", help="Keep the default regularisation and full example weights instead of choosing them by grouped cross-validation.")] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes for the cross-validation folds and the final fit (feature extraction included); 0 = one per core. The model does not depend on it.")] = 0,
    exclude: Annotated[Path | None, typer.Option("--exclude", help="File of comment ids (one per line, e.g. the comment_id column of a held-out set) never trained on, public corpora included (public ids: cc-<id>, dv-<row>).")] = None,
) -> None:
    """Train one classifier per task of the label schema on the labels and public data; print the evaluation."""
    from modkit import model as model_api

    if labels != Path("labels") and not labels.is_dir():  # the default may be missing: public data only
        raise not_found(labels, "label folder")
    if (out.parent if str(out.parent) else Path(".")).is_dir():
        check_writable(out, folder_ok=True)  # an unwritable folder fails now, not after the training
    chosen = tuple(data) if data else model_api.DEFAULT_DATA
    held = model_api.read_id_list(exclude) if exclude else ()
    m = model_api.train(labels=labels, pages=pages or ["seeds"], data=chosen, seed=seed, data_dir=data_path(data_dir),
                        name=out.name, limit=limit, evaluate=not no_eval, small=small, tune_reg=not no_tune, own_weight=own_weight, platform_weight=platform_weight, identity_copies=identity_swaps, rescorer=rescorer, rescorer_examples=rescorer_examples, jobs=jobs, exclude=held,
                        progress=lambda s: err.print(s, highlight=False, markup=False))
    for w in m.card.get("warnings", []):
        warn(w)
    for line in model_api.summary_lines(m):
        err.print(line, highlight=False, markup=False)
    model_api.save(m, out)
    size = (out / model_api.MODEL_FILE).stat().st_size
    err.print(f"wrote {out / model_api.MODEL_FILE} ({size / 1e6:.1f} MB) and {out / model_api.CARD_FILE} "
              f"in {m.card['train_seconds']} s", highlight=False)


def _parse_thresholds(items: list[str] | None) -> dict[str, float] | None:
    if not items:
        return None
    out: dict[str, float] = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            out[name.strip().upper()] = float(value)
        except ValueError:
            raise ModkitError(f"--threshold {item!r}: expected FLAG=NUMBER, e.g. ABUSIVE=0.7") from None
    return out


@command(app, "flag")
def flag_cmd(
    sources: Annotated[list[str], typer.Argument(help="Page files, folders or unique prefixes (seeds/004).")],
    model: Annotated[Path, typer.Option("--model", help="Model folder or its model.skops (a model.joblib pickle needs --allow-pickle).")] = Path("models/default"),
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File to write; default flagged.csv (flagged.parquet with --format parquet).", show_default=False)] = None,
    out_format: Annotated[OutFormat, typer.Option("--format", "-f", help="csv: the moderators' CSV; parquet: the same rows and columns in a Parquet file, scores as floats (pip install 'modkit[scale]').")] = OutFormat.csv,
    all_rows: Annotated[bool, typer.Option("--all", help="One row for every comment, not only flagged ones.")] = False,
    profile: Annotated[Profile, typer.Option("--profile", help="Threshold profile: strict flags more, lenient only the sure cases.")] = Profile.balanced,
    threshold: Annotated[list[str] | None, typer.Option("--threshold", help="Override one flag's threshold: ABUSIVE=0.7 (repeat).")] = None,
    queue: Annotated[int | None, typer.Option("--queue", help="Write the N comments the model is least sure about (for labeling).")] = None,
    rescore: Annotated[bool, typer.Option("--rescore", help="Comments near a threshold are scored again by the model's e5 second stage (modkit train --rescorer); a stage column says which decided.")] = False,
    band: Annotated[float, typer.Option("--band", help="With --rescore: how close to a threshold (in probability) a comment must be to be rescored.")] = 0.1,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes; 0 = one per core when the input is large enough to split.")] = 0,
    include_removed: Annotated[bool, typer.Option("--include-removed", help="Also score comments an export marks as already removed by the platform (status spam, deleted or rejected); skipped by default.")] = False,
    allow_pickle: AllowPickle = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out even when a moderator has filled decisions in it (they are lost).")] = False,
    engine: Annotated[Engine, typer.Option("--engine", help="local: this machine's processes (--jobs); dask: a Dask cluster writing Parquet parts to --out DIR (pip install 'modkit[scale]').")] = Engine.local,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="With --engine dask: a running Dask scheduler (tcp://host:8786); default: a LocalCluster of --jobs processes (0: one per core).")] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="With --engine dask: also write the moderators' CSV (the one --engine local writes), merged from the parts.")] = None,
) -> None:
    """Flag abusive, uncivil, off-topic and repeated comments into a CSV a moderator can work through."""
    from modkit import flag as flag_api
    from modkit.sources import resolve_sources

    thresholds = _parse_thresholds(threshold)
    out = out or Path(f"flagged.{out_format.value}")
    check_options(engine, out, scheduler, csv_out)
    warn_if_pickle(model_path(model), allow_pickle)
    n_pages = len(resolve_sources(sources))
    with Progress(TextColumn("flagging"), BarColumn(), MofNCompleteColumn(), TextColumn("pages"),
                  TimeRemainingColumn(), console=err, transient=True, disable=n_pages < 20) as bar:
        task = bar.add_task("flag", total=n_pages)
        run = flag_api.flag if engine is Engine.local else _dask_flag(csv_out, scheduler)
        result = run(sources, model_path(model), out, all=all_rows, profile=profile.value, thresholds=thresholds,
                               queue=queue, jobs=jobs, rescore=rescore, band=band, allow_pickle=allow_pickle, include_removed=include_removed, force=force,
                               **({"fmt": out_format.value} if engine is Engine.local else {}),
                               progress=lambda done, total: bar.update(task, completed=done))
    for p in result.problems:
        err.print(f"error: {visible(str(p))}", highlight=False, markup=False)
    if result.problems and not result.pages:  # the errors above said it all
        raise typer.Exit(1)
    if result.removed:
        err.print(f"skipped {result.removed} comment(s) the platform already removed (spam, deleted, rejected); "
                  "--include-removed scores them too", highlight=False, markup=False)
    if result.comments == 0:
        names = ", ".join(p.source for p in result.pages) or ", ".join(sources)
        why = " (no comment section)" if not any(p.has_comment_section for p in result.pages) else ""
        err.print(f"{names}: no comments to flag{why}; wrote header-only {out}", highlight=False)
    else:
        _summary(result)
        _top(result)
        what = "least certain" if queue else ("comments" if all_rows else "flagged comments")
        err.print(f"wrote {result.rows} {what} of {result.comments} to {out} (profile {profile.value})",
                  highlight=False)
        if engine is Engine.dask:
            err.print(f"  as {len(result.parts)} Parquet parts on {result.workers} Dask workers"
                      + (f"; {result.csv_rows} rows to {csv_out}" if csv_out else ""), highlight=False)
    if result.problems:
        raise typer.Exit(1)


def _dask_flag(csv: Path | None, scheduler: str | None):
    """:func:`modkit.flag.flag`'s call over :func:`modkit.distributed.flag_dask` (--jobs: LocalCluster workers)."""
    from modkit.distributed import flag_dask

    def run(sources, model, out, jobs: int = 0, **options):
        return flag_dask(sources, model, out, csv=csv, scheduler=scheduler, n_workers=jobs, **options)

    return run


def _top(result) -> None:
    """The most urgent flagged comments, a few lines each, so the moderator sees what the CSV holds."""
    if not result.top:
        return
    err.print(f"most urgent {len(result.top)}:", highlight=False)
    for cid, doc, flags, priority, text, reasons in result.top:
        one = visible(" ".join(text.split())[:1000])  # a comment may hold escape sequences: shown, not sent
        one = one if len(one) <= 110 else one[:109] + "…"
        err.print(f"  {visible(flags):<22} {visible(cid)} ({visible(doc)}) priority {priority:.2f}", highlight=False, markup=False)
        err.print(f"      “{one}”", highlight=False, markup=False)
        if reasons:
            err.print(f"      why: {visible(reasons)}", highlight=False, markup=False)


def _summary(result) -> None:
    table = Table(title="flags per page", title_justify="left")
    table.add_column("page")
    table.add_column("comments", justify="right")
    table.add_column("flagged", justify="right")
    used = [f for f in result.flags if any(p.per_flag.get(f) for p in result.pages)]
    for f in used:
        table.add_column(f, justify="right")
    pages = result.pages
    shown = pages if len(pages) <= 30 else pages[:30]
    for p in shown:
        table.add_row(visible(p.doc), str(p.comments), str(p.flagged), *(str(p.per_flag.get(f, 0)) for f in used))
    if len(pages) > len(shown):
        table.add_row(f"... {len(pages) - len(shown)} more pages", "", "", *([""] * len(used)))
    table.add_row("total", str(sum(p.comments for p in pages)), str(sum(p.flagged for p in pages)),
                  *(str(sum(p.per_flag.get(f, 0) for p in pages)) for f in used), style="bold")
    err.print(table)

