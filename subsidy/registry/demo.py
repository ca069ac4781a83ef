"""Deterministic demo registry: a Hangzhou-like population of enterprises and their employees.

`generate(firms, seed)` draws everything from one `numpy.random.default_rng(seed)`, vectorised, so
the same seed gives the same frames on every machine and 200,000 firms take a few seconds. All
dates are relative to `REFERENCE_DATE` (2020-06-30), never to today.

The distributions aim at data on which subsidy policies behave as they would on the real registry:

* district: Hangzhou's 13 districts weighted by economic size, so the urban core (上城, 西湖, 滨江,
  余杭, 萧山) holds most firms and the rural counties (淳安, 桐庐, 建德) few.
* industry: GB/T 4754-2017 divisions (`I65`, `C39`, ...) weighted like Hangzhou's register:
  wholesale/retail (F), leasing and business services (L), IT (I), science (M) and manufacturing
  (C) dominate.
* size: micro 70 % / small 20 % / medium 8 % / large 2 %. Head count, revenue and age follow
  size: micro firms have 0-9 employees, large ones hundreds to thousands, about 10 a firm on
  average (a long lognormal tail); bigger firms are older.
* established: 1990-01-01 .. 2020-06-30, beta-skewed to recent years as registrations have boomed.
* status active 92 % / suspended 5 % / deregistered 3 % (a deregistered firm's staff have all
  left); tax rating A 15 / B 50 / M 25 / C 7 / D 3 %; dishonest about 2 %, far likelier with a C or
  D rating; high-tech about 8 %, mostly in I, M and C, as certification favours them.
* money is exact: drawn as integer fen and cast to Decimal(16, 2). Revenue is lognormal by size,
  tax paid a beta-distributed share of it (mean about 4 %), and the unemployment-insurance premium
  0.5 % of the annual wages of the insured employees still employed at the reference date.
* employees: hire date between the firm's establishment and the reference date (skewed to recent),
  about 15 % have left (leave date after hire), 90 % insured, monthly wage lognormal with median
  about 6,500 yuan scaled by industry (floor 2,010, Hangzhou's minimum wage), 45 % local hukou,
  age at hire 18..60.
* nullable columns carry a few nulls, as real files do: revenue, tax paid and premium 1 % each,
  bank account 3 %, wage 1 %, birth date 0.5 %.

`write(enterprises, employees, out_dir, fmt)` writes both frames as Parquet, CSV or XLSX;
the same frames give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.writer.excel import ExcelWriter

from subsidy.registry.schema import EMPLOYEES, ENTERPRISES, MONEY_DTYPE

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Format = Literal["parquet", "csv", "xlsx"]

REFERENCE_DATE = dt.date(2020, 6, 30)
"""The registry's "today": the latest date any generated row carries."""
FIRST_ESTABLISHED = dt.date(1990, 1, 1)
XLSX_MAX_ROWS = 1_048_576
"""Rows in one XLSX sheet, the header row included."""

_EPOCH = dt.date(1970, 1, 1)
_REF = (REFERENCE_DATE - _EPOCH).days
_FIRST = (FIRST_ESTABLISHED - _EPOCH).days
_FIXED_TIMESTAMP = dt.datetime(2020, 6, 30, 0, 0, 0)

# (name, region code, weight ~ share of the city's firms)
_DISTRICTS = (
    ("上城区", "330102", 14.0),
    ("拱墅区", "330105", 11.0),
    ("西湖区", "330106", 13.0),
    ("滨江区", "330108", 10.0),
    ("萧山区", "330109", 13.0),
    ("余杭区", "330110", 13.0),
    ("富阳区", "330111", 6.0),
    ("临安区", "330112", 4.0),
    ("临平区", "330113", 6.0),
    ("钱塘区", "330114", 5.0),
    ("桐庐县", "330122", 2.0),
    ("淳安县", "330127", 1.5),
    ("建德市", "330182", 2.0),
)

