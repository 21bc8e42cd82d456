"""Many clients at once, each with its own connection: one hot SKU is never oversold, and the ledger still
adds up."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.commerce.stock.checks import assert_consistent, level
from tests.commerce.stock.conftest import make_location, make_variants
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.stock import moves, service
from xuyen.commerce.stock.models import LocationKind
from xuyen.commerce.stock.service import OutOfStock, StockLine
from xuyen.db import session_factory

CLIENTS = 16


def _race(engine: Engine, work: Callable[[Session, int], None]) -> tuple[int, int, list[BaseException]]:
    """Run ``work(session, n)`` in CLIENTS threads started together; count successes and shortages."""
    factory = session_factory(engine)
    start = threading.Barrier(CLIENTS)
    lock = threading.Lock()
    outcome = {"ok": 0, "short": 0}
    errors: list[BaseException] = []

    def client(number: int) -> None:
        with factory() as own:
            start.wait()
            try:
                work(own, number)
                own.commit()
                key = "ok"
            except OutOfStock:
                own.rollback()
                key = "short"
            except BaseException as exc:
                own.rollback()
                with lock:
                    errors.append(exc)
                return
            with lock:
                outcome[key] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome["ok"], outcome["short"], errors


def test_sixteen_clients_on_ten_units_exactly_ten_win(engine: Engine, session: Session) -> None:
    hot, = make_variants(session)
    warehouse = make_location(session, kind=LocationKind.warehouse, priority=10)
    store = make_location(session, kind=LocationKind.store, priority=50)
    moves.receive(session, location_id=warehouse.id, lines=[StockLine(hot.id, 6)], actor="kho")
    moves.receive(session, location_id=store.id, lines=[StockLine(hot.id, 4)], actor="kho")

    def reserve(own: Session, number: int) -> None:
        service.reserve(own, reference=f"SO-{number}", lines=[StockLine(hot.id, 1)], channel=SalesChannel.shopee,
                        actor="shopee", expires_at=None)

    won, short, errors = _race(engine, reserve)
    assert errors == []
    assert (won, short) == (10, 6)
    assert level(session, hot.id, warehouse.id) == (6, 6)
    assert level(session, hot.id, store.id) == (4, 4)
    assert_consistent(session)


def test_reservations_releases_and_sales_mixed_keep_the_ledger_exact(engine: Engine, session: Session) -> None:
    hot, other = make_variants(session, 2)
    warehouse = make_location(session, kind=LocationKind.warehouse, priority=10)
    store = make_location(session, kind=LocationKind.store, priority=50)
    moves.receive(session, location_id=warehouse.id, lines=[StockLine(hot.id, 5), StockLine(other.id, 5)],
                  actor="kho")
    moves.receive(session, location_id=store.id, lines=[StockLine(hot.id, 5), StockLine(other.id, 5)], actor="kho")

    def mixed(own: Session, number: int) -> None:
        reference = f"SO-{number}"
        # lines in both orders: the fixed lock order keeps them from waiting on each other in a circle
        lines = [StockLine(hot.id, 1), StockLine(other.id, 1)]
        service.reserve(own, reference=reference, lines=lines if number % 2 else lines[::-1],
                        channel=SalesChannel.web, actor="web", expires_at=None)
        if number % 3 == 0:
            service.release(own, reference=reference, actor="web", reason="cancelled")
        elif number % 3 == 1:
            service.fulfil(own, reference=reference, actor="web")
        if number % 4 == 0:
            service.sell(own, reference=f"POS-{number}", lines=[StockLine(hot.id, 1)], location_id=store.id,
                         actor="pos")

    _won, _short, errors = _race(engine, mixed)
    assert errors == []
    assert_consistent(session)


def test_clients_hammering_until_the_stock_runs_out_take_exactly_what_there_was(engine: Engine,
                                                                                  session: Session) -> None:
    """Each client reserves one unit after another until it is refused: the locations run dry while others
    still reserve, the case where a refused guarded update must not leave a row locked out of order."""
    hot, = make_variants(session)
    warehouse = make_location(session, kind=LocationKind.warehouse, priority=10)
    store = make_location(session, kind=LocationKind.store, priority=50)
    moves.receive(session, location_id=warehouse.id, lines=[StockLine(hot.id, 40)], actor="kho")
    moves.receive(session, location_id=store.id, lines=[StockLine(hot.id, 40)], actor="kho")
    counter = iter(range(10_000))
    lock = threading.Lock()

    def until_refused(own: Session, number: int) -> None:
        while True:
            with lock:
                reference = f"SO-{number}-{next(counter)}"
            service.reserve(own, reference=reference, lines=[StockLine(hot.id, 1)], channel=SalesChannel.web,
                            actor="web", expires_at=None)
            own.commit()

    won, short, errors = _race(engine, until_refused)
    assert errors == []
    assert (won, short) == (0, CLIENTS)  # every client ends refused
    assert level(session, hot.id, warehouse.id) == (40, 40)
    assert level(session, hot.id, store.id) == (40, 40)
    assert_consistent(session)
