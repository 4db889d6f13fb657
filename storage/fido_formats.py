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
more than hashing a small file does: the prefilters of
``storage.fido_prefilters``, each of which can only rule out what could never
match, keep it to a fraction of that.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import Any, ClassVar

from ingest.format_identification import IdentifiedFormat
from storage.fido_prefilters import Pattern, Plan, Signature

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
        self._compiled: list[tuple[Any, list[Signature]]] = []
        #: first byte of a file -> what to try on a file beginning with it; built on demand
        self._by_first_byte: dict[int, Plan] = {}
        #: first byte -> its formats' signatures, format by format (``_index_by_first_byte``)
        self._parts_by_first_byte: dict[int, list[list[tuple[Any, Signature]]]] = {}
        #: the first bytes some format's signatures ask for
        self._magic: frozenset[int] = frozenset()
        self._no_magic_plan: Plan | None = None
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
                (element, [Signature(signature.findtext("name") or "",
                                      [Pattern(fido.get_pos(pattern), fido.get_regex(pattern))
                                       for pattern in fido.get_patterns(signature)])
                           for signature in fido.get_signatures(element)])
                for element in fido.formats]
            for element in fido.formats:
                for extension in dict.fromkeys(e.text for e in element.findall("extension")):
                    self._by_extension.setdefault(extension, []).append(element)
        return self._fido

    def _plan(self, first: int) -> Plan:
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
        table: dict[int, list[list[tuple[Any, Signature]]]] = {b: [] for b in range(256)}
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

    def _make_plan(self, first: int) -> Plan:
        """The plan of one first byte, made when a file first begins with it.
        Every first byte no format asks for leaves the same signatures (those
        with no magic number): they share one plan."""
        parts = self._parts_by_first_byte[first]
        if first not in self._magic and self._no_magic_plan is not None:
            plan = self._no_magic_plan
        else:
            plan = Plan([entry for part in parts for entry in part])
            if first not in self._magic:
                self._no_magic_plan = plan
        self._by_first_byte[first] = plan
        return plan

    def _match_formats(self, head: bytes, tail: bytes) -> list[tuple[Any, str]]:
        """fido's ``match_formats``: the same matches, found with the patterns
        compiled once and the prefilters (``storage.fido_prefilters``). ``head``
        is not empty."""
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


def _ignore(*_args: Any, **_kwargs: Any) -> None:
    """fido's match handler prints; the pipeline reads the matches itself."""


@functools.cache
def fido_identifier() -> FidoIdentifier:
    """The process's one fido identifier, built on first use."""
    return FidoIdentifier()


__all__ = ["FidoIdentifier", "fido_identifier"]
