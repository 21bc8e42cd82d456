"""The stock health dashboard on a small known stock (tests/analytics/stock_data.py): out-of-stock SKUs per
channel, reservations, sell-through by product and category, low stock, its page, downloads and errors."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from tests import api_client
from tests.analytics import stock_data
from tests.api_client import Browser
from xuyen.analytics import filters, stock
from xuyen.clock import utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.stock.models import MovementKind, StockMovement

agent, manager = api_client.agent, api_client.manager


def test_out_of_stock_counts_the_listed_skus_a_channel_cannot_sell(session: Session) -> None:
    stock_data.build(session)
    found = {row.channel: (row.listed, row.out_of_stock, row.skus) for row in stock.out_of_stock(session)}
    # web: A-S 6, A-M 0 (only the store holds it), N-1 3 - 1 reserved - 2 buffer = 0
    assert found["web"] == (3, 2, ["A-M", "N-1"])
    assert found["app"] == (3, 1, ["A-M"])  # no buffer on the app: N-1 has 2
    assert found["pos"] == (3, 2, ["A-S", "N-1"])  # the till sells from the store: A-S 0, N-1 none
    assert found["shopee"] == (1, 1, ["A-M"])  # only A-M is listed there, and the warehouse has none
    assert found["lazada"] == (0, 0, [])
    only = stock.out_of_stock(session, channel=SalesChannel.pos)
    assert [(row.channel, row.out_of_stock) for row in only] == [("pos", 2)]


def test_reservations_sell_through_and_low_stock(session: Session) -> None:
    known = stock_data.build(session)
    month = filters.parse()
    held = stock.reservations(session, filters=month)
    assert (held.count, held.units) == (1, 1) and held.oldest is not None
    assert stock.reservations(session, filters=filters.parse(store=str(known.store_id))).count == 0
    # Áo dài lụa: sold 2 + 4 = 6, on hand 6 + 0 + 4 = 10 → 6 / 16; Nón lá: sold 0, 3 on hand → 0
    rows = {row.name: (row.sold, row.on_hand_end, row.rate) for row in stock.sell_through(session, filters=month)}
    assert rows == {"Áo dài lụa": (6, 10, 0.375), "Nón lá": (0, 3, 0.0)}
    categories = {row.name: row.rate for row in stock.sell_through(session, filters=month, by="category")}
    assert categories == {"Áo dài": 0.375, "": 0.0}
    web = stock.sell_through(session, filters=filters.parse(channel="web"))
    assert next((row.name, row.sold, row.on_hand_end) for row in web) == ("Áo dài lụa", 4, 10)
    in_store = stock.sell_through(session, filters=filters.parse(store=str(known.store_id)))
    assert [(row.name, row.sold, row.on_hand_end) for row in in_store] == [("Áo dài lụa", 2, 4)]
    assert [(row.sku, row.available) for row in stock.low_stock(session, filters=month)] == [("N-1", 2), ("A-M", 4)]
    assert [(row.sku, row.available) for row in stock.low_stock(
        session, filters=filters.parse(store=str(known.store_id)))] == [("A-S", 0), ("N-1", 0), ("A-M", 4)]


def test_on_hand_at_the_end_of_an_earlier_period_undoes_the_later_ledger(session: Session) -> None:
    stock_data.build(session)
    ten_days_ago = utcnow() - timedelta(days=10)
    session.execute(update(StockMovement).where(StockMovement.kind == MovementKind.receipt).values(at=ten_days_ago))
    session.commit()
    before = filters.parse(first=(filters.today() - timedelta(days=9)).isoformat(),
                           last=(filters.today() - timedelta(days=1)).isoformat())
    rows = {row.name: (row.sold, row.on_hand_end) for row in stock.sell_through(session, filters=before)}
    assert rows == {"Áo dài lụa": (0, 16), "Nón lá": (0, 3)}  # every receipt, nothing sold yet


def test_the_page_draws_the_figures_and_the_tables_download(session: Session, manager: Browser) -> None:
    stock_data.build(session)
    page = manager.client.get("/analytics/stock")
    assert page.status_code == 200
    assert 'data-kpi="out_of_stock" data-value="7"' in page.text  # web 2, app 1, pos 2, chat 1, shopee 1
    assert 'data-label="Shopee" data-value="1"' in page.text
    assert 'data-label="Áo dài lụa" data-value="37.5"' in page.text
    answer = manager.client.get("/analytics/stock/export/low-stock.csv")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8").lstrip("\ufeff"))))
    assert rows[1:] == [["N-1", "Nón lá", "2"], ["A-M", "Áo dài lụa", "4"]]
    assert manager.client.get("/analytics/stock/export/out-of-stock.xlsx").content[:2] == b"PK"


@pytest.mark.parametrize("query", ["channel=tiki", "store=abc", "from=2026-02-30"])
def test_bad_filters_are_refused_and_agents_may_not_look(agent: Browser, manager: Browser, query: str) -> None:
    assert manager.client.get(f"/analytics/stock?{query}").status_code == 422
    assert agent.client.get("/analytics/stock").status_code == 403
