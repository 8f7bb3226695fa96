//! woocommerce payloads (to be written).
