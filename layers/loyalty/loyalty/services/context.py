"""Who is calling, and the result of a use case (status, body, replayed or not)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from loyalty.domain.errors import Forbidden, NotFound

ADMIN_GROUP = "loyalty-admin"
TRANSACTIONS_SCOPE = "loyalty/transactions"
# Ids in paths: what tokens (Cognito subs, client ids) and admins use; anything else cannot exist.
PATH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,127}$")


def checked_id(value: str, what: str) -> str:
    if not PATH_ID.match(value):
        raise NotFound(f"no {what} has the id {value[:64]!r}", code=f"{what}_not_found")
    return value


@dataclass(frozen=True)
class Caller:
    """The verified identity API Gateway passes: a member, a trusted back end, an admin, a partner."""

    sub: str
    scopes: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    partner_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return ADMIN_GROUP in self.groups

    @property
    def is_trusted(self) -> bool:
        return TRANSACTIONS_SCOPE in self.scopes

    # Authorization lives here and is asked by the use cases (services), never by the handlers: one check
    # per call, the same whether a use case is reached over HTTP, from a job or from a test.

    def authorize_member(self, path_id: str) -> str:
        """The member a path names (`me` is the caller), if the caller may act for it: the member itself,
        a trusted back end or an admin."""
        member_id = self.sub if path_id == "me" else checked_id(path_id, "member")
        if member_id != self.sub and not (self.is_admin or self.is_trusted):
            raise Forbidden("a member may only access its own data")
        return member_id

    def on_behalf(self, member_id: str) -> dict[str, str]:
        """What an entry records of a trusted back end acting for a member at a till (its id), else nothing."""
        return {"back_end": self.sub} if self.is_trusted and not self.is_admin and member_id != self.sub else {}

    def authorize_self(self, path_id: str) -> str:
        """Like authorize_member, but a trusted back end is not enough: the member itself or an admin."""
        member_id = self.sub if path_id == "me" else checked_id(path_id, "member")
        if member_id != self.sub and not self.is_admin:
            raise Forbidden("a member may only access its own data")
        return member_id

    def authorize_trusted(self) -> None:
        if not (self.is_trusted or self.is_admin):
            raise Forbidden(f"this call needs the {TRANSACTIONS_SCOPE} scope (a trusted back end) or an admin")

    def authorize_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden(f"this call needs the {ADMIN_GROUP} group")


@dataclass(frozen=True)
class Outcome:
    status: int
    body: Any
    replayed: bool = False
