"""The `triage` command line: one module per group of commands."""
