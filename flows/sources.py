"""Every text a translator owns in flows/: where it sits, its English, how to change it in place.

The flow files are written by hand, with comments that say where each text is used; a tool that
reloads and dumps them would reflow the lines and drop the comments. So a translation is spliced
into the file's own text at the positions PyYAML reports, and a file whose translations did not
change is written back byte for byte.

A *unit* is a mapping with an `en` key whose other keys are language codes (`any` and
`over_budget` aside): a message, a flow's label, a keyword list, a triage class's phrases.
Its id is the path of keys to it, list items named by their `id`
("steps.which.choices.drones.label").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

Value = str | tuple[str, ...]

SOURCE = "en"
NOT_TRANSLATED_HERE = frozenset({"voice.yaml"})
NOT_LANGUAGES = frozenset({"any", "over_budget"})
_LANGUAGE_KEY = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z]{2,8})?$")


@dataclass(frozen=True)
class Slot:
    """Where one language's value sits in the file's text, and how it is written there."""

    start: int
    end: int
    block: bool  # a block sequence ("- item" lines) rather than a scalar or [flow, list]
    column: int  # column of the value's first character


@dataclass(frozen=True, eq=False)  # one unit per place in a file: hashed by identity
class Unit:
    """One translatable item of a flow file."""

    file: str  # relative to the flows folder, "topics/safety.yaml"
    path: str  # "steps.details.text"
    line: int  # 1-based line of the unit's key, for translators' tools
    comment: str  # the comment lines just above the unit's key, without "#"
    values: Mapping[str, Value]
    slots: Mapping[str, Slot] = field(repr=False)
    insert_at: int = field(repr=False)  # where a line for a new language goes
    indent: int = field(repr=False)  # column of the unit's language keys

    @property
    def is_list(self) -> bool:
        return isinstance(self.values.get(SOURCE), tuple)


def flow_files(directory: Path) -> list[Path]:
    """The flow files that hold translatable text, in a stable order."""
    # voice.yaml's words are written per voiced language, not yet through the .po round trip.
    own = sorted(p for p in directory.glob("*.yaml") if p.name not in NOT_TRANSLATED_HERE)
    return own + sorted((directory / "topics").glob("*.yaml"))


def units(directory: Path) -> Iterator[Unit]:
    """Every unit of every flow file in the folder."""
    for path in flow_files(directory):
        yield from file_units(path.relative_to(directory).as_posix(), path.read_text("utf-8"))


def file_units(name: str, text: str) -> list[Unit]:
    """The units of one flow file's text, in the order they appear."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    found: list[Unit] = []
    if root is not None:
        _walk(root, (), None, name, text, found)
    return found


def _construct(node: yaml.Node) -> object:
    return yaml.SafeLoader("").construct_object(node, deep=True)


def _is_unit(node: yaml.MappingNode) -> bool:
    """Text or a word list per language; a mapping per language (voice.yaml's `voices`: the
    voice, its codes) is settings, not words to translate."""
    keys = [key.value for key, _ in node.value if isinstance(key, yaml.ScalarNode)]
    return (
        SOURCE in keys
        and all(key in NOT_LANGUAGES or _LANGUAGE_KEY.match(key) for key in keys)
        and not any(isinstance(value, yaml.MappingNode) for _, value in node.value)
    )


def _walk(
    node: yaml.Node,
    path: tuple[str, ...],
    key: yaml.Node | None,
    name: str,
    text: str,
    found: list[Unit],
) -> None:
    if isinstance(node, yaml.MappingNode):
        if key is not None and _is_unit(node):
            found.append(_unit(node, path, key, name, text))
            return
        for child_key, child in node.value:
            _walk(child, (*path, str(child_key.value)), child_key, name, text, found)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            label = str(index)
            if isinstance(item, yaml.MappingNode):
                ids = [v.value for k, v in item.value if k.value == "id"]
                label = str(ids[0]) if ids else label
            _walk(item, (*path, label), key, name, text, found)


def _end(node: yaml.Node) -> int:
    """Where a value's own text ends (a block sequence's end mark lies past later comments)."""
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _end(node.value[-1])
    return node.end_mark.index


def _unit(
    node: yaml.MappingNode, path: tuple[str, ...], key: yaml.Node, name: str, text: str
) -> Unit:
    values: dict[str, Value] = {}
    slots: dict[str, Slot] = {}
    for item_key, item in node.value:
        language = str(item_key.value)
        if language in NOT_LANGUAGES:
            continue
        value = _construct(item)
        if isinstance(value, list):
            values[language] = tuple(str(word) for word in value)
        else:
            values[language] = "" if value is None else str(value)
        block = isinstance(item, yaml.SequenceNode) and not item.flow_style
        slots[language] = Slot(item.start_mark.index, _end(item), block, item.start_mark.column)
    last = max(_end(value) for _, value in node.value)
    line_end = text.find("\n", last)
    lines = text.splitlines()
    comment: list[str] = []
    row = key.start_mark.line - 1
    while row >= 0 and lines[row].strip().startswith("#"):
        comment.insert(0, lines[row].strip().lstrip("#").strip())
        row -= 1
    return Unit(
        file=name,
        path=".".join(path),
        line=key.start_mark.line + 1,
        comment="\n".join(comment),
        values=values,
        slots=slots,
        insert_at=len(text) if line_end < 0 else line_end + 1,
        indent=node.value[0][0].start_mark.column,
    )


def _plain(item: str, prefix: str) -> bool:
    """Whether a list item can be written unquoted and still read back as the same string."""
    if not item or item != item.strip() or "\n" in item:
        return False
    try:
        loaded = yaml.safe_load(f"{prefix}{item}{']' if prefix == '[' else ''}")
    except yaml.YAMLError:
        return False
    return loaded == [item]


def render(value: Value, *, block: bool, column: int) -> str:
    """A value as the flow files write it: double-quoted text, [a, b] or "- a" lines."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if block:
        items = [
            item if _plain(item, "- ") else json.dumps(item, ensure_ascii=False) for item in value
        ]
        return ("\n" + " " * column).join(f"- {item}" for item in items)
    items = [item if _plain(item, "[") else json.dumps(item, ensure_ascii=False) for item in value]
    return "[" + ", ".join(items) + "]"


def splice(text: str, language: str, changes: Mapping[Unit, Value]) -> str:
    """The file's text with these units' values in one language replaced or added.

    A value equal to what the file holds is left alone, so unchanged files stay byte-identical.
    A new language is written as a line after the unit's last one, in the English value's style.
    """
    edits: list[tuple[int, int, str]] = []
    for unit, value in changes.items():
        if unit.values.get(language) == value:
            continue
        slot = unit.slots.get(language)
        if slot is not None:
            edits.append(
                (slot.start, slot.end, render(value, block=slot.block, column=slot.column))
            )
            continue
        source = unit.slots[SOURCE]
        pad = " " * unit.indent
        if source.block and isinstance(value, tuple):
            column = unit.indent + 2
            rendered = "\n" + " " * column + render(value, block=True, column=column)
        else:
            rendered = " " + render(value, block=False, column=0)
        edits.append((unit.insert_at, unit.insert_at, f"{pad}{language}:{rendered}\n"))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def languages_in(directory: Path) -> list[str]:
    """Every language some unit has a value in, English first."""
    seen: dict[str, None] = {SOURCE: None}
    for unit in units(directory):
        seen.update(dict.fromkeys(unit.values))
    return list(seen)


def by_id(found: Sequence[Unit]) -> dict[str, Unit]:
    """Units keyed "file:path", the id translators and the lock file use."""
    return {f"{unit.file}:{unit.path}": unit for unit in found}
