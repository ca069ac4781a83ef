"""The tamper-evident audit trail: every state change appends a hash-chained entry."""
