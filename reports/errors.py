"""Why a report was refused.

QinqingError
└── ReportError
    ├── UnknownPolicy       the filter or the funnel names a policy that does not exist
    ├── BadPeriod           the period's start is after its end
    ├── JobNotReady         a report job's file was asked for before the job finished
    └── JobFileMissing      a finished job's file is no longer in the data directory
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from subsidy.errors import QinqingError


class ReportError(QinqingError):
    """A report that cannot be made as asked. `field` names the option or parameter at fault."""

    code = "report.refused"
    status, slug, title = 422, "report-refused", "The report cannot be made as asked"

    def __init__(self, *, field: str | None = None, code: str | None = None, **fields: object):
        super().__init__(code=code, **fields)
        self.field = field


class UnknownPolicy(ReportError):
    code = "report.unknown_policy"


class BadPeriod(ReportError):
    code = "report.bad_period"


class JobNotReady(ReportError):
    code = "report.job_not_ready"
    variants = ("report.job_failed",)
    status, slug, title = 409, "report-not-ready", "The report is not ready"
    states: ClassVar[Mapping[str, str]] = {"state": "report_job"}

    def extra(self) -> dict[str, object]:
        state = self.fields.get("state")
        return {} if state is None else {"state": str(state)}


class JobFileMissing(ReportError):
    code = "report.job_file_missing"
    status, slug, title = 404, "not-found", "Not found"
