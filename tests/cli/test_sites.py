"""``portfolio sites``: JSON and a user's access policy."""

from __future__ import annotations

import io

import pytest

from portfolio.cli import main
from tests.cli.conftest import COASTAL, LCL, add_organisation, run_json


def test_sites_json_and_access_policy(
    cli_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["init-db"]) == 0
    add_organisation(cli_env, "ACME-001", "Acme Foods Ltd")
    assert main(["import", str(LCL), "--org", "ACME-001"]) == 0
    assert main(["import", str(COASTAL)]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert (
        main(["users", "add", "carol@acme.example", "--role", "customer", "--org", "ACME-001", "--password-stdin"]) == 0
    )
    capsys.readouterr()

    status, sites, _ = run_json(capsys, "sites", "--json")
    assert status == 0
    assert isinstance(sites, list) and len(sites) == 4
    required = {"id", "name", "meter_identifier", "fuel", "time_zone", "first_reading", "last_reading"}
    assert all(required <= set(site) for site in sites)
    by_meter = {site["meter_identifier"]: site for site in sites}
    mac = by_meter["MAC000002"]
    assert (mac["name"], mac["fuel"], mac["time_zone"], mac["organisation"]) == (
        "MAC000002",
        "power",
        "Europe/London",
        "Acme Foods Ltd",
    )
    assert (mac["first_reading"], mac["last_reading"]) == ("2013-03-24T00:00:00Z", "2013-11-02T23:30:00Z")
    assert sum(site["organisation"] == "Unassigned" for site in sites) == 1

    status, mine, _ = run_json(capsys, "sites", "--json", "--as", "Carol@acme.example")
    assert status == 0
    assert sorted(site["meter_identifier"] for site in mine) == ["MAC000002", "MAC000015", "MAC000079"]

    assert main(["sites", "--as", "nobody@acme.example"]) == 2
    assert "nobody@acme.example" in capsys.readouterr().err
    assert main(["sites"]) == 0
    table = capsys.readouterr().out
    assert "MAC000015" in table and "Coastal Multi-Family" in table
