"""Plain-text tables for the CLI and the demo (standard library only)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["MIN_COLUMN", "render_table", "shorten"]

MIN_COLUMN = 8
"""A column is never narrowed below this many characters (or its header)."""


def shorten(text: str, width: int) -> str:
    """Return *text* cut to *width* characters, ending in ``…`` when cut."""
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + "…"


def render_table(
    columns: Sequence[str], rows: Sequence[Sequence[str]], *, max_width: int | None = None
) -> list[str]:
    """Return a plain-text table: a header, a rule, the rows; columns padded to fit.

    With *max_width*, the widest columns are narrowed (their cells cut, ending in
    ``…``) until every line fits in *max_width* characters, each column keeping at
    least its header or :data:`MIN_COLUMN` characters. Headers are never cut.
    """
    widths = [len(c) for c in columns]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    if max_width is not None:
        floors = [max(len(c), MIN_COLUMN) for c in columns]
        gaps = 2 * (len(columns) - 1)
        while sum(widths) + gaps > max_width:
            narrowable = [i for i, w in enumerate(widths) if w > floors[i]]
            if not narrowable:
                break
            widest = max(narrowable, key=lambda i: widths[i])
            widths[widest] -= 1
        rows = [[shorten(cell, w) for cell, w in zip(row, widths, strict=True)] for row in rows]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()

    return [line(columns), line(["-" * w for w in widths]), *(line(row) for row in rows)]
