"""The one error exports raise, so routes can turn it into a clear message before any byte is sent."""

from __future__ import annotations


class ExportError(ValueError):
    """An export that cannot be produced as asked (format not offered for the shape, too many rows...)."""
