"""Stored names reach Plotly as text, never as its pseudo-HTML (issue 18: a name drew a live external link)."""

from __future__ import annotations

import pandas as pd

from portfolio.figures.consumption import make_consumption_figure
from portfolio.figures.heatmap import make_load_profile_figure
from portfolio.figures.style import plain_text

LINK = '<a href="http://attacker.example/">Head office</a> & %{customdata}'


def _frame() -> pd.DataFrame:
    times = pd.date_range("2026-11-02", periods=3, freq="D")
    return pd.DataFrame(
        {
            "local_time": times,
            "label": ["Mon 2 Nov", "Tue 3 Nov", "Wed 4 Nov"],
            "energy_kwh": [1.0, 2.0, 3.0],
            "estimated_intervals": [0, 0, 0],
            "sites_reporting": [1, 1, 1],
        }
    )


def _all_text(figure) -> list[str]:  # type: ignore[no-untyped-def]
    layout = figure.layout
    texts = [layout.title.text or ""]
    for trace in figure.data:
        texts += [trace.name or "", trace.hovertemplate or ""]
    return texts


def test_plain_text_escapes_markup_and_templates() -> None:
    assert plain_text(LINK) == (
        '&lt;a href="http://attacker.example/"&gt;Head office&lt;/a&gt; &amp; &#37;{customdata}'
    )


def test_titles_legends_and_hovers_carry_no_markup_from_names() -> None:
    frame = _frame()
    figure = make_consumption_figure(
        frame,
        resolution="day",
        fuel="power",
        title=LINK,
        stack={LINK: frame["energy_kwh"], "Other sites": frame["energy_kwh"]},
        temperature=pd.DataFrame(
            {"local_time": frame["local_time"], "label": frame["label"], "temperature_c": 5.0, "forecast": False}
        ),
        temperature_label=LINK,
    )
    texts = _all_text(figure)
    assert not any("<a" in text or "</a>" in text for text in texts)
    assert not any("; %{customdata}" in text for text in texts)  # the name's own template text is not expanded
    assert figure.layout.title.text == plain_text(LINK)
    assert plain_text(LINK) in {trace.name for trace in figure.data}


def test_heatmap_title_is_escaped() -> None:
    profile = pd.DataFrame([[1.0] * 24] * 7, columns=range(24))
    figure = make_load_profile_figure(profile, title=LINK)
    assert "<a" not in figure.layout.title.text and "&lt;a" in figure.layout.title.text
