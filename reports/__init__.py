"""Excel workbooks for finance and policy officers (issue 6)."""
