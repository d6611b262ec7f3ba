"""The code-review queue: what waits for my review, its diff, and my verdict."""
