"""What the journey pages hand to the diagram's script: translated words, figures written the page's way, the
submitted definition read back (bad JSON, oversized, not an object), refused paths, steps in reading order."""

from __future__ import annotations

import json

import pytest

from xuyen.errors import ValidationFailed
from xuyen.ui import journey_editor


def test_every_word_of_the_script_is_translated() -> None:
    vietnamese = journey_editor.editor_strings("vi")
    english = journey_editor.editor_strings("en")
    assert set(vietnamese) == set(english) == set(journey_editor.STRINGS)
    assert vietnamese["type_send"] == "Gửi tin nhắn" and english["type_send"] == "Send a message"
    assert vietnamese["edge_yes"] == "có" and english["edge_timeout"] == "timeout"


def test_figures_are_written_the_way_the_page_speaks() -> None:
    stats = {"n1": {"entered": 1234, "waiting": 5}, "n2": {"entered": 10, "sent": 9, "revenue": 1_250_000}}
    vietnamese = journey_editor.formatted_stats(stats, "vi")
    assert vietnamese["n1"]["entered"] == "1.234" and vietnamese["n1"]["sent"] == "0"
    assert vietnamese["n2"]["revenue"] == "1.250.000\xa0₫"
    assert journey_editor.formatted_stats(stats, "en")["n2"]["revenue"] == "₫1,250,000"


def test_the_submitted_definition_is_read_back() -> None:
    assert journey_editor.read_definition('{"start": null}') == {"start": None}
    for text, code in (("{nope", "invalid_json"), ("[1]", "invalid_json"), ('"x"', "invalid_json"),
                       (json.dumps({"label": "x" * 250_000}), "definition_too_large")):
        with pytest.raises(ValidationFailed) as refused:
            journey_editor.read_definition(text)
        assert refused.value.code == code


def test_refused_paths_come_from_the_refusal() -> None:
    refusal = ValidationFailed("bad", code="invalid_journey", details={"errors": {"nodes.n1.next": "unknown step"}})
    assert journey_editor.refused_paths(refusal) == {"nodes.n1.next": "unknown step"}
    assert journey_editor.refused_paths(ValidationFailed("The journey is bad.")) == {"": "The journey is bad."}


def test_steps_are_listed_in_reading_order_with_stray_ones_last() -> None:
    definition = {"start": "a", "nodes": {
        "z": {"type": "exit"},
        "c": {"type": "exit"},
        "b": {"type": "send", "next": "c", "label": "Nhắc giỏ hàng"},
        "a": {"type": "condition", "yes": "b", "no": "d"},
        "d": {"type": "split", "branches": [{"label": "A", "percent": 50, "next": "c"},
                                            {"label": "B", "percent": 50, "next": None}]},
    }}
    rows = journey_editor.step_rows(definition, {"b": {"sent": "3"}})
    assert [row["id"] for row in rows] == ["a", "b", "d", "c", "z"]
    assert rows[1]["label"] == "Nhắc giỏ hàng" and rows[1]["stats"] == {"sent": "3"}
    assert rows[0]["kind"] == "Condition"
    assert journey_editor.step_rows({"nodes": "broken"}, {}) == []
