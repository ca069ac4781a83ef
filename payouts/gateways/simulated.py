"""A bank that lives in its own SQLite file, with seeded faults: the payouts' sparring partner.

It behaves like a separate system, not like a mock: its state is a SQLite file (WAL, busy timeout)
that any number of processes share, so Celery workers, or a worker killed mid-batch and
restarted, all talk to the same bank. Each call is one transaction, so a killed caller leaves the
bank with all of a call or none of it.

Like a real bank it deduplicates on the idempotency key: a key is executed at most once, ever,
and a repeated submit answers the stored result. A key that comes back with a different payee,
account or amount is refused (`InstructionConflict`); the memo and batch reference may differ.

One submit call, in order:
1. sleeps the call's latency (from `Faults.latency_ms`);
2. with `transient_rate`, raises `TransientBankError` having executed nothing;
3. settles due returns (below), then executes every key it has not seen: refused for good if its
   account is in `closed_accounts` or with `reject_rate` (the same refusal on every attempt), paid
   otherwise, with a bank reference;
4. commits, then with `lost_answer_rate` raises `OutcomeUnknown`: processed, answer lost.
A query may raise `TransientBankError` too (same rate), never `OutcomeUnknown`: reading is safe.

Returns: with `return_rate` a paid key is fated to come back. It stays PAID until
`return_delay_s` after its payment and turns RETURNED at the first call after that (submit, query,
`statement`, `stats`); the return is then a line of the statement, dated that day.

Every decision is a hash of the seed and the key or the call (`_faults`), so the same calls give
the same answers in any process. A call is known by its keys in their order and its attempt
number, how many calls with exactly those keys the bank has seen (a busy refusal counts, so a
retry is a new attempt with a new chance). Value dates are the clock's date (UTC by default).
Money is kept in whole fen (SQLite has no exact decimal).
Read helpers for tests and benchmarks: `times_paid`, `paid_total`, `returned_total`, `stats`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from payouts.gateways._faults import (
    CLOSED_ACCOUNT,
    Faults,
    call_fate,
    fingerprint,
    key_fate,
    latency_s,
)
from payouts.gateways._types import (
    ItemResult,
    ItemStatus,
    PaymentInstruction,
    StatementLine,
    from_fen,
    identity,
    one_per_key,
    to_fen,
)
from payouts.gateways.errors import InstructionConflict, OutcomeUnknown, TransientBankError
from subsidy.errors import ConfigurationError
from subsidy.localtime import local_date

_BUSY_TIMEOUT_S = 30.0
_SQLITE_NEEDED = (3, 35)  # INSERT ... RETURNING

_SCHEMA = """
CREATE TABLE IF NOT EXISTS payment (
    idempotency_key TEXT PRIMARY KEY,
    batch_ref TEXT NOT NULL,
    payee_uscc TEXT NOT NULL,
    payee_name TEXT NOT NULL,
    bank_code TEXT NOT NULL,
    account TEXT NOT NULL,
    amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
    memo TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('paid', 'rejected', 'returned')),
    bank_reference TEXT,
    reason_code TEXT,
    reason TEXT,
    submit_attempts INTEGER NOT NULL,
    return_due REAL,           -- unix time from which a fated return shows; NULL: never returns
    return_code TEXT,
    return_reason TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS payment_return_due ON payment (return_due)
    WHERE status = 'paid' AND return_due IS NOT NULL;
