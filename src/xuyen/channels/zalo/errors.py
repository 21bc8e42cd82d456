"""Zalo's error codes, sorted into what the inbox does next: refresh the token, retry later, reconnect, or give up.

Zalo answers application errors with HTTP 200 and a non-zero ``error`` field, so every answer is read for it.
The Official Account API (``openapi.zalo.me``) and ZNS (``business.openapi.zalo.me``) number their errors
separately; a few codes mean different things in the two tables, so each send says which table applies.
"""

from __future__ import annotations

from dataclasses import dataclass

from xuyen.channels.base import SendFailed

# Codes after which one token refresh and one retry are worth it.
OA_TOKEN_EXPIRED = frozenset({-216, -220})
ZNS_TOKEN_EXPIRED = frozenset({-124})


@dataclass(frozen=True)
class Rule:
    """What one provider error code means for the inbox."""

    code: str
    advice: str
    retryable: bool = False
    credentials_revoked: bool = False
    outside_window: bool = False


_RECONNECT = "Reconnect the Zalo channel (the OA admin grants the app again) and send once more."
_QUOTA = "Zalo counts a quota for this; the message is tried again later."

OA_RULES: dict[int, Rule] = {
    -32: Rule("rate_limited", "The app or OA called Zalo too often this minute; the message is tried again shortly.",
              retryable=True),
    -100: Rule("attachment_expired", "Uploaded Zalo attachments expire after 7 days; attach the file again."),
    -200: Rule("provider_failed", "Zalo could not send the message just now; it is tried again later.",
               retryable=True),
    -201: Rule("invalid_request", "Zalo refused a field of the message; check its text and attachment."),
    -204: Rule("oa_disabled", "The Official Account is disabled or deleted. " + _RECONNECT, credentials_revoked=True),
    -205: Rule("oa_not_found", "The Official Account does not exist; check the channel's OA id. " + _RECONNECT,
               credentials_revoked=True),
    -209: Rule("app_not_active", "The Zalo app is not activated; activate it at developers.zalo.me."),
    -210: Rule("invalid_request", "A parameter is longer than Zalo allows; shorten the message."),
    -211: Rule("quota_exceeded", "The OA is out of quota for this kind of message. " + _QUOTA, retryable=True),
    -212: Rule("api_not_registered", "The Zalo app has not registered the Official Account API; register it at "
               "developers.zalo.me."),
    -213: Rule("not_follower", "The customer does not follow the OA, so Zalo refuses this message."),
    -216: Rule("token_invalid", "Zalo no longer accepts the access token. " + _RECONNECT, credentials_revoked=True),
    -217: Rule("recipient_blocked", "The customer blocked messages from this OA."),
    -218: Rule("recipient_quota_exceeded", "The customer received as many messages as Zalo allows for now. " + _QUOTA,
               retryable=True),
    -219: Rule("app_removed", "The Zalo app was removed or disabled. " + _RECONNECT, credentials_revoked=True),
    -220: Rule("token_expired", "The access token expired and could not be renewed. " + _RECONNECT,
               credentials_revoked=True),
    -221: Rule("oa_not_verified", "Zalo allows this only to a verified OA; verify the OA at oa.zalo.me."),
    -223: Rule("api_not_authorized", "The OA has not authorised this app for the API. " + _RECONNECT,
               credentials_revoked=True),
    -224: Rule("oa_package_required", "The OA's package does not include this; upgrade it at oa.zalo.me."),
    -227: Rule("recipient_inactive", "The customer's Zalo account is banned or inactive for more than 45 days."),
    -230: Rule("outside_window", "The customer has not interacted with the OA in the past 7 days; Zalo allows only "
               "template (ZNS) messages now.", outside_window=True),
    -232: Rule("outside_window", "The customer has not interacted with the OA recently enough; Zalo allows only "
               "template (ZNS) messages now.", outside_window=True),
    -233: Rule("unsupported_message", "Zalo does not support this type of message here."),
    -234: Rule("night_time", "Zalo does not send this type of message at night (22:00-06:00); it is tried again "
               "in the morning.", retryable=True),
    -240: Rule("api_retired", "Zalo retired the API version used; update Xuyên."),
    -244: Rule("recipient_restricted", "The customer restricted this type of message from the OA."),
    -248: Rule("content_refused", "Zalo found the message against its platform standards; change its content."),
    -249: Rule("template_not_for_uid", "This template cannot be sent to a Zalo user id; send it to the customer's "
               "phone number instead."),
    -320: Rule("billing_required", "The Zalo app must be linked to a Zalo Cloud Account to send this; link it at "
               "zalo.cloud."),
    -321: Rule("billing_failed", "The Zalo Cloud Account is out of money; top it up at zalo.cloud. The message is "
               "tried again later.", retryable=True),
}

