"""Calls that must end by a deadline, made in a small pool of evaluator processes.

A rule evaluated for one firm runs rule-engine, and a regex in it runs Python's `re`, which holds
the GIL for as long as it backtracks: no thread, signal or timeout inside the process can stop it.
So whatever evaluates a rule while a request waits (a firm's page, a redemption's re-check, an
explanation, a policy's own tests) is sent to an evaluator process: started lazily (forkserver,
so never a fork of a server holding threads and connections), reused for every later call, and
killed and replaced when a call outlives its deadline. The caller then gets `DeadlineExceeded`
and answers normally for everything else; the request's own thread only waited on a pipe.

`run(function, *args)` needs `function` importable by name and its arguments and result
picklable. Measured on the 2-core development machine with a loaded CPU (load 5-14): one
policy's outcome for one firm costs 0.26-1.5 ms this way against 0.09-0.29 ms in-process, an
explanation 1.5-4 ms against 0.3-0.75 ms; a firm's page of thirteen policies pays 20-50 ms more.
That is small enough that every rule goes through an evaluator: none is trusted in-process. An
evaluator holds about 87 MB (polars and rule-engine imported). The deadline and the number of
processes are settings (`QINQING_RULE_DEADLINE_SECONDS`, `QINQING_RULE_EVALUATORS`).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from subsidy.settings import get_settings

T = TypeVar("T")

_WARM_UPS: list[Callable[[], None]] = []
"""Run by every new evaluator before it says it is ready (see `prepare_with`)."""


def prepare_with(warm_up: Callable[[], None]) -> None:
    """Have every evaluator run `warm_up` (a module-level function) before its first call, so
    parsing machinery built on first use (rule-engine's parser tables) never eats a deadline.
    The fork server imports its module once, so a new evaluator starts in milliseconds."""
    if warm_up not in _WARM_UPS:
        _WARM_UPS.append(warm_up)


class DeadlineExceeded(Exception):
    """The call did not finish within its deadline; its process was killed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"stopped after {seconds:g} s")


class EvaluatorsBusy(DeadlineExceeded):
    """No evaluator became free for the call within `QUEUE_DEADLINES` deadlines."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.args = (f"every evaluator stayed busy for {seconds * QUEUE_DEADLINES:g} s",)


QUEUE_DEADLINES = 10
"""How many deadlines a call may wait for a free evaluator: a healthy call holds one for about a
millisecond, a runaway rule for one deadline, so only a pile of runaway rules makes a call wait."""


class EvaluatorFailed(RuntimeError):
    """The function raised in the evaluator process (its traceback is the message)."""


_STARTUP_SECONDS = 60.0
"""How long a new evaluator may take to start (not counted in any call's deadline)."""


def _serve(connection: Connection, warm_ups: tuple[Callable[[], None], ...]) -> None:
    """The evaluator's loop: warm up, say so, then call and answer until the pipe closes."""
    for warm_up in warm_ups:
        warm_up()
    connection.send(("ready", None))
    while True:
        try:
            function, args = connection.recv()
        except (EOFError, OSError):
            return
        try:
            answer: tuple[str, Any] = ("ok", function(*args))
        except Exception:
            answer = ("failed", traceback.format_exc())
        connection.send(answer)


class _Evaluator:
    def __init__(self, context: Any) -> None:
        mine, theirs = context.Pipe()
        self.connection: Connection = mine
        self.process: BaseProcess = context.Process(
            target=_serve, args=(theirs, tuple(_WARM_UPS)), daemon=True, name="qinqing-evaluator"
        )
        self.process.start()
        theirs.close()
        if not self.connection.poll(_STARTUP_SECONDS):
            self.kill()
            raise EvaluatorFailed(f"an evaluator process did not start in {_STARTUP_SECONDS:g} s")
        self.connection.recv()

    def call(self, function: Callable[..., Any], args: tuple[Any, ...], seconds: float) -> bool:
        """Send the call; whether its answer came within `seconds`."""
        self.connection.send((function, args))
        return self.connection.poll(seconds)

    def answer(self) -> Any:
        status, value = self.connection.recv()
        if status == "failed":
            raise EvaluatorFailed(value)
        return value

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.connection.close()


class Pool:
    """Up to `size` evaluators, each serving one call at a time."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._idle: list[_Evaluator] = []
        self._started = 0
        self._changed = threading.Condition()
        self._context: Any = None

    def _new(self) -> _Evaluator:
        if self._context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(sorted({w.__module__ for w in _WARM_UPS}))
            self._context = context
        return _Evaluator(self._context)

    def _acquire(self, until: float) -> _Evaluator | None:
        with self._changed:
            while not self._idle and self._started >= self.size:
                left = until - time.monotonic()
                if left <= 0 or not self._changed.wait(left):
                    return None
            if self._idle:
                return self._idle.pop()
            self._started += 1
        try:
            return self._new()
        except BaseException:
            self._release(None)
            raise

    def _release(self, evaluator: _Evaluator | None) -> None:
        with self._changed:
            if evaluator is None:
                self._started -= 1
            else:
                self._idle.append(evaluator)
            self._changed.notify()

    def run(self, function: Callable[..., T], args: tuple[Any, ...], seconds: float) -> T:
        """`function(*args)` in an evaluator, or DeadlineExceeded when it runs longer than
        `seconds` (EvaluatorsBusy when no evaluator became free in time). Starting an evaluator
        does not count: a deadline bounds the rule, not the machine's load."""
        evaluator = self._acquire(time.monotonic() + seconds * QUEUE_DEADLINES)
        if evaluator is None:
            raise EvaluatorsBusy(seconds)
        try:
            if not evaluator.call(function, args, seconds):
                raise DeadlineExceeded(seconds)
            result = evaluator.answer()
        except EvaluatorFailed:
            self._release(evaluator)
            raise
        except BaseException:  # timed out, or the pipe broke: that process is done
            evaluator.kill()
            self._release(None)
            self._start_spare()
            raise
        self._release(evaluator)
        return result  # type: ignore[no-any-return]

    def _start_spare(self) -> None:
        """A replacement started aside, so the next call does not wait for it to start."""

        def start() -> None:
            with self._changed:
                if self._idle or self._started >= self.size:
                    return
                self._started += 1
            try:
                spare = self._new()
            except Exception:
                self._release(None)
                return
            self._release(spare)

        threading.Thread(target=start, daemon=True, name="qinqing-evaluator-spare").start()

    def close(self) -> None:
        with self._changed:
            idle, self._idle = self._idle, []
            self._started -= len(idle)
        for evaluator in idle:
            evaluator.kill()


_pool: Pool | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def pool() -> Pool:
    """The process's pool, sized by the settings when first used. A process forked from one
    that had a pool (a prefork worker) starts its own: the pipes it inherited are its parent's."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool, _pool_pid = Pool(get_settings().rule_evaluators), os.getpid()
        return _pool


def run(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` in an evaluator process, within `QINQING_RULE_DEADLINE_SECONDS`."""
    return pool().run(function, args, get_settings().rule_deadline_seconds)
