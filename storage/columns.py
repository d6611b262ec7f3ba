"""The nine columns of the board: a plain enum, light enough for the command line's parser."""

from __future__ import annotations

import enum


class BoardColumn(enum.StrEnum):
    """The nine columns of the board, in board order."""

    TODO = "To Do"
    NEEDS_WORK = "Needs Work"
    IN_PROGRESS = "In Progress"
    FEEDBACK = "Feedback/Impediment"
    CODE_REVIEW = "Code Review"
    QA = "QA"
    PO_REVIEW = "PO Review"
    READY_TO_DEPLOY = "Ready To Deploy"
    DONE = "Done"

    @property
    def position(self) -> int:
        """Position of the column on the board, from 0."""
        return list(BoardColumn).index(self)

    @classmethod
    def parse(cls, text: str) -> BoardColumn:
        """The column named `text` (case and spacing ignored); ValueError naming the choices."""
        wanted = " ".join(text.split()).casefold()
        for column in cls:
            if column.value.casefold() == wanted or column.name.casefold() == wanted:
                return column
        choices = ", ".join(c.value for c in cls)
        raise ValueError(f"unknown column {text!r}: use one of {choices}")
