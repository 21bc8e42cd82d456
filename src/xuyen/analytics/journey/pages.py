"""The customer-journey dashboards: the funnel (with its rule editor), cross-channel attribution and the
omnichannel readiness report; their tables download as CSV or Excel. Owners and managers see them."""

from __future__ import annotations

import json
from typing import Annotated

from babel.numbers import format_percent
from fastapi import Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen.analytics import attribution, funnel, funnel_rules, readiness, tables
from xuyen.analytics.filters import Filters
from xuyen.analytics.pages import PageFilters, dashboard, filter_context
from xuyen.auth.models import Role
from xuyen.errors import ValidationFailed, XuyenError
from xuyen.events.labels import channel_label
from xuyen.http import get_session
from xuyen.i18n import N_, activated, gettext
from xuyen.identity.service import actor_name
from xuyen.routing import Router
from xuyen.ui import charts
from xuyen.ui.deps import Viewer, check_csrf, page_role
from xuyen.ui.formatting import format_money, format_number
from xuyen.ui.rendering import render, request_locale

router: Router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
FormText = Annotated[str, Form(max_length=2000)]
RulesText = Annotated[str, Form(max_length=funnel_rules.MAX_RULES_CHARS)]

STAGE_LABELS: dict[str, str] = {
    "awareness": N_("Awareness"), "consideration": N_("Consideration"), "evaluation": N_("Evaluation"),
    "trial": N_("Trial"), "purchase": N_("Purchase"), "use": N_("Use"), "advocacy": N_("Advocacy"),
    "repurchase": N_("Repurchase"),
}
MODEL_LABELS: dict[str, str] = {
    "first_touch": N_("First touch"), "last_touch": N_("Last touch"), "linear": N_("Linear"),
    "time_decay": N_("Time decay"), "position_based": N_("Position-based"),
}
QUESTION_LABELS: dict[str, str] = {
    "see_customers": N_("Can you see your customers across channels?"),
    "recognise_customers": N_("Does the system recognise the same customer across channels?"),
    "share_insight": N_("Do your teams share customer insight?"),
    "data_flows": N_("Does data flow between your systems?"),
    "consistent_prices": N_("Do customers meet the same prices and offers on every channel?"),
    "one_stock": N_("Is one stock visible on every channel?"),
}
SCORE_LABELS: dict[str, str] = {"good": N_("Good"), "needs_work": N_("Needs work"), "missing": N_("Missing")}
FIX_NEXT: dict[str, str] = {
    "see_customers": N_("Ask for a phone number or e-mail at every touchpoint: at the till, at checkout, when a "
                        "customer follows the Zalo OA or writes on Facebook."),
    "recognise_customers": N_("Connect every channel as a source and review the suggested duplicates, so one "
                              "customer's visits on each channel land on one profile."),
    "share_insight": N_("Answer every channel from the one inbox, keep private notes on the conversation and look "
                        "at the customer's orders beside the thread before replying."),
    "data_flows": N_("Record every sale with the customer's phone or e-mail and reconnect the sources that have "
                     "sent nothing in the last 7 days."),
    "consistent_prices": N_("Check the channel price overrides and promotions of the SKUs listed below, and answer "
                            "the customers who asked about a different price."),
    "one_stock": N_("Connect each marketplace shop and fix the listings whose stock is not synced, so no channel "
                    "sells what the shelves do not hold."),
}
FIGURE_LABELS: dict[str, str] = {
    "customers": N_("Customers active in the period"), "with_phone_or_email": N_("With a phone or e-mail"),
    "share": N_("Share"), "on_two_or_more_channels": N_("Active on two or more channels"),
    "merges": N_("Profiles merged in the period"), "conversations": N_("Conversations in the period"),
    "with_order_history": N_("Customer had ordered before"), "across_channels": N_("Across two or more channels"),
    "with_notes": N_("With a private note"), "orders": N_("Orders"), "linked_orders": N_("Orders linked to a customer"),
    "linked_share": N_("Share of orders linked"), "sources": N_("Active sources"),
    "sending_sources": N_("Sources that sent events in the last 7 days"), "sending_share": N_("Share of sources"),
    "skus_on_two_or_more_channels": N_("SKUs sold on two or more channels"),
    "skus_with_different_prices": N_("SKUs sold at different prices"),
    "price_complaints": N_("Messages asking about a different price"),
    "marketplace_listings": N_("Marketplace listings"), "synced": N_("Listings with stock synced"),
}
DIRECT_LABEL = N_("Direct / none")
TOP_MOVES = 15

