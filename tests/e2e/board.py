"""The deals board in a browser: a card dragged onto a column with the mouse, as a person does (HTML5 drag and
drop)."""

from __future__ import annotations

from playwright.sync_api import Locator, Page


def drag_card(page: Page, card: Locator, column: Locator) -> None:
    """Press on the card's value, move past the drag threshold, and let go over the column's heading."""
    source = card.locator(".deal-card__value").bounding_box()
    target = column.locator("h2").bounding_box()
    assert source and target
    page.mouse.move(source["x"] + 5, source["y"] + 5)
    page.mouse.down()
    page.mouse.move(source["x"] + 30, source["y"] + 30, steps=5)
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + target["height"] / 2, steps=10)
    page.mouse.up()
