"""Green Button Connect My Data end to end: the app on loopback, Chromium as the customer, authlib's OAuth client
(requests) as the third party. Authorize one site for interval usage, exchange the code with PKCE, read the
subscription, validate it against espi.xsd, import it back to the same kWh, hit the scope limits, refresh and
revoke tokens, revoke from the Data sharing page and get 401 on the very next call."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from lxml import etree
from playwright.sync_api import Browser, Route
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import viewer_for, visible_site_ids
from portfolio.api.espi import usage_point_mrid
from portfolio.exports.espi_validation import ATOM, load_espi_schema, validate_espi
from portfolio.ingest.espi import parse_espi
from portfolio.models import AuditEntry, OAuthToken, Reading, ThirdPartyAuthorization
from portfolio.queries.exports import load_export_sites
from portfolio.services.accounts import find_user
from portfolio.services.demo import demo_logins
from portfolio.services.third_parties import hash_secret, register_application
from tests.e2e.conftest import copy_demo, open_page, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CALLBACK = "http://127.0.0.1:9/callback"  # never reached: Chromium's request is answered by the test
SCOPE = "FB=1_3_4_5_13_14_15;IntervalDuration=1800_3600;BlockDuration=daily;HistoryLength=5184000"


@dataclass(frozen=True)
class Party:
    base_url: str
    session_factory: sessionmaker[Session]
    customer: tuple[str, str]
    client_id: str
    client_secret: str


@pytest.fixture(scope="module")
def party(
    demo_template: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch
) -> Iterator[Party]:
    monkeypatch_module.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on loopback only
    settings = copy_demo(demo_template, tmp_path_factory, "third-parties")
    customer = next((i["email"], i["password"]) for i in demo_logins(settings) if i["role"] == "customer")
    with serve(settings) as (base_url, factory):
        with factory() as session:
            registered = register_application(
                session, "Energy Coach", [CALLBACK], description="Tips from your half hours", approved=True
            )
        yield Party(base_url, factory, customer, registered.client_id, registered.client_secret)


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def customer_sites(party: Party) -> list[int]:
    with party.session_factory() as session:
        viewer = viewer_for(session, find_user(session, party.customer[0]))
        return sorted(visible_site_ids(session, viewer))


def authorize(browser: Browser, party: Party, site_ids: list[int], data: list[str]) -> tuple[OAuth2Session, dict]:
    """The whole consent dance: authlib builds the URL, Chromium signs in and consents, authlib exchanges the code."""
    client = OAuth2Session(
        party.client_id, party.client_secret, scope=SCOPE, redirect_uri=CALLBACK, code_challenge_method="S256"
    )
    verifier = secrets.token_urlsafe(48)
    url, _state = client.create_authorization_url(f"{party.base_url}/oauth/authorize", code_verifier=verifier)
    landed: list[str] = []

    def answer(route: Route) -> None:
        landed.append(route.request.url)
        route.fulfill(status=200, body="ok", content_type="text/plain")

    with open_page(browser, party.base_url) as watched:
        page = watched.page
        page.route(f"{CALLBACK}**", answer)
        page.goto(url)
        page.fill("#email", party.customer[0])
        page.fill("#password", party.customer[1])
        page.click("button[type=submit]")
        page.wait_for_selector("#authorize-form")
        assert "Energy Coach" in page.content()
        for site in site_ids:
            page.check(f"input[name=site][value='{site}']")
        for kind in data:
            page.check(f"input[name=data][value='{kind}']")
        page.check("#terms")
        page.click("#authorize-allow")
        page.wait_for_url(f"{CALLBACK}**")
        assert watched.errors == []
    assert landed and "code=" in landed[0]
    token = client.fetch_token(
        f"{party.base_url}/oauth/token", authorization_response=landed[0], code_verifier=verifier
    )
    return client, token


def window() -> tuple[str, str, int, int]:
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    low, high = today - dt.timedelta(days=20), today - dt.timedelta(days=2)
    return (
        low.strftime("%Y-%m-%dT%H:%M:%SZ"),
        high.strftime("%Y-%m-%dT%H:%M:%SZ"),
        int(low.timestamp()),
        int(high.timestamp()),
    )


def test_connect_my_data_end_to_end(browser: Browser, party: Party, tmp_path: Path) -> None:
    granted, other = customer_sites(party)[:2]
    client, token = authorize(browser, party, [granted], ["interval_usage"])
    assert token["expires_in"] <= 900 and token.get("refresh_token")
    subscription = token["resourceURI"].rsplit("/", 1)[1]
    with party.session_factory() as session:  # tokens are stored hashed only
        stored = session.scalars(select(OAuthToken)).all()
        assert [t.access_token_hash for t in stored] == [hash_secret(token["access_token"])]
        assert not session.scalar(select(func.count()).where(OAuthToken.access_token_hash == token["access_token"]))

    resource = f"{party.base_url}/espi/1_1/resource"
    published_min, published_max, low, high = window()
    params = {"published-min": published_min, "published-max": published_max}
    batch = client.get(f"{resource}/Batch/Subscription/{subscription}", params=params)
    assert batch.status_code == 200, batch.text
    assert batch.headers["Content-Type"].startswith("application/atom+xml")
    assert validate_espi(batch.content) == []
    parsed = parse_espi(tmp_path / "subscription.xml", batch.content)
    assert len(parsed.meters) == 1
    with party.session_factory() as session:
        count, kwh = session.execute(
            select(func.count(), func.sum(Reading.energy_kwh)).where(
                Reading.site_id == granted, Reading.start_ts >= low, Reading.start_ts < high
            )
        ).one()
        sites = load_export_sites(session, [granted, other])
    readings = parsed.meters[0].readings
    assert len(readings) == count > 0
    assert readings["energy_kwh"].sum() == pytest.approx(kwh, abs=1e-6 * count)
    mrids = {
        int(s): usage_point_mrid(str(f), str(m), int(s))
        for s, f, m in zip(sites["site_id"], sites["fuel"], sites["meter_identifier"], strict=True)
    }
    # the importer names the meter by the usage point's global id and keeps its link (an mRID, not a database id)
    assert parsed.meters[0].identifier.startswith("urn:uuid:")
    assert any(alias.endswith(f"/UsagePoint/{mrids[granted]}") for alias in parsed.meters[0].aliases)
    meter = str(sites.loc[sites["site_id"] == granted, "meter_identifier"].iloc[0])
    assert meter not in batch.text  # site details (MPAN/MPRN) were not granted

    # The usage point granted, and its blocks; the site not granted is refused.
    assert client.get(f"{resource}/Subscription/{subscription}/UsagePoint/{mrids[granted]}", params=params).ok
    refused = client.get(f"{resource}/Subscription/{subscription}/UsagePoint/{mrids[other]}")
    assert refused.status_code == 403
    # Dates before the HistoryLength (60 days) are refused.
    old = client.get(f"{resource}/Batch/Subscription/{subscription}", params={"published-min": "2000-01-01T00:00:00Z"})
    assert old.status_code == 403 and "HistoryLength" in old.text
    assert client.get(f"{resource}/ReadServiceStatus").status_code == 200
    feed_root = etree.fromstring(batch.content)
    zone_href = feed_root.find(f"{{{ATOM}}}entry/{{{ATOM}}}link[@rel='self']").get("href")
    assert "/LocalTimeParameters/" in zone_href
    for href in (zone_href, f"{resource}/ReadingType/{mrids[granted]}", f"{resource}/Authorization/{subscription}"):
        answer = client.get(href)
        assert answer.status_code == 200, (href, answer.text)
        content = etree.fromstring(answer.content).find(f"{{{ATOM}}}content")[0]
        assert list(load_espi_schema().iter_errors(content)) == [], href
    assert client.get(f"{resource}/ReadingType/{mrids[other]}").status_code == 403
    assert client.get(f"{resource}/Authorization/{uuid.uuid4()}").status_code == 403

    # Refresh: a new access token works and the old refresh token is spent.
    refreshed = client.refresh_token(f"{party.base_url}/oauth/token", refresh_token=token["refresh_token"])
    assert refreshed["access_token"] != token["access_token"]
    assert client.get(f"{resource}/ReadServiceStatus").status_code == 200

    # Revoke from the Data sharing page: the very next call is 401.
    with open_page(browser, party.base_url) as watched:
        page = watched.page
        page.goto("/login")
        page.fill("#email", party.customer[0])
        page.fill("#password", party.customer[1])
        page.click("button[type=submit]")
        page.goto("/data-sharing/third-parties")
        row = page.locator(f"tr[data-authorization='{subscription}']")
        assert "never" not in row.inner_text()  # last access shown
        row.locator("button.revoke-one").click()
        page.wait_for_selector(f"tr[data-authorization='{subscription}'] >> text=revoked")
    after = client.get(f"{resource}/Batch/Subscription/{subscription}", params=params)
    assert after.status_code == 401
    with pytest.raises(OAuthError, match="invalid_grant"):  # nor can a refresh token bring it back
        client.refresh_token(f"{party.base_url}/oauth/token", refresh_token=refreshed["refresh_token"])
    with party.session_factory() as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"third_party_authorized", "oauth_token_issued", "third_party_api_calls", "third_party_revoked"} <= actions


def test_a_data_type_not_granted_is_refused_and_expiry_and_rfc7009_revocation_are_immediate(
    browser: Browser, party: Party
) -> None:
    site = customer_sites(party)[0]
    client, token = authorize(browser, party, [site], ["daily_totals"])
    subscription = token["resourceURI"].rsplit("/", 1)[1]
    resource = f"{party.base_url}/espi/1_1/resource"
    status = f"{resource}/ReadServiceStatus"
    assert client.get(f"{resource}/Batch/Subscription/{subscription}").status_code == 403
    assert client.get(status).status_code == 200

    def set_token_age(seconds: int) -> None:
        with party.session_factory() as session:
            stored = session.scalars(
                select(OAuthToken).where(OAuthToken.access_token_hash == hash_secret(client.token["access_token"]))
            ).one()
            stored.issued_at = int(dt.datetime.now(dt.UTC).timestamp()) - seconds
            session.commit()

    def set_grant_end(until: dt.datetime | None) -> None:
        with party.session_factory() as session:
            authorization = session.scalars(
                select(ThirdPartyAuthorization).where(ThirdPartyAuthorization.uuid == subscription)
            ).one()
            assert authorization.grant.daily_totals and not authorization.grant.interval_usage
            authorization.grant.valid_until = until
            session.commit()

    set_token_age(901)  # the access token's 15 minutes are over: 401; the refresh token gets a new one
    assert client.get(status).status_code == 401
    client.refresh_token(f"{party.base_url}/oauth/token", refresh_token=client.token["refresh_token"])
    assert client.get(status).status_code == 200

    set_grant_end(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))  # the authorization ran out: 401 at once
    assert client.get(status).status_code == 401
    with pytest.raises(OAuthError):
        client.refresh_token(f"{party.base_url}/oauth/token", refresh_token=client.token["refresh_token"])
    set_grant_end(None)
    client.refresh_token(f"{party.base_url}/oauth/token", refresh_token=client.token["refresh_token"])
    assert client.get(status).status_code == 200

    revoked = client.revoke_token(f"{party.base_url}/oauth/revoke", client.token["access_token"])
    assert revoked.status_code == 200
    assert client.get(status).status_code == 401
