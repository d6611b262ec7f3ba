"""`python -m triage.tui.cli`: the `triage` command."""

from triage.tui.cli.main import main

raise SystemExit(main())
