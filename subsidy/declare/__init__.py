"""Declaring registry sources: `qinqing registry declare FILE.yaml` and its officer API.

`service` parses a declaration (`subsidy.registry.declarations`), refuses one that would take a
column from under a published policy (`policies.columns`), stores it as the next immutable
version (`registry_declaration`) and audits it; `cli` and `endpoints` are its two thin edges.
It sits above `policies` (it asks which columns they read), below the assembly.
"""
