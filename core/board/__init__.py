"""The board: its service, the workflow rules of moving tickets, the filter."""
