"""A bank reached through files: instruction files out, result files in (layouts in FILES.md).

    directory/
      outbox/   one instruction file per batch reference, `<batch_ref>.csv` or `.xlsx`, written
                by `submit`; the bank (or an operator) picks them up
      inbox/    result files from the bank, any name ending .csv or .xlsx, read by `query`

Files whose name starts with a dot are temporary and ignored on both sides.

Instruction file, one row per payment, in this column order:
    batch_ref, idempotency_key, payee_uscc, payee_name, bank_code, account, amount, memo
Result file, one row per key (further columns are ignored):
    idempotency_key, status (paid | rejected | returned), bank_reference, reason_code, reason
A paid or returned row needs a bank_reference, a rejected or returned row a reason_code.

Both: UTF-8 (CSV written without a BOM, a BOM accepted on reading), a header row, RFC 4180
quoting for CSV, the first sheet for XLSX. Amounts are yuan with a decimal point and exactly two
decimals (`1234.50`), no grouping, written as text in XLSX too: an XLSX number is a binary double,
exact only to 15-17 significant digits, while NUMERIC(16,2) amounts have 16, and a text cell
reads back as the very digits written. Every XLSX cell is a text cell, so a payee named
`=HYPERLINK(...)` reaches the bank as that name, never as a formula.

`submit` answers PENDING for what it writes, or the stored answer for a key already instructed
(the bank's result if one arrived). A batch reference names one file: resubmitting the same
instructions writes nothing, other instructions under the same reference are refused
(`InstructionConflict`), so a batch goes to the bank in one call. `query` answers each key from the
result files (a later file, by name, overrides an earlier one: a payment may come back as
returned), PENDING if instructed without a result, NOT_FOUND otherwise. A bad result file is
refused whole (`BankFileError` naming file, row, column and value), and `query` answers nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Literal, TypeVar

from payouts.gateways import _camt053, _pain001, _pain002, _xml
from payouts.gateways._pain001 import Debtor
from payouts.gateways._sheets import (
    FORMATS,
    format_of,
    format_yuan,
    parse_yuan,
    read_table,
    write_table,
)
from payouts.gateways._types import (
    BANK_REFERENCE_LENGTH,
    REASON_CODE_LENGTH,
    ItemResult,
    ItemStatus,
    PaymentInstruction,
    identity,
    one_per_key,
)
from payouts.gateways.errors import BankFileError, InstructionConflict
from subsidy import localtime
from subsidy.registry.errors import Problem

INSTRUCTION_COLUMNS = (
    "batch_ref",
    "idempotency_key",
    "payee_uscc",
    "payee_name",
    "bank_code",
    "account",
    "amount",
    "memo",
)
RESULT_COLUMNS = ("idempotency_key", "status", "bank_reference", "reason_code", "reason")
FileFormat = Literal["csv", "xlsx", "iso20022"]
XML = ".xml"
SUFFIXES = (*FORMATS, XML)
"""Every bank file the folders hold: CSV and XLSX layouts, ISO 20022 XML (pain.001 out,
pain.002 in)."""
_Results = list[tuple[int, ItemResult]] | _pain002.Report
_RESULT_STATUSES = (ItemStatus.PAID, ItemStatus.REJECTED, ItemStatus.RETURNED)
_BATCH_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # safe as a file name everywhere

T = TypeVar("T")


class FileBank:
    """See the module docstring. Creates `directory/outbox` and `directory/inbox` if missing."""

    name = "files"

    def __init__(
        self, directory: str | Path, format: FileFormat = "csv", debtor: Debtor | None = None
    ) -> None:
        if format not in ("csv", "xlsx", "iso20022"):
            raise ValueError(f"a file bank writes csv, xlsx or iso20022, not {format!r}")
        if format == "iso20022" and debtor is None:
            raise ValueError("an ISO 20022 file bank needs the paying department's account")
        self.directory = Path(directory)
        self.format: FileFormat = format
        self.debtor = debtor
        self.outbox = self.directory / "outbox"
        self.inbox = self.directory / "inbox"
        self.outbox.mkdir(parents=True, exist_ok=True)
        self.inbox.mkdir(parents=True, exist_ok=True)
        self._instructions = _Folder(self.outbox, read_instruction_file)
        self._results: _Folder[_Results] = _Folder(self.inbox, _read_results)

    def submit(self, instructions: Sequence[PaymentInstruction]) -> list[ItemResult]:
        if not instructions:
            return []
        by_key = one_per_key(instructions)
        answers = self._answers()  # a bad result file stops the call before anything is written
        instructed = self._instructed()
        for key, instruction in by_key.items():
            if key in instructed and identity(instructed[key]) != identity(instruction):
                raise InstructionConflict(
                    f"key {key} was already instructed with a different payee, account or "
                    "amount; a corrected payment needs a new idempotency key"
                )
        refused = self._unfit(i for k, i in by_key.items() if k not in instructed)
        batches: dict[str, list[PaymentInstruction]] = {}
        for key, instruction in by_key.items():
            if key not in instructed and key not in refused:
                batches.setdefault(instruction.batch_ref, []).append(instruction)
        for ref in batches:
            self._check_free(ref)
        for ref, batch in batches.items():
            self._write(ref, batch)
        return [
            answers.get(i.idempotency_key)
            or refused.get(i.idempotency_key)
            or ItemResult(i.idempotency_key, ItemStatus.PENDING)
            for i in instructions
        ]

    def _unfit(self, instructions: Iterable[PaymentInstruction]) -> dict[str, ItemResult]:
        """Payments the format cannot carry, answered REJECTED with why (pain.001 only: the
        CSV and XLSX layouts carry any text)."""
        if self.format != "iso20022":
            return {}
        refused = {}
        for instruction in instructions:
            why = _pain001.unfit(instruction)
            if why is not None:
                key = instruction.idempotency_key
                refused[key] = ItemResult(key, ItemStatus.REJECTED, None, _pain001.UNFIT, str(why))
        return refused

    def query(self, keys: Sequence[str]) -> list[ItemResult]:
        results = self._answers()
        instructed = self._instructed()
        return [
            results.get(key)
            or ItemResult(key, ItemStatus.PENDING if key in instructed else ItemStatus.NOT_FOUND)
            for key in keys
        ]

    def instruction_file(self, batch_ref: str) -> Path:
        suffix = "xml" if self.format == "iso20022" else self.format
        return self.outbox / f"{batch_ref}.{suffix}"

    # -- the outbox ------------------------------------------------------------------------

    def _instructed(self) -> dict[str, PaymentInstruction]:
        files = self._instructions.refresh()
        return {i.idempotency_key: i for batch in files.values() for i in batch}

    def _check_free(self, batch_ref: str) -> None:
        if not _BATCH_REF.fullmatch(batch_ref):
            raise ValueError(
                f"batch reference {batch_ref!r} cannot name a file: use letters, digits, '.', "
                "'_' and '-', at most 100, starting with a letter or digit"
            )
        for suffix in SUFFIXES:
            taken = self.outbox / f"{batch_ref}{suffix}"
            if taken.exists():
                raise InstructionConflict(
                    f"batch {batch_ref} already has instruction file {taken.name} with other "
                    "instructions; a batch goes to the bank in one call"
                )

    def _write(self, batch_ref: str, batch: list[PaymentInstruction]) -> None:
        """The batch's file, whole or not at all: written aside, then linked into place."""
        final = self.instruction_file(batch_ref)
        temporary = self.outbox / f".{final.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
        try:
            if self.format == "iso20022":
                assert self.debtor is not None  # the constructor requires it
                now = dt.datetime.now(dt.UTC)
                document = _pain001.build(
                    batch_ref,
                    batch,
                    self.debtor,
                    created_at=now,
                    execution_date=localtime.local_date(now),
                )
                temporary.write_bytes(document)
            else:
                rows = map(_instruction_row, batch)
                write_table(temporary, self.format, INSTRUCTION_COLUMNS, rows)
            _fsync(temporary)
            try:
                os.link(temporary, final)  # unlike a rename, never replaces a file that appeared
            except FileExistsError:
                # another worker wrote this batch meanwhile: fine if it wrote the same payments
                theirs = sorted(map(_identity_with_key, read_instruction_file(final)))
                if theirs != sorted(map(_identity_with_key, batch)):
                    raise InstructionConflict(
                        f"batch {batch_ref} was written meanwhile with other instructions"
                    ) from None
            _fsync(self.outbox)
        finally:
            temporary.unlink(missing_ok=True)

    # -- the inbox -------------------------------------------------------------------------

    def _answers(self) -> dict[str, ItemResult]:
        files = self._results.refresh()
        problems: list[Problem] = []
        latest: dict[str, tuple[ItemResult, str, int]] = {}
        reports = {n: c for n, c in files.items() if isinstance(c, _pain002.Report)}
        resolved = self._resolve(reports, problems) if reports else {}
        if problems:
            raise BankFileError(str(self.inbox), problems)
        for name in sorted(files):
            content = resolved[name] if name in resolved else files[name]
            assert not isinstance(content, _pain002.Report)  # every report was resolved
            for row, result in content:
                earlier = latest.get(result.idempotency_key)
                if earlier and result.status == ItemStatus.PENDING:
                    continue  # "still pending" after a result says nothing new
                if earlier and not _may_follow(earlier[0].status, result.status):
                    was, where, at = earlier
                    problems.append(
                        Problem(
                            name,
                            row,
                            "status",
                            result.status.value,
                            f"follows {was.status.value} in {where} row {at}; only a paid "
                            "payment can later be returned",
                        )
                    )
                latest[result.idempotency_key] = (result, name, row)
        if problems:
            raise BankFileError(str(self.inbox), problems)
        return {key: result for key, (result, _, _) in latest.items()}

    def _resolve(
        self, reports: dict[str, _pain002.Report], problems: list[Problem]
    ) -> dict[str, list[tuple[int, ItemResult]]]:
        """Each pain.002 as item results: its batch must be one we sent, its keys that batch's;
        a group's status applies to the batch's items the report does not list."""
        batches: dict[str, list[str]] = {}
        for key, instruction in self._instructed().items():
            batches.setdefault(instruction.batch_ref, []).append(key)
        resolved: dict[str, list[tuple[int, ItemResult]]] = {}
        for name, report in reports.items():
            keys = batches.get(report.batch_ref)
            if keys is None:
                problems.append(
                    Problem(
                        name,
                        report.batch_line,
                        report.batch_where,
                        report.batch_ref,
                        "names no payment file in the outbox: this report answers no batch of ours",
                    )
                )
                continue
            results: list[tuple[int, ItemResult]] = []
            for key, status in report.transactions.items():
                line, where = report.key_places[key]
                if key not in keys:
                    message = f"is no payment of batch {report.batch_ref}"
                    problems.append(Problem(name, line, where, key, message))
                    continue
                results.append((line or 0, _item_result(key, status)))
            group = report.default
            if group is not None and group.status != ItemStatus.PENDING:
                for key in sorted(set(keys) - set(report.transactions)):
                    if group.status == ItemStatus.PAID and not group.bank_reference:
                        message = "pays the group without each transaction's AcctSvcrRef"
                        problems.append(Problem(name, group.line, group.where, key, message))
                        break
                    results.append((group.line or 0, _item_result(key, group)))
            resolved[name] = results
        return resolved


