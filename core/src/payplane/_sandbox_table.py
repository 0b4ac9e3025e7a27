"""Plain-text tables for the CLI and the demo (standard library only)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["render_table"]


def render_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Return a plain-text table: a header, a rule, the rows; columns padded to fit."""
    widths = [len(c) for c in columns]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()

    return [line(columns), line(["-" * w for w in widths]), *(line(row) for row in rows)]
