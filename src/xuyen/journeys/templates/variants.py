"""The shape of a template's per-channel variants, checked before a template is saved.

::

    {"email": {"subject": "...", "html": "...", "text": "..."},          # text: made from the HTML when empty
     "sms": {"text": "...", "strip_accents": true},
     "zns": {"template_id": "231677", "params": [{"name": "customer_name", "value": "{{ profile.name }}",
                                                   "max_length": 30}, ...]},
     "messenger": {"text": "..."},
     "zalo_oa": {"text": "..."}}

ZNS parameter limits: Zalo fixes each parameter's maximum length when the template is approved (its
"technical setting": a customer name is 30 characters, and 30 is what most parameters get); the limit we
check is the one given per parameter, 30 when none is, and never above 400, the most a ZNS paragraph holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from xuyen.errors import ValidationFailed
from xuyen.journeys.templates.sandbox import check_syntax

CHANNELS = ("email", "sms", "zns", "messenger", "zalo_oa")
ZNS_DEFAULT_PARAM_LENGTH = 30
ZNS_MAX_PARAM_LENGTH = 400
ZNS_MAX_PARAMS = 20
ZNS_PARAM_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
ZNS_TEMPLATE_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
MAX_SUBJECT = 1_000
TEXT_PARTS: dict[str, tuple[str, ...]] = {"email": ("subject", "html", "text"), "sms": ("text",),
                                          "messenger": ("text",), "zalo_oa": ("text",)}


def _fail(message: str, code: str, part: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, details={"part": part})


def _text(raw: Mapping[str, Any], key: str, *, part: str, required: bool, html: bool = False) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str):
        raise _fail(f"{part}.{key} must be text.", "invalid_variant", f"{part}.{key}")
    value = value.strip()
    if required and not value:
        raise _fail(f"{part}.{key} is empty: write the message or leave the channel out.", "empty_variant",
                    f"{part}.{key}")
    problem = check_syntax(value, html=html, part=f"{part}.{key}")
    if problem is not None:
        raise ValidationFailed(f"{part}.{key}: {problem.message}", code=problem.code,
                               details={"part": problem.part, "line": problem.line})
    return value


def _zns_params(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise _fail("A ZNS variant lists the template's parameters.", "zns_params_required", "zns.params")
    if len(raw) > ZNS_MAX_PARAMS:
        raise _fail(f"A ZNS template takes at most {ZNS_MAX_PARAMS} parameters.", "invalid_variant", "zns.params")
    params, seen = [], set()
    for item in raw:
        if not isinstance(item, Mapping):
            raise _fail("Each ZNS parameter is an object with a name and a value.", "invalid_variant", "zns.params")
        name = str(item.get("name", "")).strip()
        if not ZNS_PARAM_NAME.match(name):
            raise _fail(f"ZNS parameter names are a-z, 0-9 and _ as Zalo approved them, not {name[:64]!r}.",
                        "invalid_zns_param", "zns.params")
        if name in seen:
            raise _fail(f"The ZNS parameter {name!r} is given twice.", "invalid_zns_param", "zns.params")
        seen.add(name)
        limit = item.get("max_length", ZNS_DEFAULT_PARAM_LENGTH)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= ZNS_MAX_PARAM_LENGTH:
            raise _fail(f"The length limit of {name!r} is a whole number from 1 to {ZNS_MAX_PARAM_LENGTH}.",
                        "invalid_zns_param", "zns.params")
        value = _text(item, "value", part=f"zns.params.{name}", required=True)
        params.append({"name": name, "value": value, "max_length": limit})
    return params


def _zns(raw: Mapping[str, Any]) -> dict[str, Any]:
    template_id = str(raw.get("template_id", "")).strip()
    if not ZNS_TEMPLATE_ID.match(template_id):
        raise _fail("Give the id Zalo gave the approved ZNS template.", "zns_template_id_required",
                    "zns.template_id")
    return {"template_id": template_id, "params": _zns_params(raw.get("params"))}


def clean_variants(raw: Any) -> dict[str, Any]:
    """The variants checked and tidied (every text compiles); ValidationFailed names the part that does not."""
    if not isinstance(raw, Mapping) or not raw:
        raise _fail("A template needs a message for at least one channel.", "variants_required", "variants")
    unknown = [str(key)[:32] for key in raw if key not in CHANNELS]
    if unknown:
        raise _fail(f"Unknown channel {unknown[0]!r}: use {', '.join(CHANNELS)}.", "unknown_channel", "variants")
    cleaned: dict[str, Any] = {}
    for channel in CHANNELS:
        variant = raw.get(channel)
        if variant is None:
            continue
        if not isinstance(variant, Mapping):
            raise _fail(f"The {channel} variant must be an object.", "invalid_variant", channel)
        if channel == "email":
            subject = _text(variant, "subject", part="email", required=True)
            if len(subject) > MAX_SUBJECT:
                raise _fail("An e-mail subject is at most 1000 characters.", "invalid_variant", "email.subject")
            cleaned[channel] = {"subject": subject, "html": _text(variant, "html", part="email", required=True,
                                                                  html=True),
                                "text": _text(variant, "text", part="email", required=False)}
        elif channel == "zns":
            cleaned[channel] = _zns(variant)
        else:
            entry: dict[str, Any] = {"text": _text(variant, "text", part=channel, required=True)}
            if channel == "sms":
                entry["strip_accents"] = bool(variant.get("strip_accents", False))
            cleaned[channel] = entry
    return cleaned
