"""One file's diff, drawn a line at a time: only the lines on screen are highlighted.

A branch of 10,000 changed lines opens at once: the view holds the parsed lines, and
`render_line` builds (and caches) the few the terminal shows, with the code coloured by its
file's lexer, added and deleted lines on the theme's success and error colours, and the
new-side line number in the gutter. A cursor line marks what `file:line` a comment quotes.
"""

from __future__ import annotations

import textwrap

from pygments.lexer import Lexer  # type: ignore[import-untyped]
from pygments.lexers import (  # type: ignore[import-untyped]
    get_lexer_by_name,
    get_lexer_for_filename,
)
from pygments.util import ClassNotFound  # type: ignore[import-untyped]
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from triage.core.sites.gitdiff import DiffLine

GUTTER = 6
"""Cells of the line-number gutter."""
SYNTAX_THEME = "ansi_dark"
"""Token colours from the terminal's own palette, so they follow the app's theme."""
#: Drupal's PHP files by their other extensions.
PHP_EXTENSIONS = (".module", ".inc", ".install", ".theme", ".engine", ".profile", ".test")
_KIND_CLASS = {
    "add": "diff-view--add",
    "del": "diff-view--del",
    "hunk": "diff-view--hunk",
    "meta": "diff-view--meta",
}


def lexer_for(path: str) -> Lexer | None:
    """The Pygments lexer of a file by its name (PHP without `<?php` too), or None."""
    try:
        if path.endswith(PHP_EXTENSIONS):
            return get_lexer_by_name("php", startinline=True)
        return get_lexer_for_filename(path, startinline=True)
    except ClassNotFound:
        return None


class DiffView(ScrollView, can_focus=True):
    """A unified diff of one file, scrolled and highlighted lazily."""

    COMPONENT_CLASSES = {
        "diff-view--add",
        "diff-view--del",
        "diff-view--hunk",
        "diff-view--meta",
        "diff-view--number",
        "diff-view--cursor",
    }
    DEFAULT_CSS = """
    DiffView { background: $surface; }
    DiffView > .diff-view--add { background: $success 15%; }
    DiffView > .diff-view--del { background: $error 15%; }
    DiffView > .diff-view--hunk { color: $accent; text-style: bold; }
    DiffView > .diff-view--meta { color: $text-muted; }
    DiffView > .diff-view--number { color: $text-muted; }
    DiffView > .diff-view--cursor { background: $primary 30%; }
    """
    BINDINGS = [
        Binding("j,down", "cursor(1)", "Down", show=False, id="diff.down"),
        Binding("k,up", "cursor(-1)", "Up", show=False, id="diff.up"),
        Binding("pagedown,space", "page(1)", "Page down", show=False, id="diff.page_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="diff.page_up"),
        Binding("g,home", "edge(0)", "Top", show=False, id="diff.top"),
        Binding("G,end", "edge(1)", "Bottom", show=False, id="diff.bottom"),
        Binding("right_curly_bracket", "hunk(1)", "Next hunk", id="diff.next_hunk"),
        Binding("left_curly_bracket", "hunk(-1)", "Previous hunk", id="diff.prev_hunk"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[DiffLine] = []
        self.path = ""
        self.note = ""
        self._syntax: Syntax | None = None
        self._cache: LRUCache[int, Strip] = LRUCache(1024)

    def show(self, path: str, lines: list[DiffLine], note: str = "") -> None:
        """Show one file's lines (or a note instead, e.g. for a binary file), from the top."""
        self.path, self.lines, self.note = path, lines, note
        lexer = lexer_for(path)
        self._syntax = Syntax("", lexer, theme=SYNTAX_THEME) if lexer is not None else None
        self._cache.clear()
        width = max((len(line.text) for line in lines[:2000]), default=0) + GUTTER + 1
        self.virtual_size = Size(width, max(len(lines), 1))
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.cursor = 0

    def current(self) -> DiffLine | None:
        """The line under the cursor."""
        return self.lines[self.cursor] if 0 <= self.cursor < len(self.lines) else None

    def quote(self) -> str:
        """`path:line` of the cursor (the nearest line with a new-side number above it)."""
        for index in range(min(self.cursor, len(self.lines) - 1), -1, -1):
            number = self.lines[index].new_line
            if number is not None:
                return f"{self.path}:{number}"
        return self.path

    # -- movement -----------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self._cache.discard(old)
        self._cache.discard(new)
        top = int(self.scroll_y)
        height = max(self.scrollable_content_region.height, 1)
        if new < top:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False, immediate=True)
        self.refresh()

    def _move_to(self, index: int) -> None:
        self.cursor = max(0, min(index, len(self.lines) - 1))

    def action_cursor(self, step: int) -> None:
        self._move_to(self.cursor + step)

    def action_page(self, step: int) -> None:
        self._move_to(self.cursor + step * max(self.scrollable_content_region.height - 1, 1))

    def action_edge(self, end: int) -> None:
        self._move_to(len(self.lines) - 1 if end else 0)

    def action_hunk(self, step: int) -> None:
        """Put the next (or previous) hunk header at the top of the view."""
        indexes = (
            range(self.cursor + 1, len(self.lines)) if step > 0 else range(self.cursor - 1, -1, -1)
        )
        for index in indexes:
            if self.lines[index].kind == "hunk":
                self.scroll_to(y=index, animate=False, immediate=True)
                self._move_to(index)
                return

    # -- drawing ------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        if not self.lines:
            wrapped = textwrap.wrap(self.note, max(width - 2, 10))
            if y < len(wrapped):
                return Strip([Segment(" " + wrapped[y], self.rich_style)]).extend_cell_length(
                    width, self.rich_style
                )
            return Strip.blank(width, self.rich_style)
        if index >= len(self.lines):
            return Strip.blank(width, self.rich_style)
        strip = self._cache.get(index)
        if strip is None:
            strip = self._build(index)
            self._cache[index] = strip
        look = self._look(index)
        return strip.crop_extend(scroll_x, scroll_x + width, look)

    def _look(self, index: int) -> Style:
        if index == self.cursor and self.has_focus:
            return self.get_component_rich_style("diff-view--cursor")
        kind = self.lines[index].kind
        if kind in ("add", "del"):
            return self.get_component_rich_style(_KIND_CLASS[kind])
        return self.rich_style

    def _build(self, index: int) -> Strip:
        line = self.lines[index]
        look = self._look(index)
        number = "" if line.new_line is None else str(line.new_line)
        text = Text(style=look, no_wrap=True, end="")
        text.append(f"{number:>{GUTTER - 1}} ", self.get_component_rich_style("diff-view--number"))
        raw = line.text.expandtabs(4)
        if line.kind in ("add", "del", "context") and self._syntax is not None:
            text.append(raw[:1])
            code = self._syntax.highlight(raw[1:])
            code.rstrip()  # the highlighter ends every line with a newline
            text.append_text(code)
        elif line.kind in _KIND_CLASS:
            text.append(raw, self.get_component_rich_style(_KIND_CLASS[line.kind]))
        else:
            text.append(raw)
        segments = list(text.render(self.app.console))
        return Strip(segments, text.cell_len)

    def on_focus(self) -> None:
        self._cache.discard(self.cursor)
        self.refresh()

    def on_blur(self) -> None:
        self._cache.discard(self.cursor)
        self.refresh()
