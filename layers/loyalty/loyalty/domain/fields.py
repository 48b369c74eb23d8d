"""The value types of the fields the program's data is made of (text, identifiers, times, days, amounts,
URLs): each field's rule in one place, for request bodies and for the domain models that are written as
bodies (a campaign). Pure pydantic; imports nothing of this package."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)


def _whole_numbers(value: Any) -> Any:
    """JSON has one number type: 3470.0 is the integer 3470, as JSON Schema's "integer" says. Integral
    floats become ints before the strict integer fields look at them (3470.5, "3470" and true stay refused)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value


def _iso_day(value: object) -> object:
    """A day as the contract writes it (YYYY-MM-DD), not any of the other forms pydantic would take (0 as
    1970-01-01, a timestamp)."""
    if isinstance(value, date) or (isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value)):
        return value
    raise ValueError("a day is written YYYY-MM-DD")


Day = Annotated[date, BeforeValidator(_iso_day)]
Month = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
# Text as it is stored and shown: no control character, no space at either end. The same regular
# expression in the schema and in pydantic (no \s, whose meaning differs between JavaScript and Python),
# so what a client checks against the document is what the server accepts.
_TEXT = r"[^\x00-\x20\x7f]([^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?"
Text64 = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=f"^{_TEXT}$")]
Text100 = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=f"^{_TEXT}$")]
Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=f"^{_TEXT}$")]
Text500 = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=f"^{_TEXT}$")]
Text1000 = Annotated[str, StringConstraints(max_length=1000, pattern=f"^({_TEXT})?$")]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,127}$")]
# Order ids come from many back ends: any printable ASCII except spaces at the ends.
OrderId = Annotated[str, StringConstraints(pattern=r"^[!-~]([ -~]{0,126}[!-~])?$")]
# No @, space, control or other whitespace character in the parts (listed, not \s: see _TEXT).
_EMAIL_PART = r"[^@\x00-\x20\x7f-\x9f\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+"
# Spaces around an address are tolerated and dropped (a pasted address); nothing else is.
_EMAIL = rf"^ *{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART} *$"
Email = Annotated[str, StringConstraints(max_length=254, pattern=_EMAIL), AfterValidator(lambda text: text.strip(" "))]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 ()-]{3,22}$")]
Locale = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8}){0,3}$")]
PreferenceKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
PreferenceValue = Text100 | Annotated[list[Text100], Field(max_length=50)] | StrictBool
Points = Annotated[StrictInt, Field(ge=1, le=1_000_000_000)]
# A promotion's budget, whoever funds it (a code batch's is its points times its count).
MAX_BUDGET_POINTS = 1_000_000_000
AmountString = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,15}(\.[0-9]{1,4})?$")]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


# Times outside these years are refused: a stored year that is not four digits, or one near the ends of
# what datetime can hold, would break every later read that parses or shifts it.
FIRST_YEAR, LAST_YEAR = 1970, 2999


def _sane_year(value: datetime) -> datetime:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"the year must be between {FIRST_YEAR} and {LAST_YEAR}")
    return value


def _written_time(value: object) -> object:
    """A time is an RFC 3339 string (pydantic would also take a number as a Unix time)."""
    if not isinstance(value, str | datetime):
        raise ValueError("a time is an RFC 3339 string such as 2026-11-22T18:00:00Z")
    return value


Moment = Annotated[AwareDatetime, BeforeValidator(_written_time), AfterValidator(_sane_year), WithJsonSchema({
    "type": "string", "format": "date-time", "pattern": "^(19[7-9][0-9]|2[0-9]{3})-",
    "description": f"RFC 3339 with a time zone, years {FIRST_YEAR} to {LAST_YEAR}"})]


def _plausible_birthday(value: date) -> date:
    if not 1800 <= value.year <= LAST_YEAR:
        raise ValueError(f"the year of a birthday must be between 1800 and {LAST_YEAR}")
    return value


Birthday = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_plausible_birthday), WithJsonSchema({
    "type": "string", "format": "date", "pattern": "^(1[89][0-9]{2}|2[0-9]{3})-",
    "description": f"YYYY-MM-DD, years 1800 to {LAST_YEAR}"})]


# A host name or IPv4 address, a port from 1 to 65535, then any printable path, query and fragment.
_PORT = r"([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
_URL_REST = rf"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:{_PORT})?([/?#][!-~]*)?"


def _parsable_url(value: str) -> str:
    try:
        parts = urlsplit(value)
        port = parts.port  # raises on a port that is not a number or out of range
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {exc}") from exc
    if not parts.hostname or port == 0:
        raise ValueError("the URL needs a host")
    return value


class Body(BaseModel):
    # defer_build: each function validates a few of these models; the rest are never built (cold start).
    model_config = ConfigDict(extra="forbid", defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _integers_as_json_counts_them(cls, data: Any) -> Any:
        return _whole_numbers(data)
# A device id or a payment fingerprint a back end or an app sends (kept hashed only).
Fingerprint = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{8,200}$")]