-- Money that moved, one row per payment or return. Deliberately without a unique key: if a key
-- were ever executed twice it would show here as two payments, not be hidden by a constraint.
CREATE TABLE IF NOT EXISTS movement (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('payment', 'return')),
    idempotency_key TEXT NOT NULL,
    bank_reference TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    value_date TEXT NOT NULL,
    reason TEXT
);
-- No index on movement: it is read for statements and checks, rarely; each index would cost
-- about a fifth of the insert time of a submit.
-- How many calls the bank has seen with exactly these keys: the attempt number of a call.
CREATE TABLE IF NOT EXISTS request (
    kind TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    calls INTEGER NOT NULL,
    PRIMARY KEY (kind, fingerprint)
) WITHOUT ROWID;
"""

_COLUMNS = "idempotency_key, status, bank_reference, reason_code, reason"
_IDENTITY = ("payee_uscc", "payee_name", "bank_code", "account", "amount_fen")


@dataclass(frozen=True)
class BankStats:
    """The bank's books at a glance; `max_times_paid` above 1 would be a double payment."""

    items: int
    paid: int
    rejected: int
    returned: int
    submit_attempts: int  # key submissions that reached execution (not those refused as busy)
    calls: int  # every call, including those refused as busy
    max_times_paid: int
    paid_total: Decimal  # every payment ever executed, returned or not
    returned_total: Decimal


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SimulatedBank:
    """See the module docstring. `path` is the bank's SQLite file, created if missing.

    Without `faults` the bank has the realistic default faults (`Faults()`); `Faults.none()` is
    a bank that never fails. `clock` (aware datetimes) dates the bookings and times the returns.
    """

    name = "simulated"

    def __init__(
        self,
        path: str | Path,
        faults: Faults | None = None,
        *,
        closed_accounts: Iterable[str] = (),
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.path = Path(path)
        self.faults = faults if faults is not None else Faults()
        self.closed_accounts = frozenset(closed_accounts)
        self._clock = clock
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid = 0
        with self._lock:
            self._connect().executescript(f"BEGIN IMMEDIATE; {_SCHEMA} COMMIT;")

    # -- the gateway -------------------------------------------------------------------------

    def submit(self, instructions: Sequence[PaymentInstruction]) -> list[ItemResult]:
        if not instructions:
            return []
        keys = [i.idempotency_key for i in instructions]
        call = fingerprint(keys)
        time.sleep(latency_s(self.faults, call))
        by_key = one_per_key(instructions)
        with self._transaction() as db:
            fate = call_fate(self.faults, "submit", call, self._count_call(db, "submit", call))
            if fate.transient:
                raise TransientBankError(f"{self.name} bank busy: {len(keys)} items not accepted")
            now = self._clock()
            self._settle_returns(db, now)
            known = self._stored(db, list(by_key))
            _refuse_conflicts(db, by_key, known)
            if known:
                db.execute(
                    "UPDATE payment SET submit_attempts = submit_attempts + 1 "
                    "WHERE idempotency_key IN (SELECT value FROM json_each(?))",
                    (json.dumps(list(known)),),
                )
            known.update(self._execute(db, [i for k, i in by_key.items() if k not in known], now))
        if fate.answer_lost:
            raise OutcomeUnknown(f"{self.name} bank: answer to a call of {len(keys)} items lost")
        return [known[key] for key in keys]

    def query(self, keys: Sequence[str]) -> list[ItemResult]:
        if not keys:
            return []
        call = fingerprint(keys)
        with self._transaction() as db:
            fate = call_fate(self.faults, "query", call, self._count_call(db, "query", call))
            if fate.transient:
                raise TransientBankError(f"{self.name} bank busy: query not answered")
            self._settle_returns(db, self._clock())
            known = self._stored(db, list(dict.fromkeys(keys)))
        return [known.get(key) or ItemResult(key, ItemStatus.NOT_FOUND) for key in keys]

    # -- the bank's own view ---------------------------------------------------------------

    def statement(self, from_date: date, to_date: date) -> list[StatementLine]:
        """Every payment and return with a value date in [from_date, to_date], in booking order."""
        with self._transaction() as db:
            self._settle_returns(db, self._clock())
            rows = db.execute(
                "SELECT value_date, bank_reference, idempotency_key, kind, amount_fen, reason "
                "FROM movement WHERE value_date BETWEEN ? AND ? ORDER BY id",
                (from_date.isoformat(), to_date.isoformat()),
            ).fetchall()
        return [
            StatementLine(date.fromisoformat(day), ref, key, kind, from_fen(fen), reason)
            for day, ref, key, kind, fen, reason in rows
        ]

    def times_paid(self, key: str) -> int:
        """How many times money left for this key: 0 or 1, or the bank is broken."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT count(*) FROM movement WHERE kind = 'payment' AND idempotency_key = ?",
                (key,),
            ).fetchone()
        return int(row[0])

    def payments_by_key(self) -> dict[str, int]:
        """How many times money left, for every key it ever left for (one scan, for checks of
        many keys at once)."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT idempotency_key, count(*) FROM movement WHERE kind = 'payment' "
                "GROUP BY idempotency_key"
            ).fetchall()
        return {key: int(count) for key, count in rows}

    def paid_total(self) -> Decimal:
        """Every payment ever executed, whether or not it came back."""
        return self.stats().paid_total

    def returned_total(self) -> Decimal:
        return self.stats().returned_total

    def stats(self) -> BankStats:
        with self._transaction() as db:
            self._settle_returns(db, self._clock())
            items, paid, rejected, returned, attempts = db.execute(
                "SELECT count(*), count(*) FILTER (WHERE status = 'paid'), "
                "count(*) FILTER (WHERE status = 'rejected'), "
                "count(*) FILTER (WHERE status = 'returned'), "
                "coalesce(sum(submit_attempts), 0) FROM payment"
            ).fetchone()
            paid_fen, returned_fen = db.execute(
                "SELECT coalesce(sum(amount_fen) FILTER (WHERE kind = 'payment'), 0), "
                "coalesce(sum(amount_fen) FILTER (WHERE kind = 'return'), 0) FROM movement"
            ).fetchone()
            (most,) = db.execute(
                "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM movement "
                "WHERE kind = 'payment' GROUP BY idempotency_key)"
            ).fetchone()
            (calls,) = db.execute("SELECT coalesce(sum(calls), 0) FROM request").fetchone()
        return BankStats(
            items,
            paid,
            rejected,
            returned,
            attempts,
            calls,
            most,
            from_fen(paid_fen),
            from_fen(returned_fen),
        )

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    # -- inside one transaction ------------------------------------------------------------

    def _count_call(self, db: sqlite3.Connection, kind: str, call: str) -> int:
        row = db.execute(
            "INSERT INTO request (kind, fingerprint, calls) VALUES (?, ?, 1) "
            "ON CONFLICT (kind, fingerprint) DO UPDATE SET calls = calls + 1 RETURNING calls",
            (kind, call),
        ).fetchone()
        return int(row[0])

    def _stored(self, db: sqlite3.Connection, keys: list[str]) -> dict[str, ItemResult]:
        # one parameter for any number of keys: SQLite limits the number of `?`, not their size
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM payment "
            "WHERE idempotency_key IN (SELECT value FROM json_each(?))",
            (json.dumps(keys),),
        )
        return {row[0]: ItemResult(row[0], ItemStatus(row[1]), *row[2:]) for row in rows}

    def _execute(
        self, db: sqlite3.Connection, instructions: list[PaymentInstruction], now: datetime
    ) -> dict[str, ItemResult]:
        payments, movements, results = [], [], {}
        value_date = local_date(now).isoformat()  # a bank books by its own business day
        return_due = now.timestamp() + self.faults.return_delay_s
        for i in instructions:
            fate = key_fate(self.faults, i.idempotency_key)
            fen = to_fen(i.amount)
            refusal = CLOSED_ACCOUNT if i.account in self.closed_accounts else fate.rejection
            if refusal is None:
                result = ItemResult(i.idempotency_key, ItemStatus.PAID, fate.bank_reference)
                movements.append((i.idempotency_key, fate.bank_reference, fen, value_date))
            else:
                result = ItemResult(i.idempotency_key, ItemStatus.REJECTED, None, *refusal)
            comes_back = fate.return_reason if refusal is None else None
            code, why = comes_back or (None, None)
            payments.append(
                (
                    i.idempotency_key,
                    i.batch_ref,
                    i.payee_uscc,
                    i.payee_name,
                    i.bank_code,
                    i.account,
                    fen,
                    i.memo,
                    result.status.value,
                    result.bank_reference,
                    result.reason_code,
                    result.reason,
                    None if comes_back is None else return_due,
                    code,
                    why,
                )
            )
            results[i.idempotency_key] = result
        db.executemany(
            "INSERT INTO payment (idempotency_key, batch_ref, payee_uscc, payee_name, bank_code, "
            "account, amount_fen, memo, status, bank_reference, reason_code, reason, "
            "submit_attempts, return_due, return_code, return_reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
            payments,
        )
        db.executemany(
            "INSERT INTO movement (kind, idempotency_key, bank_reference, amount_fen, value_date) "
            "VALUES ('payment', ?, ?, ?, ?)",
            movements,
        )
        return results

    def _settle_returns(self, db: sqlite3.Connection, now: datetime) -> None:
        """Payments whose return is due become RETURNED, and the money comes back."""
        due = db.execute(
            "SELECT idempotency_key, bank_reference, amount_fen, return_code, return_reason "
            "FROM payment WHERE status = 'paid' AND return_due IS NOT NULL AND return_due <= ?",
            (now.timestamp(),),
        ).fetchall()
        if not due:
            return
        db.executemany(
            "UPDATE payment SET status = 'returned', reason_code = ?, reason = ? "
            "WHERE idempotency_key = ?",
            [(code, why, key) for key, _, _, code, why in due],
        )
        db.executemany(
            "INSERT INTO movement (kind, idempotency_key, bank_reference, amount_fen, "
            "value_date, reason) VALUES ('return', ?, ?, ?, ?, ?)",
            [(key, ref, fen, local_date(now).isoformat(), why) for key, ref, fen, _, why in due],
        )

    # -- the connection --------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once so that callers queue instead of deadlocking."""
        with self._lock:
            db = self._connect()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except TransientBankError:
                db.execute("COMMIT")  # the call was counted, so that its retry is attempt n + 1
                raise
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _connect(self) -> sqlite3.Connection:
        # a connection must not cross a fork (Celery's prefork pool): each process opens its own
        if self._connection is None or self._pid != os.getpid():
            if sqlite3.sqlite_version_info < _SQLITE_NEEDED:
                raise ConfigurationError(
                    f"the simulated bank needs SQLite {'.'.join(map(str, _SQLITE_NEEDED))} or "
                    f"newer; this Python has {sqlite3.sqlite_version}"
                )
            db = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # survives a killed process, not power loss
            self._connection, self._pid = db, os.getpid()
        return self._connection


def _refuse_conflicts(
    db: sqlite3.Connection, by_key: dict[str, PaymentInstruction], known: dict[str, ItemResult]
) -> None:
    if not known:
        return
    rows = db.execute(
        f"SELECT idempotency_key, {', '.join(_IDENTITY)} FROM payment "
        "WHERE idempotency_key IN (SELECT value FROM json_each(?))",
        (json.dumps(list(known)),),
    )
    for key, *stored in rows:
        if tuple(stored) != identity(by_key[key]):
            raise InstructionConflict(
                f"key {key} was already submitted with a different payee, account or amount; "
                "a corrected payment needs a new idempotency key"
            )
