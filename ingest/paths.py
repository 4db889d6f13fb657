"""Safe payload names: what a path inside an item may be, and how a manifest spells it.

A payload path is relative to the item folder and '/'-separated. It must name
the same file on every platform and in every BagIt tool that later reads the
bag, so a path is refused when it could escape the bag (``..``, absolute), when
another system would read it differently (backslash, control characters, names
that were not UTF-8 on disk), when common file systems cannot hold it (length),
or when two names would become one file on a normalizing or case-insensitive
file system (macOS, Windows).

CR and LF are legal: RFC 8493 §2.1.3 percent-encodes them in manifests, which
``encode_manifest_path`` and ``decode_manifest_path`` do.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable

from ingest.findings import Finding
from ingest.models import identifier_key

#: Longest single name, in UTF-8 bytes (NAME_MAX of ext4, XFS, APFS, NTFS).
MAX_COMPONENT_BYTES = 255
#: Longest relative path, in UTF-8 bytes; leaves room under PATH_MAX (4096)
#: for the folder the bag is unpacked into.
MAX_PATH_BYTES = 1024

# Characters a manifest line may carry only percent-encoded (RFC 8493 §2.1.3).
_LEGAL_CONTROLS = frozenset("\r\n")


def display_path(path: str) -> str:
    """The path as text that any UTF-8 consumer can hold.

    Names that were not valid UTF-8 on disk reach us (through ``os.fsdecode``)
    with lone surrogates standing for the undecodable bytes; such a string
    cannot be written to a UTF-8 log, terminal or database. Each such byte is
    shown as ``\\xNN`` instead. Every other path is returned unchanged.
    """
    if not _has_surrogate(path):
        return path
    return "".join(_shown_char(char) for char in path)


def check_relative_path(path: str) -> list[Finding]:
    """Refuse a payload path that is not safe to store and hand back.

    Returns an empty list for a safe path, or one ``PATH_UNSAFE`` finding
    whose ``detail`` names every reason the path is refused (empty, absolute,
    a ``.``/``..``/empty component, a backslash, NUL or another control
    character other than CR and LF, bytes that were not UTF-8, a component
    over 255 or a path over 1024 UTF-8 bytes). Raises nothing.
    """
    reasons: list[str] = []
    if path == "":
        return [_unsafe(path, "the path is empty")]
    components = path.split("/")
    if path.startswith("/"):
        reasons.append("it is absolute")
        components = path.lstrip("/").split("/")
    if ".." in components:
        reasons.append("it has a '..' component")
    if "." in components:
        reasons.append("it has a '.' component")
    if "" in components:
        reasons.append("it has an empty component")
    if "\\" in path:
        reasons.append("it has a backslash, a folder separator on Windows")
    reasons.extend(_character_reasons(path))
    for component in components:
        size = len(component.encode("utf-8", "surrogatepass"))
        if size > MAX_COMPONENT_BYTES:
            reasons.append(f"a name of {size} bytes is longer than {MAX_COMPONENT_BYTES}")
            break
    size = len(path.encode("utf-8", "surrogatepass"))
    if size > MAX_PATH_BYTES:
        reasons.append(f"the path of {size} bytes is longer than {MAX_PATH_BYTES}")
    return [_unsafe(path, "; ".join(reasons))] if reasons else []


def find_collisions(paths: Iterable[str]) -> list[Finding]:
    """Report names that would become one on a normalizing or case-insensitive file system.

    Every path and every folder above it is compared, so a file ``A/b`` and a
    file ``a/c`` collide on their folders ``A`` and ``a``. Each clash is
    reported once, as ``NAME_COLLISION`` on the later path in sorted order, with
    the earlier as ``other`` and ``rule`` "NFC normalization", "case folding" or
    reading alike (fullwidth letters, characters that show nothing); paths below
    two colliding folders are not reported again.
    Raises nothing.
    """
    names: set[str] = set()
    for path in paths:
        parts = path.split("/")
        names.update("/".join(parts[: i + 1]) for i in range(len(parts)))

    groups: dict[str, list[str]] = defaultdict(list)
    for name in sorted(names):
        groups[_folded(name)].append(name)

    findings: list[Finding] = []
    for group in groups.values():
        for index, name in enumerate(group[1:], start=1):
            nfc = unicodedata.normalize("NFC", name)
            twin = next((g for g in group[:index] if unicodedata.normalize("NFC", g) == nfc), None)
            if twin is not None:
                other, rule = twin, "NFC normalization"
            elif _case_folded(group[0]) == _case_folded(name):
                other, rule = group[0], "case folding"
            else:
                other, rule = group[0], ("reading alike (fullwidth or compatibility letters, "
                                         "or characters that show nothing)")
            if _parent(name) != _parent(other):
                # Their folders already collide, and that clash is reported.
                continue
            findings.append(Finding(
                "NAME_COLLISION", path=display_path(name),
                params={"other": display_path(other), "rule": rule},
            ))
    findings.sort(key=lambda f: f.path or "")
    return findings


def find_unportable(paths: Iterable[str]) -> list[Finding]:
    """Warn of names Windows cannot hold: a ``PATH_NOT_PORTABLE`` warning for each
    file or folder whose own name has ``< > : " | ? *`` or a line break, ends
    with a dot or a space, or is a device name Windows reserves (``CON``,
    ``aux.txt``, ``LPT1``...). Such a name is kept as it is (it is the
    record's); the warning tells that a copy restored on Windows needs another
    name. A folder is told once, not for each file in it (an item's scan tells
    at most twenty: ``ingest.findings.condense_warnings``). Raises nothing."""
    names: set[str] = set()
    for path in paths:
        parts = path.split("/")
        names.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    findings = []
    for name in sorted(names):
        reasons = _windows_reasons(name.rpartition("/")[2])
        if reasons:
            findings.append(Finding("PATH_NOT_PORTABLE", path=display_path(name),
                                    params={"detail": "; ".join(reasons)}))
    return findings


def encode_manifest_path(path: str) -> str:
    """Spell a payload path as a BagIt manifest line does (RFC 8493 §2.1.3).

    ``%`` becomes ``%25``, CR ``%0D`` and LF ``%0A``; nothing else changes.
    Raises nothing.
    """
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


_ENCODED = re.compile(r"%(25|0[dD]|0[aA])")
_DECODED = {"25": "%", "0d": "\r", "0a": "\n"}


def decode_manifest_path(text: str) -> str:
    """Read a path as a BagIt manifest line spells it (RFC 8493 §2.1.3).

    ``%25``, ``%0D`` and ``%0A`` (hex in either case) become ``%``, CR and LF;
    any other ``%xx`` is left as it stands, as the RFC encodes only these
    three. Raises nothing.
    """
    return _ENCODED.sub(lambda m: _DECODED[m.group(1).lower()], text)


# --------------------------------------------------------------------------- internals


def _unsafe(path: str, detail: str) -> Finding:
    return Finding("PATH_UNSAFE", path=display_path(path), params={"detail": detail})


def _character_reasons(path: str) -> list[str]:
    """One reason per kind of forbidden character, naming the first of each."""
    reasons: dict[str, str] = {}
    for char in path:
        point = ord(char)
        if point == 0:
            reasons.setdefault("nul", "it has a NUL character")
        elif (point < 0x20 or 0x7F <= point <= 0x9F) and char not in _LEGAL_CONTROLS:
            reasons.setdefault("control", f"it has the control character U+{point:04X}")
        elif 0xD800 <= point <= 0xDFFF:
            shown = f"0x{point - 0xDC00:02X}" if point >= 0xDC80 else f"U+{point:04X}"
            reasons.setdefault("utf8", f"the name was not valid UTF-8 on disk (byte {shown})")
        elif 0x202A <= point <= 0x202E or 0x2066 <= point <= 0x2069:
            reasons.setdefault("bidi", f"it has the bidirectional control character "
                                       f"U+{point:04X}, which shows the name in another order "
                                       "than it is stored")
    return list(reasons.values())


#: Characters no Windows file name may hold (besides '/', '\\' and controls,
#: refused everywhere by check_relative_path).
_NOT_ON_WINDOWS = '<>:"|?*'
#: Device names Windows reserves, whatever the extension (``con.txt``).
_WINDOWS_DEVICES = frozenset({"con", "prn", "aux", "nul", *(f"com{n}" for n in range(1, 10)),
                              *(f"lpt{n}" for n in range(1, 10))})


def _windows_reasons(name: str) -> list[str]:
    reasons = [f"it has {char!r}, which Windows does not allow in a name"
               for char in dict.fromkeys(name) if char in _NOT_ON_WINDOWS]
    if "\r" in name or "\n" in name:
        reasons.append("it has a line break")
    if name.split(".")[0].rstrip(" ").lower() in _WINDOWS_DEVICES:
        reasons.append(f"{name.split('.')[0]!r} is reserved by Windows for a device")
    if name.endswith("."):
        reasons.append("it ends with a dot, which Windows drops")
    elif name.endswith(" "):
        reasons.append("it ends with a space, which Windows drops")
    return reasons


def _shown_char(char: str) -> str:
    point = ord(char)
    if 0xDC80 <= point <= 0xDCFF:  # an undecodable byte, as surrogateescape keeps it
        return f"\\x{point - 0xDC00:02x}"
    if 0xD800 <= point <= 0xDFFF:
        return f"\\u{point:04x}"
    return char


def _has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(char) <= 0xDFFF for char in text)


def _case_folded(name: str) -> str:
    # NFC before and after folding: casefold can undo composition (e.g. of
    # some Greek letters), and both spellings must land on one key.
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def _folded(name: str) -> str:
    """Names that read alike land on one key: ``a.txt``, ``A.txt``, fullwidth
    ``ａ.txt`` and ``a\u200b.txt`` (``ingest.models.identifier_key``)."""
    return identifier_key(name)


def _parent(name: str) -> str:
    return name.rpartition("/")[0]


__all__ = [
    "MAX_COMPONENT_BYTES",
    "MAX_PATH_BYTES",
    "check_relative_path",
    "decode_manifest_path",
    "display_path",
    "encode_manifest_path",
    "find_collisions",
    "find_unportable",
]
