"""The orders pages: the list of orders from every channel, an order with its invoice lines, payments, history
and returns, the forms that move, cancel and take returns of an order, and the order panel of a conversation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from xuyen import i18n
from xuyen.auth.models import Role
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders import service
from xuyen.commerce.orders.building import Customer, LineIn, PaymentIn
from xuyen.commerce.orders.models import OrderLine, OrderStatus, PaymentMethod, RefundTo, ReturnCondition
from xuyen.commerce.orders.returns import ReturnLineIn
from xuyen.commerce.orders.service import STAFF_MOVES, OrderDetail
from xuyen.commerce.orders.states import TRANSITIONS
from xuyen.commerce.stock import locations
from xuyen.commerce.stock.models import Location
from xuyen.errors import ValidationFailed, XuyenError
from xuyen.http import get_session
from xuyen.identity.service import actor_name
from xuyen.routing import Router
from xuyen.stores import service as stores
from xuyen.ui.deps import Viewer, check_csrf, page_role
from xuyen.ui.rendering import render

PAGE_SIZE = 50
MAX_ID = 2**31 - 1

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
AgentViewer = Annotated[Viewer, Depends(page_role(Role.agent))]
OrderId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
FormText = Annotated[str, Form()]

STATUS_LABELS = {
    "pending_payment": i18n.N_("Waiting for payment"), "placed": i18n.N_("Placed"),
    "fulfilling": i18n.N_("Being prepared"), "ready_for_pickup": i18n.N_("Ready for pickup"),
    "shipped": i18n.N_("Shipped"), "completed": i18n.N_("Completed"), "cancelled": i18n.N_("Cancelled"),
}
CHANNEL_LABELS = {
    "web": i18n.N_("Website"), "app": i18n.N_("App"), "pos": i18n.N_("Store POS"), "chat": i18n.N_("Chat"),
    "shopee": "Shopee", "lazada": "Lazada", "tiktok_shop": "TikTok Shop",
}
METHOD_LABELS = {
    "cod": i18n.N_("Cash on delivery"), "bank_transfer": i18n.N_("Bank transfer"), "momo": "MoMo",
    "vnpay": "VNPay", "zalopay": "ZaloPay", "card": i18n.N_("Card"), "cash": i18n.N_("Cash"),
    "stored_value": i18n.N_("Stored value"), "points": i18n.N_("Points"), "exchange": i18n.N_("Exchange credit"),
}
# An exchange on the order page: how many new items it may name, and how the customer may pay the difference.
EXCHANGE_ROWS = 3
DIFFERENCE_METHODS = (PaymentMethod.cash, PaymentMethod.card, PaymentMethod.bank_transfer, PaymentMethod.momo,
                      PaymentMethod.zalopay, PaymentMethod.stored_value)
PAYMENT_STATUS_LABELS = {
    "pending": i18n.N_("Pending"), "authorised": i18n.N_("Authorised"), "paid": i18n.N_("Paid"),
    "refunded": i18n.N_("Refunded"), "failed": i18n.N_("Failed"),
}
FULFILMENT_LABELS = {"ship": i18n.N_("Delivery"), "pickup": i18n.N_("Pickup in store"),
                     "counter": i18n.N_("At the counter")}


def _labels() -> dict[str, Any]:
    return {"status_labels": STATUS_LABELS, "channel_labels": CHANNEL_LABELS, "method_labels": METHOD_LABELS,
            "payment_status_labels": PAYMENT_STATUS_LABELS, "fulfilment_labels": FULFILMENT_LABELS}


@dataclass(frozen=True)
class VatRow:
    """One VAT rate's line of the invoice summary: goods before tax, the tax, and both."""

    rate: str | None
    net: int
    vat: int

    @property
    def total(self) -> int:
        return self.net + self.vat


def vat_summary(lines: Sequence[OrderLine]) -> list[VatRow]:
    """The invoice's summary by VAT rate, as a Vietnamese VAT invoice shows it (goods not subject to VAT last)."""
    rows: dict[str | None, list[int]] = {}
    for line in lines:
        row = rows.setdefault(line.vat_rate, [0, 0])
        row[0] += line.net_amount
        row[1] += line.vat_amount
    ordered = sorted(rows, key=lambda rate: (rate is None, float(rate or 0)))
    return [VatRow(rate=rate, net=rows[rate][0], vat=rows[rate][1]) for rate in ordered]


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _start_of(day: date | None, zone: ZoneInfo) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=zone) if day else None


