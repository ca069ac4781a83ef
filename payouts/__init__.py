"""Payout batches, Celery tasks, bank gateways, reconciliation, ledger (issue 5)."""
