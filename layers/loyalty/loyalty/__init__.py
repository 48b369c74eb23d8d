"""The loyalty layer: pure domain rules, the DynamoDB store, and what every HTTP function shares."""
