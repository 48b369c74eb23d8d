"""Finance's closed books: FINANCE / MONTH#<YYYY-MM>, the state of the books at the end of a month that has
closed (domain.finance.Books, JSON), written once by the first report that reaches past it. A report starts
from the latest one before its month, so it reads only its own month's days, and a closed month's books never
change again (a later change of the breakage estimate is caught up in the month it is made)."""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import PutError, PynamoDBException

from loyalty.store.base import Item, TableMeta
from loyalty.store.db import batch_get, error_code, load, raise_if_transient

FINANCE_PK = "FINANCE"


class ClosedMonthItem(Item):
    class Meta(TableMeta):
        pass

    books = UnicodeAttribute()  # JSON: the books at the month's end
    days = UnicodeAttribute()  # JSON: each day's columns (the report and the journal are built from them)
    closed_at = UnicodeAttribute()


def month_key(month: str) -> tuple[str, str]:
    return FINANCE_PK, f"MONTH#{month}"


def closed_month(month: str) -> tuple[str, str] | None:
    """(books JSON, days JSON) of a closed month, if it is."""
    key = month_key(month)
    item = load(ClosedMonthItem, batch_get([key]).get(key))
    return None if item is None else (str(item.books), str(item.days))


def latest_closed_before(month: str) -> tuple[str, str] | None:
    """(month, books JSON) of the latest closed month before `month`, if any."""
    try:
        found = list(ClosedMonthItem.query(FINANCE_PK, ClosedMonthItem.sk < f"MONTH#{month}",
                                           scan_index_forward=False, limit=1, consistent_read=True))
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise
    return (str(found[0].sk).removeprefix("MONTH#"), str(found[0].books)) if found else None


def save_closed_month(month: str, books: str, days: str, at: str) -> None:
    """Once: a month closed twice (two reports at once) keeps the first."""
    try:
        ClosedMonthItem(*month_key(month), books=books, days=days, closed_at=at).save(
            ClosedMonthItem.pk.does_not_exist())
    except PutError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return
        raise_if_transient(exc)
        raise
