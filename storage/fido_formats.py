"""Format identification by fido (Open Preservation Foundation), with the PRONOM
signatures it ships: the ``FormatIdentifier`` of ``ingest.format_identification``.

fido is given the head and tail buffers the pipeline kept while hashing; it
never opens the file. Signatures are matched first; only when none matches is
the file's extension looked up, as fido itself does, and the result says so
(``basis="extension"``). The signatures' patterns are compiled once: fido's own
matcher leaves that to ``re``'s cache, which holds fewer patterns than PRONOM
has, so it compiled every pattern again for every file. The matching rules
(BOF anchored at the head, EOF and VAR searched, formats that others have
priority over dropped) are fido's ``match_formats``. A file of no bytes is
told by its name alone: fido's converted signature of generic RTF (fmt/46) is
``\\A\\Z``, which matches nothing but the empty file. Loading the signatures
takes a fraction of a second: one identifier is built per process
(``fido_identifier``).

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
``_Plan``: its signatures indexed by the one cheap test each must pass (the
byte at a fixed offset, or a literal run found in the head or the tail); a
file then asks each distinct test once, and only the signatures that pass
theirs are tried, in fido's order, by the same rules.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import threading
from collections.abc import Callable
from typing import Any, ClassVar

from ingest.format_identification import IdentifiedFormat

# Python's own reading of a regular expression (private modules, stable since
# 3.11); without them, no prefilter: matching is then as slow as before, and as right.
try:
    _sre_constants: Any = importlib.import_module("re._constants")
    _sre_parser: Any = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover - another Python
    _sre_constants = _sre_parser = None

#: bytes of a file's head and of its tail fido matches signatures against (its default)
BUFSIZE = 128 * 1024


class FidoIdentifier:
    """fido behind the ``FormatIdentifier`` port."""

    def __init__(self) -> None:
        self.bufsize: int = BUFSIZE
        self._tool: str | None = None
        self._found_versions: Any = None
        self._fido: Any = None
        #: per format: (its element, [its signatures]), in fido's order
        self._compiled: list[tuple[Any, list[_Signature]]] = []
        #: first byte of a file -> what to try on a file beginning with it; built on demand
        self._by_first_byte: dict[int, _Plan] = {}
        #: first byte -> its formats' signatures, format by format (``_index_by_first_byte``)
        self._parts_by_first_byte: dict[int, list[list[tuple[Any, _Signature]]]] = {}
        #: the first bytes some format's signatures ask for
        self._magic: frozenset[int] = frozenset()
        self._no_magic_plan: _Plan | None = None
        #: extension (lower case, no dot) -> the formats that list it, in fido's order
        self._by_extension: dict[str, list[Any]] = {}
        # fido keeps the format it is matching on itself: one match at a time
        self._lock = threading.Lock()

    def identify_soon(self, head: bytes, tail: bytes,
                      name: str) -> Callable[[], IdentifiedFormat | None]:
        """Matched here and now: the answer is ready when asked for."""
        found = self.identify(head, tail, name)
        return lambda: found

    def warm_up(self) -> None:
        """Load the signatures now rather than on the first file."""
        with self._lock:
            self._loaded()

    # What fido is and which signatures it has are read on first use, as fido
    # itself is: ``fido.versions`` imports requests and urllib3, and the package's
    # version takes importlib.metadata; a command that never identifies a file
    # (a submit handed to the workers, ``status``) should pay for none of it.

    @property
    def tool(self) -> str:
        """fido and its version, e.g. "fido 1.6.1"."""
        if self._tool is None:
            import importlib.metadata

            self._tool = f"fido {importlib.metadata.version('opf-fido')}"
        return self._tool

    @property
    def signatures(self) -> str:
        """The PRONOM release of the signatures fido matches, e.g. "PRONOM v109"."""
        return f"PRONOM v{self._versions.pronom_version}"

    @property
    def _conf_dir(self) -> Any:
        from fido import CONFIG_DIR

        return CONFIG_DIR

    @property
    def _versions(self) -> Any:
        if self._found_versions is None:
            self._found_versions = _LocalVersions(os.path.join(self._conf_dir, "versions.xml"))
        return self._found_versions

    def _loaded(self) -> Any:
        """fido with its signatures, loaded on the first file (a command that
        ingests nothing never pays for it)."""
        if self._fido is None:
            from fido.fido import Fido

            # fido's own default names a signature file it no longer ships: name
            # the files its versions.xml says are current.
            conf_dir, versions = self._conf_dir, self._versions
            self._fido = Fido(quiet=True, handle_matches=_ignore, conf_dir=conf_dir,
                              bufsize=self.bufsize,
                              format_files=[versions.pronom_signature,
                                            versions.fido_extension_signature])
            fido = self._fido
            self._compiled = [
                (element, [_Signature(signature.findtext("name") or "",
                                      [_Pattern(fido.get_pos(pattern), fido.get_regex(pattern))
                                       for pattern in fido.get_patterns(signature)])
                           for signature in fido.get_signatures(element)])
                for element in fido.formats]
            for element in fido.formats:
                for extension in dict.fromkeys(e.text for e in element.findall("extension")):
                    self._by_extension.setdefault(extension, []).append(element)
        return self._fido

    def _plan(self, first: int) -> _Plan:
        """What to try on a file beginning with the byte ``first``: the formats,
        and of each the signatures, that such a file could match (a format with
        none left could add nothing to fido's result, so leaving it out changes
        nothing), indexed by the cheap test each must pass."""
        plan = self._by_first_byte.get(first)
        if plan is None:
            if not self._parts_by_first_byte:
                self._index_by_first_byte()
            plan = self._make_plan(first)
        return plan

    def _index_by_first_byte(self) -> None:
        """The signatures of every first byte, in one pass over them (asked for
        byte by byte, a batch of files of random bytes paid for 256 passes).
        Formats and signatures keep fido's order."""
        table: dict[int, list[list[tuple[Any, _Signature]]]] = {b: [] for b in range(256)}
        magic: set[int] = set()  # first bytes some format's signatures ask for
        for element, signatures in self._compiled:
            anywhere = [(element, s) for s in signatures if s.first_bytes is None]
            constrained = {b for s in signatures if s.first_bytes is not None
                           for b in s.first_bytes}
            magic |= constrained
            for first in constrained:
                table[first].append([(element, s) for s in signatures
                                     if s.first_bytes is None or first in s.first_bytes])
            if anywhere:
                for first in range(256):
                    if first not in constrained:
                        table[first].append(anywhere)
        self._parts_by_first_byte = table
        self._magic = frozenset(magic)

    def _make_plan(self, first: int) -> _Plan:
        """The plan of one first byte, made when a file first begins with it.
        Every first byte no format asks for leaves the same signatures (those
        with no magic number): they share one plan."""
        parts = self._parts_by_first_byte[first]
        if first not in self._magic and self._no_magic_plan is not None:
            plan = self._no_magic_plan
        else:
            plan = _Plan([entry for part in parts for entry in part])
            if first not in self._magic:
                self._no_magic_plan = plan
        self._by_first_byte[first] = plan
        return plan

    def _match_formats(self, head: bytes, tail: bytes) -> list[tuple[Any, str]]:
        """fido's ``match_formats``: the same matches, found with the patterns
        compiled once and the prefilters above. ``head`` is not empty."""
        fido = self._fido
        plan = self._plan(head[0])
        entries = plan.entries
        result: list[tuple[Any, str]] = []
        current, skipped = None, False
        for index in plan.worth_trying(head, tail):
            element, signature = entries[index]
            if element is not current:
                # fido asks this once per format, before its signatures
                current = element
                skipped = bool(result) and not fido.as_good_as_any(element, result)
            if skipped:
                continue
            probe = signature.probe
            if probe is not None and (len(head) <= probe[0] or head[probe[0]] not in probe[1]):
                continue
            if all(pattern.matches(head, tail) for pattern in signature.patterns):
                result.append((element, signature.name))
        return [match for match in result if fido.as_good_as_any(match[0], result)]

    def _match_extensions(self, name: str) -> list[tuple[Any, str]]:
        """fido's ``match_extensions`` with the formats indexed by extension once,
        kept only when it tells one format: of the formats that list the
        extension, those with signatures are ruled out (the bytes matched none of
        them: a ``.tif`` that is no TIFF was told "DNG 1.1" by its name), and of
        the rest exactly one must be left (``.txt``: plain text). Otherwise the
        file's format is not on record (FORMAT_UNIDENTIFIED), never a guess."""
        extension = os.path.splitext(name)[1].lower().lstrip(".")
        if not extension:
            return []
        result = [(element, "External") for element in self._by_extension.get(extension, [])]
        best = [match for match in result if self._fido.as_good_as_any(match[0], result)]
        unsigned = [match for match in best if not match[0].findall("signature")]
        return unsigned if len(unsigned) == 1 else []

    def identify(self, head: bytes, tail: bytes, name: str) -> IdentifiedFormat | None:
        with self._lock:
            self._loaded()
            matches = self._match_formats(head, tail) if head else []
            basis = "signature"
            if not matches:
                matches = self._match_extensions(name)
                basis = "extension"
        if not matches:
            return None
        element = matches[0][0]
        return IdentifiedFormat(
            puid=element.findtext("puid") or "",
            name=element.findtext("name") or "",
            version=element.findtext("version") or "",
            mime=element.findtext("mime") or "",
            basis=basis,
        )


