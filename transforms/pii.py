"""Masking of personal data for rejects, logs and artifacts.

Receiver names, phones and addresses are needed verbatim to ship a parcel, so they stay in the
order lines and purchases; anywhere else (reject values, log lines, Prefect artifacts) they go
through `mask_pii`, which keeps just enough to recognise a value.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["name", "phone", "address", "email", "postcode", "text"]

# column -> kind, for raw Lazada columns and canonical order-line columns alike
PII_COLUMNS: dict[str, Kind] = {
    "customerName": "name",
    "customerEmail": "email",
    "shippingName": "name",
    "billingName": "name",
    "receiver_name": "name",
    "shippingPhone": "phone",
    "shippingPhone2": "phone",
    "billingPhone": "phone",
    "receiver_phone": "phone",
    "shippingAddress": "address",
    "shippingAddress2": "address",
    "billingAddr": "address",
    "receiver_address": "address",
    "shippingPostCode": "postcode",
    "receiver_zip": "postcode",
    "nationalRegistrationNumber": "text",
}


def mask_pii(value: object, kind: Kind = "text") -> str:
    """A recognisable but non-identifying form of a personal value.

    name "Nur Aisyah Kamal" -> "N***l" (as Lazada masks customerName); phone "60123456780" ->
    "60*******80"; address "No. 12, Jalan Mawar" -> "No.***"; email "ali@x.my" -> "a***@x.my";
    postcode "40000" -> "40***"; anything else -> first character + "***".
    """
    if value is None:
        return ""
    text = str(value).strip()
    if not text:
        return ""
    if kind == "phone":
        digits = "".join(ch for ch in text if ch.isdigit())
        if len(digits) <= 4:
            return "*" * len(digits)
        return digits[:2] + "*" * (len(digits) - 4) + digits[-2:]
    if kind == "email":
        local, at, domain = text.partition("@")
        return (local[:1] + "***" + at + domain) if at else text[:1] + "***"
    if kind == "address":
        return text[:3] + "***"
    if kind == "postcode":
        return text[:2] + "***"
    if kind == "name":
        return text[:1] + "***" + (text[-1] if len(text) > 1 else "")
    return text[:1] + "***"
