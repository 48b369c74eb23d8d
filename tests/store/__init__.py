"""The store's pure parts (stored forms of a member's wallet), without AWS."""
