"""Jira: the adapter around the `jira` library and the mapping of its JSON to cache rows."""
