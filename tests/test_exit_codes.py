"""Exit codes are the same in every command (src/modkit/errors.py, README "Exit codes"):
0 success; 1 bad input, a file that cannot be written, a refused overwrite, problems found;
2 bad usage: a path on the command line that names nothing, an unknown option value, a missing
argument, no terminal. Every failure is one line on stderr, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from modkit.cli import app
from modkit.errors import EXIT_USAGE, EXIT_USER_ERROR

ROOT = Path(__file__).resolve().parent.parent
SEEDS = str(ROOT / "seeds")
MISSING = 2  # a file or folder named on the command line that does not exist


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "L").mkdir()
    (tmp_path / "folder").mkdir()
    (tmp_path / "bad.csv").write_text("comment_id,civility\ncd6e10b388724,rude\n", encoding="utf-8")
    (tmp_path / "review.csv").write_text("comment_id,decision\ncd6e10b388724,maybe\n", encoding="utf-8")
    (tmp_path / "torn.jsonl").write_text('{"comment_id":"x","doc":"d","task":"civility","va', encoding="utf-8")
    (tmp_path / "L" / "ann.jsonl").write_text('{"comment_id":"x","doc":"d","task":"civility","va', encoding="utf-8")
    return tmp_path


CASES = [
    # a path that names nothing: 2, in every command
    (["threads", "nosuch"], MISSING, "nosuch: no such file, folder or prefix"),
    (["flag", "nosuch", "--out", "{w}/f.csv"], MISSING, "nosuch: no such file, folder or prefix"),
    (["flag", SEEDS, "--model", "{w}/nomodel", "--out", "{w}/f.csv"], MISSING, "nomodel: no model file or folder"),
    (["review", "nosuch.csv", "-r", "ana", "--pages", SEEDS, "--labels", "{w}/L"], MISSING, "nosuch.csv: no such file"),
    (["review", "{w}/folder", "-r", "ana", "--pages", SEEDS, "--labels", "{w}/L"], MISSING, "is a folder"),
    (["report", "nosuch", "--out", "{w}/r.html"], MISSING, "nosuch: no such file, folder or prefix"),
    (["report", SEEDS, "--flags", "nosuch.csv", "--out", "{w}/r.html"], MISSING, "nosuch.csv: no such file"),
    (["labels", "import", "nosuch.csv", "--pages", SEEDS, "--labels", "{w}/L"], MISSING, "nosuch.csv: no such file"),
    (["labels", "import", "{w}/folder", "--pages", SEEDS, "--labels", "{w}/L"], MISSING, "is a folder"),
    (["labels", "check", "--labels", "{w}/nosuch"], MISSING, "nosuch: no such label folder"),
    (["labels", "schema", "{w}/nosuch.toml"], MISSING, "nosuch.toml: no such schema file"),
    (["evaluate", SEEDS, "--labels", "{w}/nosuch"], MISSING, "nosuch: no such label folder"),
    (["evaluate", SEEDS, "--csv", "{w}/nosuch.csv"], MISSING, "nosuch.csv: no such file"),
    (["train", "--labels", "{w}/nosuch"], MISSING, "nosuch: no such label folder"),
    (["forget", "--author", "x", "--by", "dpo", "--labels", "{w}/nosuch", "--pages", SEEDS], MISSING,
     "nosuch: no such label folder"),
    # other bad usage: 2
    (["report"], EXIT_USAGE, "Missing argument"),
    (["threads", SEEDS, "--format", "xml"], EXIT_USAGE, "xml"),
    (["review", "{w}/review.csv"], EXIT_USAGE, "--reviewer"),
    (["review", "{w}/review.csv", "-r", "ana", "--interactive"], EXIT_USAGE, "needs an interactive terminal"),
    (["label", SEEDS, "--labels", "{w}/L", "-a", "ann"], EXIT_USAGE, "needs an interactive terminal"),
    # bad input: 1
    (["labels", "import", "{w}/bad.csv", "--pages", SEEDS, "--labels", "{w}/L", "-a", "ann"], EXIT_USER_ERROR,
     "unknown civility 'rude'"),
    (["labels", "import", "{w}/torn.jsonl", "--pages", SEEDS, "--labels", "{w}/L"], EXIT_USER_ERROR, "not valid JSON"),
    (["review", "{w}/review.csv", "-r", "ana", "--pages", SEEDS, "--labels", "{w}/L"], EXIT_USER_ERROR,
     "unknown decision 'maybe'"),
    (["labels", "check", "--labels", "{w}/L"], EXIT_USER_ERROR, "1 torn"),
    # a file that cannot be written: 1, before the work
    (["threads", SEEDS, "-f", "csv", "-o", "{w}/nosuch/t.csv"], EXIT_USER_ERROR, "folder {w}/nosuch does not exist"),
    (["flag", SEEDS, "--out", "{w}/nosuch/f.csv"], EXIT_USER_ERROR, "folder {w}/nosuch does not exist"),
    (["report", SEEDS, "--out", "{w}/nosuch/r.html"], EXIT_USER_ERROR, "folder {w}/nosuch does not exist"),
    (["labels", "export", "--out", "{w}/nosuch/e.csv", "--labels", "{w}/L", "--pages", SEEDS], EXIT_USER_ERROR,
     "folder {w}/nosuch does not exist"),
    (["evaluate", SEEDS, "--json", "{w}/nosuch/e.json"], EXIT_USER_ERROR, "folder {w}/nosuch does not exist"),
    (["threads", SEEDS, "-f", "csv", "-o", "{w}/folder"], EXIT_USER_ERROR, "is a folder"),
]


#: Failures whose stderr is more than one line by design: typer's own usage message, and review's
#: one line per invalid row plus a summary.
MANY_LINES = {("report",), ("threads", SEEDS, "--format", "xml")}


@pytest.mark.parametrize("args, code, needle", CASES, ids=[" ".join(c[0][:3]).replace(SEEDS, "seeds") for c in CASES])
def test_exit_code_and_one_line(work, args, code, needle):
    full = [a.replace("{w}", str(work)) for a in args]
    needle = needle.replace("{w}", str(work))
    r = CliRunner().invoke(app, full, env={"NO_COLOR": "1", "COLUMNS": "300"})
    assert r.exit_code == code, (full, r.exit_code, r.output)
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert needle in r.stderr, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("warning:")]
    if tuple(args) not in MANY_LINES:
        expected = 2 if "unknown decision" in needle else 1  # review: the bad row, then the summary
        assert len(lines) == expected and needle in r.stderr, r.stderr
    assert not list(work.rglob("*.tmp"))


def test_the_codes_are_documented_in_the_readme_and_errors_py():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Exit codes"):][:3000]
    for code in ("`0`", "`1`", "`2`", "`130`"):
        assert code in section
    import modkit.errors as errors

    assert "130" in errors.__doc__ and errors.EXIT_USAGE == 2 and errors.EXIT_USER_ERROR == 1
