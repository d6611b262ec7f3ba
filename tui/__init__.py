"""The Textual app and the `triage` command line."""