# GB/T 4754-2017 division -> weight (percent of firms)
_INDUSTRIES = {
    "A01": 0.8, "A03": 0.4, "A05": 0.3,
    "C13": 0.4, "C17": 1.2, "C18": 1.0, "C21": 0.4, "C22": 0.4, "C26": 0.6, "C27": 0.5,
    "C29": 0.9, "C33": 1.2, "C34": 1.5, "C35": 1.0, "C36": 0.6, "C38": 1.3, "C39": 1.4,
    "C40": 0.6,
    "D44": 0.5,
    "E47": 1.5, "E48": 1.5, "E50": 2.5,
    "F51": 18.0, "F52": 12.0,
    "G54": 2.0, "G58": 1.5, "G59": 0.5,
    "H61": 0.5, "H62": 2.5,
    "I63": 0.5, "I64": 4.5, "I65": 6.0,
    "J67": 0.5, "J69": 0.5,
    "K70": 3.0,
    "L71": 1.5, "L72": 13.0,
    "M73": 1.0, "M74": 4.5, "M75": 6.0,
    "N77": 0.5, "N78": 0.3,
    "O80": 1.0, "O81": 1.0,
    "P83": 1.2,
    "Q84": 0.6,
    "R86": 0.3, "R87": 1.0, "R88": 1.2, "R89": 0.5, "R90": 0.5,
}  # fmt: skip

_SECTIONS = "ACDEFGHIJKLMNOPQR"
# section -> (name suffixes, wage multiplier, high-tech propensity)
_SECTION_TRAITS: dict[str, tuple[tuple[str, ...], float, float]] = {
    "A": (("农业开发有限公司", "生态农业有限公司"), 0.7, 0.3),
    "C": (
        ("机械有限公司", "电子有限公司", "制造有限公司", "实业有限公司", "新材料有限公司"),
        1.0,
        3.0,
    ),
    "D": (("能源有限公司",), 1.3, 1.0),
    "E": (("建设有限公司", "建筑工程有限公司", "装饰工程有限公司"), 1.0, 0.3),
    "F": (("贸易有限公司", "商贸有限公司", "进出口有限公司", "供应链有限公司"), 0.9, 0.1),
    "G": (("物流有限公司", "运输有限公司"), 0.95, 0.1),
    "H": (("餐饮管理有限公司", "酒店管理有限公司"), 0.7, 0.05),
    "I": (("科技有限公司", "网络科技有限公司", "信息技术有限公司", "软件有限公司"), 1.5, 6.0),
    "J": (("投资管理有限公司", "资产管理有限公司"), 1.5, 0.2),
    "K": (("房地产开发有限公司", "物业管理有限公司"), 1.1, 0.05),
    "L": (("企业管理咨询有限公司", "商务服务有限公司", "科技有限公司"), 0.95, 0.3),
    "M": (("科技有限公司", "检测技术有限公司", "设计有限公司", "技术服务有限公司"), 1.25, 5.0),
    "N": (("环境科技有限公司",), 1.0, 1.0),
    "O": (("家政服务有限公司", "汽车服务有限公司"), 0.75, 0.05),
    "P": (("教育科技有限公司", "文化艺术培训有限公司"), 0.9, 0.2),
    "Q": (("医疗科技有限公司", "健康管理有限公司"), 1.1, 1.0),
    "R": (("文化传媒有限公司", "影视文化有限公司", "体育发展有限公司"), 1.0, 0.5),
}
_BRAND_CHARS = "华信达恒泰瑞博安康宏盛嘉鑫源创智云海天启新德欣晨卓远航锦伟丰优宁正元星辰景峰迪和"

_SIZES = ("micro", "small", "medium", "large")
_SIZE_WEIGHTS = (70.0, 20.0, 8.0, 2.0)
# per size: (head-count median, sigma, min, max), (revenue median yuan, sigma), age skew
_HEADCOUNT = np.array(
    [(2.2, 0.9, 0, 9), (11.0, 0.6, 1, 99), (28.0, 0.6, 5, 999), (110.0, 0.8, 20, 8000)]
)
_REVENUE = np.array([(1.2e6, 0.9), (1.2e7, 0.9), (1.2e8, 0.9), (1.5e9, 1.0)])
_AGE_SKEW = np.array([1.0, 1.5, 2.0, 2.6])

_STATUSES = (("active", 92.0), ("suspended", 5.0), ("deregistered", 3.0))
_RATINGS = (("A", 15.0), ("B", 50.0), ("M", 25.0), ("C", 7.0), ("D", 3.0))
_DISHONEST_BY_RATING = np.array([0.01, 0.01, 0.01, 0.05, 0.25])
_HIGH_TECH_SHARE = 0.08

