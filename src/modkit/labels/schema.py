"""The label schema: which tasks an annotator answers, their values, shortcut keys, definitions.

The schema is a small TOML file (``labels/schema.toml``) a team edits without touching code:
add a task (``spam``), rename a value, remap a key. :func:`load_schema` validates it and raises
one :class:`~modkit.errors.ModkitError` naming the file and the field at fault. When the file is
absent the package default (:data:`DEFAULT_SCHEMA_TOML`, identical to the committed
``labels/schema.toml``) is used.

File format::

    version = 1

    [tasks.civility]
    question = "How civil is the comment?"
    values = [
      { name = "civil",   key = "1", definition = "Polite or neutral in tone..." },
      { name = "uncivil", key = "2", definition = "Rude, mocking or dismissive..." },
    ]

    [controls]          # optional: remap the labeler's navigation keys
    undo = "u"
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from modkit.errors import ModkitError, not_found
from modkit.tasks import CLASSIFIERS, DEFAULT_PRECISION, DEFAULT_PREVALENCE, FEATURES, PROFILES, RULES, FlagSpec, TaskSpec
from modkit.threads.model import STATUSES

#: The schema used when ``labels/schema.toml`` does not exist. Keep it identical to that file
#: (a test checks it).
DEFAULT_SCHEMA_TOML = '''\
# modkit label schema. Edit freely: add a task, rename a value, remap a key.
# `modkit labels schema` checks this file and prints it as a table.
# Each value: name (lower-case word), key (one character, pressed in `modkit label`),
# definition (one line, shown on screen). Keys must be unique within a task and must not be
# one of the labeler's control keys (see [controls] below).
#
# What `modkit train` and `modkit flag` do with a task (all optional, see the README):
#   features     what the model reads: "text" (the comment's words), "stats" (length, capitals,
#                links, lexicon), "thread" (similarity to article and parent, depth, repeats)
#   classifier   "logistic" (default) or "linear-svm" (faster on 10,000s of examples)
#   min_examples labels needed per value (two values at least) before the task is trained
#   flags        what `modkit flag` raises: code, the values it stands for, severity (1-9,
#                higher first), meaning, target precision per profile, prevalence (the share
#                of comments it is expected to stand for on your site: thresholds reach their
#                precision at that share; default 0.1), review reject codes that confirm it;
#                rule = "REPEAT_POST" / "EMPTY" attaches a fixed rule instead
#   platform     what a comment system's own decision means for this task, for
#                `modkit labels import SOURCE --from-status`: "STATUS" or "STATUS:REASON" = value,
#                STATUS one of approved, pending, spam, deleted, rejected, REASON the platform's
#                code (Coral's ABUSIVE...); "STATUS:REASON" wins over "STATUS"; a decision not
#                listed gives no label (an approved comment is not assumed civil)
version = 1

[tasks.civility]
question = "How civil is the comment, toward anyone?"
values = [
  { name = "civil", key = "1", definition = "Polite or neutral in tone, even when it disagrees sharply or is wrong." },
  { name = "uncivil", key = "2", definition = "Rude, mocking, name-calling or dismissive, but no threat, slur or dehumanising attack." },
  { name = "abusive", key = "3", definition = "Hate, slurs, threats, dehumanising or vicious personal attacks on a person or group." },
]
features = ["text", "stats"]
classifier = "linear-svm"
flags = [
  { code = "ABUSIVE", values = ["abusive"], severity = 4, meaning = "attack on a person or group, slur or threat", precision = { strict = 0.6, balanced = 0.75, lenient = 0.9 }, prevalence = 0.05, reject_codes = ["HARASSMENT", "HATE_SPEECH"] },
  { code = "UNCIVIL", values = ["uncivil", "abusive"], severity = 3, meaning = "rude, insulting, profane or dismissive", precision = { strict = 0.6, balanced = 0.75, lenient = 0.9 }, prevalence = 0.2, reject_codes = ["OFFENSIVE"], bias = true },
]
platform = { "rejected:ABUSIVE" = "abusive", "rejected:HATE_SPEECH" = "abusive", "rejected:HARASSMENT_BULLYING" = "abusive", "rejected:OFFENSIVE" = "uncivil" }

[tasks.topic]
question = "Is the comment about the article's subject or its discussion?"
values = [
  { name = "on", key = "1", definition = "About the article's subject, the thread's discussion, or the article itself." },
  { name = "off", key = "2", definition = "Unrelated to both: site complaints, spam, empty or personal asides." },
]
features = ["thread", "stats"]
flags = [
  { code = "OFF_TOPIC", values = ["off"], severity = 2, meaning = "shares little with its article and its parent", precision = { strict = 0.6, balanced = 0.7, lenient = 0.85 }, prevalence = 0.05, reject_codes = ["SPAM", "IRRELEVANT"] },
  { code = "REPEAT_POST", rule = "REPEAT_POST", values = ["off"] },
  { code = "EMPTY", rule = "EMPTY", values = ["off"] },
]
platform = { spam = "off", "rejected:SPAM" = "off", "rejected:AD" = "off" }

[tasks.stance]
question = "Toward the parent comment (or the article, for a top-level comment)?"
values = [
  { name = "agree", key = "1", definition = "Supports, praises or extends the parent's (article's) main claim." },
  { name = "disagree", key = "2", definition = "Contradicts, rejects or attacks the parent's (article's) main claim." },
  { name = "neutral", key = "3", definition = "Neither: a question, an aside, unrelated content, or no position." },
]
features = ["text", "stats"]

# The labeler's navigation keys (one character each). Value keys must not reuse them.
[controls]
back = "b"
skip = "s"
undo = "u"
next_unlabeled = "n"
note = "e"
quit = "q"
'''

#: Default navigation keys of the labeler; ``[controls]`` in the schema file remaps them.
DEFAULT_CONTROLS: dict[str, str] = {
    "back": "b", "skip": "s", "undo": "u", "next_unlabeled": "n", "note": "e", "quit": "q",
}

_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_TASK_FIELDS = {"question", "values", "features", "classifier", "min_examples", "flags", "platform"}
_FLAG_FIELDS = {"code", "values", "severity", "meaning", "precision", "rule", "reject_codes", "bias", "prevalence"}
_CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")
_VALUE_FIELDS = {"name", "key", "definition"}
# Names that would clash with the columns of exported label files.
_RESERVED_TASKS = {"comment_id", "doc", "annotator", "note", "time", "source", "text_sha", "task", "value"}


@dataclass(frozen=True, slots=True)
class Value:
    """One answer to a task: ``civil``, pressed with ``1``."""

    name: str
    key: str
    definition: str


@dataclass(frozen=True, slots=True)
class Task:
    """One question asked of every comment, with its allowed values in display order."""

    name: str
    question: str
    values: tuple[Value, ...]
    features: tuple[str, ...] = ("text", "stats")
    classifier: str = "logistic"
    min_examples: int = 8
    flags: tuple[FlagSpec, ...] = ()
    #: ``(("spam", "off"), ("rejected:SPAM", "off"), ...)``: the platform decisions this task maps
    platform: tuple[tuple[str, str], ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.values)

    @property
    def spec(self) -> TaskSpec:
        """The task as the model registry sees it (:class:`modkit.tasks.TaskSpec`)."""
        return TaskSpec(self.name, self.names, self.features, self.classifier, self.min_examples, self.flags)

    def by_key(self, key: str) -> Value | None:
        for v in self.values:
            if v.key == key:
                return v
        return None

    def from_status(self, status: str, reason: str = "") -> str | None:
        """The value a platform decision gives this task (``platform`` in the schema): the
        ``status:reason`` key if mapped, else the ``status`` key, else None (no label)."""
        if not status:
            return None
        mapping = dict(self.platform)
        return mapping.get(f"{status}:{reason}") if reason and f"{status}:{reason}" in mapping else mapping.get(status)

    def check(self, value: str) -> str:
        """Return ``value`` if allowed, else raise the standard one-line error."""
        if value not in self.names:
            raise ModkitError(f"unknown {self.name} {value!r}: expected one of {', '.join(self.names)}")
        return value


@dataclass(frozen=True)
class Schema:
    """The tasks of a labeling project, in order, and the labeler's control keys."""

    tasks: tuple[Task, ...]
    controls: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CONTROLS))
    source: str = "<default>"  #: the file it was read from

    @property
    def task_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tasks)

    def task(self, name: str) -> Task:
        for t in self.tasks:
            if t.name == name:
                return t
        raise ModkitError(f"unknown task {name!r}: expected one of {', '.join(self.task_names)}")

    def check(self, task: str, value: str) -> str:
        """Validate one ``task=value`` pair; raises ``unknown civility 'rude': expected ...``."""
        return self.task(task).check(value)

    def only(self, task: str | None) -> Schema:
        """The same schema restricted to one task (``--task civility``); None keeps all."""
        if task is None:
            return self
        return Schema((self.task(task),), self.controls, self.source)


