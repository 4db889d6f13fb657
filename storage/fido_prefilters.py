"""The prefilters that keep matching PRONOM's signatures cheap, for the fido
identifier of ``storage.fido_formats``: a signature's compiled patterns, and
what each pattern's parse tree says for certain about every match.

Matching every PRONOM signature against every file costs milliseconds a file,
more than hashing a small file does; three prefilters, each of which can only
rule out what could never match, keep it to a fraction of that (fido's own
``match_formats`` is the reference the tests compare with):

- a signature whose BOF pattern must begin with one of a few bytes is only
  tried on files that begin with one of them (most of PRONOM begins with a
  fixed magic number): the signatures are sorted by first byte once;
- a pattern that must contain a run of literal bytes is only run where that
  run occurs (``bytes.__contains__`` is far cheaper than a regex that scans);
- an EOF pattern that ends at the end of the file and matches at most N bytes
  is searched in the last N bytes of the tail only, not the whole tail.

Even ruled out one by one, the few hundred signatures a first byte leaves cost
a file about half a millisecond of Python. So each first byte also gets a
``Plan``: its signatures indexed by the one cheap test each must pass (the
byte at a fixed offset, or a literal run found in the head or the tail); a
file then asks each distinct test once, and only the signatures that pass
theirs are tried, in fido's order, by the same rules.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

# Python's own reading of a regular expression (private modules, stable since
# 3.11); without them, no prefilter: matching is then as slow as before, and as right.
try:
    _sre_constants: Any = importlib.import_module("re._constants")
    _sre_parser: Any = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover - another Python
    _sre_constants = _sre_parser = None


class Pattern:
    """One pattern of a signature: where fido matches it, its regex, and what
    rules a buffer out before the regex runs."""

    __slots__ = ("first_bytes", "last", "literal", "position", "probe", "reach", "regex")

    def __init__(self, position: str, regex: str | bytes) -> None:
        self.position = position
        self.regex: re.Pattern[bytes] = re.compile(regex)  # type: ignore[arg-type]
        shape = _shape(self.regex)
        #: a run of bytes every match contains (None: no prefilter). A BOF
        #: pattern's regex fails at once on most files unless it begins with a
        #: gap of varying length: only then is looking for the run cheaper.
        self.literal: bytes | None = shape.literal if position != "BOF" or shape.gap_first else None
        #: EOF only: every match lies in the tail's last ``last`` bytes (None: anywhere)
        self.last: int | None = shape.width if position == "EOF" and shape.ends_at_end else None
        #: BOF only: every match from the start ends within this many bytes
        self.reach: int = shape.high
        #: BOF only, in ``Signature``: the bytes a match can begin with, and
        #: the byte fixed at some later offset
        self.first_bytes = shape.first_bytes if position == "BOF" else None
        self.probe = shape.probe if position == "BOF" and shape.probe and shape.probe[0] else None

    def matches(self, head: bytes, tail: bytes) -> bool:
        # Offsets, not slices: a slice would copy up to the whole buffer.
        if self.position == "EOF":
            start = max(0, len(tail) - self.last) if self.last is not None else 0
            if self.literal is not None and tail.find(self.literal, start) < 0:
                return False
            return self.regex.search(tail, start) is not None
        if self.position == "BOF":
            if self.literal is not None and head.find(self.literal, 0, self.reach) < 0:
                return False
            return self.regex.match(head) is not None
        if self.literal is not None and self.literal not in head:
            return False
        return self.regex.search(head) is not None  # VAR, IFB: anywhere in the head


class Signature:
    """A signature: its name and patterns, all of which must match, and the bytes
    a file it matches can begin with (None: any)."""

    __slots__ = ("first_bytes", "keyed", "name", "patterns", "probe")

    def __init__(self, name: str, patterns: list[Pattern]) -> None:
        self.name = name
        self.patterns = patterns
        self.first_bytes: frozenset[int] | None = None
        #: (offset, bytes) a file it matches has there, past its first byte
        self.probe = next((p.probe for p in patterns if p.probe is not None), None)
        #: its first pattern with a literal run: the test ``Plan`` files it under
        #: when it has no probe (None: neither)
        self.keyed = next((p for p in patterns if p.literal is not None), None)
        for pattern in patterns:
            if pattern.first_bytes is not None:
                self.first_bytes = (pattern.first_bytes if self.first_bytes is None
                                    else self.first_bytes & pattern.first_bytes)


class Plan:
    """The signatures a file beginning with one byte could match, in fido's
    order, each filed under one test it must pass to match at all:

    - ``probe``: the byte at a fixed offset of the head is one of a few;
    - ``head``: a literal run occurs in the head (a BOF pattern's within its
      reach: the first occurrence then ends within it; a VAR pattern's anywhere);
    - ``tail``: a literal run occurs in the tail from where the EOF pattern may
      begin (the last occurrence then begins there or later);
    - none of these: always tried.

    ``worth_trying`` asks each distinct test once per file and gives the
    indexes of the entries that passed theirs, ascending. It only rules out;
    the caller still runs every check and pattern of what it gives.
    """

    __slots__ = ("always", "by_head", "by_probe", "by_tail", "entries")

    def __init__(self, entries: list[tuple[Any, Signature]]) -> None:
        self.entries = entries
        self.always: list[int] = []
        #: offset -> byte there -> entry indexes
        self.by_probe: dict[int, dict[int, list[int]]] = {}
        #: literal -> (how far into the head to look for it, or -1: all of it,
        #: [(entry index, the end its first occurrence must not pass, or -1)])
        self.by_head: dict[bytes, tuple[int, list[tuple[int, int]]]] = {}
        #: literal -> [(entry index, bytes from the end it must begin within, or -1)]
        self.by_tail: dict[bytes, list[tuple[int, int]]] = {}
        for index, (_element, signature) in enumerate(entries):
            if signature.probe is not None:
                offset, allowed = signature.probe
                table = self.by_probe.setdefault(offset, {})
                for byte in allowed:
                    table.setdefault(byte, []).append(index)
                continue
            keyed = signature.keyed
            if keyed is None:
                self.always.append(index)
            elif keyed.position == "EOF":
                last = keyed.last if keyed.last is not None else -1
                self.by_tail.setdefault(keyed.literal, []).append(  # type: ignore[arg-type]
                    (index, last))
            else:
                reach = keyed.reach if keyed.position == "BOF" else -1
                literal: bytes = keyed.literal  # type: ignore[assignment]
                bound, keyed_entries = self.by_head.get(literal, (reach, []))
                keyed_entries.append((index, reach))
                self.by_head[literal] = (-1 if bound < 0 or reach < 0 else max(bound, reach),
                                         keyed_entries)

    def worth_trying(self, head: bytes, tail: bytes) -> list[int]:
        chosen = list(self.always)
        size = len(head)
        for offset, table in self.by_probe.items():
            if offset < size:
                chosen.extend(table.get(head[offset], ()))
        for literal, (bound, keyed) in self.by_head.items():
            # a BOF pattern's run must end within its reach: look no further
            found = head.find(literal, 0, bound) if bound >= 0 else head.find(literal)
            if found >= 0:
                end = found + len(literal)
                chosen.extend(index for index, reach in keyed if reach < 0 or end <= reach)
        if self.by_tail:
            length = len(tail)
            for literal, keyed in self.by_tail.items():
                found = tail.rfind(literal)
                if found >= 0:
                    chosen.extend(index for index, last in keyed
                                  if last < 0 or found >= length - last)
        chosen.sort()
        return chosen


class _Shape:
    """What a compiled pattern's parse tree says for certain (nothing, when in doubt)."""

    def __init__(self) -> None:
        self.literal: bytes | None = None
        self.first_bytes: frozenset[int] | None = None
        self.width: int | None = None
        self.ends_at_end = False
        #: it begins (after ``\\A``) with a repeat of varying length
        self.gap_first = False
        #: (offset, bytes): a match from the start has one of the bytes there
        self.probe: tuple[int, frozenset[int]] | None = None
        #: the widest match, in bytes (a large number for "unbounded")
        self.high = 2 ** 62


def _shape(regex: re.Pattern[bytes]) -> _Shape:
    """Read ``regex``'s parse tree for the prefilters: its longest run of literal
    bytes at top level (every match holds it), the bytes a match from the start
    must begin with (after ``\\A``), its widest match, and whether it ends at the
    end of the buffer. Case-insensitive patterns and trees this cannot read get
    no prefilter."""
    shape = _Shape()
    if regex.flags & re.IGNORECASE:
        return shape
    op = _sre_constants
    try:
        tree = _sre_parser.parse(regex.pattern, regex.flags)
        items = list(tree)
        _, high = tree.getwidth()
    except (ImportError, AttributeError, re.error, TypeError, ValueError):
        # another Python's private parser: no prefilter, still correct
        return shape
    shape.high = min(high, shape.high)
    run: list[int] = []
    best: list[int] = []
    for code, argument in items:
        if code is op.LITERAL:
            run.append(argument)
            best = max(best, run, key=len)
        else:
            run = []
    if len(best) >= 2:
        shape.literal = bytes(best)
    rest = items
    if rest and rest[0] == (op.AT, op.AT_BEGINNING_STRING):
        rest = rest[1:]
    if rest:
        code, argument = rest[0]
        shape.gap_first = (code in (op.MAX_REPEAT, op.MIN_REPEAT, op.POSSESSIVE_REPEAT)
                           and argument[0] != argument[1])
    # The first byte the pattern fixes, at the offset where it fixes it: past
    # any number of "any byte"s of fixed count, a literal or a set of literals.
    offset = 0
    for code, argument in rest:
        found = _byte_set(code, argument)
        if found is not None:
            shape.probe = (offset, found)
            break
        if code is op.ANY:
            offset += 1
        elif (code in (op.MAX_REPEAT, op.MIN_REPEAT, op.POSSESSIVE_REPEAT)
              and argument[0] == argument[1] and len(argument[2]) == 1
              and argument[2][0][0] in (op.ANY, op.IN, op.LITERAL)):
            offset += argument[0]
        else:
            break
    if shape.probe is not None and shape.probe[0] == 0:
        shape.first_bytes = shape.probe[1]
    assertions = {op.ASSERT, op.ASSERT_NOT, op.GROUPREF, op.GROUPREF_EXISTS}
    if (items and items[-1] == (op.AT, op.AT_END_STRING) and high < 2 ** 31
            and not any(code in assertions or (code is op.AT and argument is not op.AT_END_STRING)
                        for code, argument in _walk(items))):
        shape.width = high
        shape.ends_at_end = True
    return shape


def _byte_set(code: Any, argument: Any) -> frozenset[int] | None:
    """The bytes one parse-tree item matches, when it is a literal, a set of
    literals, or a choice of branches each beginning with one; else None."""
    op = _sre_constants

    if code is op.LITERAL:
        return frozenset([argument])
    if code is op.IN and all(c is op.LITERAL for c, _ in argument):
        return frozenset(value for _, value in argument)
    if code is op.SUBPATTERN:
        inner = list(argument[3])
        return _byte_set(*inner[0]) if inner else None
    if code is op.BRANCH:
        found: set[int] = set()
        for branch in argument[1]:
            first = _byte_set(*next(iter(branch))) if len(branch) else None
            if first is None:
                return None
            found |= first
        return frozenset(found)
    return None


def _walk(items: Any) -> Any:
    """Every (code, argument) of a parse tree, nested ones included."""
    op = _sre_constants

    for code, argument in items:
        yield code, argument
        if code in (op.MAX_REPEAT, op.MIN_REPEAT, op.POSSESSIVE_REPEAT):
            yield from _walk(argument[2])
        elif code is op.SUBPATTERN:
            yield from _walk(argument[3])
        elif code is op.BRANCH:
            for branch in argument[1]:
                yield from _walk(branch)
        elif code in (op.ASSERT, op.ASSERT_NOT):
            yield from _walk(argument[1])
        elif code is op.ATOMIC_GROUP:
            yield from _walk(argument)
