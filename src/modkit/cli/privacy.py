"""`modkit forget` (erase a commenter, GDPR Art. 17) and `modkit export-author` (access request, Art. 15)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from modkit import privacy
from modkit.cli.app import app, command, err, warn
from modkit.safeio import write_text_atomic

LabelsDir = Annotated[Path, typer.Option("--labels", help="Label folder: label files, review/decisions.jsonl, anything else kept there.")]
Pages = Annotated[list[str] | None, typer.Option("--pages", "-p", help="Pages that say which comments are the author's (file, folder or prefix; repeatable). Default: seeds/.")]


def _n(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


@command(app, "forget")
def forget_cmd(
    author: Annotated[str, typer.Option("--author", help="The commenter's name exactly as the pages show it.")],
    labels_dir: LabelsDir = Path("labels"),
    pages: Pages = None,
    by: Annotated[str | None, typer.Option("--by", help="Who erases, for the erasure record (default: $MODKIT_ANNOTATOR, else your login name).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would change; write nothing.")] = False,
) -> None:
    """Erase a commenter's name, comment texts and comment ids from everything under labels/; labels stay, pseudonymised.

    The pages themselves (the site's data) are not modified; neither are flagged CSVs, reports or models.
    """
    from modkit.labels import default_annotator

    who = by or default_annotator()
    r = privacy.forget(author, labels=labels_dir, pages=pages or ["seeds/"], by=who, dry_run=dry_run)
    where = f"{len(r.pages)} page file{'s' if len(r.pages) != 1 else ''}"
    if not r.comments:
        hint = f" (similar: {', '.join(r.similar)})" if r.similar else ""
        warn(f"no comment by that author on the {where} read: only mentions of the name are erased; "
             f"check --pages and the spelling (names match exactly){hint}")
    else:
        err.print(f"{_n(r.comments, 'comment')} by the author on the {where} read", highlight=False)
    if r.noop:
        err.print(f"nothing to erase: no file under {labels_dir}/ names the author, quotes their comments or "
                  f"holds their comment ids (erased already? see {labels_dir / privacy.ERASURE_LOG}); nothing written",
                  highlight=False)
    verb = "would change" if dry_run else "changed"
    for ch in r.changes:
        what = (_n(ch.changed, "mention") + " replaced (not a modkit record: review the edit)" if ch.kind == "other"
                else _n(ch.changed, "label event" if ch.kind == "labels" else "decision") + " scrubbed")
        err.print(f"  {ch.path}: {what}", highlight=False)
    for tmp in r.removed:
        err.print(f"  {tmp}: stale temporary copy of an interrupted write {'would be ' if dry_run else ''}deleted",
                  highlight=False)
    if not r.noop:
        err.print(f"{verb} {_n(r.files_changed, 'file')}: {_n(r.records_scrubbed, 'record')} scrubbed, "
                  f"{_n(r.mentions_replaced, 'other mention')} replaced"
                  + ("; nothing written (--dry-run)" if dry_run else ""), highlight=False)
    if r.tombstone:
        err.print(f"erasure {r.tombstone['id']} recorded in {labels_dir / privacy.ERASURE_LOG} (when, by whom, counts)",
                  highlight=False)
        err.print("not modified: the pages (the site's data: remove the comments there and scrape again), flagged "
                  "CSVs and reports outside the label folder, trained models (run `modkit train` again)",
                  highlight=False)
    if r.leftovers:
        for path in r.leftovers:
            warn(f"{path}: still mentions the author (not a text file, or a field modkit does not rewrite): edit it by hand")
        raise typer.Exit(1)


@command(app, "export-author")
def export_author_cmd(
    author: Annotated[str, typer.Argument(help="The commenter's name exactly as the pages show it.")],
    labels_dir: LabelsDir = Path("labels"),
    pages: Pages = None,
    out_path: Annotated[Path | None, typer.Option("--out", "-o", help="Write the JSON to this file (readable by you only) instead of stdout.")] = None,
) -> None:
    """Write everything modkit holds about a commenter as JSON: their comments, labels on them, review decisions, mentions."""
    data = privacy.export_author(author, labels=labels_dir, pages=pages or ["seeds/"])
    for w in dict.fromkeys(data["warnings"]):
        warn(w)
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if not data["comments"]:
        warn(f"no comment by that author on the {len(data['pages'])} page files read (names match exactly)")
    summary = (f"{_n(len(data['comments']), 'comment')}, {_n(len(data['labels']), 'label event')}, "
               f"{_n(len(data['decisions']), 'decision')}, {_n(len(data['mentions']), 'mention')}")
    if out_path is None:
        sys.stdout.write(text)
        err.print(summary, highlight=False)
        return
    write_text_atomic(out_path, text)
    try:
        os.chmod(out_path, 0o600)  # personal data: the requester's copy, not the team's
    except OSError:
        pass
    err.print(f"wrote {out_path}: {summary}", highlight=False)
