"""A separate world for the demo and the tests: a Jira-compatible server and a demo agency."""
