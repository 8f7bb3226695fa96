//! shopify payloads (to be written).