def _read_results(path: Path) -> _Results:
    """A result file: pain.002 (a status report) or camt.053 (a statement: its returns) when XML,
    else the CSV / XLSX layout."""
    if path.suffix.lower() != XML:
        return read_result_file(path)
    if _xml.root_namespace(path).startswith(_xml.NAMESPACE + "camt.053."):
        return _camt053.read_returns(path)
    return _pain002.read(path)


def _item_result(key: str, status: _pain002.Status) -> ItemResult:
    return ItemResult(key, status.status, status.bank_reference, status.reason_code, status.reason)


def _identity_with_key(i: PaymentInstruction) -> tuple[str | int, ...]:
    return (i.idempotency_key, *identity(i))


def _may_follow(earlier: ItemStatus, later: ItemStatus) -> bool:
    # a pain.002 may say "accepted" (pending) before the one that says "settled"
    return earlier in (later, ItemStatus.PENDING) or (earlier, later) == (
        ItemStatus.PAID,
        ItemStatus.RETURNED,
    )


def _instruction_row(i: PaymentInstruction) -> list[str]:
    return [
        i.batch_ref,
        i.idempotency_key,
        i.payee_uscc,
        i.payee_name,
        i.bank_code,
        i.account,
        format_yuan(i.amount),
        i.memo,
    ]


