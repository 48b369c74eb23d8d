"""The local stack's own parts (gateway, IAM check, stream filters, SnapStart hooks, time travel), without AWS."""
