"""The service layer: workflow rules, configuration, the board's data, sync and site operations."""
