"""A gateway from one configuration string, so that settings and CLI options stay plain text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, unquote

from payouts.gateways._faults import Faults
from payouts.gateways._pain001 import Debtor
from payouts.gateways._types import BankGateway
from payouts.gateways.files import FileBank
from payouts.gateways.simulated import SimulatedBank
from subsidy.errors import ConfigurationError
from subsidy.settings import get_settings

_DEFAULTS = Faults()
_FAULT_PARAMETERS = {"seed", "transient", "reject", "lost", "returned", "latency_ms"}
_SIMULATED_PARAMETERS = _FAULT_PARAMETERS | {"return_delay_s", "closed"}


def gateway_from_url(url: str) -> BankGateway:
    """The gateway a URL names; ConfigurationError says what is wrong with a bad one.

    Grammar: `scheme:[//]path[?name=value&...]`. The path is everything between the scheme (with
    its optional `//`) and the `?`, percent-decoded: `simulated:///var/bank.db` is the absolute
    path /var/bank.db, `simulated:bank.db` and `simulated://bank.db` are relative to the working
    directory. Unknown or repeated parameters are refused, so a typo cannot go unnoticed.

    `simulated:PATH` -- `SimulatedBank` on the SQLite file PATH. Parameters, each defaulting to
    the `Faults` default: `seed` (int, 0), `transient` (rate, 0.02), `reject` (0.005), `lost`
    (0.01), `returned` (0.003), `latency_ms` (`LOW-HIGH` or one number of milliseconds, 0-0),
    `return_delay_s` (seconds, 0), `closed` (comma-separated account numbers always refused).
        simulated:///srv/bank.db?seed=7&transient=0.02&reject=0.005&lost=0.01&returned=0.003&latency_ms=0-0

    `files:DIR` -- `FileBank` on the directory DIR. Parameter: `format` (csv, xlsx or iso20022,
    csv). `iso20022` writes pain.001.001.09 and reads pain.002 answers; its debtor (the paying
    department's name, account and CNAPS code) comes from QINQING_BANK_DEBTOR_NAME, _ACCOUNT,
    _CNAPS and _BIC.
        files:///srv/bank-exchange?format=xlsx
        files:///srv/bank-exchange?format=iso20022
    """
    scheme, separator, rest = url.partition(":")
    if not separator or scheme not in _BUILDERS:
        raise ConfigurationError(
            f"bank gateway URL {url!r}: the scheme must be one of {', '.join(_BUILDERS)}"
        )
    location, _, query = rest.removeprefix("//").partition("?")
    path = unquote(location)
    if not path:
        raise ConfigurationError(f"bank gateway URL {url!r} names no path")
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in parameters:
            raise ConfigurationError(f"bank gateway URL {url!r}: {name} is given twice")
        parameters[name] = value
    try:
        return _BUILDERS[scheme](Path(path), parameters)
    except (ValueError, KeyError) as exc:
        raise ConfigurationError(f"bank gateway URL {url!r}: {exc}") from exc


def _simulated(path: Path, parameters: dict[str, str]) -> BankGateway:
    _refuse_unknown(parameters, _SIMULATED_PARAMETERS)
    low, _, high = parameters.get("latency_ms", "").partition("-")
    latency = (int(low), int(high or low)) if low else _DEFAULTS.latency_ms
    faults = Faults(
        seed=int(parameters.get("seed", _DEFAULTS.seed)),
        latency_ms=latency,
        transient_rate=_number(parameters, "transient", _DEFAULTS.transient_rate),
        reject_rate=_number(parameters, "reject", _DEFAULTS.reject_rate),
        lost_answer_rate=_number(parameters, "lost", _DEFAULTS.lost_answer_rate),
        return_rate=_number(parameters, "returned", _DEFAULTS.return_rate),
        return_delay_s=_number(parameters, "return_delay_s", _DEFAULTS.return_delay_s),
    )
    closed = [a for a in parameters.get("closed", "").split(",") if a]
    return SimulatedBank(path, faults, closed_accounts=closed)


def _files(path: Path, parameters: dict[str, str]) -> BankGateway:
    _refuse_unknown(parameters, {"format"})
    fmt = parameters.get("format", "csv")
    if fmt not in _FILE_FORMATS:
        raise ValueError(f"format must be csv, xlsx or iso20022, not {fmt!r}")
    if fmt == "iso20022":
        return FileBank(path, "iso20022", debtor_from_settings())
    return FileBank(path, "xlsx" if fmt == "xlsx" else "csv")


_FILE_FORMATS = ("csv", "xlsx", "iso20022")


def debtor_from_settings() -> Debtor:
    """The paying department as the settings give it; ConfigurationError names what is missing."""
    settings = get_settings()
    missing = [
        f"QINQING_BANK_DEBTOR_{name.upper()}"
        for name in ("name", "account", "cnaps")
        if not getattr(settings, f"bank_debtor_{name}")
    ]
    if missing:
        raise ConfigurationError(
            f"{', '.join(missing)}: an ISO 20022 file bank (format=iso20022) needs the paying "
            "department's name, account and CNAPS2 participant code"
        )
    return Debtor(
        name=settings.bank_debtor_name,
        account=settings.bank_debtor_account,
        cnaps=settings.bank_debtor_cnaps,
        bic=settings.bank_debtor_bic,
    )


def _number(parameters: dict[str, str], name: str, default: float) -> float:
    text = parameters.get(name)
    return default if text is None else float(text)


def _refuse_unknown(parameters: dict[str, str], known: set[str]) -> None:
    unknown = sorted(set(parameters) - known)
    if unknown:
        raise ValueError(
            f"unknown parameter {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )


_BUILDERS: dict[str, Callable[[Path, dict[str, str]], BankGateway]] = {
    "simulated": _simulated,
    "files": _files,
}
