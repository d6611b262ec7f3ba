"""Widgets of the board and its screens."""