def read_instruction_file(path: Path) -> list[PaymentInstruction]:
    """An instruction file as the bank reads it (for operators, bank-side tools and tests)."""
    if path.suffix.lower() == XML:
        return _pain001.read(path)
    table = read_table(path, INSTRUCTION_COLUMNS, source=path.name)
    instructions, problems = [], table.problems
    for row, cells in table.records:
        amount, why = parse_yuan(cells["amount"])
        if amount is None:
            problems.append(Problem(path.name, row, "amount", cells["amount"], why or ""))
            continue
        if not cells["idempotency_key"]:
            problems.append(Problem(path.name, row, "idempotency_key", "", "is required"))
            continue
        instructions.append(
            PaymentInstruction(
                idempotency_key=cells["idempotency_key"],
                batch_ref=cells["batch_ref"],
                payee_uscc=cells["payee_uscc"],
                payee_name=cells["payee_name"],
                bank_code=cells["bank_code"],
                account=cells["account"],
                amount=amount,
                memo=cells["memo"],
            )
        )
    if problems:
        raise BankFileError(path.name, problems)
    return instructions


def read_result_file(path: Path) -> list[tuple[int, ItemResult]]:
    """A result file's rows, each checked; every problem of the file at once, or none."""
    table = read_table(path, RESULT_COLUMNS, source=path.name)
    results, problems = [], table.problems
    first_row: dict[str, int] = {}

    def problem(row: int, column: str, value: str, message: str) -> None:
        problems.append(Problem(path.name, row, column, value, message))

    for row, cells in table.records:
        key, status, reference, code, reason = (cells[c].strip() for c in RESULT_COLUMNS)
        before = len(problems)
        if not key:
            problem(row, "idempotency_key", key, "is required")
        elif key in first_row:
            problem(row, "idempotency_key", key, f"appears again: first on row {first_row[key]}")
        else:
            first_row[key] = row
        if status not in _RESULT_STATUSES:
            problem(row, "status", cells["status"], "must be one of paid, rejected, returned")
        if status in ("paid", "returned") and not reference:
            problem(row, "bank_reference", reference, f"is required when status is {status}")
        if len(reference) > BANK_REFERENCE_LENGTH:
            problem(
                row,
                "bank_reference",
                reference,
                f"is longer than {BANK_REFERENCE_LENGTH} characters",
            )
        if status in ("rejected", "returned") and not code:
            problem(row, "reason_code", code, f"is required when status is {status}")
        if len(code) > REASON_CODE_LENGTH:
            problem(row, "reason_code", code, f"is longer than {REASON_CODE_LENGTH} characters")
        if len(problems) == before:
            result = ItemResult(key, ItemStatus(status), reference or None, code or None)
            results.append((row, _with_reason(result, reason)))
    if problems:
        raise BankFileError(path.name, problems)
    return results


