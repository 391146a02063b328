"""Flow files are validated at load: every mistake is named, none reaches a resident."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flows.catalog import FLOWS_DIR, FlowError, load_catalog, normalise

LANGS = ("en", "es", "vi", "zh")


@pytest.fixture
def flows_copy(tmp_path: Path) -> Path:
    """A private copy of the shipped flows, to break on purpose."""
    target = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_shipped_flows_are_valid_in_every_language() -> None:
    catalog = load_catalog(LANGS)
    assert [f.id for f in catalog.menu_flows] == [
        "safety",
        "policy",
        "technology",
        "interaction",
        "meetings",
    ]
    assert [f.id for f in catalog.flows if not f.menu] == ["unsorted"]  # words to sort later


def test_a_missing_translation_is_named(flows_copy: Path) -> None:
    _edit(flows_copy / "messages.yaml", '    vi: "Xin chào', '    xx: "Xin chào')
    with pytest.raises(FlowError, match=r"messages\.yaml welcome: missing text in 'vi'"):
        load_catalog(LANGS, flows_copy)


def test_a_language_nobody_translated_fails_at_start_up(flows_copy: Path) -> None:
    with pytest.raises(FlowError, match="missing text in 'fr'"):
        load_catalog(("en", "fr"), flows_copy)


def test_unknown_step_types_and_references_are_named(flows_copy: Path) -> None:
    topic = flows_copy / "topics" / "technology.yaml"
    _edit(topic, "from: which", "from: nowhere")
    _edit(topic, "text: ask_consent", "text: ask_for_a_kidney")
    with pytest.raises(FlowError) as error:
        load_catalog(LANGS, flows_copy)
    assert "from must name an earlier choice step, not 'nowhere'" in str(error.value)
    assert "unknown message 'ask_for_a_kidney'" in str(error.value)


def test_limits_are_enforced(flows_copy: Path) -> None:
    _edit(
        flows_copy / "messages.yaml", '"Please reply 1 for yes or 2 for no."', '"' + "x" * 600 + '"'
    )
    with pytest.raises(FlowError, match="'en' text is 600 characters"):
        load_catalog(LANGS, flows_copy)


def test_unknown_placeholders_are_rejected(flows_copy: Path) -> None:
    _edit(flows_copy / "messages.yaml", "community line: share", "{agnecy} line: share")
    with pytest.raises(FlowError, match="unknown placeholders"):
        load_catalog(LANGS, flows_copy)


def test_two_flows_on_one_menu_number_are_rejected(flows_copy: Path) -> None:
    _edit(flows_copy / "topics" / "policy.yaml", "menu: 2", "menu: 1")
    with pytest.raises(FlowError, match="two flows share a menu number"):
        load_catalog(LANGS, flows_copy)


def test_broken_yaml_is_reported_with_its_file(flows_copy: Path) -> None:
    (flows_copy / "topics" / "safety.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(FlowError, match=r"safety\.yaml: not valid YAML"):
        load_catalog(LANGS, flows_copy)


@pytest.mark.parametrize(
    ("typed", "folded"),
    [("  STOP!! ", "stop"), ("Ｓｔｏｐ", "stop"), ("No  más.", "no más"), ("退订。", "退订")],
)
def test_keywords_match_however_they_are_typed(typed: str, folded: str) -> None:
    assert normalise(typed) == folded
