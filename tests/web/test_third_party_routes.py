"""The OAuth and ESPI routes refuse what they must, on Flask's test client (no browser needed)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from portfolio.services.third_parties import register_application
from tests.web.browsing import HTML

CALLBACK = "http://127.0.0.1:9/cb"
SCOPE = "FB=4_15;IntervalDuration=1800;BlockDuration=daily"


@pytest.fixture(autouse=True)
def _loopback_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def client_id(world_session_factory: sessionmaker[Session], world: object) -> str:
    with world_session_factory() as session:
        return register_application(session, "Energy Coach", [CALLBACK], approved=True).client_id


def _authorize_url(own_client_id: str, **changes: str) -> str:
    query = {
        "response_type": "code",
        "client_id": own_client_id,
        "redirect_uri": CALLBACK,
        "scope": SCOPE,
        "state": "s1",
        "code_challenge": "E9Melhoe2OwvFrEMTJguCHaoeK1t8URWbuGKSJ7D0ps",  # RFC 7636 appendix B (S256)
        "code_challenge_method": "S256",
    } | changes
    return "/oauth/authorize?" + urlencode({k: v for k, v in query.items() if v})


def test_the_consent_page_needs_a_signed_in_user(client: FlaskClient, client_id: str) -> None:
    response = client.get(_authorize_url(client_id), headers=HTML)
    assert response.status_code == 302 and response.location.startswith("/login?next=/oauth/authorize")


def test_the_consent_page_lists_what_is_asked_and_allows_the_redirect_in_its_csp(
    customer_client: FlaskClient, client_id: str
) -> None:
    response = customer_client.get(_authorize_url(client_id), headers=HTML)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Energy Coach" in page and "interval usage" in page and "daily and billing summaries" in page
    assert "account and site details" not in page  # FB 51 was not asked for
    assert "form-action 'self' http://127.0.0.1:9" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"code_challenge": "", "code_challenge_method": ""}, "PKCE is required"),  # confidential clients too
        ({"code_challenge_method": "plain"}, "PKCE is required"),
        ({"redirect_uri": "http://127.0.0.1:9/elsewhere"}, "invalid_request"),
        ({"client_id": "unknown"}, "invalid_client"),
        ({"scope": "FB=1_3"}, "invalid_scope"),
    ],
)
def test_bad_authorization_requests_are_refused_before_any_consent(
    customer_client: FlaskClient, client_id: str, changes: dict[str, str], error: str
) -> None:
    response = customer_client.get(_authorize_url(client_id, **changes), headers=HTML)
    assert response.status_code in (302, 400)
    body = response.location if response.status_code == 302 else response.get_data(as_text=True)
    assert error in body


def test_the_token_endpoint_refuses_a_wrong_secret_and_a_made_up_code(client: FlaskClient, client_id: str) -> None:
    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": "made-up",
            "redirect_uri": CALLBACK,
            "code_verifier": "x" * 43,
        },
        auth=(client_id, "wrong secret"),
    )
    assert response.status_code == 401 and response.json["error"] == "invalid_client"


@pytest.mark.parametrize(
    "path",
    ["/espi/1_1/resource/ReadServiceStatus", "/espi/1_1/resource/Batch/Subscription/x"],
)
def test_espi_resources_need_a_valid_bearer_token(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 401
    refused = client.get(path, headers={"Authorization": "Bearer not-a-token"})
    assert refused.status_code == 401 and "Bearer" in refused.headers["WWW-Authenticate"]