def write_result_file(path: Path, results: Iterable[ItemResult]) -> None:
    """Results as the bank would send them, CSV or XLSX by the suffix (for tests and demos)."""
    rows = (
        [
            r.idempotency_key,
            r.status.value,
            r.bank_reference or "",
            r.reason_code or "",
            r.reason or "",
        ]
        for r in results
    )
    write_table(path, format_of(path), RESULT_COLUMNS, rows)


def _with_reason(result: ItemResult, reason: str) -> ItemResult:
    return ItemResult(
        result.idempotency_key,
        result.status,
        result.bank_reference,
        result.reason_code,
        reason or None,
    )


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@dataclass
class _Folder(Generic[T]):
    """The parsed content of a folder's bank files, re-read only for files that changed.

    A file is known by its name, size and modification time; a file that changed or appeared
    is parsed again, one that vanished is forgotten. Every changed file is parsed before any is
    kept, so a bad file leaves the cache as it was.
    """

    folder: Path
    parse: Callable[[Path], T]
    _files: dict[str, tuple[tuple[int, int], T]] = field(default_factory=dict)

    def refresh(self) -> dict[str, T]:
        listing = {
            entry.name: (entry.stat().st_size, entry.stat().st_mtime_ns)
            for entry in os.scandir(self.folder)
            if entry.is_file()
            and not entry.name.startswith(".")
            and Path(entry.name).suffix.lower() in SUFFIXES
        }
        fresh: dict[str, tuple[tuple[int, int], T]] = {}
        problems: list[Problem] = []
        for name, stamp in listing.items():
            cached = self._files.get(name)
            if cached and cached[0] == stamp:
                fresh[name] = cached
                continue
            try:
                fresh[name] = (stamp, self.parse(self.folder / name))
            except BankFileError as exc:
                problems += exc.problems
        if problems:
            raise BankFileError(str(self.folder), problems)
        self._files = fresh
        return {name: content for name, (_, content) in fresh.items()}
