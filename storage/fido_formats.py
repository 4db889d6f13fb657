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
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import re
import threading
from typing import Any

from ingest.format_identification import IdentifiedFormat

#: bytes of a file's head and of its tail fido matches signatures against (its default)
BUFSIZE = 128 * 1024


class FidoIdentifier:
    """fido behind the ``FormatIdentifier`` port."""

    def __init__(self) -> None:
        from fido import CONFIG_DIR
        from fido.versions import get_local_versions

        self._conf_dir = CONFIG_DIR
        self._versions = get_local_versions(CONFIG_DIR)
        self.tool = f"fido {importlib.metadata.version('opf-fido')}"
        self.signatures = f"PRONOM v{self._versions.pronom_version}"
        self.bufsize: int = BUFSIZE
        self._fido: Any = None
        #: per format: (its element, [(signature name, [(position, compiled pattern)])])
        self._compiled: list[tuple[Any, list[tuple[str, list[tuple[str, re.Pattern[bytes]]]]]]] = []
        #: extension (lower case, no dot) -> the formats that list it, in fido's order
        self._by_extension: dict[str, list[Any]] = {}
        # fido keeps the format it is matching on itself: one match at a time
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        """fido with its signatures, loaded on the first file (a command that
        ingests nothing never pays for it)."""
        if self._fido is None:
            from fido.fido import Fido

            # fido's own default names a signature file it no longer ships: name
            # the files its versions.xml says are current.
            self._fido = Fido(quiet=True, handle_matches=_ignore, conf_dir=self._conf_dir,
                              bufsize=self.bufsize,
                              format_files=[self._versions.pronom_signature,
                                            self._versions.fido_extension_signature])
            fido = self._fido
            self._compiled = [
                (element, [(signature.findtext("name") or "",
                            [(fido.get_pos(pattern), re.compile(fido.get_regex(pattern)))
                             for pattern in fido.get_patterns(signature)])
                           for signature in fido.get_signatures(element)])
                for element in fido.formats]
            for element in fido.formats:
                for extension in dict.fromkeys(e.text for e in element.findall("extension")):
                    self._by_extension.setdefault(extension, []).append(element)
        return self._fido

    def _match_formats(self, head: bytes, tail: bytes) -> list[tuple[Any, str]]:
        """fido's ``match_formats`` with the patterns compiled once."""
        fido = self._fido
        result: list[tuple[Any, str]] = []
        for element, signatures in self._compiled:
            if result and not fido.as_good_as_any(element, result):
                continue
            for name, patterns in signatures:
                for position, pattern in patterns:
                    if not _matches(position, pattern, head, tail):
                        break
                else:
                    result.append((element, name))
        return [match for match in result if fido.as_good_as_any(match[0], result)]

    def _match_extensions(self, name: str) -> list[tuple[Any, str]]:
        """fido's ``match_extensions`` with the formats indexed by extension once."""
        extension = os.path.splitext(name)[1].lower().lstrip(".")
        if not extension:
            return []
        result = [(element, "External") for element in self._by_extension.get(extension, [])]
        return [match for match in result if self._fido.as_good_as_any(match[0], result)]

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


def _matches(position: str, pattern: re.Pattern[bytes], head: bytes, tail: bytes) -> bool:
    if position == "BOF":
        return pattern.match(head) is not None
    if position == "EOF":
        return pattern.search(tail) is not None
    return pattern.search(head) is not None  # VAR, IFB: anywhere in the head


def _ignore(*_args: Any, **_kwargs: Any) -> None:
    """fido's match handler prints; the pipeline reads the matches itself."""


@functools.cache
def fido_identifier() -> FidoIdentifier:
    """The process's one fido identifier, built on first use."""
    return FidoIdentifier()


__all__ = ["FidoIdentifier", "fido_identifier"]