ZNS_RULES: dict[int, Rule] = {
    -100: Rule("provider_failed", "ZNS failed for an unknown reason; the message is tried again later.",
               retryable=True),
    -101: Rule("app_invalid", "ZNS does not know the Zalo app. " + _RECONNECT, credentials_revoked=True),
    -102: Rule("app_invalid", "The Zalo app does not exist. " + _RECONNECT, credentials_revoked=True),
    -103: Rule("app_not_active", "The Zalo app is not activated; activate it at developers.zalo.me."),
    -104: Rule("app_secret_invalid", "The Zalo app secret is not valid. " + _RECONNECT, credentials_revoked=True),
    -105: Rule("app_not_linked", "The Zalo app is not linked to an OA. " + _RECONNECT, credentials_revoked=True),
    -108: Rule("invalid_phone", "Zalo does not accept the phone number; check the customer's number."),
    -109: Rule("template_invalid", "ZNS does not know this template id; check the template's id at zalo.cloud."),
    -110: Rule("recipient_app_outdated", "The customer's Zalo app is too old to receive ZNS messages."),
    -111: Rule("template_data_invalid", "The template's values are empty; fill in the template's parameters."),
    -112: Rule("template_data_invalid", "A template value has the wrong type; check the template's parameters."),
    -1121: Rule("template_data_invalid", "A template value is longer than the template allows; shorten it."),
    -1122: Rule("template_data_invalid", "A template parameter is missing; fill in every parameter."),
    -1124: Rule("template_data_invalid", "A template value has the wrong format; check the template's parameters."),
    -114: Rule("recipient_cannot_receive", "The customer cannot receive ZNS messages (inactive account, messages "
               "turned off or an old Zalo app)."),
    -115: Rule("quota_exceeded", "The OA is out of ZNS quota or balance. " + _QUOTA, retryable=True),
    -116: Rule("template_data_invalid", "A template value is not allowed; change it."),
    -117: Rule("template_not_permitted", "The app or OA may not use this template; check which OA created it."),
    -118: Rule("not_on_zalo", "This phone number has no Zalo account (or it is deactivated); reach the customer on "
               "another channel."),
    -119: Rule("recipient_cannot_receive", "The customer's Zalo account cannot receive ZNS messages."),
    -124: Rule("token_invalid", "ZNS no longer accepts the access token. " + _RECONNECT, credentials_revoked=True),
    -125: Rule("oa_invalid", "ZNS does not know the Official Account. " + _RECONNECT, credentials_revoked=True),
    -126: Rule("quota_exceeded", "The development-mode ZNS wallet is empty. " + _QUOTA, retryable=True),
    -127: Rule("test_template", "A template still in testing reaches only the app's or OA's administrators."),
    -131: Rule("template_not_approved", "Zalo has not approved this ZNS template (pending review, rejected or "
               "disabled); wait for approval or pick an approved template."),
    -132: Rule("invalid_request", "ZNS refused a parameter of the request."),
    -133: Rule("night_time", "This ZNS template cannot be sent at night (22:00-06:00); it is tried again in the "
               "morning.", retryable=True),
    -135: Rule("zns_not_permitted", "The OA may not send ZNS yet: it must be verified and on a paid package."),
    -1351: Rule("zns_blocked", "Zalo blocked the OA from sending ZNS after a violation; contact Zalo support."),
    -136: Rule("billing_required", "ZNS needs a linked Zalo Cloud Account; link it at zalo.cloud."),
    -137: Rule("billing_failed", "The Zalo Cloud Account could not be charged; top it up at zalo.cloud. The message "
               "is tried again later.", retryable=True),
    -138: Rule("zns_not_permitted", "The Zalo app has no permission for ZNS."),
    -139: Rule("recipient_refused", "The customer refuses this type of ZNS message."),
    -140: Rule("recipient_refused", "Zalo's delivery policy does not let this customer receive this type of ZNS."),
    -141: Rule("recipient_refused", "The customer refuses ZNS messages from this OA."),
    -144: Rule("quota_exceeded", "The OA reached its daily ZNS limit. " + _QUOTA, retryable=True),
    -1441: Rule("quota_exceeded", "The OA reached its monthly promotion ZNS limit. " + _QUOTA, retryable=True),
    -145: Rule("template_not_permitted", "The OA may not send this type of ZNS content."),
    -146: Rule("template_disabled", "Zalo disabled this template for low sending quality; pick another template."),
    -147: Rule("quota_exceeded", "This template reached its daily limit. " + _QUOTA, retryable=True),
    -1471: Rule("quota_exceeded", "The OA reached its monthly limit of follow-up messages to this customer. "
                + _QUOTA, retryable=True),
    -1472: Rule("quota_exceeded", "The OA reached its daily promotion limit for this customer. " + _QUOTA,
                retryable=True),
    -32: Rule("rate_limited", "The app called Zalo too often this minute; the message is tried again shortly.",
              retryable=True),
}


def classify(error: int, provider_message: str, *, zns: bool) -> SendFailed:
    """The SendFailed for a non-zero Zalo ``error``, its message telling what happened and what to do."""
    rules = ZNS_RULES if zns else OA_RULES
    service = "ZNS" if zns else "Zalo"
    said = f" ({error}: {provider_message})" if provider_message else f" ({error})"
    rule = rules.get(error)
    if rule is None:
        return SendFailed(f"{service} refused the message{said}. Check the message and the channel's settings.",
                          code="provider_error", provider_code=str(error))
    return SendFailed(f"{service} refused the message{said}. {rule.advice}", code=rule.code,
                      retryable=rule.retryable, credentials_revoked=rule.credentials_revoked,
                      outside_window=rule.outside_window, provider_code=str(error))
