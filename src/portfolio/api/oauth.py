"""The OAuth 2.0 authorization server (authlib's Flask integration): authorization code with PKCE, refresh tokens,
revocation (RFC 7009), and the bearer-token check of the ESPI resource server.

Every secret is stored as its SHA-256 hash (:func:`portfolio.services.third_parties.hash_secret`): a stolen
database holds no usable code or token. Access tokens live :data:`ACCESS_TOKEN_SECONDS`; refresh tokens rotate on
use (the old one is revoked). A token is only as good as its authorization's grant: the resource server checks the
grant through :mod:`portfolio.access` on every call, so revoking the grant refuses the very next call.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import ClientMixin, InvalidRequestError, TokenMixin, grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask
from flask import request as flask_request

from portfolio.access import application_site_ids
from portfolio.models import ApplicationStatus, OAuthCode, OAuthToken, ThirdPartyApplication, ThirdPartyAuthorization
from portfolio.queries import third_parties as queries
from portfolio.services import audit
from portfolio.services.third_parties import hash_secret
from portfolio.web.context import request_session

ACCESS_TOKEN_SECONDS = 900  # short-lived: 15 minutes; the refresh token gets the next one
CODE_SECONDS = 300
TOKEN_ENDPOINT_AUTH = ("client_secret_basic", "client_secret_post")


class OAuthClient(ClientMixin):
    """An approved application seen as an OAuth client (confidential: it authenticates with its secret)."""

    def __init__(self, application: ThirdPartyApplication) -> None:
        self.application = application

    def get_client_id(self) -> str:
        return self.application.client_id

    def get_default_redirect_uri(self) -> str:
        return self.application.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return scope  # the ESPI scope is parsed and limited by the consent page

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.application.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(hash_secret(client_secret), self.application.client_secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in TOKEN_ENDPOINT_AUTH

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class StoredCode:
    """An authorization code row as authlib's AuthorizationCodeMixin wants to see it."""

    row: OAuthCode

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> None:
        return None

    def get_auth_time(self) -> int:
        return self.row.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None

    @property
    def code_challenge(self) -> str | None:  # read by authlib's PKCE check
        return self.row.code_challenge

    @property
    def code_challenge_method(self) -> str | None:
        return self.row.code_challenge_method


class StoredToken(TokenMixin):
    """A token row as authlib's validators and revocation endpoint want to see it."""

    def __init__(self, row: OAuthToken) -> None:
        self.row = row

    def check_client(self, client: OAuthClient) -> bool:
        return self.row.authorization.application_id == client.application.id

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return self.row.expires_in

    def is_expired(self) -> bool:
        return time.time() >= self.row.issued_at + self.row.expires_in

    def is_revoked(self) -> bool:
        return self.row.access_revoked_at is not None


def _query_client(client_id: str) -> OAuthClient | None:
    application = queries.load_application_by_client_id(request_session(), str(client_id))
    if application is None or application.status is not ApplicationStatus.APPROVED:
        return None
    return OAuthClient(application)


def _save_token(token: dict[str, Any], request: Any) -> None:
    """Store the issued token pair as hashes, with an audit entry about the customer's organisation."""
    session = request_session()
    authorization: ThirdPartyAuthorization = request.user
    now = dt.datetime.now(dt.UTC)
    queries.insert_token(
        session,
        OAuthToken(
            authorization_id=authorization.id,
            access_token_hash=hash_secret(token["access_token"]),
            refresh_token_hash=hash_secret(token["refresh_token"]) if token.get("refresh_token") else None,
            scope=token.get("scope") or authorization.scope,
            issued_at=int(now.timestamp()),
            expires_in=int(token.get("expires_in", ACCESS_TOKEN_SECONDS)),
        ),
    )
    audit.record(
        session,
        "oauth_token_issued",
        user_id=None,
        organisation_id=authorization.grant.organisation_id,
        detail={
            "application": authorization.application.name,
            "authorization": authorization.uuid,
            "grant_type": request.form.get("grant_type"),
        },
        now=now,
    )
    session.commit()
    # ESPI: the token response names the subscription and authorization resources the token reads.
    base = f"{flask_request.host_url.rstrip('/')}/espi/1_1/resource"
    token["resourceURI"] = f"{base}/Batch/Subscription/{authorization.uuid}"
    token["authorizationURI"] = f"{base}/Authorization/{authorization.uuid}"


def _usable(authorization: ThirdPartyAuthorization) -> bool:
    """An authorization whose grant is no longer active, or whose application lost approval, issues nothing."""
    return (
        authorization.application.status is ApplicationStatus.APPROVED
        and application_site_ids(request_session(), authorization.grant_id) is not None
    )


