"""The double-entry ledger every movement of subsidy money is written to."""
