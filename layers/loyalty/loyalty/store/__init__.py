"""The DynamoDB store: pynamodb models and the repositories that own every key, condition and transaction."""
