"""Gateways from configuration strings; a wrong string is a ConfigurationError saying why."""

from __future__ import annotations

from pathlib import Path

import pytest

from payouts.gateways import Faults, FileBank, SimulatedBank, gateway_from_url
from subsidy.errors import ConfigurationError


def test_a_simulated_bank_with_every_parameter(tmp_path: Path) -> None:
    bank = gateway_from_url(
        f"simulated://{tmp_path}/bank.db?seed=7&transient=0.1&reject=0.2&lost=0.3&returned=0.4"
        "&latency_ms=1-5&return_delay_s=60&closed=6222001,6222002"
    )
    assert isinstance(bank, SimulatedBank)
    assert bank.path == tmp_path / "bank.db"
    assert bank.faults == Faults(7, (1, 5), 0.1, 0.2, 0.3, 0.4, 60.0)
    assert bank.closed_accounts == {"6222001", "6222002"}
    assert bank.name == "simulated"


def test_a_simulated_bank_takes_the_default_faults(tmp_path: Path) -> None:
    bank = gateway_from_url(f"simulated:{tmp_path}/bank.db?latency_ms=3")
    assert isinstance(bank, SimulatedBank)
    assert bank.faults == Faults(latency_ms=(3, 3))


def test_a_relative_path_and_percent_escapes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    bank = gateway_from_url("simulated://my%20bank.db")
    assert isinstance(bank, SimulatedBank)
    assert bank.path == Path("my bank.db")
    assert (tmp_path / "my bank.db").exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_file_bank(tmp_path: Path, fmt: str) -> None:
    bank = gateway_from_url(f"files://{tmp_path}/exchange?format={fmt}")
    assert isinstance(bank, FileBank)
    assert (bank.directory, bank.format, bank.name) == (tmp_path / "exchange", fmt, "files")
    assert (tmp_path / "exchange" / "outbox").is_dir()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("paypal:///x", "scheme must be one of simulated, files"),
        ("/tmp/bank.db", "scheme"),
        ("simulated://?seed=1", "names no path"),
        ("simulated:///{dir}/b.db?sede=1", "unknown parameter sede"),
        ("simulated:///{dir}/b.db?seed=1&seed=2", "seed is given twice"),
        ("simulated:///{dir}/b.db?transient=2", "transient_rate must be between 0 and 1"),
        ("simulated:///{dir}/b.db?reject=lots", "could not convert"),
        ("simulated:///{dir}/b.db?latency_ms=9-1", "latency_ms"),
        ("files:///{dir}/x?format=pdf", "format must be csv, xlsx or iso20022"),
        ("files:///{dir}/x?seed=1", "unknown parameter seed"),
    ],
)
def test_a_wrong_url_says_what_is_wrong(tmp_path: Path, url: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        gateway_from_url(url.format(dir=tmp_path))
