"""Use cases: read what a request needs, apply the domain rules, hand the writes to the store."""