_WAGE_MEDIAN = 6_500.0
_WAGE_SIGMA = 0.45
_MIN_WAGE = 2_010.0
_MAX_WAGE = 200_000.0
_UI_RATE_PER_MONTH_PERCENT = 6  # 0.5 % of 12 months' wage = 6 % of one month's

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2])  # GB 11714 organisation-code check


# ---------------------------------------------------------------------------- small helpers


def _choice(rng: np.random.Generator, n: int, weights: Sequence[float]) -> Ints:
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(p), size=n, p=p / p.sum()).astype(np.int64)


def _take(values: Sequence[str], idx: Ints, name: str) -> pl.Series:
    return pl.Series(name, list(values), dtype=pl.String).gather(idx)


def _lognormal(rng: np.random.Generator, median: Floats, sigma: Floats) -> Floats:
    return np.exp(np.log(median) + sigma * rng.standard_normal(len(median)))


def _dates(name: str, days: Ints) -> pl.Series:
    return pl.Series(name, days.astype(np.int32)).cast(pl.Date)


def yuan_series(name: str, fen: Ints) -> pl.Series:
    """Integer fen -> exact Decimal(16, 2) yuan.

    Cast to Decimal(18, 2) (``123`` -> ``123.00``), divide by the integer 100, keeping scale 2
    exactly, then narrow. No float is involved.
    """
    yuan = pl.Series(name, fen, dtype=pl.Int64).cast(pl.Decimal(18, 2)) / 100
    return yuan.cast(MONEY_DTYPE)


def _with_nulls(rng: np.random.Generator, series: pl.Series, share: float) -> pl.Series:
    return series.set(pl.Series(rng.random(len(series)) < share), None)


def _repeats(values: Ints) -> Ints:
    """Positions holding a value already seen earlier (sorting beats hashing here)."""
    ordered = np.sort(values)
    if not (ordered[1:] == ordered[:-1]).any():
        return np.empty(0, dtype=np.int64)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    later = ordered[1:] == ordered[:-1]
    return np.sort(order[1:][later]).astype(np.int64)


def _ascii(codes: npt.NDArray[np.uint8], name: str) -> pl.Series:
    """Rows of ASCII byte codes -> one string per row."""
    width = codes.shape[1]
    raw = np.ascontiguousarray(codes).view(f"S{width}").ravel()
    return pl.Series(name, raw).cast(pl.String)


# ---------------------------------------------------------------------------- USCC


def _draw_org_bodies(rng: np.random.Generator, n: int) -> Ints:
    """The 8 body characters of organisation codes, as indices into the USCC alphabet."""
    return rng.integers(0, len(_USCC_ALPHABET), size=(n, 8), dtype=np.int64)


def _org_check(body: Ints) -> Ints:
    """GB 11714 check character (0-9 or X) as an index into the USCC alphabet."""
    values = np.array([int(c, 36) for c in _USCC_ALPHABET])[body]
    check = (11 - (values @ _ORG_WEIGHTS) % 11) % 11
    return np.where(check == 10, _USCC_ALPHABET.index("X"), check).astype(np.int64)


def _uscc_strings(regions: Ints, body: Ints) -> pl.Series:
    n = len(regions)
    head = np.column_stack([np.full(n, 9), np.full(n, 1), regions, body, _org_check(body)])
    check = (31 - (head @ _USCC_WEIGHTS) % 31) % 31
    codes = np.column_stack([head, check])
    alphabet = np.frombuffer(_USCC_ALPHABET.encode(), dtype=np.uint8)
    return _ascii(alphabet[codes], "uscc")


def _unique_uscc(rng: np.random.Generator, regions: Ints) -> pl.Series:
    """Valid GB 32100 codes, one a firm, redrawing the bodies of repeats until all differ."""
    body = _draw_org_bodies(rng, len(regions))
    while True:
        codes = _uscc_strings(regions, body)
        repeats = np.flatnonzero(~codes.is_first_distinct().to_numpy())
        if repeats.size == 0:
            return codes
        body[repeats] = _draw_org_bodies(rng, repeats.size)


# ---------------------------------------------------------------------------- enterprises


def _region_digits(district: Ints) -> Ints:
    digits = np.array([[int(c) for c in code] for _, code, _ in _DISTRICTS], dtype=np.int64)
    return digits[district]