dashboard("funnel", href="/analytics/funnel", title=N_("Customer journey funnel"),
          description=N_("Awareness to repurchase: where customers drop and on which channel they move on."))
dashboard("attribution", href="/analytics/attribution", title=N_("Attribution"),
          description=N_("Which channels lead to orders, under five attribution models, and the paths before a "
                         "purchase."))
dashboard("readiness", href="/analytics/readiness", title=N_("Omnichannel readiness"),
          description=N_("Six questions to answer before going omnichannel, answered from your data, with what to "
                         "fix next."))


def _percent(value: float | None, locale: str) -> str:
    return "—" if value is None else format_percent(value, format="#,##0.0%", locale=locale)


def _channel(channel: str) -> str:
    return gettext(DIRECT_LABEL) if channel == attribution.DIRECT else channel_label(channel)


# The funnel -----------------------------------------------------------------------------------------------------


@router.get("/analytics/funnel")
def funnel_page(request: Request, session: DbSession, viewer: ManagerViewer, filters: PageFilters,
                saved: bool = False) -> Response:
    """The funnel of the filters, its channel moves and the stage rules' editor."""
    stages = funnel_rules.load_stages(session)
    return _funnel_page(request, session, viewer, filters, source=json.dumps(
        funnel_rules.rules_document(stages), ensure_ascii=False, indent=2), saved=saved)


def _funnel_page(request: Request, session: Session, viewer: Viewer, filters: Filters, *, source: str,
                 saved: bool = False, error: str = "", problems: dict[str, str] | None = None,
                 status_code: int = 200) -> Response:
    locale = request_locale(request, viewer)
    with activated(locale, filters.timezone):
        result = funnel.compute(session, filters=filters)
        chart = charts.bar_chart(title=gettext("Customers at each stage"), key="funnel-stages", items=[
            (gettext(STAGE_LABELS[stage.key]), stage.customers, format_number(stage.customers, locale))
            for stage in result.stages])
        rows, columns, matrix = funnel.channel_matrix(result)
        matrix_header = [_channel(column) for column in columns]
    return render(request, "analytics/funnel.html", {
        **filter_context(session, filters), "funnel": result, "chart": chart, "labels": STAGE_LABELS,
        "percent": lambda value: _percent(value, locale), "channel": _channel, "matrix_rows": rows,
        "matrix_columns": columns, "matrix": matrix, "matrix_header": matrix_header,
        "top_moves": sorted((move for move in result.moves if move.from_channel != move.to_channel),
                            key=lambda move: -move.customers)[:TOP_MOVES], "source": source,
        "saved": saved, "error": error,
        "problems": problems or {}, "defaults": all(stage.is_default for stage in result.rules)},
        status_code=status_code)


