"""What can go wrong between Qinqing and a bank, drawn once so the payout code knows what to catch.

    QinqingError
    └── BankError                 anything about paying through a bank
        ├── TransientBankError    the bank did nothing (busy, unreachable, maintenance window);
        │                         resubmitting the same instructions after a backoff is safe
        ├── OutcomeUnknown        the request may or may not have been processed (the answer was
        │                         lost, the call timed out): `query` the keys before resubmitting
        ├── InstructionConflict   an idempotency key or batch reference the bank already holds came
        │                         back with different content; a bug upstream, never retried
        ├── InstructionUnfit      a payment the bank's file format cannot carry (a pain.001 name
        │                         over 140 characters, a bank without a CNAPS code), its key and
        │                         field named: the file bank answers it REJECTED with these words
        │                         and sends the rest; raised when the document itself is refused
        │                         (nothing is written then)
        └── BankFileError         a file from the bank (result file, statement) cannot be used;
                                  `.problems` names file, row (header = row 1), column and value

Resubmitting is always safe in the end, because the bank deduplicates on the idempotency key; the
difference between the two retryable errors is only whether a query is worth doing first.
A malformed gateway URL is a `subsidy.errors.ConfigurationError`, not a bank error.
"""

from __future__ import annotations

from subsidy import i18n
from subsidy.errors import QinqingError
from subsidy.registry.errors import Problem

_SHOWN_PROBLEMS = 10


class BankError(QinqingError):
    """Base of every error raised while talking to a bank or reading its files."""

    code = "bank.refused"
    status, slug, title = 502, "bank-refused", "The bank refused or did not answer"


class TransientBankError(BankError):
    """The bank refused the whole request before doing anything; try again later."""

    code = "bank.transient"


class OutcomeUnknown(BankError):
    """The request reached the bank but its answer did not reach us; query before resubmitting."""

    code = "bank.outcome_unknown"


class InstructionConflict(BankError):
    """The same idempotency key or batch reference was sent again with different content."""

    code = "bank.conflict"


class InstructionUnfit(BankError):
    """A payment the file format cannot carry; `key`, `field` and `why` say which and why."""

    code = "bank.instruction_unfit"
    status, slug, title = 500, "instruction-unfit", "A payment instruction could not be written"

    def __init__(self, *, key: str, field: str, why: str) -> None:
        self.key, self.field, self.why = key, field, why
        super().__init__(key=key, field=field, why=why)


class BankFileError(BankError):
    """A bank file was refused as a whole; `problems` lists every problem, in file order."""

    code = "bank.file_refused"
    variants = ("bank.file_refused_one",)
    status, slug, title = 422, "bad-statement", "The bank statement cannot be read"

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        code = "bank.file_refused_one" if len(problems) == 1 else type(self).code
        super().__init__(code=code, source=source, count=len(problems))
        lines = [super().__str__()]
        lines += [f"  {p}" for p in problems[:_SHOWN_PROBLEMS]]
        if len(problems) > _SHOWN_PROBLEMS:
            lines.append(f"  ... and {len(problems) - _SHOWN_PROBLEMS} more")
        self.args = ("\n".join(lines),)

    def headline(self, language: i18n.Language) -> str:
        """The first line alone (a page lists the problems itself)."""
        return super().message_in(language)

    def message_in(self, language: i18n.Language) -> str:
        lines = [self.headline(language)]
        lines += [f"  {p.shown(language)}" for p in self.problems[:_SHOWN_PROBLEMS]]
        return "\n".join(lines)

    @property
    def detail(self) -> str:
        return str(self).splitlines()[0]

    def extra(self) -> dict[str, object]:
        """Every problem placed by row and column (the message shows the first ten)."""
        placed = [
            {"row": p.row, "column": p.column, "value": p.value, "message": p.message}
            for p in self.problems
        ]
        return {"problems": placed}
