"""View helpers and callbacks, one module per page noun (``pages/<noun>.py`` holds the page layout)."""
