"""An oracle for "does this text show that secret?", independent of payplane's redactor.

It decodes instead of matching: the text as is, percent-decoded (``+`` as a space or
not), backslash-unescaped (JSON's and Python's escapes, surrogate pairs, the ``\\xNN``
of a bytes repr), in any order up to three rounds; then every base64 run of each result.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from urllib.parse import unquote, unquote_plus

_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|[\"\\/bfnrt'])")
_SHORT = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_BYTE_ESCAPES = re.compile(r"(?:\\x[0-9a-fA-F]{2})+")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")


def _unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        escape = match.group(1)
        if escape[0] in "uUx":
            return chr(int(escape[1:], 16))
        return _SHORT.get(escape, escape)

    joined = _ESCAPE.sub(one, text)  # surrogate pairs come out as two halves: join them
    return joined.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _unescape_bytes(text: str) -> str:
    def run(match: re.Match[str]) -> str:
        data = bytes.fromhex(match.group(0).replace("\\x", ""))
        return data.decode("utf-8", "surrogateescape")

    return _BYTE_ESCAPES.sub(run, text)


_DECODERS: tuple[Callable[[str], str], ...] = (unquote, unquote_plus, _unescape, _unescape_bytes)


def decodings(text: str) -> set[str]:
    """*text* and what three rounds of any decoders make of it."""
    found = {text}
    layer = {text}
    for _ in range(3):
        layer = {
            decoded
            for item in layer
            if "%" in item or "\\" in item or "+" in item
            for decoder in _DECODERS
            if (decoded := decoder(item)) != item
        } - found
        found |= layer
    return found


def base64_decodings(text: str) -> Iterator[bytes]:
    for run in _BASE64_RUN.findall(text):
        core = run.rstrip("=")
        padded = core + "=" * (-len(core) % 4)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                yield decode(padded)
            except (binascii.Error, ValueError):
                continue


def shown(text: str) -> tuple[set[str], list[bytes]]:
    """What *text* shows once decoded: its decodings, and the bytes of its base64 runs."""
    found = decodings(text)
    return found, [data for item in found for data in base64_decodings(item)]


def revealed(secret: str, text: str) -> bool:
    """Whether *text* shows *secret* in any form the oracle can decode."""
    return revealed_in(secret, *shown(text))


def revealed_in(secret: str, texts: set[str], blobs: list[bytes]) -> bool:
    """Whether *secret* is in any of the decoded *texts* or base64 *blobs* (see :func:`shown`)."""
    if any(secret in item for item in texts):
        return True
    raw = secret.encode("utf-8", "surrogatepass")
    return any(raw in data for data in blobs)
