"""Why a report was refused.

QinqingError
└── ReportError
    ├── UnknownPolicy       the filter or the funnel names a policy that does not exist
    ├── BadPeriod           the period's start is after its end
    ├── JobNotReady         a report job's file was asked for before the job finished
    └── JobFileMissing      a finished job's file is no longer in the data directory
"""

from __future__ import annotations

from subsidy.errors import QinqingError


class ReportError(QinqingError):
    """A report that cannot be made as asked. `field` names the option or parameter at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnknownPolicy(ReportError):
    pass


class BadPeriod(ReportError):
    pass


class JobNotReady(ReportError):
    pass


class JobFileMissing(ReportError):
    pass