class SchemaError(ModkitError):
    """The schema file is not valid; the message names the file and the field."""


def default_schema_path(root: str | Path) -> Path:
    return Path(root) / "schema.toml"


def schema_for(root: str | Path) -> Schema:
    """The schema of a labels folder: ``<root>/schema.toml`` if present, else the default
    (also when the folder does not exist yet)."""
    path = default_schema_path(root)
    return load_schema(path) if path.is_file() else parse_schema(DEFAULT_SCHEMA_TOML, "<default schema>")


def load_schema(path: str | Path | None = None) -> Schema:
    """Read and validate a schema file.

    ``path=None`` is the package default schema (:data:`DEFAULT_SCHEMA_TOML`). A folder means
    ``<folder>/schema.toml`` (falling back to the default when absent). An explicit file that
    does not exist is an error.
    """
    if path is None:
        return parse_schema(DEFAULT_SCHEMA_TOML, "<default schema>")
    path = Path(path)
    if path.is_dir():
        inner = default_schema_path(path)
        if not inner.is_file():
            return parse_schema(DEFAULT_SCHEMA_TOML, "<default schema>")
        path = inner
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise not_found(path, "schema file") from None
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_schema(text, str(path))


def parse_schema(text: str, where: str = "<schema>") -> Schema:
    """Validate schema TOML text; ``where`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column \d+\)", msg)
        if m:
            raise SchemaError(f"{where}:{m.group(1)}: invalid TOML: {msg[:m.start()].strip()}") from None
        raise SchemaError(f"{where}: invalid TOML: {msg}") from None

    def bad(field_path: str, problem: str) -> SchemaError:
        return SchemaError(f"{where}: {field_path}: {problem}")

    unknown = set(data) - {"version", "tasks", "controls"}
    if unknown:
        raise bad(min(unknown), "unknown setting (expected version, tasks, controls)")
    if data.get("version", 1) != 1:
        raise bad("version", f"unsupported schema version {data['version']!r} (this modkit reads 1)")

    controls = dict(DEFAULT_CONTROLS)
    raw_controls = data.get("controls", {})
    if not isinstance(raw_controls, dict):
        raise bad("controls", "must be a table of action = \"key\"")
    for action, key in raw_controls.items():
        if action not in DEFAULT_CONTROLS:
            raise bad(f"controls.{action}", f"unknown action: expected one of {', '.join(DEFAULT_CONTROLS)}")
        controls[action] = _check_key(key, f"controls.{action}", bad)
    seen_ctl: dict[str, str] = {}
    for action, key in controls.items():
        if key in seen_ctl:
            raise bad(f"controls.{action}", f"key {key!r} is already used by {seen_ctl[key]}")
        seen_ctl[key] = action

    tasks_raw = data.get("tasks")
    if not isinstance(tasks_raw, dict) or not tasks_raw:
        raise bad("tasks", "no tasks defined: add at least one [tasks.NAME] table")
    tasks: list[Task] = []
    for tname, traw in tasks_raw.items():
        tpath = f"tasks.{tname}"
        if not _NAME_RE.match(tname):
            raise bad(tpath, "task name must be a lower-case word (a-z, 0-9, _ or -, at most 32)")
        if tname in _RESERVED_TASKS:
            raise bad(tpath, f"{tname!r} is reserved (a column of exported label files)")
        if not isinstance(traw, dict):
            raise bad(tpath, "must be a table with question and values")
        extra = set(traw) - _TASK_FIELDS
        if extra:
            raise bad(f"{tpath}.{min(extra)}", f"unknown field (expected {', '.join(sorted(_TASK_FIELDS))})")
        question = traw.get("question", "")
        if not isinstance(question, str):
            raise bad(f"{tpath}.question", "must be text")
        vals = traw.get("values")
        if not isinstance(vals, list) or not vals:
            raise bad(f"{tpath}.values", "empty or missing: give at least two values")
        if len(vals) < 2:
            raise bad(f"{tpath}.values", "a task needs at least two values")
        values: list[Value] = []
        names: dict[str, int] = {}
        keys: dict[str, str] = {}
        for i, vraw in enumerate(vals, start=1):
            vpath = f"{tpath}.values[{i}]"
            if not isinstance(vraw, dict):
                raise bad(vpath, "must be a table { name = ..., key = ..., definition = ... }")
            extra = set(vraw) - _VALUE_FIELDS
            if extra:
                raise bad(f"{vpath}.{min(extra)}", "unknown field (expected name, key, definition)")
            name = vraw.get("name")
            if not isinstance(name, str) or not name.strip():
                raise bad(f"{vpath}.name", "missing or empty value name")
            if not _NAME_RE.match(name):
                raise bad(f"{vpath}.name", f"{name!r}: a value name is a lower-case word (a-z, 0-9, _ or -)")
            if name in names:
                raise bad(f"{vpath}.name", f"duplicate value {name!r} (also values[{names[name]}])")
            names[name] = i
            key = _check_key(vraw.get("key"), f"{vpath}.key", bad)
            if key in keys:
                raise bad(f"{vpath}.key", f"duplicate key {key!r} in task {tname} (also used by {keys[key]})")
            if key in seen_ctl:
                raise bad(f"{vpath}.key", f"key {key!r} is the labeler's {seen_ctl[key]} key; pick another "
                          f"or remap it under [controls]")
            keys[key] = name
            definition = vraw.get("definition", "")
            if not isinstance(definition, str) or not definition.strip():
                raise bad(f"{vpath}.definition", f"missing one-line definition of {name!r}")
            if "\n" in definition.strip():
                raise bad(f"{vpath}.definition", "must be one line")
            values.append(Value(name, key, definition.strip()))
        model = _model_settings(tname, traw, tuple(v.name for v in values), bad)
        platform = _platform(tname, traw.get("platform", {}), tuple(v.name for v in values), bad)
        tasks.append(Task(tname, question.strip(), tuple(values), **model, platform=platform))
    codes: dict[str, str] = {}
    for t in tasks:
        for f in t.flags:
            if f.code in codes:
                raise bad(f"tasks.{t.name}.flags", f"flag code {f.code!r} is already used by task {codes[f.code]}")
            codes[f.code] = t.name
    return Schema(tuple(tasks), controls, where)


def _model_settings(tname: str, traw: dict, names: tuple[str, ...], bad) -> dict:
    """The optional model keys of one task: ``features``, ``classifier``, ``min_examples``,
    ``flags`` (see :mod:`modkit.tasks`)."""
    tpath = f"tasks.{tname}"
    features = traw.get("features", ["text", "stats"])
    if not isinstance(features, list) or not features or not all(isinstance(f, str) for f in features):
        raise bad(f"{tpath}.features", f"a list of feature sets, e.g. [\"text\", \"stats\"] (from {', '.join(FEATURES)})")
    for f in features:
        if f not in FEATURES:
            raise bad(f"{tpath}.features", f"unknown feature set {f!r}: expected one of {', '.join(FEATURES)}")
    classifier = traw.get("classifier", "logistic")
    if classifier not in CLASSIFIERS:
        raise bad(f"{tpath}.classifier", f"{classifier!r}: expected one of {', '.join(CLASSIFIERS)}")
    min_examples = traw.get("min_examples", 8)
    if not isinstance(min_examples, int) or isinstance(min_examples, bool) or min_examples < 3:
        raise bad(f"{tpath}.min_examples", f"{min_examples!r}: a whole number of at least 3 (labels per value)")
    flags_raw = traw.get("flags", [])
    if not isinstance(flags_raw, list):
        raise bad(f"{tpath}.flags", "must be a list of tables { code = ..., values = [...] }")
    flags: list[FlagSpec] = []
    for i, fraw in enumerate(flags_raw, start=1):
        fpath = f"{tpath}.flags[{i}]"
        if not isinstance(fraw, dict):
            raise bad(fpath, "must be a table { code = ..., values = [...], severity = ..., meaning = ... }")
        extra = set(fraw) - _FLAG_FIELDS
        if extra:
            raise bad(f"{fpath}.{min(extra)}", f"unknown field (expected {', '.join(sorted(_FLAG_FIELDS))})")
        code = fraw.get("code")
        if not isinstance(code, str) or not _CODE_RE.match(code):
            raise bad(f"{fpath}.code", f"{code!r}: a flag code is an upper-case word (A-Z, 0-9, _), e.g. \"SPAM\"")
        rule = fraw.get("rule", "")
        if rule not in ("", *RULES):
            raise bad(f"{fpath}.rule", f"{rule!r}: expected one of {', '.join(RULES)} (or leave it out for a model flag)")
        if rule and code != rule:
            raise bad(f"{fpath}.code", f"a rule flag keeps the rule's code: code = {rule!r}")
        vals = fraw.get("values")
        if not isinstance(vals, list) or not vals or not all(isinstance(v, str) for v in vals):
            raise bad(f"{fpath}.values", f"the task values this flag stands for, e.g. [\"{names[-1]}\"]")
        for v in vals:
            if v not in names:
                raise bad(f"{fpath}.values", f"unknown {tname} value {v!r}: expected one of {', '.join(names)}")
        if len(set(vals)) == len(names):
            raise bad(f"{fpath}.values", "a flag cannot stand for every value of its task (nothing would be fine)")
        severity = fraw.get("severity", RULES[rule][0] if rule else 2)
        if not isinstance(severity, int) or isinstance(severity, bool) or not 1 <= severity <= 9:
            raise bad(f"{fpath}.severity", f"{severity!r}: a whole number from 1 to 9 (higher sorts first)")
        meaning = fraw.get("meaning", RULES[rule][1] if rule else "")
        if not isinstance(meaning, str) or not meaning.strip():
            raise bad(f"{fpath}.meaning", "missing one-line meaning of the flag (shown in --help and the README)")
        prec = dict(DEFAULT_PRECISION)
        praw = fraw.get("precision", {})
        if not isinstance(praw, dict):
            raise bad(f"{fpath}.precision", "a table { strict = 0.6, balanced = 0.75, lenient = 0.9 }")
        for prof, p in praw.items():
            if prof not in PROFILES:
                raise bad(f"{fpath}.precision.{prof}", f"unknown profile: expected one of {', '.join(PROFILES)}")
            if not isinstance(p, int | float) or isinstance(p, bool) or not 0.5 < p <= 1:
                raise bad(f"{fpath}.precision.{prof}", f"{p!r}: a target precision above 0.5 and at most 1")
            prec[prof] = float(p)
        if not prec["strict"] <= prec["balanced"] <= prec["lenient"]:
            raise bad(f"{fpath}.precision", "strict <= balanced <= lenient (a stricter profile flags more)")
        codes = fraw.get("reject_codes", [])
        if not isinstance(codes, list) or not all(isinstance(c, str) and _CODE_RE.match(c) for c in codes):
            raise bad(f"{fpath}.reject_codes", "a list of upper-case review reject codes, e.g. [\"HATE_SPEECH\"]")
        bias = fraw.get("bias", False)
        if not isinstance(bias, bool):
            raise bad(f"{fpath}.bias", "true or false")
        prevalence = fraw.get("prevalence", DEFAULT_PREVALENCE)
        if not isinstance(prevalence, int | float) or isinstance(prevalence, bool) or not 0 < prevalence < 1:
            raise bad(f"{fpath}.prevalence", f"{prevalence!r}: the share of comments this flag is expected to "
                      "stand for, above 0 and below 1 (e.g. 0.1)")
        flags.append(FlagSpec(code, tname, tuple(vals), severity, meaning.strip(), prec, rule, tuple(codes), bias,
                              float(prevalence)))
    return {"features": tuple(features), "classifier": classifier, "min_examples": min_examples,
            "flags": tuple(flags)}


def _platform(tname: str, raw: object, names: tuple[str, ...], bad) -> tuple[tuple[str, str], ...]:
    """``platform = { "STATUS[:REASON]" = "value", ... }`` of one task, checked."""
    fpath = f"tasks.{tname}.platform"
    if not isinstance(raw, dict):
        raise bad(fpath, 'a table of decision = value, e.g. { spam = "off", "rejected:ABUSIVE" = "abusive" }')
    out: list[tuple[str, str]] = []
    for key, value in raw.items():
        status, _, reason = key.partition(":")
        if status not in STATUSES:
            raise bad(f"{fpath}.{key}", f"unknown status {status!r}: expected one of {', '.join(STATUSES)} "
                      "(optionally :REASON, e.g. \"rejected:ABUSIVE\")")
        if ":" in key and (not reason.strip() or reason != reason.strip()):
            raise bad(f"{fpath}.{key}", "a reason code after the colon, e.g. \"rejected:ABUSIVE\"")
        if not isinstance(value, str) or value not in names:
            raise bad(f"{fpath}.{key}", f"{value!r}: expected one of the task's values {', '.join(names)}")
        out.append((key, value))
    return tuple(out)


def _check_key(key: object, field_path: str, bad) -> str:
    if not isinstance(key, str) or len(key) != 1 or not key.isprintable() or key.isspace():
        raise bad(field_path, f"{key!r}: a key is exactly one printable character, e.g. \"1\" or \"c\"")
    return key
