"""Site operations as background jobs: the runner, its reporter, owners, reporting."""
