"""A parser for the part of Jira's query language that a sync client sends.

Clauses: ``field OP value`` with ``= != > >= < <= ~ !~``, ``IN (…)``, ``NOT IN (…)``,
``IS [NOT] EMPTY``; ``AND`` / ``OR`` / ``NOT`` (also ``&&``, ``||``, ``!``) and parentheses;
``ORDER BY f [ASC|DESC], …``. Values are words, quoted strings or function calls such as
``currentUser()``. Syntax errors raise ``JqlError`` with the message Jira puts in
``errorMessages``; ``jql_eval`` runs a parsed query on issues.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Bool", "Clause", "JqlError", "Node", "Query", "Value", "parse"]

OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "~", "!~", "in", "not in", "is", "is not")
_VALID_OPS = (
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', "
    "'IS' and 'IS NOT'."
)
_TOKEN = re.compile(
    r"(?:(?P<op>!=|>=|<=|!~|&&|\|\||[=><~!(),])|(?P<q>[\"'])|(?P<w>[^\s()=!<>~,\"'&|]+))"
)


class JqlError(ValueError):
    """A query Jira answers with 400; ``messages`` is the ``errorMessages`` list."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def _syntax(message: str, pos: int) -> JqlError:
    return JqlError([f"Error in the JQL Query: {message} (line 1, character {pos + 1})"])


@dataclass(frozen=True)
class Value:
    """A literal (``quoted`` tells ``"EMPTY"`` from ``EMPTY``) or a function call."""

    text: str
    quoted: bool = False
    function: bool = False


@dataclass(frozen=True)
class Clause:
    field: str
    op: str
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Bool:
    op: str  # "and" | "or" | "not"
    items: tuple[Node, ...]


Node = Clause | Bool


@dataclass(frozen=True)
class Query:
    """A parsed query: the condition (None matches everything) and the sort keys."""

    where: Node | None
    order_by: tuple[tuple[str, bool], ...] = ()  # (field, ascending)


@dataclass(frozen=True)
class _Tok:
    kind: str  # "op" | "word" | "str" | "end"
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i = 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        m = _TOKEN.match(text, i)
        if m is None:  # a lone '&' or '|'
            raise _syntax(f"The character '{text[i]}' is a reserved JQL character.", i)
        if m.group("q"):
            quote, j, out = text[i], i + 1, []
            while j < len(text) and text[j] != quote:
                if text[j] == "\\" and j + 1 < len(text):
                    j += 1
                out.append(text[j])
                j += 1
            if j >= len(text):
                raise _syntax(f"The quoted string '{text[i + 1 :]}' has not been completed.", i)
            toks.append(_Tok("str", "".join(out), i))
            i = j + 1
        else:
            toks.append(_Tok("op" if m.group("op") else "word", m.group(0), i))
            i = m.end()
    toks.append(_Tok("end", "", len(text)))
    return toks


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokenize(text)
        self.i = 0

    def peek(self, ahead: int = 0) -> _Tok:
        return self.toks[min(self.i + ahead, len(self.toks) - 1)]

    def take(self) -> _Tok:
        tok = self.peek()
        self.i += 1
        return tok

    def is_word(self, *words: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind == "word" and tok.text.lower() in words

    def is_op(self, *ops: str) -> bool:
        tok = self.peek()
        return tok.kind == "op" and tok.text in ops

    @staticmethod
    def shown(tok: _Tok) -> str:
        return "end of query" if tok.kind == "end" else f"'{tok.text}'"

    def query(self) -> Query:
        where = None if self.at_order_by() or self.peek().kind == "end" else self.or_expr()
        order: list[tuple[str, bool]] = []
        if self.at_order_by():
            self.i += 2
            while True:
                tok = self.take()
                if tok.kind not in ("word", "str"):
                    raise _syntax(f"Expecting a field name but got {self.shown(tok)}.", tok.pos)
                ascending = True
                if self.is_word("asc", "desc"):
                    ascending = self.take().text.lower() == "asc"
                order.append((tok.text, ascending))
                if not self.is_op(","):
                    break
                self.take()
        tok = self.peek()
        if tok.kind != "end":
            raise _syntax(f"Expecting either 'OR' or 'AND' but got {self.shown(tok)}.", tok.pos)
        return Query(where, tuple(order))

    def at_order_by(self) -> bool:
        return self.is_word("order") and self.is_word("by", ahead=1)

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.is_word("or") or self.is_op("||"):
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Bool("or", tuple(items))

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while self.is_word("and") or self.is_op("&&"):
            self.take()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else Bool("and", tuple(items))

    def not_expr(self) -> Node:
        if self.is_word("not") or self.is_op("!"):
            self.take()
            return Bool("not", (self.not_expr(),))
        if self.is_op("("):
            self.take()
            inner = self.or_expr()
            tok = self.take()
            if tok.kind != "op" or tok.text != ")":
                raise _syntax(f"Expecting ')' but got {self.shown(tok)}.", tok.pos)
            return inner
        return self.clause()

    def clause(self) -> Clause:
        tok = self.take()
        if tok.kind not in ("word", "str"):
            raise _syntax(f"Expecting a field name but got {self.shown(tok)}.", tok.pos)
        name = tok.text
        op_tok = self.peek()
        if op_tok.kind == "op" and op_tok.text in OPERATORS:
            op = self.take().text
        elif self.is_word("in"):
            op = self.take().text.lower()
        elif self.is_word("not") and self.is_word("in", ahead=1):
            self.i += 2
            op = "not in"
        elif self.is_word("is"):
            self.take()
            op = "is"
            if self.is_word("not"):
                self.take()
                op = "is not"
        else:
            raise _syntax(
                f"Expecting operator but got {self.shown(op_tok)}. {_VALID_OPS}", op_tok.pos
            )
        if op in ("in", "not in") and self.is_op("("):
            self.take()
            values = [self.value()]
            while self.is_op(","):
                self.take()
                values.append(self.value())
            end = self.take()
            if end.kind != "op" or end.text != ")":
                raise _syntax(f"Expecting ',' or ')' but got {self.shown(end)}.", end.pos)
            return Clause(name, op, tuple(values))
        return Clause(name, op, (self.value(),))

    def value(self) -> Value:
        tok = self.take()
        if tok.kind == "str":
            return Value(tok.text, quoted=True)
        if tok.kind != "word":
            hint = (
                ""
                if tok.kind == "end"
                else (f" You must surround '{tok.text}' in quotation marks to use it as a value.")
            )
            message = f"Expecting either a value, list or function but got {self.shown(tok)}."
            raise _syntax(message + hint, tok.pos)
        if self.is_op("("):
            self.take()
            while not self.is_op(")"):  # arguments are accepted and ignored
                if self.take().kind == "end":
                    raise _syntax("Expecting ')' but got end of query.", tok.pos)
            self.take()
            return Value(tok.text, function=True)
        return Value(tok.text)


def parse(text: str) -> Query:
    """Parse JQL text; raises JqlError for a syntax error."""
    return _Parser(text).query()
