"""``assets/graphs.js`` names Dash ids and the whole-portfolio value as strings: they must be the Python ones."""

from __future__ import annotations

from pathlib import Path

from portfolio.web import ids
from portfolio.web.views.graphs_layout import WHOLE_PORTFOLIO

SCRIPT = (Path(__file__).resolve().parents[2] / "assets" / "graphs.js").read_text()


def test_the_browser_side_callbacks_name_the_ids_the_page_uses() -> None:
    for name in (f"{ids.GRAPH_SITE_CHOICE}.data", f"{ids.GRAPH_FUEL}.value", f'"{WHOLE_PORTFOLIO}"'):
        assert name in SCRIPT, name
    for function in ("userRelayout", "chooseSite"):
        assert f"{function}: function" in SCRIPT, function
