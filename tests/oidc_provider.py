"""A real OpenID Connect provider for the tests, built from Authlib's server parts on the standard library's HTTP
server, bound to 127.0.0.1 on a free port.

Authorization-code flow with PKCE (S256), a discovery document, a JWKS with a fresh RSA key, id_tokens signed
RS256 holding the user's email and groups, and a sign-in form that checks a password. `misbehave` makes it issue
the faults a relying party must refuse: a tampered signature, an id_token naming another issuer than its
discovery document, or a discovery document (and tokens) of another issuer than the one the dashboard trusts.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Error, OAuth2Request
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload, JsonRequest
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.models import AuthorizationCodeMixin
from joserfc.jwk import RSAKey

Misbehaviour = Literal["tampered_signature", "token_issuer", "discovery_issuer"] | None


@dataclass(frozen=True)
class User:
    username: str
    password: str
    email: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in {"openid", "email", "profile", "groups"})

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: User
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time


class _Request(OAuth2Request):
    def __init__(self, method: str, uri: str, headers: Any, query: dict[str, str], form: dict[str, str]):
        super().__init__(method, uri, headers=headers)
        self._query, self._form = query, form
        self.payload = BasicOAuth2Payload({**query, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._query

    @property
    def form(self) -> dict[str, str]:
        return self._form


class Provider(AuthorizationServer):
    def __init__(self) -> None:
        super().__init__(scopes_supported=["openid", "email", "profile", "groups"])
        self.issuer = ""  # set once the port is known
        self.key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig"})
        self.clients: dict[str, Client] = {}
        self.users: dict[str, User] = {}
        self.codes: dict[str, Code] = {}
        self.nonces: set[str] = set()
        self.misbehave: Misbehaviour = None
        self.tokens_issued = 0
        self.register_token_generator("default", BearerTokenGenerator(lambda *a, **k: secrets.token_urlsafe(32)))
        self.register_grant(_CodeGrant, [_OpenIDCode(self, require_nonce=True), CodeChallenge(required=False)])

    @property
    def claimed_issuer(self) -> str:
        """The issuer the discovery document names (another one when misbehaving so)."""
        return self.issuer + "/impostor" if self.misbehave == "discovery_issuer" else self.issuer

    def add_user(self, username: str, password: str, email: str, groups: tuple[str, ...]) -> None:
        self.users[username] = User(username, password, email, groups)

    def add_client(self, client_id: str, client_secret: str, redirect_uri: str) -> None:
        self.clients[client_id] = Client(client_id, client_secret, (redirect_uri,))

    # AuthorizationServer's framework hooks
    def query_client(self, client_id: str) -> Client | None:
        return self.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        self.tokens_issued += 1

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request if isinstance(request, OAuth2Request) else _Request(*request)

    def create_json_request(self, request: Any) -> JsonRequest:
        raise NotImplementedError("no JSON endpoints")

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple[int, Any, list[tuple[str, str]]]:
        return status, body, list(headers or [])

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.claimed_issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile", "groups"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "iss", "aud", "email", "groups", "preferred_username"],
        }


class _CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012 (Authlib's name)

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        provider: Provider = self.server
        if data.get("nonce"):
            provider.nonces.add(data["nonce"])
        provider.codes[code] = Code(
            code=code, client_id=request.client.get_client_id(), redirect_uri=data.get("redirect_uri", ""),
            scope=request.client.get_allowed_scope(data.get("scope", "")), user=request.user,
            nonce=data.get("nonce"), code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
        )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        found = self.server.codes.get(code)
        return found if found is not None and found.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        self.server.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: Code) -> User:
        return authorization_code.user


class _OpenIDCode(OpenIDCode):
    def __init__(self, provider: Provider, require_nonce: bool):
        super().__init__(require_nonce=require_nonce)
        self.provider = provider

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return self.provider.key

    def get_client_algorithm(self, client: Client) -> str:
        return "RS256"

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": "RS256", "kid": str(self.provider.key.kid)}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        issuer = self.provider.claimed_issuer
        if self.provider.misbehave == "token_issuer":
            issuer = "https://idp.example.net"
        return {"iss": issuer, "aud": [client.get_client_id()]}

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return nonce in self.provider.nonces  # nonces of codes already issued (recorded when a code is saved)

    def generate_user_info(self, user: User, scope: str) -> UserInfo:
        return UserInfo(sub=user.username, email=user.email, preferred_username=user.username,
                        groups=list(user.groups))

    def process_token(self, grant: Any, response: Any) -> Any:
        token = super().process_token(grant, response)
        if self.provider.misbehave == "tampered_signature" and "id_token" in token:
            head, body, signature = token["id_token"].split(".")
            flipped = ("A" if signature[5] != "A" else "B")
            token["id_token"] = ".".join((head, body, signature[:5] + flipped + signature[6:]))
        return token


_FORM = """<!doctype html><html><head><title>Test identity provider</title></head><body>
<h1>Test identity provider</h1>{error}
<form method="post" action="/authorize?{query}">
<label>Username <input name="username" autocomplete="off"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Continue</button></form></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet in tests
        return

    def _send(self, status: int, body: Any, headers: list[tuple[str, str]] | None = None) -> None:
        payload = body if isinstance(body, bytes) else (
            json.dumps(body).encode() if isinstance(body, dict) else str(body).encode())
        self.send_response(status)
        content_type = "application/json" if isinstance(body, dict) else "text/html; charset=utf-8"
        for name, value in headers or []:
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(payload)

    def _request(self, form: dict[str, str]) -> _Request:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query))
        return _Request(self.command, f"{self.server.provider.issuer}{self.path}", self.headers, query, form)

    def do_GET(self) -> None:
        provider = self.server.provider
        path = urlsplit(self.path).path
        if path == "/.well-known/openid-configuration":
            self._send(200, provider.discovery())
        elif path == "/jwks":
            self._send(200, {"keys": [provider.key.as_dict(private=False)]})
        elif path == "/authorize":
            try:
                provider.get_consent_grant(self._request({}))
            except OAuth2Error as error:
                self._send(400, dict(error.get_body()))
                return
            self._send(200, _FORM.format(error="", query=html.escape(urlsplit(self.path).query)))
        else:
            self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:
        provider = self.server.provider
        length = min(int(self.headers.get("Content-Length") or 0), 64 * 1024)
        form = dict(parse_qsl(self.rfile.read(length).decode("utf-8", "replace")))
        path = urlsplit(self.path).path
        if path == "/token":
            self._send(*provider.create_token_response(self._request(form)))
        elif path == "/authorize":
            user = provider.users.get(form.pop("username", ""))
            password = form.pop("password", "")
            if user is None or not secrets.compare_digest(password, user.password):
                query = html.escape(urlsplit(self.path).query)
                self._send(200, _FORM.format(error="<p>Wrong username or password.</p>", query=query))
                return
            request = self._request({})
            try:
                grant = provider.get_consent_grant(request, end_user=user)
            except OAuth2Error as error:
                self._send(400, dict(error.get_body()))
                return
            self._send(*provider.create_authorization_response(request, grant_user=user, grant=grant))
        else:
            self._send(404, {"error": "not_found"})


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, provider: Provider):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.provider = provider


@contextmanager
def running_provider() -> Iterator[Provider]:
    """The provider serving on 127.0.0.1 and a free port; its issuer is http://127.0.0.1:PORT."""
    provider = Provider()
    server = _HTTPServer(provider)
    provider.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="oidc-provider", daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