def _names(rng: np.random.Generator, section: Ints, size: Ints) -> pl.Series:
    """杭州 + two brand characters + an industry suffix; some large firms are 股份有限公司."""
    n = len(section)
    pools = [_SECTION_TRAITS[s][0] for s in _SECTIONS]
    offsets = np.cumsum([0] + [len(p) for p in pools])
    counts = np.diff(offsets)
    suffix = offsets[section] + (rng.random(n) * counts[section]).astype(np.int64)
    chars = list(_BRAND_CHARS)
    brand = rng.integers(0, len(chars), size=(2, n), dtype=np.int64)
    names = "杭州" + _take(chars, brand[0], "") + _take(chars, brand[1], "")
    names = names + _take([s for p in pools for s in p], suffix, "")
    joint_stock = pl.Series((size == 3) & (rng.random(n) < 0.4))
    shares = names.str.replace("有限公司$", "股份有限公司")
    return names.zip_with(~joint_stock, shares).alias("name")


def _headcount(rng: np.random.Generator, size: Ints) -> Ints:
    median, sigma, low, high = _HEADCOUNT[size].T
    return np.clip(np.floor(_lognormal(rng, median, sigma)), low, high).astype(np.int64)


def _established(rng: np.random.Generator, size: Ints) -> Ints:
    """Days since 1970; the share of the span back from the reference date is beta-skewed."""
    back = rng.beta(_AGE_SKEW[size], 3.0)
    return _REF - np.floor(back * (_REF - _FIRST + 1)).astype(np.int64)


def _high_tech(rng: np.random.Generator, section: Ints) -> Bools:
    propensity = np.array([_SECTION_TRAITS[s][2] for s in _SECTIONS])
    weights = np.array(list(_INDUSTRIES.values()))
    mean = float((propensity[_section_of_industries()] * weights).sum() / weights.sum())
    p = propensity[section] * _HIGH_TECH_SHARE / mean
    return rng.random(len(section)) < p


def _revenue_fen(rng: np.random.Generator, size: Ints) -> Ints:
    median, sigma = _REVENUE[size].T
    return np.rint(_lognormal(rng, median, sigma) * 100).astype(np.int64)


def _bank_accounts(rng: np.random.Generator, n: int) -> pl.Series:
    high = pl.Series(rng.integers(10**8, 10**9, size=n, dtype=np.int64)).cast(pl.String)
    low = pl.Series(rng.integers(0, 10**10, size=n, dtype=np.int64)).cast(pl.String)
    accounts = (high + low.str.zfill(10)).alias("bank_account")
    return _with_nulls(rng, accounts, 0.03)


# ---------------------------------------------------------------------------- employees


def _section_of_industries() -> Ints:
    return np.array([_SECTIONS.index(code[0]) for code in _INDUSTRIES], dtype=np.int64)


def _wage_fen(rng: np.random.Generator, section: Ints) -> Ints:
    """Lognormal around 6,500 yuan, scaled by industry; the scale is normalised over industries."""
    multiplier = np.array([_SECTION_TRAITS[s][1] for s in _SECTIONS])
    weights = np.array(list(_INDUSTRIES.values()))
    norm = math.exp((np.log(multiplier[_section_of_industries()]) * weights).sum() / weights.sum())
    median = _WAGE_MEDIAN * multiplier[section] / norm
    wage = np.clip(
        _lognormal(rng, median, np.full(len(section), _WAGE_SIGMA)), _MIN_WAGE, _MAX_WAGE
    )
    return np.rint(wage * 100).astype(np.int64)


def _later(rng: np.random.Generator, start: Ints, skew: float) -> Ints:
    """A day in start..reference date; skew > 1 leans towards the reference date."""
    share = rng.random(len(start)) ** (1.0 / skew)  # Beta(skew, 1), cheaply
    return np.minimum(start + np.floor(share * (_REF - start + 1)).astype(np.int64), _REF)


def _birth(rng: np.random.Generator, hire: Ints) -> Ints:
    """Age at hire 18..60 full years: 6,575 days always exceed 18 years, 21,914 stay within 60."""
    age = np.clip(np.rint(rng.normal(32.0, 9.0, size=len(hire)) * 365.25), 6_575, 21_914)
    return hire - age.astype(np.int64)


