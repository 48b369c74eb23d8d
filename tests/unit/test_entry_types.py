"""One vocabulary of entry types: every type the use cases write is an EntryType, and each module that
classifies entries asks the type (no set of names kept anywhere else)."""

from __future__ import annotations

import re
from pathlib import Path

from loyalty.domain.entries import ACTIVITY_TYPES, ISSUING_TYPES, LOT_CREDITING_TYPES, EntryType

LAYER = Path(__file__).resolve().parents[2] / "layers" / "loyalty" / "loyalty"


def test_types_compare_and_store_as_their_names() -> None:
    # Given a type as the ledger stores it (a plain string)
    stored = "spin"
    # Then it is found among the classified types and reads back as the enum
    assert stored in ISSUING_TYPES and EntryType(stored) is EntryType.SPIN
    assert f"{EntryType.TIER_CHANGE}" == "tier_change"


def test_the_classifications_as_the_contract_reads_them() -> None:
    # A spin issues points (it was missing from the business metrics' own list), a tier change does not
    assert EntryType.SPIN.issues_points and not EntryType.TIER_CHANGE.issues_points
    # A visit makes the member active without issuing points; an expiry does neither
    assert EntryType.VISIT.is_activity and not EntryType.VISIT.issues_points
    assert not EntryType.EXPIRE.is_activity and not EntryType.EXPIRE.issues_points
    # An admin's positive adjustment adds lots to the wallet but is not "issued" by the program's rules
    assert EntryType.ADJUST in LOT_CREDITING_TYPES and EntryType.ADJUST not in ISSUING_TYPES
    assert ISSUING_TYPES <= LOT_CREDITING_TYPES and EntryType.REDEEM in ACTIVITY_TYPES


def test_no_module_keeps_its_own_set_of_entry_type_names() -> None:
    # Given every module of the layer but the vocabulary itself
    names = "|".join(kind.value for kind in EntryType)
    own_set = re.compile(r'=\s*\{\s*"(' + names + r')"\s*,\s*"(' + names + r')"')
    found = [str(path.relative_to(LAYER)) for path in sorted(LAYER.rglob("*.py"))
             if path.name != "entries.py" and own_set.search(path.read_text())]
    # Then none defines a set literal of entry type names
    assert found == []
