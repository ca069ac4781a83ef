"""The audit trail for auditors over HTTP: the entries filtered and paged, the chain verified
as `qinqing audit verify` does, and an export of the filtered entries (CSV or XLSX, never a
formula). The trail itself is `subsidy.audit`'s; this is the edge above it and `subsidy.api`."""
