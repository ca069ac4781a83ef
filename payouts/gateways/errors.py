"""What can go wrong between Qinqing and a bank, drawn once so the payout code knows what to catch.

    QinqingError
    └── BankError                 anything about paying through a bank
        ├── TransientBankError    the bank did nothing (busy, unreachable, maintenance window);
        │                         resubmitting the same instructions after a backoff is safe
        ├── OutcomeUnknown        the request may or may not have been processed (the answer was
        │                         lost, the call timed out): `query` the keys before resubmitting
        ├── InstructionConflict   an idempotency key or batch reference the bank already holds came
        │                         back with different content; a bug upstream, never retried
        └── BankFileError         a file from the bank (result file, statement) cannot be used;
                                  `.problems` names file, row (header = row 1), column and value

Resubmitting is always safe in the end, because the bank deduplicates on the idempotency key; the
difference between the two retryable errors is only whether a query is worth doing first.
A malformed gateway URL is a `subsidy.errors.ConfigurationError`, not a bank error.
"""

from __future__ import annotations

from subsidy.errors import QinqingError
from subsidy.registry.errors import Problem

_SHOWN_PROBLEMS = 10


class BankError(QinqingError):
    """Base of every error raised while talking to a bank or reading its files."""


class TransientBankError(BankError):
    """The bank refused the whole request before doing anything; try again later."""


class OutcomeUnknown(BankError):
    """The request reached the bank but its answer did not reach us; query before resubmitting."""


class InstructionConflict(BankError):
    """The same idempotency key or batch reference was sent again with different content."""


class BankFileError(BankError):
    """A bank file was refused as a whole; `problems` lists every problem, in file order."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        noun = "problem" if len(problems) == 1 else "problems"
        lines = [f"{source}: {len(problems)} {noun}; nothing was read"]
        lines += [f"  {p}" for p in problems[:_SHOWN_PROBLEMS]]
        if len(problems) > _SHOWN_PROBLEMS:
            lines.append(f"  ... and {len(problems) - _SHOWN_PROBLEMS} more")
        super().__init__("\n".join(lines))
