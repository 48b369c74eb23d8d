"""The program config: PROGRAM#<nn> / CURRENT, one of PROGRAM_REPLICAS identical copies (reads spread
over them), and PROGRAM / VERSION#<n>, its history. The use cases hold a plain `Program`; the item is this
module's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pynamodb.attributes import BinaryAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PynamoDBException
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from loyalty.domain.clock import iso_utc, utc_now
from loyalty.domain.errors import BadRequest
from loyalty.store import db
from loyalty.store.audit import AuditRecord, add_audit
from loyalty.store.base import Item, TableMeta, record_of
from loyalty.store.db import Txn, batch_get, decode_cursor, load, query_page, raise_if_transient
from loyalty.store.idempotency import IdempotencyRecord, add_idempotency


class ProgramItem(Item):
    class Meta(TableMeta):
        pass

    version = NumberAttribute()
    config = UnicodeAttribute()  # the JSON body as PUT, so GET returns the same field types
    updated_at = UnicodeAttribute()
    updated_by = UnicodeAttribute(null=True)
    # The running campaigns (JSON: each with its segment's conditions), deflated, on every replica: they
    # arrive with the program read, which every request pays for per started 4 KB (campaign JSON deflates
    # to about a fifth). `campaigns` is the plain JSON that replicas written before held; a campaign write
    # replaces it. campaigns_rev orders campaign writes; a program PUT carries them over.
    campaigns_deflated = BinaryAttribute(null=True, legacy_encoding=False)
    campaigns = UnicodeAttribute(null=True)
    campaigns_rev = NumberAttribute(null=True)
    # What the prize wheel's share caps split: its budget, or the highest it had once lowered (see
    # shares.budget_change). Absent: the config's spin.budget_points (written before budgets could be lowered).
    spin_basis = NumberAttribute(null=True)
    # The running challenges (JSON list of their definitions), deflated, on every replica like the campaigns
    # (store.gamification); campaigns_rev orders their writes too.
    challenges_deflated = BinaryAttribute(null=True, legacy_encoding=False)
    # The leaderboards' definitions (JSON list, store.leaderboards): which values a points change keeps.
    leaderboards = UnicodeAttribute(null=True)


@dataclass(frozen=True)
class Program:
    """A version of the program as a replica (or the history) holds it: its config as PUT (JSON), and what
    rides on it (the running campaigns, challenges and leaderboards, as the store keeps them)."""

    version: int
    config: str
    updated_at: str
    updated_by: str | None = None
    campaigns_deflated: bytes | None = None
    campaigns: str | None = None
    campaigns_rev: int | None = None
    spin_basis: int | None = None
    challenges_deflated: bytes | None = None
    leaderboards: str | None = None




def program_of(item: ProgramItem | None) -> Program | None:
    """The program of an item read (store.snapshot reads a replica with the rest of a request)."""
    return None if item is None else record_of(Program, item)


# The program config is read by every request: it is kept in this many identical replicas, all written
# by the PUT's one transaction, and a request reads any one of them consistently (no single hot item).
PROGRAM_REPLICAS = 32


def program_replica_key(replica: int) -> tuple[str, str]:
    return f"PROGRAM#{replica:02d}", "CURRENT"


def program_version_key(version: int) -> tuple[str, str]:
    return "PROGRAM", f"VERSION#{version:08d}"


def _unchanged(current: Program) -> Condition:
    """The condition that a replica still holds what `current` was read as: its version and what rides on it."""
    return (ProgramItem.version == current.version) & (
        ProgramItem.campaigns_rev.does_not_exist() if current.campaigns_rev is None
        else ProgramItem.campaigns_rev == current.campaigns_rev)


def update_riders(txn: Txn, program: Program, actions: list[Action]) -> None:
    """Adds to `txn` the update of every program replica with `actions` (what rides on the program: the
    campaigns, challenges or leaderboards), conditioned on each replica still being `program` as read and
    moving campaigns_rev on, which orders every such write (ConditionFailed: program, written meanwhile)."""
    rev = int(program.campaigns_rev or 0)
    for replica in range(PROGRAM_REPLICAS):
        txn.update("program", ProgramItem(*program_replica_key(replica)),
                   [*actions, ProgramItem.campaigns_rev.set(rev + 1)], _unchanged(program), versioned=False)


def save_program(current: Program | None, config_json: str, updated_by: str,
                 idempotency: IdempotencyRecord | None, audit: AuditRecord | None = None, *,
                 spin_basis: int | None = None) -> Program:
    """Writes version n+1 and moves every replica of CURRENT to it in one transaction (so any replica read
    after the answer is the new version); ConditionFailed(program) when another PUT won."""
    version = (int(current.version) if current else 0) + 1
    now = iso_utc(utc_now())
    history = ProgramItem(*program_version_key(version), version=version, config=config_json,
                          updated_at=now, updated_by=updated_by)
    txn = Txn()
    txn.put("history", history, ProgramItem.pk.does_not_exist())
    latest = history
    for replica in range(PROGRAM_REPLICAS):
        latest = ProgramItem(*program_replica_key(replica), version=version, config=config_json, updated_at=now,
                             updated_by=updated_by, campaigns=current.campaigns if current else None,
                             campaigns_deflated=current.campaigns_deflated if current else None,
                             campaigns_rev=current.campaigns_rev if current else None, spin_basis=spin_basis,
                             challenges_deflated=current.challenges_deflated if current else None,
                             leaderboards=current.leaderboards if current else None)
        # What rides on the program must be what is in force: a campaign or challenge written meanwhile wins.
        condition = ProgramItem.pk.does_not_exist() if current is None else _unchanged(current)
        txn.put("program", latest, condition)
    add_audit(txn, audit)
    add_idempotency(txn, idempotency)
    db.commit(txn)
    saved = program_of(latest)
    assert saved is not None
    return saved


def program_versions(*, limit: int, cursor: str | None) -> tuple[list[Program], str | None]:
    """The program's history, newest first."""
    start = decode_cursor(cursor, ("pk", "sk"))
    if start is not None and start["pk"] != "PROGRAM":
        raise BadRequest("the cursor belongs to another list", code="invalid_cursor")
    items, next_cursor = query_page(ProgramItem, "PROGRAM", ProgramItem.sk.startswith("VERSION#"), limit, start,
                                    forward=False)
    return [program for item in items if (program := program_of(item)) is not None], next_cursor


def all_program_versions() -> Iterator[Program]:
    """Every version the program ever had, oldest first, page by page (reconciliation's rules in force)."""
    try:
        for item in ProgramItem.query("PROGRAM", ProgramItem.sk.startswith("VERSION#")):
            program = program_of(item)
            assert program is not None
            yield program
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def program_version(version: int) -> Program | None:
    raw = batch_get([program_version_key(version)])
    return program_of(load(ProgramItem, next(iter(raw.values()), None)))
