//! The webhooks function: verifies, deduplicates and stores shop webhooks, publishes domain events.