def _employees(
    rng: np.random.Generator, firms: _Firms, uscc: pl.Series
) -> tuple[pl.DataFrame, Ints]:
    """The employees frame and, per firm, the unemployment-insurance premium in fen."""
    firm = np.repeat(np.arange(len(uscc), dtype=np.int64), firms.headcount)
    n = len(firm)
    hire = _later(rng, firms.established[firm], 1.6)
    left = (rng.random(n) < 0.125) | firms.deregistered[firm]
    leave = _later(rng, hire, 1.0)
    insured = rng.random(n) < 0.90
    wage = _wage_fen(rng, firms.section[firm])
    wage_null = rng.random(n) < 0.01
    paying = insured & ~left & ~wage_null
    wages_paid = np.bincount(firm, weights=np.where(paying, wage, 0), minlength=len(uscc))
    premium = (np.rint(wages_paid).astype(np.int64) * _UI_RATE_PER_MONTH_PERCENT + 50) // 100
    frame = pl.DataFrame(
        [
            _person_ids(rng, n),
            uscc.gather(firm),
            _dates("hire_date", hire),
            _dates("leave_date", leave).set(pl.Series(~left), None),
            pl.Series("insured", insured),
            yuan_series("monthly_wage", wage).set(pl.Series(wage_null), None),
            pl.Series("local_hukou", rng.random(n) < 0.45),
            _with_nulls(rng, _dates("birth_date", _birth(rng, hire)), 0.005),
        ]
    )
    return frame.select(EMPLOYEES.names), premium


def _person_ids(rng: np.random.Generator, n: int, space: int = 10**15) -> pl.Series:
    """'P' + 15 digits, unique: repeats are redrawn."""
    ids = rng.integers(0, space, size=n, dtype=np.int64)
    while (repeats := _repeats(ids)).size:
        ids[repeats] = rng.integers(0, space, size=repeats.size, dtype=np.int64)
    return ("P" + pl.Series(ids).cast(pl.String).str.zfill(15)).alias("person_id")


# ---------------------------------------------------------------------------- firms


@dataclass(frozen=True)
class _Firms:
    """The firms' drawn attributes, as indices into the tables above or days since 1970."""

    district: Ints
    industry: Ints
    section: Ints
    size: Ints
    status: Ints
    rating: Ints
    dishonest: Bools
    high_tech: Bools
    established: Ints
    headcount: Ints

    @property
    def deregistered(self) -> Bools:
        code = [s for s, _ in _STATUSES].index("deregistered")
        return np.asarray(self.status == code, dtype=np.bool_)


def _draw_firms(rng: np.random.Generator, n: int) -> _Firms:
    district = _choice(rng, n, [w for _, _, w in _DISTRICTS])
    industry = _choice(rng, n, list(_INDUSTRIES.values()))
    section = _section_of_industries()[industry]
    size = _choice(rng, n, _SIZE_WEIGHTS)
    status = _choice(rng, n, [w for _, w in _STATUSES])
    rating = _choice(rng, n, [w for _, w in _RATINGS])
    return _Firms(
        district=district,
        industry=industry,
        section=section,
        size=size,
        status=status,
        rating=rating,
        dishonest=rng.random(n) < _DISHONEST_BY_RATING[rating],
        high_tech=_high_tech(rng, section),
        established=_established(rng, size),
        headcount=_headcount(rng, size),
    )


def _enterprises(
    rng: np.random.Generator, firms: _Firms, uscc: pl.Series, premium: Ints
) -> pl.DataFrame:
    revenue = _revenue_fen(rng, firms.size)
    tax = np.rint(revenue * rng.beta(2.0, 45.0, size=len(revenue))).astype(np.int64)
    frame = pl.DataFrame(
        [
            uscc,
            _names(rng, firms.section, firms.size),
            _take([d for d, _, _ in _DISTRICTS], firms.district, "district"),
            _take(list(_INDUSTRIES), firms.industry, "industry"),
            _dates("established", firms.established),
            _take(_SIZES, firms.size, "size"),
            _take([s for s, _ in _STATUSES], firms.status, "status"),
            _take([r for r, _ in _RATINGS], firms.rating, "tax_rating"),
            pl.Series("dishonest", firms.dishonest),
            pl.Series("high_tech", firms.high_tech),
            _with_nulls(rng, yuan_series("revenue", revenue), 0.01),
            _with_nulls(rng, yuan_series("tax_paid", tax), 0.01),
            _with_nulls(rng, yuan_series("ui_premium", premium), 0.01),
            _bank_accounts(rng, len(revenue)),
        ]
    )
    return frame.select(ENTERPRISES.names)