@router.post("/analytics/funnel/rules")
def save_funnel_rules(request: Request, session: DbSession, viewer: ManagerViewer, filters: PageFilters,
                      csrf_token: FormText = "", rules: RulesText = "") -> Response:
    """Save the edited stage rules (all eight, or none when one is wrong)."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        funnel_rules.save_rules(session, raw=funnel_rules.read_rules_text(rules), actor=actor_name(viewer.principal))
    except XuyenError as exc:
        session.rollback()
        problems = exc.details.get("problems", {}) if isinstance(exc, ValidationFailed) else {}
        return _funnel_page(request, session, viewer, filters, source=rules, error=exc.message,
                            problems=problems if isinstance(problems, dict) else {}, status_code=exc.status)
    return RedirectResponse("/analytics/funnel?saved=true", status_code=303)


@router.post("/analytics/funnel/rules/reset")
def reset_funnel_rules(session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "") -> Response:
    """Go back to the default stage rules."""
    check_csrf(viewer.auth_session, csrf_token)
    funnel_rules.reset_rules(session)
    return RedirectResponse("/analytics/funnel?saved=true", status_code=303)


@tables.exportable("funnel", "stages")
def stages_table(session: Session, filters: Filters, locale: str) -> tables.Table:
    """The funnel's stages with their counts, drop-offs and conversion rates."""
    result = funnel.compute(session, filters=filters)
    with activated(locale, filters.timezone):
        return tables.Table(title=gettext("Customer journey funnel"), columns=[
            gettext("Stage"), gettext("Customers"), gettext("Did the stage's events"), gettext("Furthest stage"),
            gettext("Dropped before the next stage"), gettext("Conversion to the next stage"),
            gettext("Share of the first stage")],
            rows=[[gettext(STAGE_LABELS[stage.key]), stage.customers, stage.reached, stage.furthest, stage.dropped,
                   None if stage.conversion is None else round(stage.conversion, 4),
                   None if stage.share_of_first is None else round(stage.share_of_first, 4)]
                  for stage in result.stages])


@tables.exportable("funnel", "moves")
def moves_table(session: Session, filters: Filters, locale: str) -> tables.Table:
    """Customers' channel moves from each stage to the next."""
    result = funnel.compute(session, filters=filters)
    with activated(locale, filters.timezone):
        return tables.Table(title=gettext("Channel moves between stages"), columns=[
            gettext("From stage"), gettext("To stage"), gettext("From channel"), gettext("To channel"),
            gettext("Customers")],
            rows=[[gettext(STAGE_LABELS[move.from_stage]), gettext(STAGE_LABELS[move.to_stage]),
                   _channel(move.from_channel), _channel(move.to_channel), move.customers] for move in result.moves])


# Attribution ----------------------------------------------------------------------------------------------------


def _model(value: str) -> str:
    if value and value not in attribution.MODELS:
        raise ValidationFailed("Unknown attribution model: choose one of " + ", ".join(attribution.MODELS) + ".",
                               code="invalid_model", details={"model": value[:40]})
    return value or "linear"


@router.get("/analytics/attribution")
def attribution_page(request: Request, session: DbSession, viewer: ManagerViewer, filters: PageFilters,
                     lookback: Annotated[str, Query(max_length=12)] = "",
                     model: Annotated[str, Query(max_length=40)] = "") -> Response:
    """Attributed orders and revenue per channel under the five models, and the paths before a purchase."""
    days, chosen = attribution.parse_lookback(lookback), _model(model)
    filters = filters.with_options(lookback=str(days))
    locale = request_locale(request, viewer)
    result = attribution.compute(session, filters=filters, lookback_days=days)
    with activated(locale, filters.timezone):
        credit = result.credit.get(chosen, {})
        chart = charts.bar_chart(title=gettext("Attributed revenue by channel") + " · " + gettext(MODEL_LABELS[chosen]),
                                 key="attribution-revenue", items=[
            (_channel(channel), round(credit[channel].revenue), format_money(round(credit[channel].revenue), locale))
            for channel in sorted(credit, key=lambda found: (-credit[found].revenue, found))])
        model_names = [gettext(MODEL_LABELS[name]) for name in attribution.MODELS]
    return render(request, "analytics/attribution.html", {
        **filter_context(session, filters), "result": result, "chart": chart, "chosen": chosen, "lookback": days,
        "models": attribution.MODELS, "model_labels": MODEL_LABELS, "model_names": model_names, "channel": _channel,
        "path_label": lambda path: " → ".join(_channel(channel) for channel in path),
        "extra": {"lookback": str(days), "model": chosen}, "half_life": attribution.HALF_LIFE_DAYS})


