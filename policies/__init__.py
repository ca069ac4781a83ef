"""Policy documents: schema, YAML loading, type-checking, tests, versions (issue 3)."""