@router.get("/orders")
def orders_page(request: Request, session: DbSession, viewer: AgentViewer,
                channel: Annotated[str, Query(max_length=20)] = "", status: Annotated[str, Query(max_length=20)] = "",
                store: Annotated[str, Query(max_length=12)] = "", since: Annotated[str, Query(max_length=10)] = "",
                until: Annotated[str, Query(max_length=10)] = "",
                page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
    """Orders from every channel, newest first, filtered by channel, status, store and days (in the viewer's
    time zone)."""
    zone = ZoneInfo(viewer.principal.timezone)
    chosen_channel = SalesChannel(channel) if channel in CHANNEL_LABELS else None
    chosen_status = OrderStatus(status) if status in STATUS_LABELS else None
    store_id = int(store) if store.isdigit() and 0 < int(store) <= MAX_ID else None
    if viewer.principal.store_id is not None:
        store_id = viewer.principal.store_id
    first, last = _day(since), _day(until)
    orders, total = service.list_orders(
        session, channel=chosen_channel, status=chosen_status, store_id=store_id, since=_start_of(first, zone),
        until=_start_of(last + timedelta(days=1), zone) if last else None, limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE)
    filters = {"channel": channel if chosen_channel else "", "status": status if chosen_status else "",
               "store": str(store_id or ""), "since": first.isoformat() if first else "",
               "until": last.isoformat() if last else ""}
    return render(request, "orders/list.html", {
        **_labels(), "orders": orders, "total": total, "page": page, "pages": max((total - 1) // PAGE_SIZE + 1, 1),
        "filters": filters, "query": urlencode({k: v for k, v in filters.items() if v}),
        "stores": stores.list_all(session), "store_names": {s.id: s.name for s in stores.list_all(session)}})


def _locations(session: Session) -> list[Location]:
    return locations.list_all(session, active_only=True)


def _order_page(request: Request, session: Session, *, order_id: int, error: str = "", notice: str = "",
                status_code: int = 200) -> Response:
    detail: OrderDetail = service.order_detail(session, order_id=order_id)
    order = detail.order
    moves = sorted(s.value for s in TRANSITIONS[order.status] & STAFF_MOVES) if not order.channel.is_marketplace \
        else []
    locations = _locations(session)
    return render(request, "orders/detail.html", {
        **_labels(), "order": order, "lines": detail.lines, "payments": detail.payments, "history": detail.history,
        "returns": detail.returns, "vat_rows": vat_summary(detail.lines), "moves": moves,
        "can_cancel": OrderStatus.cancelled in TRANSITIONS[order.status],
        "can_return": order.status in (OrderStatus.shipped, OrderStatus.completed),
        "line_names": {line.id: f"{line.sku} · {line.name}" for line in detail.lines},
        "locations": locations, "location_names": {loc.id: loc.name for loc in locations},
        "store_name": stores.get(session, store_id=order.store_id).name if order.store_id else "",
        "difference_methods": DIFFERENCE_METHODS, "exchange_rows": EXCHANGE_ROWS,
        "error": error, "notice": notice}, status_code=status_code)


@router.get("/orders/{order_id:int}")
def order_page(request: Request, session: DbSession, _viewer: AgentViewer, order_id: OrderId,
               done: Annotated[str, Query(max_length=20)] = "") -> Response:
    """An order: its lines and VAT as on the invoice, payments and refunds, fulfilment, history and returns."""
    return _order_page(request, session, order_id=order_id, notice=done)


def _refused(request: Request, session: Session, order_id: int, exc: XuyenError) -> Response:
    session.rollback()
    return _order_page(request, session, order_id=order_id, error=exc.message, status_code=exc.status)


def _back(order_id: int, done: str) -> RedirectResponse:
    return RedirectResponse(f"/orders/{order_id}?done={done}", status_code=303)


@router.post("/orders/{order_id:int}/status")
def move_order(request: Request, session: DbSession, viewer: AgentViewer, order_id: OrderId,
               csrf_token: FormText = "", status: FormText = "", note: FormText = "") -> Response:
    """Move the order along its fulfilment, then show it again."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        target = OrderStatus(status) if status in STATUS_LABELS else None
        if target is None:
            raise ValidationFailed("Choose what the order becomes.", code="invalid_status")
        service.move_order(session, order_id=order_id, status=target, actor=actor_name(viewer.principal),
                           note=note[:500])
    except XuyenError as exc:
        return _refused(request, session, order_id, exc)
    return _back(order_id, "moved")


@router.post("/orders/{order_id:int}/cancel")
def cancel_order(request: Request, session: DbSession, viewer: AgentViewer, order_id: OrderId,
                 csrf_token: FormText = "", reason: FormText = "") -> Response:
    """Cancel the order, then show it again."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        service.cancel_order(session, order_id=order_id, actor=actor_name(viewer.principal), reason=reason)
    except XuyenError as exc:
        return _refused(request, session, order_id, exc)
    return _back(order_id, "cancelled")


def _quantity(text: str) -> int:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) <= 3 else 0


def _return_lines(form: FormData) -> list[ReturnLineIn]:
    """The lines coming back: a quantity per order line (``qty_<line id>``), damaged when ticked."""
    return [ReturnLineIn(order_line_id=int(key[4:]), quantity=_quantity(str(value)),
                         condition=ReturnCondition.damaged if form.get(f"damaged_{key[4:]}")
                         else ReturnCondition.restock)
            for key, value in form.multi_items() if key.startswith("qty_") and key[4:].isdigit()
            and len(key) < 16 and _quantity(str(value)) > 0]


def _form_location(form: FormData) -> int | None:
    location = str(form.get("location_id", ""))
    return int(location) if location.isdigit() and len(location) < 11 else None


@router.post("/orders/{order_id:int}/returns")
async def create_return(request: Request, session: DbSession, viewer: AgentViewer, order_id: OrderId) -> Response:
    """Take a return in a store: the quantities per line (``qty_<line id>``), their condition, where they came
    back, and where the money goes."""
    form = await request.form()
    check_csrf(viewer.auth_session, str(form.get("csrf_token", "")))
    try:
        refund_to = RefundTo.stored_value if form.get("refund_to") == "stored_value" else RefundTo.original
        service.create_return(session, order_id=order_id, lines=_return_lines(form), location_id=_form_location(form),
                              actor=actor_name(viewer.principal), reason=str(form.get("reason", ""))[:500],
                              refund_to=refund_to, scope_store_id=viewer.principal.store_id)
    except XuyenError as exc:
        return _refused(request, session, order_id, exc)
    return _back(order_id, "returned")


@router.post("/orders/{order_id:int}/exchanges")
async def create_exchange(request: Request, session: DbSession, viewer: AgentViewer, order_id: OrderId) -> Response:
    """Swap goods in a store: the lines coming back as for a return, the new goods (``new_sku_<n>`` and
    ``new_qty_<n>``), how the customer pays any difference; then the new sale is shown."""
    form = await request.form()
    check_csrf(viewer.auth_session, str(form.get("csrf_token", "")))
    try:
        new_lines = [LineIn(code=str(form.get(f"new_sku_{row}", "")).strip()[:64],
                            quantity=_quantity(str(form.get(f"new_qty_{row}", "1"))))
                     for row in range(1, EXCHANGE_ROWS + 1) if str(form.get(f"new_sku_{row}", "")).strip()]
        if not new_lines:
            raise ValidationFailed("Give the SKU of at least one new item to exchange for.", code="invalid_lines")
        method = str(form.get("difference_by", PaymentMethod.cash.value))
        if method not in {item.value for item in DIFFERENCE_METHODS}:
            raise ValidationFailed("Choose how the customer pays the difference.", code="invalid_payment")
        refund_to = RefundTo.stored_value if form.get("refund_to") == "stored_value" else RefundTo.original
        location_id = _form_location(form)
        if location_id is None:
            raise ValidationFailed("Choose the store where the exchange happens.", code="store_required")
        _, new_order = service.create_exchange(
            session, order_id=order_id, lines=_return_lines(form), location_id=location_id,
            new_lines=new_lines, payments=[PaymentIn(method=PaymentMethod(method))],
            actor=actor_name(viewer.principal), reason=str(form.get("reason", ""))[:500], refund_to=refund_to,
            scope_store_id=viewer.principal.store_id)
    except XuyenError as exc:
        return _refused(request, session, order_id, exc)
    return _back(new_order.id, "exchanged")


def parse_cart(text: str) -> list[LineIn]:
    """Lines typed as ``SKU`` or ``SKU x 2`` (or ``SKU 2``), one per line."""
    lines = []
    for raw in text.splitlines()[:100]:
        words = raw.replace("×", " ").replace(" x ", " ").split()
        if not words:
            continue
        quantity = _quantity(words[-1]) if len(words) > 1 else 1
        lines.append(LineIn(code=words[0][:64], quantity=quantity))
    return lines


@router.post("/orders/chat")
def chat_order(request: Request, session: DbSession, viewer: AgentViewer, csrf_token: FormText = "",
               conversation_id: FormText = "", cart: FormText = "", method: FormText = "cod",
               name: FormText = "", phone: FormText = "", address: FormText = "") -> Response:
    """Take an order for the conversation's customer from the conversation page, then open it."""
    check_csrf(viewer.auth_session, csrf_token)
    if not conversation_id.isdigit() or len(conversation_id) > 10:
        return _chat_refused(request, "There is no such conversation.", 404)
    chosen = PaymentMethod(method) if method in ("cod", "bank_transfer", "momo", "vnpay", "zalopay",
                                                  "stored_value") else PaymentMethod.cod
    try:
        order = service.create_chat_order(
            session, conversation_id=int(conversation_id), lines=parse_cart(cart[:5000]),
            payments=[PaymentIn(method=chosen)], actor=actor_name(viewer.principal),
            customer=Customer(name=name[:200], phone=phone[:32]),
            shipping_address={"address": address[:500]} if address.strip() else {})
    except XuyenError as exc:
        session.rollback()
        return _chat_refused(request, exc.message, exc.status, conversation_id=int(conversation_id))
    return RedirectResponse(f"/orders/{order.id}?done=created", status_code=303)


def _chat_refused(request: Request, message: str, status: int, conversation_id: int | None = None) -> Response:
    return render(request, "orders/refused.html", {"message": message, "conversation_id": conversation_id},
                  status_code=status)
