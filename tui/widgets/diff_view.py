"""One file's diff, drawn a line at a time: only the lines on screen are highlighted.

A branch of 10,000 changed lines opens at once: the view holds the parsed lines, and
`render_line` builds (and caches) the few the terminal shows, with the code coloured by its
file's lexer, added and deleted lines on the theme's success and error colours, and the
new-side line number in the gutter. A cursor line marks what `file:line` a comment quotes.
"""

from __future__ import annotations

import functools
import textwrap

from pygments.lexer import Lexer  # type: ignore[import-untyped]
from pygments.lexers import get_lexer_by_name  # type: ignore[import-untyped]
from pygments.util import ClassNotFound  # type: ignore[import-untyped]
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from triage.core.sites.gitdiff import DiffLine

GUTTER = 6
"""Cells of the line-number gutter."""
THEME = Syntax.get_theme("ansi_dark")
"""Token colours from the terminal's own palette, so they follow the app's theme."""
#: Lexers by file extension, so a diff opens without Pygments' slow search of every lexer
#: (Drupal's PHP files under their other names too); other files show without colour.
LEXERS = {
    "php": "php", "module": "php", "inc": "php", "install": "php", "theme": "php",
    "engine": "php", "profile": "php", "test": "php",
    "js": "javascript", "mjs": "javascript", "ts": "typescript", "json": "json",
    "css": "css", "scss": "scss", "less": "less", "twig": "html+twig", "html": "html",
    "htm": "html", "xml": "xml", "svg": "xml", "yml": "yaml", "yaml": "yaml",
    "md": "markdown", "sh": "bash", "py": "python", "sql": "sql", "ini": "ini",
    "toml": "toml", "conf": "nginx",
}  # fmt: skip
_KIND_CLASS = {
    "add": "diff-view--add",
    "del": "diff-view--del",
    "hunk": "diff-view--hunk",
    "meta": "diff-view--meta",
}


@functools.cache
def lexer_for(path: str) -> Lexer | None:
    """The Pygments lexer of a file by its extension (PHP without `<?php` too), or None."""
    name = LEXERS.get(path.rsplit(".", 1)[-1].lower()) if "." in path else None
    if name is None:
        return None
    try:
        return get_lexer_by_name(name, startinline=True)
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
        self._lexer: Lexer | None = None
        self._styles: dict[str, Style] = {}
        self._cache: LRUCache[int, Strip] = LRUCache(1024)

    def show(self, path: str, lines: list[DiffLine], note: str = "") -> None:
        """Show one file's lines (or a note instead, e.g. for a binary file), from the top."""
        self.path, self.lines, self.note = path, lines, note
        self._lexer = lexer_for(path)
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

    def _style(self, name: str) -> Style:
        """A component class's style, looked up once per theme."""
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(name)
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._cache.clear()

    def _look(self, index: int) -> Style:
        if index == self.cursor and self.has_focus:
            return self._style("diff-view--cursor")
        kind = self.lines[index].kind
        if kind in ("add", "del"):
            return self._style(_KIND_CLASS[kind])
        return self.rich_style

    def _build(self, index: int) -> Strip:
        """One line as segments: gutter, then the code token by token (no Rich layout)."""
        line = self.lines[index]
        look = self._look(index)
        number = "" if line.new_line is None else str(line.new_line)
        segments = [Segment(f"{number:>{GUTTER - 1}} ", look + self._style("diff-view--number"))]
        raw = line.text.expandtabs(4)
        if line.kind in ("add", "del", "context") and self._lexer is not None:
            segments.append(Segment(raw[:1], look))
            for token, value in self._lexer.get_tokens(raw[1:]):
                value = value.rstrip("\n")
                if value:
                    segments.append(Segment(value, look + THEME.get_style_for_token(token)))
        elif line.kind in _KIND_CLASS:
            segments.append(Segment(raw, look + self._style(_KIND_CLASS[line.kind])))
        else:
            segments.append(Segment(raw, look))
        return Strip(segments)

    def on_focus(self) -> None:
        self._cache.discard(self.cursor)
        self.refresh()

    def on_blur(self) -> None:
        self._cache.discard(self.cursor)
        self.refresh()
