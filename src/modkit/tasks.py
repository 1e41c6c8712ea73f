"""The task registry: which tasks a model learns, which flags each raises, how each is trained.

Everything downstream (training, scoring, the flag CSV, review, the report, the CLI) loops over
a :class:`Registry` built from the label schema (``labels/schema.toml``, see
:mod:`modkit.labels.schema`); nothing else in modkit names a task. A team adds a task by adding
a ``[tasks.NAME]`` table, with no code change::

    [tasks.spam]
    question = "Is the comment spam (ads, scams, link farms)?"
    values = [
      { name = "yes", key = "y", definition = "Advertises, scams or links for clicks." },
      { name = "no",  key = "n", definition = "Anything else." },
    ]
    features = ["text", "stats"]          # what the model reads (default)
    flags = [ { code = "SPAM", values = ["yes"], severity = 3, meaning = "advertising or scam" } ]

>>> from modkit.labels import schema_for
>>> reg = Registry.from_schema(schema_for("labels"))
>>> [f.code for f in reg.model_flags]
['ABUSIVE', 'UNCIVIL', 'OFF_TOPIC']

Two kinds of flags:

- a **model flag** (:class:`FlagSpec` with ``rule=""``): its score is the sum of the task
  pipeline's calibrated probabilities of ``values``; it is raised when the score reaches the
  threshold of the chosen profile (chosen at training time for a target precision);
- a **rule flag** (``rule`` names one of :data:`RULES`): raised by a fixed rule on the text or
  the thread (a repeated post, an empty comment); attached to a task only to say which label a
  moderator's confirmation of it stands for.

Rule flags that no task claims (LINKS, SHOUTING) are raised all the same; they carry no label.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Threshold profiles, from most to least flagging. Each model flag has a target precision per
#: profile (``precision`` in the schema; :data:`DEFAULT_PRECISION` when absent).
PROFILES = ("strict", "balanced", "lenient")
PROFILE_HELP = {
    "strict": "flag more: each flag's threshold is chosen for its strict target precision (default 0.6)",
    "balanced": "each flag's threshold is chosen for its balanced target precision (default 0.75)",
    "lenient": "flag only what the model is sure of: lenient target precision (default 0.9)",
}
DEFAULT_PRECISION = {"strict": 0.6, "balanced": 0.75, "lenient": 0.9}
#: The share of a comment section's comments a flag is expected to stand for when the schema
#: does not say (``prevalence``). Thresholds are chosen for their target precision at this
#: share, not at the training mix's (77% of the public civility examples are uncivil): a
#: precision reached when half the comments are positive is far lower when one in ten is.
DEFAULT_PREVALENCE = 0.1

#: Feature sets a task's pipeline can read (``features`` in the schema).
FEATURES = {
    "text": "word and character n-gram TF-IDF of the comment itself",
    "stats": "surface statistics: length, capitals, punctuation, links, lexicon hits",
    "thread": "thread context: similarity to the article and the parent, depth, repeats",
    "meaning": "the comment's meaning: mean static word embedding (256 dims, distilled from all-MiniLM-L6-v2)",
    "meaning_context": "meaning similarity (static embeddings) of the comment to its article and its parent",
}
CLASSIFIERS = {
    "logistic": "logistic regression (lbfgs), sigmoid-calibrated",
    "linear-svm": "linear SVM trained by SGD (hinge loss), sigmoid-calibrated: fast on large data",
}

#: Rule flags: code -> (severity, meaning). Computed by :mod:`modkit.flag` from the text and
#: the thread, for every model.
RULES: dict[str, tuple[int, str]] = {
    "REPEAT_POST": (2, "same or nearly the same text as an earlier comment on the page (cosine >= 0.9)"),
    "LINKS": (1, "contains a link (http://, https://, www.)"),
    "SHOUTING": (1, "mostly capital letters (over 70% of at least 12 letters)"),
    "EMPTY": (1, "no text"),
}


@dataclass(frozen=True)
class FlagSpec:
    """One flag a task raises. ``values`` are the task values it stands for (its score is the sum
    of their probabilities); ``label`` is the value a moderator's *reject* (the flag was right)
    records, by default the first of ``values``."""

    code: str
    task: str
    values: tuple[str, ...]
    severity: int
    meaning: str
    precision: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_PRECISION))
    rule: str = ""  #: a key of RULES for a rule flag; "" for a model flag
    reject_codes: tuple[str, ...] = ()  #: review reject codes that mean this flag was right
    bias: bool = False  #: measure unintended identity bias on this flag's score (identity-madlibs)
    prevalence: float = DEFAULT_PREVALENCE  #: expected share of comments it stands for (threshold choice)

    @property
    def label(self) -> str:
        return self.values[0]

    @property
    def column(self) -> str:
        """The flag CSV's score column: ``p_`` + the code lower-cased without ``_``
        (``OFF_TOPIC`` -> ``p_offtopic``)."""
        return "p_" + self.code.lower().replace("_", "")

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "task": self.task, "values": list(self.values), "severity": self.severity,
                "meaning": self.meaning, "precision": dict(self.precision), "rule": self.rule,
                "reject_codes": list(self.reject_codes), "bias": self.bias, "prevalence": self.prevalence}


@dataclass(frozen=True)
class TaskSpec:
    """One task as the model sees it: its values, features, classifier and flags."""

    name: str
    values: tuple[str, ...]
    features: tuple[str, ...] = ("text", "stats")
    classifier: str = "logistic"
    min_examples: int = 8  #: per value: a task trains when two values have at least this many labels
    flags: tuple[FlagSpec, ...] = ()

    @property
    def model_flags(self) -> tuple[FlagSpec, ...]:
        return tuple(f for f in self.flags if not f.rule)

    @property
    def fine(self) -> str | None:
        """The value a moderator's *approve* (the flag was wrong) records: the first value no
        flag stands for; None for a task without flags."""
        if not self.flags:
            return None
        flagged = {v for f in self.flags for v in f.values}
        return next((v for v in self.values if v not in flagged), None)

    def severity(self, value: str) -> int:
        """How bad a value is: the highest severity of a flag standing for it (0 for none)."""
        return max((f.severity for f in self.flags if value in f.values), default=0)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "values": list(self.values), "features": list(self.features),
                "classifier": self.classifier, "min_examples": self.min_examples,
                "flags": [f.to_dict() for f in self.flags]}


@dataclass(frozen=True)
class Registry:
    """The tasks of a schema, in order, with their flags; and the rule flags no task claims."""

    tasks: tuple[TaskSpec, ...]

    @classmethod
    def from_schema(cls, schema: Any) -> Registry:
        """Build from a :class:`modkit.labels.schema.Schema` (each task's ``model`` settings)."""
        return cls(tuple(t.spec for t in schema.tasks))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tasks)

    def task(self, name: str) -> TaskSpec:
        for t in self.tasks:
            if t.name == name:
                return t
        raise KeyError(name)

    def only(self, names: Iterable[str]) -> Registry:
        keep = set(names)
        return Registry(tuple(t for t in self.tasks if t.name in keep))

    @property
    def flags(self) -> tuple[FlagSpec, ...]:
        """Every flag: the tasks' flags, then the unclaimed rule flags, by severity (highest
        first, then schema order): the order of the ``flags`` column."""
        claimed = [f for t in self.tasks for f in t.flags]
        codes = {f.code for f in claimed}
        free = [FlagSpec(code, "", (), sev, meaning, {}, rule=code)
                for code, (sev, meaning) in RULES.items() if code not in codes]
        allf = claimed + free
        return tuple(sorted(allf, key=lambda f: -f.severity))

    @property
    def model_flags(self) -> tuple[FlagSpec, ...]:
        """The model flags, in schema order (the order of the score columns)."""
        return tuple(f for t in self.tasks for f in t.model_flags)

    def flag(self, code: str) -> FlagSpec | None:
        return next((f for f in self.flags if f.code == code), None)

    @property
    def value_tasks(self) -> tuple[TaskSpec, ...]:
        """Tasks without model flags: the flag CSV writes their most likely value in a column
        named after the task (``stance``)."""
        return tuple(t for t in self.tasks if not t.model_flags)

    @property
    def score_columns(self) -> tuple[str, ...]:
        return tuple(f.column for f in self.model_flags) + tuple(t.name for t in self.value_tasks)

    @property
    def reject_codes(self) -> dict[str, list[FlagSpec]]:
        """Review reject code -> the flags it confirms (a flag's own code always confirms it)."""
        out: dict[str, list[FlagSpec]] = {}
        for f in self.flags:
            if f.task:
                for code in (f.code, *f.reject_codes):
                    out.setdefault(code, []).append(f)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"tasks": [t.to_dict() for t in self.tasks]}


@functools.cache
def default_registry() -> Registry:
    """The registry of modkit's default schema (parsed once per process; a Registry is frozen)."""
    from modkit.labels.schema import load_schema

    return Registry.from_schema(load_schema(None))
