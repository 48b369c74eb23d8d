"""The local stack's event filtering (FilterCriteria patterns) judges records as Lambda does."""

from __future__ import annotations

import pytest

from loyalty_local.filtering import matches, parse_filters, passes
from loyalty_local.template import read_stack


def record(event: str, pk: str, sk: str) -> dict:
    return {"eventName": event, "dynamodb": {"Keys": {"pk": {"S": pk}, "sk": {"S": sk}}}}


def test_the_stream_processors_filter_keeps_new_members_entries_and_claim_failures_only() -> None:
    # Given the template's filter for the stream processor
    (source,) = [source for source in read_stack().streams if source.function == "StreamProcessorFunction"]
    patterns = list(source.filters)
    # Then new members, new entries and claim failures pass; updates, removals and other items do not
    assert passes(patterns, record("INSERT", "MEMBER#ann", "PROFILE"))
    assert passes(patterns, record("INSERT", "MEMBER#ann", "ENTRY#01J"))
    assert passes(patterns, record("INSERT", "CLAIMFAIL#ann", "01J"))
    assert not passes(patterns, record("MODIFY", "MEMBER#ann", "PROFILE"))
    assert not passes(patterns, record("REMOVE", "MEMBER#ann", "ENTRY#01J"))
    assert not passes(patterns, record("INSERT", "MEMBER#ann", "HOLD#01J"))
    assert not passes(patterns, record("INSERT", "SHARE#CAMPAIGN#c#07", "SHARE"))
    assert not passes(patterns, record("INSERT", "ORDER#o-1", "ORDER"))


def test_patterns_match_values_prefixes_and_existence_and_no_filter_passes_all() -> None:
    assert matches({"a": {"b": ["x", {"prefix": "y"}]}}, {"a": {"b": "yes"}})
    assert not matches({"a": {"b": ["x"]}}, {"a": {"b": "y"}})
    assert matches({"a": [{"exists": False}]}, {"c": 1}) and not matches({"a": [{"exists": True}]}, {"c": 1})
    assert not matches({"a": {"b": ["x"]}}, {"a": "flat"})
    assert passes([], {"anything": 1})


def test_a_rule_the_local_stack_does_not_know_is_refused_not_guessed() -> None:
    with pytest.raises(ValueError, match="not supported"):
        parse_filters({"Filters": [{"Pattern": '{"a": [{"numeric": [">", 0]}]}'}]})