class _LocalVersions:
    """What fido's ``conf/versions.xml`` names, read as ``fido.versions.LocalVersions``
    reads it (the text of each element, None when absent or unreadable), without
    that module, which loads ``requests`` for its updater: a tenth of a second on
    the first item of every batch."""

    _ELEMENTS: ClassVar[dict[str, str]] = {
        "pronom_version": "pronomVersion", "pronom_signature": "pronomSignature",
        "fido_extension_signature": "fidoExtensionSignature"}

    def __init__(self, path: str) -> None:
        from xml.etree.ElementTree import ParseError, parse

        try:
            root = parse(path).getroot()
        except (ParseError, OSError):
            root = None
        for attribute, element in self._ELEMENTS.items():
            setattr(self, attribute, root.findtext(element) if root is not None else None)


class _Pattern:
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
        #: BOF only, in ``_Signature``: the bytes a match can begin with, and
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


class _Signature:
    """A signature: its name and patterns, all of which must match, and the bytes
    a file it matches can begin with (None: any)."""

    __slots__ = ("first_bytes", "keyed", "name", "patterns", "probe")

    def __init__(self, name: str, patterns: list[_Pattern]) -> None:
        self.name = name
        self.patterns = patterns
        self.first_bytes: frozenset[int] | None = None
        #: (offset, bytes) a file it matches has there, past its first byte
        self.probe = next((p.probe for p in patterns if p.probe is not None), None)
        #: its first pattern with a literal run: the test ``_Plan`` files it under
        #: when it has no probe (None: neither)
        self.keyed = next((p for p in patterns if p.literal is not None), None)
        for pattern in patterns:
            if pattern.first_bytes is not None:
                self.first_bytes = (pattern.first_bytes if self.first_bytes is None
                                    else self.first_bytes & pattern.first_bytes)


class _Plan:
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

    def __init__(self, entries: list[tuple[Any, _Signature]]) -> None:
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


def _ignore(*_args: Any, **_kwargs: Any) -> None:
    """fido's match handler prints; the pipeline reads the matches itself."""


@functools.cache
def fido_identifier() -> FidoIdentifier:
    """The process's one fido identifier, built on first use."""
    return FidoIdentifier()


__all__ = ["FidoIdentifier", "fido_identifier"]
