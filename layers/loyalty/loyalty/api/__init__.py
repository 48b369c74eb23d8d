"""What every HTTP function shares: resolver set-up, auth claims, problem+json, idempotency keys."""
