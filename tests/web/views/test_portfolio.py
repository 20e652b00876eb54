"""The Portfolio page's totals: per fuel, and per client for viewers whose list spans organisations."""

from __future__ import annotations

import json
import math

import pandas as pd

from portfolio.analytics.coverage import compute_client_totals
from portfolio.web import ids
from portfolio.web.views.portfolio import make_totals


def _site_list(rows: list[tuple[str, str, float, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"site_id": n, "organisation": org, "fuel": fuel, "energy_kwh": kwh, "intervals": intervals}
            for n, (org, fuel, kwh, intervals) in enumerate(rows, start=1)
        ]
    )


def test_client_totals_add_each_clients_sites_per_fuel_largest_first_and_never_zero_fill() -> None:
    site_list = _site_list(
        [
            ("Fen Edge", "power", 100.0, 48),
            ("Northcote", "power", 250.0, 48),
            ("Fen Edge", "power", 50.0, 10),
            ("Fen Edge", "power", math.nan, 0),
            ("Fen Edge", "gas", 400.0, 24),
            ("Quiet Ltd", "power", math.nan, 0),
        ]
    )
    totals = compute_client_totals(site_list)
    keyed = totals.set_index(["organisation", "fuel"])
    assert totals["organisation"].tolist() == ["Fen Edge", "Fen Edge", "Northcote", "Quiet Ltd"]
    assert tuple(keyed.loc[("Fen Edge", "power"), ["energy_kwh", "sites", "sites_reporting"]]) == (150.0, 3, 2)
    assert keyed.loc[("Fen Edge", "gas"), "energy_kwh"] == 400.0  # gas and power never added
    assert math.isnan(keyed.loc[("Quiet Ltd", "power"), "energy_kwh"])


def test_the_by_client_card_appears_only_for_several_organisations() -> None:
    several = make_totals(_site_list([("Fen Edge", "power", 100.0, 48), ("Northcote", "power", 250.0, 48)]))
    text = json.dumps([card.to_plotly_json() for card in several], default=lambda c: c.to_plotly_json())
    assert ids.PORTFOLIO_CLIENT_TOTALS in text and "By client" in text
    assert text.index("Northcote") < text.index("Fen Edge") and "250 kWh" in text and "1 of 1 sites" in text
    mixed = make_totals(_site_list([("Fen Edge", "gas", 400.0, 48), ("Northcote", "power", 250.0, 48)]))
    text = json.dumps([card.to_plotly_json() for card in mixed], default=lambda c: c.to_plotly_json())
    assert "Power metered" in text and "Gas metered" in text and "650" not in text
    one = make_totals(_site_list([("Fen Edge", "power", 100.0, 48), ("Fen Edge", "power", 5.0, 48)]))
    assert ids.PORTFOLIO_CLIENT_TOTALS not in json.dumps(
        [card.to_plotly_json() for card in one], default=lambda c: c.to_plotly_json()
    )
