"""A gap in the data is a gap in the drawn graph: plotly.js in Chromium, fed the figure exactly as Dash sends it.

The figures send values as typed arrays with NaN for missing buckets (``figures.style.bucket_values``); this
checks in a real browser that NaN breaks the line into separate runs, and that a missing day has no bar (daily
bars carry only the days with a value), never one drawn as a reading.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import plotly.graph_objects as go
import pytest
from dash._utils import to_json
from playwright.sync_api import Browser, Page

from portfolio.figures.consumption import make_consumption_figure
from portfolio.web.app import assets_dir
from tests.figures.test_consumption import _frame, weighted_temperature_figure

pytestmark = [pytest.mark.browser]

PLOTLY_JS = assets_dir() / "vendor" / "plotly-cartesian.min.js"
"""The plotly.js the pages load (``web/static_cache.py``)."""


@contextmanager
def _plotted(browser: Browser, figure: go.Figure | str) -> Iterator[Page]:
    """A page with ``figure`` (or its JSON) drawn by plotly.js as Dash sends it (``gd`` is ``#plot``)."""
    page = browser.new_page(viewport={"width": 1000, "height": 600})
    try:
        page.set_content("<div id='plot' style='width:900px;height:500px'></div>")
        page.add_script_tag(path=str(PLOTLY_JS))
        page.evaluate(
            """async (figure) => {
                const spec = JSON.parse(figure);
                await Plotly.newPlot(document.getElementById('plot'), spec.data, spec.layout);
            }""",
            figure if isinstance(figure, str) else to_json(figure.to_plotly_json()),
        )
        yield page
    finally:
        page.close()


def _draw(browser: Browser, figure: go.Figure | str) -> dict[str, object]:
    """The first trace as drawn: its line runs (one SVG path each), its bars, and its values in plotly.js."""
    with _plotted(browser, figure) as page:
        return page.evaluate(
            """() => {
                const gd = document.getElementById('plot');
                const first = gd.querySelector('.scatterlayer .trace, .barlayer .trace');
                return {
                    runs: Array.from(first.querySelectorAll('path.js-line')).map(p => p.getAttribute('d')),
                    bars: Array.from(first.querySelectorAll('.point path')).map(p => p.getAttribute('d')),
                    nan: Array.from(gd._fullData[0].y).filter(v => Number.isNaN(v)).length,
                };
            }"""
        )


def test_nan_breaks_the_half_hourly_line(browser: Browser) -> None:
    frame = _frame(dt.date(2024, 6, 3), gap=slice(10, 14))
    figure = make_consumption_figure(frame, resolution="hh", fuel="power")
    drawn = _draw(browser, figure)
    assert drawn["nan"] == 4
    assert len(drawn["runs"]) == 2  # before and after the gap: nothing is drawn across it


def _bars(browser: Browser, figure: go.Figure) -> list[str]:
    """Every bar plotly.js drew (SVG path outlines), over all bar traces."""
    with _plotted(browser, figure) as page:
        return page.evaluate(
            "() => Array.from(document.querySelectorAll('#plot .barlayer .point path')).map(p => p.getAttribute('d'))"
            ".filter(d => d && d !== 'M0,0Z')"
        )


def test_a_missing_day_has_no_bar_and_is_never_drawn_as_a_reading(browser: Browser) -> None:
    frame = _frame(dt.date(2024, 6, 3), "day")
    frame.loc[frame.index[0], "energy_kwh"] = np.nan
    figure = make_consumption_figure(frame, resolution="day", fuel="power")
    assert [len(trace.y) for trace in figure.data if trace.type == "bar"] == [0]  # no point: no zero, no bar
    assert _bars(browser, figure) == []
    frame.loc[frame.index[0], "energy_kwh"] = 5.0  # a reading draws a visible bar
    assert len(_bars(browser, make_consumption_figure(frame, resolution="day", fuel="power"))) == 1


def test_the_temperature_hover_names_its_locations_from_the_traces_meta(browser: Browser) -> None:
    figure = weighted_temperature_figure("Consumption-weighted mean temperature (2 locations: bedford, <b>london</b>)")
    curve = next(n for n, t in enumerate(figure.data) if t.name == "Temperature")
    with _plotted(browser, figure) as page:
        hover = page.evaluate(
            """(curve) => {
                const gd = document.getElementById('plot');
                Plotly.Fx.hover(gd, [{curveNumber: curve, pointNumber: 3}], ['xy2']);
                return Array.from(gd.querySelectorAll('.hovertext')).map(n => n.textContent).join(' | ');
            }""",
            curve,
        )
    assert "°C" in hover and "Temperature, " in hover
    assert "(2 locations: bedford, &lt;b&gt;london&lt;/b&gt;)" in hover  # a name is shown as text, never as markup


def test_a_meter_estimate_marker_shows_the_lines_hover_under_the_mouse(browser: Browser) -> None:
    """The markers skip the hover; pointing at one shows the line's text for that half hour, estimates named."""
    figure = make_consumption_figure(_frame(dt.date(2024, 6, 3), estimated=(20,)), resolution="hh", fuel="power")
    with _plotted(browser, figure) as page:
        point = page.evaluate(
            """() => {
                const gd = document.getElementById('plot');
                const marker = gd._fullData.findIndex(t => t.name === 'Meter estimates');
                const x = gd._fullData[marker].x[0], y = gd._fullData[marker].y[0];
                const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
                return [box.left + xa._offset + xa.d2p(x), box.top + ya._offset + ya.d2p(y)];
            }"""
        )
        page.mouse.move(point[0], point[1])
        page.wait_for_selector(".hovertext", timeout=5000)
        hover = " | ".join(page.locator(".hovertext").all_text_contents())
    assert "Mon 3 Jun 2024 10:00 BST" in hover and "meter-estimated reading" in hover and "kWh" in hover
