"""The demo-registry generator: schema, determinism, validity, realism and file round trips."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from stdnum.cn import uscc as stdnum_uscc

from subsidy.registry import demo
from subsidy.registry.schema import EMPLOYEES, ENTERPRISES, MONEY_DTYPE, Table

HANGZHOU = {
    "上城区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区", "富阳区",
    "临安区", "临平区", "钱塘区", "桐庐县", "淳安县", "建德市",
}  # fmt: skip

Frames = tuple[pl.DataFrame, pl.DataFrame]


@pytest.fixture(scope="module")
def small() -> Frames:
    return demo.generate(200)


@pytest.fixture(scope="module")
def large() -> Frames:
    return demo.generate(5_000)


def _money_columns(table: Table) -> list[str]:
    return [c.name for c in table.columns if c.dtype == MONEY_DTYPE]


# ---------------------------------------------------------------------------- schema, determinism


def test_frames_have_the_contract_schema(large: Frames) -> None:
    enterprises, employees = large
    assert enterprises.schema == ENTERPRISES.polars_schema
    assert employees.schema == EMPLOYEES.polars_schema
    assert enterprises.height == 5_000


def test_same_seed_same_frames_other_seed_other_frames(small: Frames) -> None:
    again = demo.generate(200)
    assert_frame_equal(small[0], again[0])
    assert_frame_equal(small[1], again[1])
    other = demo.generate(200, seed=7)
    assert not small[0].equals(other[0])
    assert not small[1].equals(other[1])


def test_zero_firms_give_empty_frames_with_the_schema() -> None:
    enterprises, employees = demo.generate(0)
    assert (enterprises.height, employees.height) == (0, 0)
    assert enterprises.schema == ENTERPRISES.polars_schema
    assert employees.schema == EMPLOYEES.polars_schema


def test_negative_firm_count_is_refused() -> None:
    with pytest.raises(ValueError, match="firms"):
        demo.generate(-1)


# ---------------------------------------------------------------------------- validity


def test_every_uscc_is_valid_unique_and_in_its_district(large: Frames) -> None:
    enterprises, _ = large
    codes = enterprises["uscc"].to_list()
    assert all(stdnum_uscc.is_valid(code) for code in codes)
    assert len(set(codes)) == len(codes)
    region = {name: code for name, code, _ in demo._DISTRICTS}
    assert all(
        code.startswith("91" + region[district])
        for code, district in zip(codes, enterprises["district"], strict=True)
    )


def test_uscc_repeats_are_redrawn(monkeypatch: pytest.MonkeyPatch) -> None:
    """With only 2**8 bodies a district, 300 firms collide; the redraw must still end unique."""
    calls: list[int] = []

    def few_bodies(rng: np.random.Generator, n: int) -> demo.Ints:
        calls.append(n)
        return rng.integers(0, 2, size=(n, 8), dtype=np.int64)

    monkeypatch.setattr(demo, "_draw_org_bodies", few_bodies)
    codes = demo.generate(300)[0]["uscc"]
    assert len(calls) > 1
    assert codes.n_unique() == 300
    assert all(stdnum_uscc.is_valid(code) for code in codes)


def test_repeats_finds_later_duplicates_only() -> None:
    values = np.array([5, 3, 5, 7, 3, 5], dtype=np.int64)
    assert demo._repeats(values).tolist() == [2, 4, 5]
    assert demo._repeats(np.array([1, 2, 3], dtype=np.int64)).size == 0


def test_person_id_repeats_are_redrawn() -> None:
    ids = demo._person_ids(np.random.default_rng(1), 50, space=60)
    assert ids.n_unique() == 50
    assert ids.str.contains(r"^P0{13}\d{2}$").all()


def test_employees_belong_to_firms_and_have_unique_ids(large: Frames) -> None:
    enterprises, employees = large
    assert employees["person_id"].n_unique() == employees.height
    assert employees["person_id"].str.contains(r"^P\d{15}$").all()
    assert employees["uscc"].is_in(enterprises["uscc"].implode()).all()


def test_dates_are_ordered(large: Frames) -> None:
    enterprises, employees = large
    ref = demo.REFERENCE_DATE
    assert enterprises["established"].min() >= demo.FIRST_ESTABLISHED  # type: ignore[operator]
    assert enterprises["established"].max() <= ref  # type: ignore[operator]
    joined = employees.join(enterprises.select("uscc", "established"), on="uscc")
    assert joined.filter(pl.col("hire_date") < pl.col("established")).is_empty()
    assert joined.filter(pl.col("hire_date") > ref).is_empty()
    assert employees.filter(pl.col("leave_date") < pl.col("hire_date")).is_empty()
    assert employees.filter(pl.col("leave_date") > ref).is_empty()


def _month_day(dates: pl.Series) -> pl.Series:
    return dates.dt.month().cast(pl.Int32) * 100 + dates.dt.day().cast(pl.Int32)


def test_age_at_hire_is_18_to_60(large: Frames) -> None:
    _, employees = large
    born = employees.drop_nulls("birth_date")
    hired, birth = born["hire_date"], born["birth_date"]
    # dt.month() is Int8: cast first, or "* 100" wraps around silently
    before_birthday = _month_day(hired) < _month_day(birth)
    age = hired.dt.year() - birth.dt.year() - before_birthday.cast(pl.Int32)
    assert age.min() >= 18  # type: ignore[operator]
    assert age.max() <= 60  # type: ignore[operator]


def test_non_nullable_columns_have_no_nulls_and_nullable_ones_some(large: Frames) -> None:
    for table, frame in zip((ENTERPRISES, EMPLOYEES), large, strict=True):
        for column in table.columns:
            nulls = frame[column.name].null_count()
            assert (nulls > 0) == column.nullable, column.name


def test_money_is_exact_and_non_negative(large: Frames) -> None:
    for table, frame in zip((ENTERPRISES, EMPLOYEES), large, strict=True):
        for name in _money_columns(table):
            values = frame[name].drop_nulls()
            assert values.dtype == pl.Decimal(16, 2)
            assert (values >= 0).all(), name
            assert all(v.as_tuple().exponent == -2 for v in values.head(500).to_list())


def test_money_conversion_is_exact_for_large_amounts() -> None:
    fen = np.array([0, 1, 7, 99, 123_456_789_012_345, 9_999_999_999_999_999], dtype=np.int64)
    yuan = demo.yuan_series("m", fen)
    assert yuan.dtype == MONEY_DTYPE
    assert [str(v) for v in yuan.to_list()] == [
        "0.00", "0.01", "0.07", "0.99", "1234567890123.45", "99999999999999.99",
    ]  # fmt: skip


def test_wages_respect_the_minimum_and_centre_near_6500(large: Frames) -> None:
    wages = large[1]["monthly_wage"].drop_nulls().cast(pl.Float64)
    assert wages.min() >= 2_010  # type: ignore[operator]
    assert 5_500 <= wages.median() <= 7_500  # type: ignore[operator]


def test_ui_premium_is_half_a_percent_of_insured_annual_wages(small: Frames) -> None:
    enterprises, employees = small
    paying = employees.filter(pl.col("insured") & pl.col("leave_date").is_null())
    expected = paying.group_by("uscc").agg(
        (pl.col("monthly_wage").cast(pl.Float64).sum() * 12 * 0.005).alias("expected")
    )
    check = enterprises.join(expected, on="uscc", how="left").drop_nulls("ui_premium")
    gap = (check["ui_premium"].cast(pl.Float64) - check["expected"].fill_null(0)).abs()
    assert gap.max() <= 0.01  # type: ignore[operator]


# ---------------------------------------------------------------------------- realism


def test_about_ten_employees_a_firm_with_a_long_tail(large: Frames) -> None:
    enterprises, employees = large
    assert 7 <= employees.height / enterprises.height <= 14
    per_firm = employees.group_by("uscc").len()["len"]
    assert len(per_firm) < enterprises.height  # some firms have no employees
    assert per_firm.max() >= 300  # type: ignore[operator]


def test_headcount_follows_size(large: Frames) -> None:
    enterprises, employees = large
    counts = enterprises.join(employees.group_by("uscc").len(), on="uscc", how="left")
    mean = counts.group_by("size").agg(pl.col("len").fill_null(0).mean()).sort("len")
    assert mean["size"].to_list() == ["micro", "small", "medium", "large"]
    micro = counts.filter(pl.col("size") == "micro")["len"].fill_null(0)
    assert micro.max() <= 9  # type: ignore[operator]


def test_all_thirteen_districts_and_urban_weighting(large: Frames) -> None:
    districts = large[0]["district"].value_counts()
    assert set(districts["district"]) == HANGZHOU
    share = dict(zip(districts["district"], districts["count"] / 5_000, strict=True))
    assert share["上城区"] > 3 * share["淳安县"]


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("size", {"micro": 0.70, "small": 0.20, "medium": 0.08, "large": 0.02}),
        ("status", {"active": 0.92, "suspended": 0.05, "deregistered": 0.03}),
        ("tax_rating", {"A": 0.15, "B": 0.50, "M": 0.25, "C": 0.07, "D": 0.03}),
    ],
)
def test_category_shares(large: Frames, column: str, expected: dict[str, float]) -> None:
    counts = large[0][column].value_counts(normalize=True)
    share = dict(zip(counts[column], counts["proportion"], strict=True))
    assert set(share) == set(expected)
    for value, target in expected.items():
        assert share[value] == pytest.approx(target, abs=0.025), value


def test_industries_are_gbt4754_divisions_and_high_tech_favours_i_m_c(large: Frames) -> None:
    enterprises = large[0]
    assert enterprises["industry"].str.contains(r"^[A-T]\d{2}$").all()
    assert enterprises["industry"].is_in(list(demo._INDUSTRIES)).all()
    assert enterprises["high_tech"].mean() == pytest.approx(0.08, abs=0.015)
    assert enterprises["dishonest"].mean() == pytest.approx(0.02, abs=0.01)
    by_section = enterprises.group_by(pl.col("industry").str.head(1)).agg(
        pl.col("high_tech").mean()
    )
    rate = dict(by_section.iter_rows())
    assert min(rate["I"], rate["M"], rate["C"]) > 3 * rate["F"]


def test_deregistered_firms_have_no_current_staff(large: Frames) -> None:
    enterprises, employees = large
    gone = enterprises.filter(pl.col("status") == "deregistered").select("uscc")
    assert employees.join(gone, on="uscc")["leave_date"].null_count() == 0


def test_bank_accounts_are_19_digits(large: Frames) -> None:
    accounts = large[0]["bank_account"].drop_nulls()
    assert accounts.str.contains(r"^[1-9]\d{18}$").all()


# ---------------------------------------------------------------------------- files


def test_parquet_and_csv_are_byte_identical_across_writes(small: Frames, tmp_path: Path) -> None:
    for fmt in ("parquet", "csv"):
        first = demo.write(*small, tmp_path / "a", fmt)
        second = demo.write(*demo.generate(200), tmp_path / "b", fmt)
        for a, b in zip(first, second, strict=True):
            assert a.read_bytes() == b.read_bytes(), a.name


def test_xlsx_is_byte_identical_across_writes(tmp_path: Path) -> None:
    frames = demo.generate(10)
    first = demo.write(*frames, tmp_path / "a", "xlsx")
    second = demo.write(*frames, tmp_path / "b", "xlsx")
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
        with zipfile.ZipFile(a) as archive:
            assert {i.date_time for i in archive.infolist()} == {(2020, 6, 30, 0, 0, 0)}
            core = archive.read("docProps/core.xml").decode()
        assert core.count(">2020-06-30T00:00:00Z<") == 2  # created and modified


def test_write_names_files_and_creates_the_folder(small: Frames, tmp_path: Path) -> None:
    paths = demo.write(*small, tmp_path / "new" / "dir", "csv")
    assert paths == (tmp_path / "new/dir/enterprises.csv", tmp_path / "new/dir/employees.csv")
    assert all(p.is_file() for p in paths)


def test_parquet_round_trip(small: Frames, tmp_path: Path) -> None:
    paths = demo.write(*small, tmp_path, "parquet")
    for frame, path in zip(small, paths, strict=True):
        assert_frame_equal(pl.read_parquet(path), frame)


def test_csv_round_trip_and_text_form(small: Frames, tmp_path: Path) -> None:
    paths = demo.write(*small, tmp_path, "csv")
    for table, frame, path in zip((ENTERPRISES, EMPLOYEES), small, paths, strict=True):
        assert_frame_equal(pl.read_csv(path, schema=table.polars_schema), frame)
    header, first = paths[0].read_text(encoding="utf-8").splitlines()[:2]
    assert header == ",".join(ENTERPRISES.names)
    assert "true" in first or "false" in first
    assert (
        pl.read_csv(paths[0], infer_schema=False)["revenue"]
        .drop_nulls()
        .str.contains(r"^\d+\.\d{2}$")
        .all()
    )


def test_xlsx_round_trip(small: Frames, tmp_path: Path) -> None:
    paths = demo.write(*small, tmp_path, "xlsx")
    for table, frame, path in zip((ENTERPRISES, EMPLOYEES), small, paths, strict=True):
        money = _money_columns(table)
        as_read = {n: pl.Float64 if n in money else d for n, d in table.polars_schema.items()}
        read = pl.read_excel(path, engine="calamine", schema_overrides=as_read)
        expected = frame.with_columns(pl.col(money).cast(pl.Float64))
        assert_frame_equal(read, expected, check_exact=True)


def test_xlsx_too_many_rows_is_refused_before_writing(
    small: Frames, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,048,576 data rows plus the header are one too many; neither file may be written."""
    written: list[Path] = []
    monkeypatch.setitem(demo._WRITERS, "xlsx", lambda _frame, path: written.append(path))
    enterprises, employees = small
    too_many = employees.sample(demo.XLSX_MAX_ROWS, with_replacement=True, seed=0)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"employees\.xlsx.*1,048,576"):
        demo.write(enterprises, too_many, out, "xlsx")
    assert written == []
    assert not out.exists()
    assert demo.write(enterprises, too_many.head(-1), out, "xlsx") == tuple(written)


def test_unknown_format_is_refused(small: Frames, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="json"):
        demo.write(*small, tmp_path, "json")  # type: ignore[arg-type]
