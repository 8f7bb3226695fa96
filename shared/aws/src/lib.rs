//! AWS adapters: DynamoDB store, EventBridge bus, configuration from Secrets Manager.
