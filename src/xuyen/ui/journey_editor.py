"""What the journey pages hand to the flow diagram's script: its words in the page's language, the per-step figures
formatted the page's way, and the submitted definition read back from the editor's form."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from xuyen.errors import ValidationFailed
from xuyen.i18n import N_, translations
from xuyen.ui.formatting import format_money, format_number

MAX_DEFINITION_CHARS = 200_000  # what the service stores at most
MAX_FORM_CHARS = 1_000_000  # the form field; between the two the editor answers with its own message
STAT_KEYS = ("entered", "waiting", "sent", "delivered", "failed", "skipped", "deferred", "opened", "clicked",
             "replied", "converted")

STATUS_LABELS: dict[str, str] = {"draft": N_("Draft"), "live": N_("Live"), "paused": N_("Paused"),
                                 "archived": N_("In the archive")}

STRINGS: dict[str, str] = {
    "diagram": N_("The journey's flow"),
    "trigger": N_("Trigger"),
    "settings": N_("Settings"),
    "trigger_and_settings": N_("Trigger and settings"),
    "end": N_("End"),
    "close": N_("Close"),
    "choose": N_("Choose…"),
    "step_id": N_("Step id:"),
    "show_step": N_("Show the step"),
    "add_step": N_("Add a step"),
    "add_step_after": N_("Add a step after"),
    "delete_step": N_("Delete this step"),
    "keep_branch": N_("Branch to keep"),
    "hint_keep_branch": N_("The steps of the other branches are deleted with this step."),
    "bad_json": N_("This is not valid JSON yet."),
    "fix_json_first": N_("A rule is not valid JSON: correct it before saving."),
    "edge_yes": N_("yes"),
    "edge_no": N_("no"),
    "edge_event": N_("it happened"),
    "edge_timeout": N_("timeout"),
    "rule_summary": N_("Customer meets the rule?"),
    "until_time": N_("until"),
    "until_date": N_("until"),
    "unit_days": N_("days"),
    "unit_hours": N_("hours"),
    "unit_minutes": N_("minutes"),
    "short_days": N_("d"),
    "short_hours": N_("h"),
    "short_minutes": N_("min"),
    "trigger_event": N_("An event happens"),
    "trigger_segment_entered": N_("Enters a segment"),
    "trigger_date": N_("Every year on a date"),
    "trigger_broadcast": N_("Sent by hand to a segment"),
    "type_delay": N_("Wait"),
    "type_wait_event": N_("Wait for an event"),
    "type_condition": N_("Condition"),
    "type_split": N_("A/B split"),
    "type_send": N_("Send a message"),
    "type_update_profile": N_("Update the profile"),
    "type_coupon": N_("Give a coupon"),
    "type_task": N_("Create a task"),
    "type_notify": N_("Notify staff"),
    "type_webhook": N_("Call a webhook"),
    "type_exit": N_("Exit"),
    "about_delay": N_("Pause for a time or until a moment."),
    "about_wait_event": N_("Go on when the customer does something, or after a timeout."),
    "about_condition": N_("Yes or no, by a segment rule."),
    "about_split": N_("Send shares of customers down different branches."),
    "about_send": N_("A message from a template on the best channel."),
    "about_update_profile": N_("Set traits on the customer."),
    "about_coupon": N_("A single-use code of a promotion."),
    "about_task": N_("A to-do for a person on the team."),
    "about_notify": N_("Tell staff in the app and by e-mail."),
    "about_webhook": N_("POST the enrolment to another system."),
    "about_exit": N_("The journey ends here."),
    "field_label": N_("Label"),
    "hint_label": N_("Optional: a short name shown on the step."),
    "field_trigger": N_("Starts when"),
    "field_event": N_("Event name"),
    "hint_event": N_("Pick a known event or type any name, e.g. Checkout Started."),
    "field_where": N_("Only when properties are"),
    "hint_where": N_("One a line: property = value (at most 5)."),
    "field_timeout": N_("Wait at most"),
    "field_rule": N_("Rule (segment rule JSON)"),
    "hint_rule": N_("The same rules as segments, e.g. {\"all\": [{\"did\": \"Order Completed\", \"days\": 30}]}."),
    "field_test": N_("Branch on"),
    "test_rule": N_("The customer, by a segment rule"),
    "test_event": N_("A property of the event that started the journey"),
    "field_property": N_("Property"),
    "hint_property": N_("A property of the triggering event, e.g. total."),
    "field_op": N_("Comparison"),
    "op_exists": N_("is present"),
    "field_value": N_("Value"),
    "hint_value": N_("Numbers are compared as numbers; true and false as yes and no."),
    "branch": N_("Branch"),
    "field_branch_label": N_("Name"),
    "field_percent": N_("Share (%)"),
    "add_branch": N_("Add a branch"),
    "remove_branch": N_("Remove this branch"),
    "hint_split": N_("2 to 5 branches; the shares are whole percents adding up to 100."),
    "field_template": N_("Message template"),
    "template_channels": N_("The template has:"),
    "field_channel": N_("Channel"),
    "channel_auto": N_("Best channel (by the messaging policy)"),
    "hint_channel": N_("Automatic tries the next channel when a send fails."),
    "channel_email": N_("Email"),
    "channel_sms": N_("SMS"),
    "channel_zalo": N_("Zalo OA"),
    "channel_messenger": N_("Facebook Messenger"),
    "channel_whatsapp": N_("WhatsApp"),
    "field_purpose": N_("Purpose"),
    "purpose_marketing": N_("Marketing"),
    "purpose_care": N_("Customer care"),
    "purpose_transactional": N_("Transactional"),
    "field_on_cap": N_("When a frequency cap is reached"),
    "hint_on_cap": N_("Wait until the cap allows it, or skip this message."),
    "on_cap_defer": N_("Send later"),
    "on_cap_skip": N_("Skip the message"),
    "field_traits": N_("Traits to set"),
    "hint_traits": N_("One a line: trait = value (1 to 20)."),
    "field_promotion": N_("Promotion"),
    "hint_coupon": N_("Later messages can show it as coupon.code."),
    "field_title": N_("Title"),
    "field_kind": N_("Kind"),
    "kind_call": N_("Call"),
    "kind_meeting": N_("Meeting"),
    "kind_follow_up": N_("Follow-up"),
    "field_due_in": N_("Due in"),
    "field_assign": N_("Assign to"),
    "field_text": N_("Text"),
    "field_to": N_("Notify"),
    "hint_notify": N_("They see it under the bell and by e-mail."),
    "to_store_manager": N_("The customer's store manager"),
    "to_owner": N_("The customer's owner"),
    "to_managers": N_("All managers"),
    "field_url": N_("Address (https)"),
    "hint_webhook": N_("Receives the enrolment as signed JSON."),
    "hint_exit": N_("Customers who reach this step leave the journey."),
    "field_delay": N_("Wait"),
    "delay_for": N_("For a time"),
    "delay_until_time": N_("Until a time of day"),
    "delay_until_date": N_("Until a date"),
    "field_wait": N_("How long"),
    "field_time": N_("Time"),
    "field_date": N_("Date and time"),
    "hint_local": N_("In the customer's own time zone."),
    "field_trait": N_("Date trait"),
    "hint_trait": N_("A trait holding a date as YYYY-MM-DD, e.g. birthday."),
    "field_offset": N_("Days before (−) or after (+)"),
    "hint_offset": N_("From -30 to 30."),
    "field_segment": N_("Segment"),
    "hint_broadcast": N_("Everyone in the segment enters once when you press Send now."),
    "field_entry": N_("Entry"),
    "entry_once": N_("Once per customer, ever"),
    "entry_again": N_("Again after some days"),
    "field_reentry": N_("Days before entering again"),
    "field_goal": N_("Goal event"),
    "hint_goal": N_("Reaching it ends the enrolment at once; empty for none."),
    "field_goal_where": N_("Goal only when properties are"),
    "field_holdout": N_("Holdout (%)"),
    "hint_holdout": N_("0 to 50: this share of entrants gets nothing and is measured against the rest."),
    "field_conversion": N_("Conversion window (days)"),
    "hint_conversion": N_("A conversion counts when the goal (else Order Completed) follows a send within it."),
    "field_filter": N_("Only customers matching (segment rule JSON)"),
    "hint_filter": N_("Checked again before every send; empty for everyone."),
    "stat_entered": N_("entered"),
    "stat_waiting": N_("waiting"),
    "stat_sent": N_("sent"),
    "stat_delivered": N_("delivered"),
    "stat_opened": N_("opened"),
    "stat_clicked": N_("clicked"),
    "stat_converted": N_("converted"),
}


def editor_strings(locale: str) -> dict[str, str]:
    """Every word the diagram's script shows, translated into ``locale``."""
    catalogue = translations(locale)
    return {key: catalogue.gettext(text) for key, text in STRINGS.items()}