class RequiredCodeChallenge(CodeChallenge):
    """PKCE for every client, confidential ones included (authlib requires it of public clients only), S256 only."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE is required: send code_challenge with code_challenge_method=S256")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(TOKEN_ENDPOINT_AUTH)

    def save_authorization_code(self, code: str, request: Any) -> None:
        authorization: ThirdPartyAuthorization = request.user
        now = int(time.time())
        data = request.payload.data
        queries.insert_code(
            request_session(),
            OAuthCode(
                code_hash=hash_secret(code),
                authorization_id=authorization.id,
                redirect_uri=request.payload.redirect_uri or "",
                scope=authorization.scope,
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                auth_time=now,
                expires_at=now + CODE_SECONDS,
            ),
        )
        request_session().commit()

    def query_authorization_code(self, code: str, client: OAuthClient) -> StoredCode | None:
        row = queries.load_code(request_session(), hash_secret(code))
        if row is None or row.expires_at < time.time():
            return None
        authorization = queries.load_authorization(request_session(), row.authorization_id)
        if authorization is None or authorization.application_id != client.application.id:
            return None
        return StoredCode(row)

    def delete_authorization_code(self, authorization_code: StoredCode) -> None:
        queries.delete_code(request_session(), authorization_code.row.id)

    def authenticate_user(self, authorization_code: StoredCode) -> ThirdPartyAuthorization | None:
        authorization = queries.load_authorization(request_session(), authorization_code.row.authorization_id)
        return authorization if authorization is not None and _usable(authorization) else None


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(TOKEN_ENDPOINT_AUTH)
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> StoredToken | None:
        row = queries.load_token_by_refresh(request_session(), hash_secret(refresh_token))
        if row is None or row.refresh_revoked_at is not None:
            return None
        return StoredToken(row)

    def authenticate_user(self, refresh_token: StoredToken) -> ThirdPartyAuthorization | None:
        authorization = refresh_token.row.authorization
        return authorization if _usable(authorization) else None

    def revoke_old_credential(self, refresh_token: StoredToken) -> None:
        now = dt.datetime.now(dt.UTC)
        queries.revoke_tokens(request_session(), [refresh_token.row.id], now)
        request_session().commit()


class TokenRevocation(RevocationEndpoint):
    """RFC 7009: the application revokes its own access or refresh token (and its pair)."""

    CLIENT_AUTH_METHODS = list(TOKEN_ENDPOINT_AUTH)

    def query_token(self, token_string: str, token_type_hint: str | None) -> StoredToken | None:
        session, digest = request_session(), hash_secret(token_string)
        row = None
        if token_type_hint != "refresh_token":
            row = queries.load_token_by_access(session, digest)
        if row is None:
            row = queries.load_token_by_refresh(session, digest)
        return StoredToken(row) if row is not None else None

    def revoke_token(self, token: StoredToken, request: Any) -> None:
        session = request_session()
        now = dt.datetime.now(dt.UTC)
        queries.revoke_tokens(session, [token.row.id], now)
        authorization = token.row.authorization
        audit.record(
            session,
            "oauth_token_revoked",
            user_id=None,
            organisation_id=authorization.grant.organisation_id,
            detail={"application": authorization.application.name, "authorization": authorization.uuid},
            now=now,
        )
        session.commit()


class HashedBearerValidator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> StoredToken | None:
        row = queries.load_token_by_access(request_session(), hash_secret(token_string))
        return StoredToken(row) if row is not None else None


def _generate_token(*_args: Any, **_kwargs: Any) -> str:
    return secrets.token_urlsafe(32)


def make_authorization_server(server: Flask) -> AuthorizationServer:
    """The app's authorization server: code grant with PKCE required (S256), refresh, revocation."""
    lifetimes = {"authorization_code": ACCESS_TOKEN_SECONDS, "refresh_token": ACCESS_TOKEN_SECONDS}
    server.config.setdefault("OAUTH2_TOKEN_EXPIRES_IN", lifetimes)
    server.config.setdefault("OAUTH2_ACCESS_TOKEN_GENERATOR", _generate_token)
    server.config.setdefault("OAUTH2_REFRESH_TOKEN_GENERATOR", _generate_token)
    authorization_server = AuthorizationServer(server, query_client=_query_client, save_token=_save_token)
    authorization_server.register_grant(AuthorizationCodeGrant, [RequiredCodeChallenge(required=True)])
    authorization_server.register_grant(RefreshTokenGrant)
    authorization_server.register_endpoint(TokenRevocation)
    return authorization_server


def make_resource_protector() -> ResourceProtector:
    protector = ResourceProtector()
    protector.register_token_validator(HashedBearerValidator())
    return protector
