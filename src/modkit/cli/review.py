"""`modkit review` (decisions from flagged CSVs into labels), `modkit review stats`, `modkit report`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from modkit import review as review_api
from modkit.cli.app import app, command, data_stdout, err, out, warn
from modkit.errors import UsageError
from modkit.safetext import visible

NO_TTY = ("modkit review --interactive needs an interactive terminal (stdin and stdout are not a TTY); "
          "in scripts fill the decision column of the CSV and run `modkit review FILE --reviewer NAME`")


@command(app, "review")
def review_cmd(
    files: Annotated[list[str], typer.Argument(
        help="Flagged CSVs with the moderators' decisions (any spreadsheet's CSV), or `stats`.")],
    reviewer: Annotated[str | None, typer.Option(
        "--reviewer", "-r", help="Who decided: names the label file labels/NAME.jsonl.")] = None,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Import the valid rows and list the invalid ones (default: import nothing).")] = False,
    labels: Annotated[Path, typer.Option(
        "--labels", help="Label folder: label files, schema.toml, review/decisions.jsonl.")] = Path("labels"),
    pages: Annotated[list[str] | None, typer.Option(
        "--pages", help="Pages the comment ids are checked against (file, folder or prefix; repeatable; default: seeds/).")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Validate and count, write nothing.")] = False,
    interactive: Annotated[bool, typer.Option(
        "--interactive", "-i", help="Walk the flagged comments in the terminal: approve, reject, correct, note.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="stats: print JSON instead of tables.")] = False,
    audit: Annotated[int, typer.Option("--audit", help="stats: show the last N decisions of the audit trail (0: all).")] = 20,
) -> None:
    """Import moderators' decisions from flagged CSVs into labels and the decision log.

    `modkit review stats` shows precision per flag, corrections, reviewers and the audit trail.
    """
    page_sources = pages or ["seeds"]
    if files == ["stats"]:
        _stats(labels, as_json, audit)
        return
    if not reviewer:
        raise UsageError("who reviewed? pass --reviewer NAME (it names the label file labels/NAME.jsonl)")
    if interactive:
        if len(files) != 1:
            raise UsageError("--interactive takes exactly one FILE")
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise UsageError(NO_TTY)
        from modkit.tui.review import run_review_app

        result = run_review_app(files[0], reviewer, pages=page_sources, labels=labels)
        err.print(f"{files[0]}: {_n(result.decisions, 'decision')}, {_n(result.events, 'label event')} recorded",
                  highlight=False)
        return
    if dry_run:
        decisions, problems, unreviewed = review_api.plan_review(files, reviewer, pages=page_sources, labels=labels)
        for p in problems:
            err.out(visible(str(p)), highlight=False)
        err.print(f"{_n(len(decisions), 'valid decision')}, {_n(len(problems), 'invalid row')}, {unreviewed} not reviewed; "
                  "nothing written (--dry-run)", highlight=False)
        if problems:
            raise typer.Exit(1)
        return
    try:
        result = review_api.import_review(
            files, reviewer, pages=page_sources, labels=labels, skip_invalid=skip_invalid)
    except review_api.ReviewError as exc:
        for line in exc.message.splitlines():
            err.out(visible(line), highlight=False)
        raise typer.Exit(1) from None
    for p in result.skipped:
        warn(f"skipped {p}")
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(result.by_decision.items())) or "none new"
    err.print(
        f"{_n(result.decisions, 'decision')} ({kinds}), {_n(result.events, 'label event')} written to {labels}/; "
        f"{result.already} already imported, {_n(result.unreviewed, 'row')} not reviewed"
        + (f", {_n(len(result.skipped), 'invalid row')} skipped" if result.skipped else ""),
        highlight=False,
    )


def _n(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def _stats(labels: Path, as_json: bool, audit: int) -> None:
    s = review_api.stats(labels)
    for w in s.warnings:
        warn(w)
    if as_json:
        data_stdout().write(json.dumps(s.to_dict(), ensure_ascii=False, indent=2) + "\n")  # data: exact when piped
        return
    if not s.audit:
        err.print(f"no review decisions in {labels / review_api.DECISION_LOG}", highlight=False)
        return
    t = Table(title="Per flag (each reviewer's latest decision per comment)")
    for col in ("flag", "reviewed", "approve", "reject", "escalate", "precision", "top corrections"):
        t.add_column(col, justify="right" if col not in ("flag", "top corrections") else "left")
    for f in s.flags.values():
        corr = ", ".join(f"{k} ({n})" for k, n in f.corrections.most_common(3)) or "-"
        t.add_row(visible(f.flag), str(f.reviewed), str(f.approve), str(f.reject), str(f.escalate), _pct(f.precision),
                  visible(corr))
    out.print(t)
    kinds = ("approve", "reject", "escalate", review_api.CORRECT, review_api.NOTE)
    t = Table(title="Per reviewer")
    for col in ("reviewer", *kinds, "total"):
        t.add_column(col, justify="left" if col == "reviewer" else "right")
    for name, c in s.reviewers.items():
        t.add_row(visible(name), *(str(c.get(k, 0)) for k in kinds), str(c["total"]))
    out.print(t)
    rows = s.audit if audit <= 0 else s.audit[-audit:]
    t = Table(title=f"Audit trail ({len(rows)} of {len(s.audit)} decisions, oldest first)")
    for col in ("time", "reviewer", "comment", "decision", "code", "labels", "flagged by", "from"):
        t.add_column(col)
    for r in rows:
        system = r.get("system") or {}
        flags = ",".join(system.get("flags") or []) or "-"
        t.add_row(*map(visible, (  # the log holds what reviewers' CSVs said: shown, never sent as controls
            str(r.get("time", "")), str(r.get("reviewer", "")), str(r["comment_id"]), str(r["decision"]),
            str(r.get("reject_code") or "-"),
            " ".join(f"{k}={v}" for k, v in (r.get("labels") or {}).items()) or "-",
            f"{system.get('model') or '?'}: {flags}", f"{r.get('file', '')}:{r.get('row', '')}",
        )))
    out.print(t)


@command(app, "report")
def report_cmd(
    sources: Annotated[list[str], typer.Argument(help="Page files, folders or unique prefixes (seeds/).")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path("report.html"),
    flags: Annotated[Path | None, typer.Option(
        "--flags", help="A flag CSV from `modkit flag` (or its reviewed copy): flags and scores as badges.")] = None,
    title: Annotated[str, typer.Option("--title", help="Heading of the report.")] = "modkit thread report",
) -> None:
    """Write one self-contained HTML report: reply trees, flags and scores, filters by flag and author."""
    from modkit import report as report_api

    s = report_api.write_report(sources, out_path, flags=flags, title=title)
    if s.unmatched_flags:
        warn(f"{flags}: {s.unmatched_flags} rows name comments on none of the pages given")
    err.print(f"wrote {out_path}: {s.pages} pages, {s.comments} comments, {s.flagged} flagged", highlight=False)
