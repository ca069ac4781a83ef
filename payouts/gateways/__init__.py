"""Bank gateways: how payout batches reach a bank, and the bank's answers.

    gateway = gateway_from_url("simulated:///srv/bank.db?seed=7")
    results = gateway.submit(instructions)     # PAID / REJECTED, or PENDING from the file bank
    results = gateway.query(keys)              # the current status of each key

Two gateways implement `BankGateway`: `SimulatedBank` (a bank in its own SQLite file with seeded
faults, for development, tests and benchmarks) and `FileBank` (instruction files out, result
files in: CSV / XLSX layouts, or ISO 20022 pain.001 out and pain.002 in; FILES.md). The errors
are drawn in `payouts.gateways.errors`.
"""

from payouts.gateways._config import gateway_from_url
from payouts.gateways._faults import Faults
from payouts.gateways._pain001 import Debtor
from payouts.gateways._types import (
    BankGateway,
    ItemResult,
    ItemStatus,
    PaymentInstruction,
    StatementLine,
)
from payouts.gateways.errors import (
    BankError,
    BankFileError,
    InstructionConflict,
    InstructionUnfit,
    OutcomeUnknown,
    TransientBankError,
)
from payouts.gateways.files import FileBank
from payouts.gateways.simulated import BankStats, SimulatedBank

__all__ = [
    "BankError",
    "BankFileError",
    "BankGateway",
    "BankStats",
    "Debtor",
    "Faults",
    "FileBank",
    "InstructionConflict",
    "InstructionUnfit",
    "ItemResult",
    "ItemStatus",
    "OutcomeUnknown",
    "PaymentInstruction",
    "SimulatedBank",
    "StatementLine",
    "TransientBankError",
    "gateway_from_url",
]
