"""Bytes of a text file to one clean string: encoding, line endings, and refusing lines no meter file has.

Data collectors send UTF-8 (with or without a byte-order mark), UTF-16 from Excel's "Unicode text" and
Windows-1252 from older systems, with CRLF, LF, old-Mac CR-only or mixed line endings. This module turns all of
them into one ``str`` with ``\\n`` endings, and refuses a line longer than :data:`MAX_LINE_BYTES` before any parser
sees it, so a corrupted or hostile file costs one vectorised scan instead of minutes and gigabytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from portfolio.ingest.records import ImportFormatError

MAX_LINE_BYTES = 65_536
"""No meter file has a longer line: a wide day row with flags is about 1 kB."""
MAX_QUOTE_CHARS = 60
"""The most of a bad value an error message repeats (a 20 MB value must not echo back 20 MB)."""
_SCAN_BLOCK = 1 << 24


def quote(value: object, limit: int = MAX_QUOTE_CHARS) -> str:
    """Show a value from a file in an error message, cut to ``limit`` characters."""
    text = str(value)
    if len(text) <= limit:
        return repr(text)
    return repr(text[:limit]) + f"... ({len(text):,} characters)"


def refuse_long_lines(path: Path | str, data: bytes, limit: int = MAX_LINE_BYTES) -> None:
    """Refuse a file with a line longer than ``limit`` bytes, scanning in blocks so memory stays bounded."""
    if len(data) <= limit:
        return
    line_start = 0  # offset where the current line began
    lines_before = 0
    for block_start in range(0, len(data), _SCAN_BLOCK):
        block = np.frombuffer(data, dtype=np.uint8, count=min(_SCAN_BLOCK, len(data) - block_start), offset=block_start)
        ends = np.flatnonzero((block == 10) | (block == 13)) + block_start
        if len(ends):
            starts = np.concatenate(([line_start], ends[:-1] + 1))
            lengths = ends - starts
            longest = int(np.argmax(lengths))
            if lengths[longest] > limit:
                raise ImportFormatError(
                    str(path),
                    f"line longer than {limit:,} bytes ({int(lengths[longest]):,}): not a meter file, or corrupted",
                    f"line {lines_before + longest + 1}",
                )
            lines_before += len(ends)
            line_start = int(ends[-1]) + 1
        if block_start + len(block) - line_start > limit:
            raise ImportFormatError(
                str(path),
                f"line longer than {limit:,} bytes: not a meter file, or corrupted",
                f"line {lines_before + 1}",
            )


def text_encoding(data: bytes) -> str:
    """The encoding :func:`decode_text` uses for these bytes."""
    encoding = _bom_encoding(data)
    if encoding != "utf-8":
        return encoding
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _bom_encoding(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    if data[:3] == b"\xef\xbb\xbf":
        return "utf-8-sig"
    if len(data) >= 4 and data[1:4:2] == b"\x00\x00" and data[0:4:2] != b"\x00\x00":
        return "utf-16-le"
    if len(data) >= 4 and data[0:4:2] == b"\x00\x00" and data[1:4:2] != b"\x00\x00":
        return "utf-16-be"
    return "utf-8"


def decode_text(path: Path | str, data: bytes, *, lines_checked: bool = False) -> str:
    """Decode UTF-8, UTF-16 (by its byte-order mark or its NUL pattern) or Windows-1252, with ``\\n`` line ends."""
    encoding = _bom_encoding(data)
    if encoding.startswith("utf-16"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as error:
            raise ImportFormatError(str(path), f"UTF-16 text is corrupt or cut: {error.reason}") from error
        refuse_long_lines(path, text.encode("utf-8", errors="replace"))
    else:
        if not lines_checked:
            refuse_long_lines(path, data)
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")  # Windows-1252: £, ³ and friends from older exports
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text
