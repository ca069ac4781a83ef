"""Matching benchmark (issue 3), city scale: stored registry -> stored qualifications.

    python -m bench.match [--firms 1000000] [--policies 50] [--postgres URL] [--skip-sqlite]
                          [--five builtin|declared]

Generates the demo registry (cached under bench/data/), imports it into a fresh database of each
kind (not timed), publishes `--policies` policies made from the examples with varied parameters,
then times `qinqing match` stage by stage. The compiled-vs-reference ratio is measured by
`bench/compile_vs_reference.py`. Run by hand; the tests never time anything.

`--five declared` (issue 15) also declares the demo's tax and social-insurance sources and imports
their generated files (cached beside the registry; not timed), and makes five of the policies
variants of the two examples that read them (policies/examples/sources/): compare its total with
`--five builtin` (the default: nothing declared, every policy on the built-in registries).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from decimal import Decimal
from importlib import resources
from pathlib import Path

import polars as pl
from sqlalchemy import Engine

from bench._common import DEFAULT_POSTGRES, StageClock, fresh_engine, registry_files
from matching import service as matching_service
from policies import service as policy_service
from policies.checking import check
from policies.document import PolicyDocument, load_path
from policies.errors import PolicyDocumentError
from subsidy import db
from subsidy.declare import service as declare_service
from subsidy.registry import demo, demo_sources
from subsidy.registry import service as registry_service
from subsidy.registry.catalog import BUILTIN, Catalog
from subsidy.registry.declarations import parse

AS_OF = demo.REFERENCE_DATE
STAGES = ("reading", "compiling", "aggregating", "matching", "storing", "indexing", "commit")
DECLARED_POLICIES = 5
"""How many of the policies read declared sources under `--five declared`."""


def demo_catalog() -> Catalog:
    return parse(demo_sources.DECLARATION.read_text(encoding="utf-8"), "demo", version=1)


def example_documents(folder_name: str = "", catalog: Catalog = BUILTIN) -> list[PolicyDocument]:
    folder = resources.files("policies") / "examples"
    if folder_name:
        folder = folder / folder_name
    documents = []
    for file in sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=str):
        document = load_path(Path(str(file)))
        checked = check(document, catalog=catalog)
        if not matching_service.compile_issues(checked, file.name):
            documents.append(document)
    return documents


def policy_set(count: int, five: str) -> tuple[list[PolicyDocument], Catalog]:
    """The policies to publish and the catalog they are checked under: the built-in examples'
    variants, with `DECLARED_POLICIES` of them reading the demo's sources under `declared`."""
    if five == "builtin":
        return variants(count, example_documents()), BUILTIN
    catalog = demo_catalog()
    reading = variants(DECLARED_POLICIES, example_documents("sources", catalog), catalog)
    return variants(count - DECLARED_POLICIES, example_documents()) + reading, catalog


def variants(
    count: int, examples: list[PolicyDocument], catalog: Catalog = BUILTIN
) -> list[PolicyDocument]:
    """`count` policies: the examples again and again, numbers scaled a little each round.

    A scaled policy's tests keep their eligibility expectations but not their amounts; a variant
    whose tests then fail keeps the example's own numbers."""
    documents = []
    for i in range(count):
        base = examples[i % len(examples)]
        factor = Decimal(100 + i) / 100
        parameters = {
            name: p.model_copy(update={"value": _scaled(p.value, factor)})
            for name, p in base.parameters.items()
        }
        tests = [
            t.model_copy(update={"expect": t.expect.model_copy(update={"amount": None})})
            for t in base.tests
        ]
        update = {"id": f"{base.id}-{i:02d}", "group": None}
        variant = base.model_copy(update=update | {"parameters": parameters, "tests": tests})
        try:
            policy_service.approve(variant, variant.id, catalog=catalog)
        except PolicyDocumentError:
            variant = base.model_copy(update=update)
        documents.append(variant)
    return documents


def _scaled(value: object, factor: Decimal) -> object:
    # Rates and amounts vary; dates, flags and texts stay as the example has them.
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        places = exponent if isinstance(exponent, int) and exponent < 0 else 0
        return (value * factor).quantize(Decimal(1).scaleb(places))
    return value


def source_files(files: tuple[Path, Path]) -> dict[str, Path]:
    """The demo sources' files for the registry `files` (seed 2020), generated once beside it."""
    folder = files[0].parent
    paths = {
        name: folder / f"{name}.parquet"
        for name in (demo_sources.TAX, demo_sources.SOCIAL_INSURANCE)
    }
    if not all(p.exists() for p in paths.values()):
        registry = pl.read_parquet(files[0]), pl.read_parquet(files[1])
        for name, frame in demo_sources.generate(*registry, seed=2020).items():
            frame.write_parquet(paths[name])
    return paths


def setup(
    engine: Engine, files: tuple[Path, Path], data_dir: Path, policies: int, five: str = "builtin"
) -> None:
    started = time.perf_counter()
    documents, catalog = policy_set(policies, five)
    with db.session_scope(engine) as session:
        registry_service.import_registry(session, *files, data_dir=data_dir)
    if five == "declared":
        text = demo_sources.DECLARATION.read_text(encoding="utf-8")
        with db.session_scope(engine) as session:
            declare_service.declare(session, text, "demo_sources.yaml", by="bench")
        for name, path in source_files(files).items():
            with db.session_scope(engine) as session:
                registry_service.import_source(session, name, path, data_dir=data_dir)
    with db.session_scope(engine) as session:
        for document in documents:
            approved = policy_service.approve(document, f"{document.id}.yaml", catalog=catalog)
            policy_service.publish(session, approved, by="bench")
    print(f"  setup (import + publish, not timed below): {time.perf_counter() - started:.1f} s")


def timed_match(engine: Engine, data_dir: Path) -> tuple[int, int, float, dict[str, float]]:
    clock = StageClock()
    started = time.perf_counter()
    with db.session_scope(engine) as session:
        runs = matching_service.run_match(session, data_dir, as_of=AS_OF, progress=clock)
        stages = clock.finish()
        committing = time.perf_counter()
    stages["commit"] = time.perf_counter() - committing
    return len(runs), sum(r.qualified for r in runs), time.perf_counter() - started, stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--firms", type=int, default=1_000_000)
    parser.add_argument("--policies", type=int, default=50)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--five",
        choices=("builtin", "declared"),
        default="builtin",
        help=f"declared: {DECLARED_POLICIES} of the policies read the demo's declared sources",
    )
    args = parser.parse_args()
    files = registry_files(args.firms)
    skips = (("sqlite", args.skip_sqlite), ("postgres", args.skip_postgres))
    results = []
    for kind in [k for k, skip in skips if not skip]:
        print(f"{kind}:")
        with tempfile.TemporaryDirectory() as tmp:
            engine = fresh_engine(kind, args.postgres, Path(tmp))
            setup(engine, files, Path(tmp) / "data", args.policies, args.five)
            results.append((kind, *timed_match(engine, Path(tmp) / "data")))
            engine.dispose()
    header = " | ".join(f"{s} s" for s in STAGES)
    print(f"\n| database | five | policies | qualifications | {header} | total s |")
    print("| --- | --- | ---: | ---: |" + " ---: |" * (len(STAGES) + 1))
    for kind, policies, qualified, total, stages in results:
        cells = " | ".join(f"{stages.get(s, 0):.2f}" for s in STAGES)
        print(f"| {kind} | {args.five} | {policies} | {qualified:,} | {cells} | {total:.2f} |")


if __name__ == "__main__":
    main()