def formatted_stats(stats: Mapping[str, Mapping[str, int]], locale: str) -> dict[str, dict[str, str]]:
    """Each step's figures as the page's language writes them (``1.250.000 ₫`` for revenue in Vietnamese)."""
    shown: dict[str, dict[str, str]] = {}
    for node_id, figures in stats.items():
        row = {key: format_number(int(figures.get(key, 0) or 0), locale) for key in STAT_KEYS}
        row["revenue"] = format_money(int(figures.get("revenue", 0) or 0), locale)
        shown[str(node_id)] = row
    return shown


def read_definition(text: str) -> dict[str, Any]:
    """The definition the editor's form submitted: a JSON object of at most ``MAX_DEFINITION_CHARS``."""
    if len(text) > MAX_DEFINITION_CHARS:
        raise ValidationFailed("The journey is too large to save.", code="definition_too_large")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValidationFailed(f"The journey is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(value, dict):
        raise ValidationFailed("The journey must be a JSON object.", code="invalid_json")
    return value


def refused_paths(exc: ValidationFailed) -> dict[str, str]:
    """The path → message map of a refused definition (one entry for the whole when the refusal names none)."""
    found = (exc.details or {}).get("errors")
    if isinstance(found, Mapping) and found:
        return {str(path): str(message) for path, message in found.items()}
    return {"": exc.message}


def step_rows(definition: Mapping[str, Any], stats: Mapping[str, Mapping[str, str]]) -> list[dict[str, Any]]:
    """The steps in the order a reader follows them from the start (then any stray ones), with their figures."""
    nodes = definition.get("nodes")
    steps = {str(key): node for key, node in nodes.items() if isinstance(node, Mapping)} \
        if isinstance(nodes, Mapping) else {}
    order: list[str] = []
    pending = [definition.get("start")]
    while pending:
        node_id = pending.pop(0)
        if isinstance(node_id, str) and node_id in steps and node_id not in order:
            order.append(node_id)
            pending.extend(_successors(steps[node_id]))
    order.extend(node_id for node_id in steps if node_id not in order)
    return [{"id": node_id, "type": str(steps[node_id].get("type", "")), "label": str(steps[node_id].get("label", "")),
             "kind": STRINGS.get(f"type_{steps[node_id].get('type')}", str(steps[node_id].get("type", ""))),
             "stats": stats.get(node_id, {})} for node_id in order]


def _successors(node: Mapping[str, Any]) -> list[Any]:
    following = [node.get(key) for key in ("next", "timeout_next", "yes", "no")]
    branches = node.get("branches")
    if isinstance(branches, list):
        following.extend(branch.get("next") for branch in branches if isinstance(branch, Mapping))
    return following
