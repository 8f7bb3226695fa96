//! shopware payloads (to be written).
