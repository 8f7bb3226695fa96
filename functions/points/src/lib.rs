//! The points function: credits paid orders on the ledger, exactly once.
