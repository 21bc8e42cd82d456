"""Rendering one variant of a template for one context: the texts a channel sends, the SMS count, the ZNS
parameters checked against Zalo's limits, and every problem found (never an exception)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from xuyen.channels.base import ContactIdentifier, OutboundMessage, Template
from xuyen.journeys.templates.context import html_to_text
from xuyen.journeys.templates.sandbox import RenderProblem, render_text
from xuyen.journeys.templates.sms import SmsReport, sms_report, sms_text


@dataclass
class Rendered:
    """A template rendered for one customer on one channel. ``ok`` is False when ``problems`` says why not;
    then nothing of it may be sent."""

    channel: str
    template_id: int | None = None
    version: int | None = None
    subject: str = ""
    html: str = ""
    text: str = ""
    zns_template_id: str = ""
    zns_params: dict[str, str] = field(default_factory=dict)
    sms: SmsReport | None = None
    problems: list[RenderProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the message can be sent as rendered."""
        return not self.problems

    def outbound(self, *, to: ContactIdentifier, idempotency_key: str) -> OutboundMessage:
        """The message a channel adapter sends (ZNS as an approved template with its parameters); ValueError
        when the rendering has problems. E-mail goes as its subject, its plain-text part and its HTML."""
        if not self.ok:
            raise ValueError(f"A rendering with problems cannot be sent: {self.problems[0].message}")
        if self.channel == "zns":
            return OutboundMessage(idempotency_key=idempotency_key, to=to,
                                   template=Template(name=self.zns_template_id, parameters=dict(self.zns_params)))
        return OutboundMessage(idempotency_key=idempotency_key, to=to, text=self.text,
                               subject=self.subject if self.channel == "email" else None,
                               html=(self.html or None) if self.channel == "email" else None)

    def as_dict(self) -> dict[str, Any]:
        """The rendering as JSON."""
        return {"channel": self.channel, "template_id": self.template_id, "version": self.version, "ok": self.ok,
                "subject": self.subject, "html": self.html, "text": self.text,
                "zns_template_id": self.zns_template_id, "zns_params": self.zns_params,
                "sms": self.sms.as_dict() if self.sms else None,
                "problems": [problem.as_dict() for problem in self.problems]}


def _part(rendered: Rendered, source: str, context: Mapping[str, Any], *, part: str, timezone: str,
          html: bool = False) -> str:
    text, problem = render_text(source, context, html=html, part=part, timezone=timezone)
    if problem is not None:
        rendered.problems.append(problem)
    return text


def _zns(rendered: Rendered, variant: Mapping[str, Any], context: Mapping[str, Any], timezone: str) -> None:
    rendered.zns_template_id = str(variant.get("template_id", ""))
    for param in variant.get("params", []):
        name, limit = str(param["name"]), int(param["max_length"])
        part = f"zns.params.{name}"
        value = _part(rendered, str(param["value"]), context, part=part, timezone=timezone)
        rendered.zns_params[name] = value
        if any(problem.part == part for problem in rendered.problems):
            continue
        if not value:
            rendered.problems.append(RenderProblem("zns_param_empty", f"The ZNS parameter {name!r} is empty; "
                                                   "Zalo refuses a template with a parameter left out.", part))
        elif len(value) > limit:
            rendered.problems.append(RenderProblem(
                "zns_param_too_long", f"The ZNS parameter {name!r} is {len(value)} characters; Zalo takes at most "
                f"{limit}.", part))


def render_variant(channel: str, variant: Mapping[str, Any], context: Mapping[str, Any], *,
                   timezone: str) -> Rendered:
    """``variant`` (one channel's entry of a template) rendered with ``context``."""
    rendered = Rendered(channel=channel)
    if channel == "email":
        rendered.subject = " ".join(_part(rendered, variant["subject"], context, part="email.subject",
                                          timezone=timezone).split())
        rendered.html = _part(rendered, variant["html"], context, part="email.html", timezone=timezone, html=True)
        rendered.text = (_part(rendered, variant["text"], context, part="email.text", timezone=timezone)
                         if variant.get("text") else html_to_text(rendered.html))
    elif channel == "zns":
        _zns(rendered, variant, context, timezone)
    else:
        written = _part(rendered, variant["text"], context, part=f"{channel}.text", timezone=timezone)
        if channel == "sms":
            strip = bool(variant.get("strip_accents"))
            rendered.text = sms_text(written, strip_accents=strip)
            rendered.sms = sms_report(written, strip_accents=strip)
        else:
            rendered.text = written
    if rendered.problems:
        rendered.subject = rendered.html = rendered.text = ""
    return rendered
