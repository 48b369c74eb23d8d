"""Shapes of finance's answers: deferred revenue and its journal (contract: "Finance"; docs/finance.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from loyalty.api.schemas.common import Out
from loyalty.api.schemas.members import MoneyOut


class PointsColumns(Out):
    opening: int
    issued: int
    redeemed: int
    expired: int
    adjusted: int = Field(description="returns' claw-backs, corrections and other movements (signed)")
    closing: int = Field(description="opening + issued - redeemed - expired + adjusted: the points outstanding")


class DeferredRevenueColumns(Out):
    opening: MoneyOut
    deferred: MoneyOut
    recognized_redemption: MoneyOut
    recognized_breakage: MoneyOut
    closing: MoneyOut = Field(description="opening + deferred - recognized_redemption - recognized_breakage")


class DeferredRevenueOut(Out):
    month: str
    currency: str
    method: Literal["fixed", "historical"]
    breakage_rate: str = Field(description="the expected breakage rate at the month's end, a decimal string")
    ssp_per_point: MoneyOut = Field(description="what a point issued now defers (each entry keeps its own)")
    points: PointsColumns
    deferred_revenue: DeferredRevenueColumns


class JournalLineOut(Out):
    date: str
    account: str
    debit: MoneyOut
    credit: MoneyOut
    memo: str


class JournalOut(Out):
    month: str
    currency: str
    items: list[JournalLineOut]
