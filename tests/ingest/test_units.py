import numpy as np
import pandas as pd
import pytest

from portfolio.ingest.units import kwh_per_unit, normalise_unit, to_kwh


def test_gas_volume_uses_the_uk_formula():
    # kWh = m3 x 1.02264 x CV / 3.6
    assert kwh_per_unit("m3") == pytest.approx(1.02264 * 39.5 / 3.6)
    assert kwh_per_unit("m3", calorific_value_mj_m3=40.0) == pytest.approx(1.02264 * 40.0 / 3.6)
    assert kwh_per_unit("hcf") == pytest.approx(2.8316846592 * 1.02264 * 39.5 / 3.6)
    assert kwh_per_unit("ccf") == kwh_per_unit("hcf")


def test_energy_units_convert_linearly():
    values = np.array([0.0, 1.0, 2.5])
    assert to_kwh(values, "therm") == pytest.approx(values * 29.3071)
    assert to_kwh(values, "Wh") == pytest.approx(values / 1000)
    assert to_kwh(values, "MWh") == pytest.approx(values * 1000)
    series = to_kwh(pd.Series(values, index=[5, 6, 7]), "kWh")
    assert isinstance(series, pd.Series) and list(series.index) == [5, 6, 7]


@pytest.mark.parametrize(
    ("spelling", "unit"),
    [
        ("kwh", "kWh"),
        ("KWh", "kWh"),
        ("m³", "m3"),
        ("M3", "m3"),
        ("therms", "therm"),
        ("wh", "Wh"),
        ("MWH", "MWh"),
        ("CCF", "hcf"),
        ("hcf", "hcf"),
    ],
)
def test_common_spellings_are_normalised(spelling, unit):
    assert normalise_unit(spelling) == unit


def test_unknown_units_are_refused():
    with pytest.raises(ValueError, match="unknown unit 'litres'"):
        normalise_unit("litres")
    with pytest.raises(ValueError):
        to_kwh(np.array([1.0]), "kW")