@tables.exportable("attribution", "channels")
def channels_table(session: Session, filters: Filters, locale: str) -> tables.Table:
    """Attributed orders and revenue per channel under each model, for the page's lookback."""
    result = attribution.compute(session, filters=filters,
                                 lookback_days=attribution.parse_lookback(filters.options.get("lookback")))
    with activated(locale, filters.timezone):
        columns = [gettext("Channel")]
        for model in attribution.MODELS:
            columns += [gettext(MODEL_LABELS[model]) + " · " + gettext("Orders"),
                        gettext(MODEL_LABELS[model]) + " · " + gettext("Revenue")]
        rows: list[list[tables.Cell]] = []
        for channel in result.channels:
            row: list[tables.Cell] = [_channel(channel)]
            for model in attribution.MODELS:
                credit = result.credit[model].get(channel)
                row += [round(credit.orders, 2) if credit else 0, round(credit.revenue) if credit else 0]
            rows.append(row)
        return tables.Table(title=gettext("Attribution"), columns=columns, rows=rows)


@tables.exportable("attribution", "paths")
def paths_table(session: Session, filters: Filters, locale: str) -> tables.Table:
    """The channel paths most often seen before a purchase, for the page's lookback."""
    result = attribution.compute(session, filters=filters,
                                 lookback_days=attribution.parse_lookback(filters.options.get("lookback")))
    with activated(locale, filters.timezone):
        return tables.Table(title=gettext("Paths before a purchase"), columns=[
            gettext("Path"), gettext("Orders"), gettext("Revenue")],
            rows=[[" → ".join(_channel(channel) for channel in path.channels), path.orders, path.revenue]
                  for path in result.paths])


# Readiness ------------------------------------------------------------------------------------------------------


@router.get("/analytics/readiness")
def readiness_page(request: Request, session: DbSession, viewer: ManagerViewer, filters: PageFilters) -> Response:
    """The six questions, each with its score, figures and what to fix next."""
    locale = request_locale(request, viewer)
    result = readiness.compute(session, filters=filters)
    return render(request, "analytics/readiness.html", {
        **filter_context(session, filters), "result": result, "questions": QUESTION_LABELS, "scores": SCORE_LABELS,
        "fixes": FIX_NEXT, "figure_labels": FIGURE_LABELS, "channel": _channel,
        "figure": lambda name, value: _figure(name, value, locale),
        "skus": readiness.inconsistent_skus(session, filters=filters)[:20]})


def _figure(name: str, value: float | int, locale: str) -> str:
    return _percent(value, locale) if name.endswith("share") else format_number(value, locale)


@tables.exportable("readiness", "answers")
def answers_table(session: Session, filters: Filters, locale: str) -> tables.Table:
    """Every question's score and figures, one figure a row."""
    result = readiness.compute(session, filters=filters)
    with activated(locale, filters.timezone):
        rows: list[list[tables.Cell]] = [
            [gettext(QUESTION_LABELS[answer.key]), gettext(SCORE_LABELS[answer.score]),
             gettext(FIGURE_LABELS[name]), round(value, 4) if isinstance(value, float) else value]
            for answer in result.answers for name, value in answer.figures.items()]
        return tables.Table(title=gettext("Omnichannel readiness"), columns=[
            gettext("Question"), gettext("Score"), gettext("Figure"), gettext("Value")], rows=rows)


@tables.exportable("readiness", "prices")
def prices_table(session: Session, filters: Filters, locale: str) -> tables.Table:
    """The SKUs sold at different usual prices on different channels."""
    found = readiness.inconsistent_skus(session, filters=filters)
    with activated(locale, filters.timezone):
        return tables.Table(title=gettext("SKUs sold at different prices"), columns=[
            gettext("SKU"), gettext("Channel"), gettext("Usual unit price")],
            rows=[[sku, _channel(channel), price] for sku, prices in found for channel, price in prices.items()])

