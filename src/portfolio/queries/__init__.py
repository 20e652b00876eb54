"""The data-access layer: every SQL statement lives in this package (``load_*`` functions)."""