# ---------------------------------------------------------------------------- public


def generate(firms: int, seed: int = 2020) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(enterprises, employees) with exactly ENTERPRISES / EMPLOYEES.polars_schema.

    The same `firms` and `seed` always give equal frames.
    """
    if firms < 0:
        raise ValueError(f"firms must be >= 0, got {firms}")
    rng = np.random.default_rng(seed)
    drawn = _draw_firms(rng, firms)
    uscc = _unique_uscc(rng, _region_digits(drawn.district))
    employees, premium = _employees(rng, drawn, uscc)
    return _enterprises(rng, drawn, uscc, premium), employees


# ---------------------------------------------------------------------------- files


def _write_parquet(frame: pl.DataFrame, path: Path) -> None:
    frame.write_parquet(path)


def _write_csv(frame: pl.DataFrame, path: Path) -> None:
    frame.write_csv(path, include_header=True, date_format="%Y-%m-%d", null_value="")


def _xlsx_rows(frame: pl.DataFrame, sheet: Any) -> Iterator[list[Any]]:
    money = [i for i, dtype in enumerate(frame.dtypes) if dtype == MONEY_DTYPE]
    for row in frame.iter_rows():
        cells = list(row)
        for i in money:
            if cells[i] is not None:
                cell = WriteOnlyCell(sheet, value=cells[i])
                cell.number_format = "#,##0.00"
                cells[i] = cell
        yield cells


def _write_xlsx(frame: pl.DataFrame, path: Path) -> None:
    """One sheet named after the file, header row first; fixed timestamps for identical bytes."""
    book = Workbook(write_only=True)
    book.properties.created = book.properties.modified = _FIXED_TIMESTAMP
    sheet = book.create_sheet(path.stem)
    sheet.append(frame.columns)
    for cells in _xlsx_rows(frame, sheet):
        sheet.append(cells)
    buffer = io.BytesIO()
    ExcelWriter(book, zipfile.ZipFile(buffer, "w")).save()  # save() closes the archive
    _repack(buffer, path)


def _repack(buffer: io.BytesIO, path: Path) -> None:
    """Copy a zip with every entry's timestamp fixed (zipfile stamps entries with the clock)."""
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w") as target:
        for entry in source.infolist():
            fixed = zipfile.ZipInfo(entry.filename, date_time=(2020, 6, 30, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, source.read(entry))


_WRITERS: dict[str, Callable[[pl.DataFrame, Path], None]] = {
    "parquet": _write_parquet,
    "csv": _write_csv,
    "xlsx": _write_xlsx,
}


def write_frame(frame: pl.DataFrame, path: Path) -> None:
    """One frame as the file its suffix names (`.parquet`, `.csv`, `.xlsx`), as `write` does
    (a declared source's file, say)."""
    _WRITERS[path.suffix.removeprefix(".")](frame, path)


def write(
    enterprises: pl.DataFrame, employees: pl.DataFrame, out_dir: Path, fmt: Format
) -> tuple[Path, Path]:
    """Write out_dir/enterprises.<fmt> and out_dir/employees.<fmt>, creating out_dir.

    XLSX holds at most 1,048,576 rows a sheet (header included): a larger frame raises
    ValueError before any file or folder is written.
    """
    if fmt not in _WRITERS:
        raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(_WRITERS)}")
    paths = (out_dir / f"enterprises.{fmt}", out_dir / f"employees.{fmt}")
    frames = (enterprises, employees)
    if fmt == "xlsx":
        for frame, path in zip(frames, paths, strict=True):
            if frame.height + 1 > XLSX_MAX_ROWS:
                raise ValueError(
                    f"{path.name}: {frame.height:,} rows do not fit an XLSX sheet "
                    f"(at most {XLSX_MAX_ROWS - 1:,} below the header)"
                )
    out_dir.mkdir(parents=True, exist_ok=True)
    for frame, path in zip(frames, paths, strict=True):
        _WRITERS[fmt](frame, path)
    return paths
