"""The label schema file: defaults, team edits, and one clear error per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from modkit.errors import ModkitError
from modkit.labels import DEFAULT_SCHEMA_TOML, SchemaError, load_schema, parse_schema

ROOT = Path(__file__).resolve().parent.parent


def test_committed_schema_file_is_the_package_default():
    assert (ROOT / "labels" / "schema.toml").read_text(encoding="utf-8") == DEFAULT_SCHEMA_TOML


def test_default_schema_has_the_three_tasks_with_keys_and_definitions():
    s = parse_schema(DEFAULT_SCHEMA_TOML)
    assert s.task_names == ("civility", "topic", "stance")
    assert s.task("civility").names == ("civil", "uncivil", "abusive")
    assert s.task("topic").names == ("on", "off")
    assert s.task("stance").names == ("agree", "disagree", "neutral")
    for t in s.tasks:
        assert len({v.key for v in t.values}) == len(t.values)
        assert all(v.definition for v in t.values)


def test_default_is_used_when_the_labels_folder_has_no_schema(tmp_path):
    s = load_schema(tmp_path)
    assert s.task_names == ("civility", "topic", "stance")


def test_unknown_value_message_names_the_task_and_allowed_values():
    s = parse_schema(DEFAULT_SCHEMA_TOML)
    with pytest.raises(ModkitError, match=r"^unknown civility 'rude': expected one of civil, uncivil, abusive$"):
        s.check("civility", "rude")
    with pytest.raises(ModkitError, match=r"unknown task 'spam'"):
        s.check("spam", "yes")


def test_team_adds_a_task_renames_a_value_and_remaps_keys(tmp_path):
    text = DEFAULT_SCHEMA_TOML.replace('name = "off", key = "2"', 'name = "offtopic", key = "x"')
    # a renamed value must be renamed in the flags that stand for it too: one clear message if not
    (tmp_path / "schema.toml").write_text(text, encoding="utf-8")
    with pytest.raises(SchemaError, match=r"tasks\.topic\.flags\[1\]\.values: unknown topic value 'off'"):
        load_schema(tmp_path)
    text = text.replace('values = ["off"]', 'values = ["offtopic"]')
    text = text.replace(' = "off"', ' = "offtopic"')  # and in the platform mapping (spam = "off")
    text += '''
[tasks.spam]
question = "Spam?"
values = [
  { name = "no", key = "1", definition = "Ordinary comment." },
  { name = "repost", key = "2", definition = "Repeats an earlier comment." },
]
'''
    text = text.replace('undo = "u"', 'undo = "z"')
    (tmp_path / "schema.toml").write_text(text, encoding="utf-8")
    s = load_schema(tmp_path)
    assert s.task_names == ("civility", "topic", "stance", "spam")
    assert s.task("topic").by_key("x").name == "offtopic"
    assert s.controls["undo"] == "z"
    assert s.only("spam").task_names == ("spam",)


BAD = [
    ('values = [\n  { name = "civil", key = "1"', 'values = [\n  { name = "civil", key = "2"',
     r"tasks\.civility\.values\[2\]\.key: duplicate key '2' in task civility \(also used by civil\)"),
    ('{ name = "uncivil"', '{ name = "civil"', r"tasks\.civility\.values\[2\]\.name: duplicate value 'civil'"),
    ('{ name = "uncivil"', '{ name = ""', r"tasks\.civility\.values\[2\]\.name: missing or empty value name"),
    ('key = "3", definition = "Hate', 'key = "u", definition = "Hate',
     r"values\[3\]\.key: key 'u' is the labeler's undo key"),
    ('key = "3", definition = "Hate', 'key = "33", definition = "Hate', r"values\[3\]\.key: '33': a key is exactly one"),
    ('definition = "Hate', 'defintion = "Hate', r"values\[3\]\.defintion: unknown field"),
    ('[tasks.topic]', '[tasks.Topic]', r"tasks\.Topic: task name must be a lower-case word"),
    ('quit = "q"', 'quit = "b"', r"controls\.quit: key 'b' is already used by back"),
    ('quit = "q"', 'exit = "x"', r"controls\.exit: unknown action"),
    ('version = 1', 'version = 2', r"version: unsupported schema version 2"),
    ('prevalence = 0.2', 'prevalence = 8', r"civility\.flags\[2\]\.prevalence: 8: the share of comments"),
    ('prevalence = 0.05, reject_codes = ["HARASSMENT"', 'prevalence = "rare", reject_codes = ["HARASSMENT"', r"civility\.flags\[1\]\.prevalence: 'rare': the share of comments"),
]


@pytest.mark.parametrize("old,new,message", BAD)
def test_schema_mistakes_give_one_clear_error_naming_file_and_field(tmp_path, old, new, message):
    assert old in DEFAULT_SCHEMA_TOML
    path = tmp_path / "schema.toml"
    path.write_text(DEFAULT_SCHEMA_TOML.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(SchemaError) as exc:
        load_schema(path)
    assert exc.value.message.startswith(f"{path}: ")
    assert "\n" not in exc.value.message
    assert __import__("re").search(message, exc.value.message), exc.value.message


def test_empty_values_and_single_value_tasks_are_rejected(tmp_path):
    with pytest.raises(SchemaError, match=r"tasks\.x\.values: empty or missing"):
        parse_schema("[tasks.x]\nvalues = []\n", "s.toml")
    with pytest.raises(SchemaError, match=r"tasks\.x\.values: a task needs at least two values"):
        parse_schema('[tasks.x]\nvalues = [{ name = "a", key = "1", definition = "A." }]\n', "s.toml")
    with pytest.raises(SchemaError, match=r"tasks: no tasks defined"):
        parse_schema("version = 1\n", "s.toml")


def test_toml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "schema.toml"
    path.write_text('version = 1\n[tasks.civility\nquestion = "x"\n', encoding="utf-8")
    with pytest.raises(SchemaError, match=rf"^{path}:2: invalid TOML"):
        load_schema(path)


def test_cli_schema_command_reports_a_bad_file_in_one_line(modkit, tmp_path):
    (tmp_path / "schema.toml").write_text(DEFAULT_SCHEMA_TOML.replace('key = "2", definition = "Rude', 'key = "1", definition = "Rude'))
    r = modkit("labels", "schema", "--labels", str(tmp_path))
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0
    assert "duplicate key '1' in task civility" in r.stderr
    ok = modkit("labels", "schema")
    assert ok.returncode == 0 and "abusive" in ok.stdout
