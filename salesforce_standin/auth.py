"""The login endpoints: the SOAP partner `login` call, and the OAuth token endpoint (JWT
bearer, client credentials, username-password). Who may log in, and the sessions, are
kept in `sessions`.

Responses follow what simple-salesforce's `soap_login` and `token_login` parse: a SOAP
`loginResponse` with `sessionId` and `serverUrl`, a SOAP fault carrying
`sf:exceptionCode`/`sf:exceptionMessage`, and OAuth JSON with `access_token` and
`instance_url` or `error`/`error_description`.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
import xml.etree.ElementTree as ET
from html import escape

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from salesforce_standin.context import ServerContext
from salesforce_standin.sessions import User

_PARTNER_NS = "urn:partner.soap.sforce.com"
_INVALID_LOGIN = "Invalid username, password, security token; or user locked out."


# -- SOAP -------------------------------------------------------------------------------
def _soap_fault(code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {escape(message)}</faultstring>"
        '<detail><sf:LoginFault xsi:type="sf:LoginFault">'
        f"<sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(body, status_code=500, media_type="text/xml; charset=utf-8")


def _find(root: ET.Element, local: str) -> str | None:
    for element in root.iter():
        if element.tag == f"{{{_PARTNER_NS}}}{local}" or element.tag == local:
            return element.text or ""
    return None


async def soap_login(request: Request) -> Response:
    """POST /services/Soap/u/{version}: the partner API login call."""
    ctx: ServerContext = request.app.state.ctx
    version = request.path_params["version"]
    try:
        root = ET.fromstring(await request.body())
    except ET.ParseError:
        return _soap_fault("INVALID_REQUEST", "Unable to parse the SOAP request")
    username = _find(root, "username")
    password = _find(root, "password")
    if username is None or password is None:
        return _soap_fault("INVALID_LOGIN", _INVALID_LOGIN)
    user = ctx.auth.password_user(username, password)
    if user is None:
        return _soap_fault("INVALID_LOGIN", _INVALID_LOGIN)
    session = ctx.auth.new_session(user)
    org = ctx.org
    base = ctx.base_url
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><loginResponse><result>"
        f"<metadataServerUrl>{base}/services/Soap/m/{version}/{org.org_id}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
        f"<serverUrl>{base}/services/Soap/u/{version}/{org.org_id}</serverUrl>"
        f"<sessionId>{escape(session)}</sessionId>"
        f"<userId>{user.user_id}</userId>"
        "<userInfo>"
        f"<organizationId>{org.org_id}</organizationId>"
        f"<organizationName>{escape(org.name)}</organizationName>"
        f"<userEmail>{escape(user.username)}</userEmail>"
        f"<userId>{user.user_id}</userId>"
        f"<userName>{escape(user.username)}</userName>"
        "</userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )
    return Response(body, media_type="text/xml; charset=utf-8")


# -- OAuth ------------------------------------------------------------------------------
def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _token_response(ctx: ServerContext, user: User) -> JSONResponse:
    token = ctx.auth.new_session(user)
    issued = str(int(time.time() * 1000))
    return JSONResponse(
        {
            "access_token": token,
            "instance_url": ctx.base_url,
            "id": f"{ctx.login_url}/id/{ctx.org.org_id}/{user.user_id}",
            "token_type": "Bearer",
            "issued_at": issued,
            "scope": "api",
            "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
        }
    )


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, sep, secret = decoded.partition(":")
    return (key, secret) if sep else None


async def oauth_token(request: Request) -> Response:
    """POST /services/oauth2/token."""
    ctx: ServerContext = request.app.state.ctx
    form = await request.form()
    grant = str(form.get("grant_type") or "")
    if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
        return _jwt_bearer(ctx, str(form.get("assertion") or ""))
    if grant == "client_credentials":
        credentials = _basic_credentials(request.headers.get("authorization"))
        if credentials is None and form.get("client_id"):
            credentials = (str(form.get("client_id")), str(form.get("client_secret") or ""))
        if credentials is None:
            return _oauth_error(401, "invalid_client", "invalid client credentials")
        known = ctx.auth.secret_clients.get(credentials[0])
        if known is None or not secrets.compare_digest(known[0].encode(), credentials[1].encode()):
            return _oauth_error(401, "invalid_client", "invalid client credentials")
        return _token_response(ctx, ctx.auth.user_for(known[1]))
    if grant == "password":
        known = ctx.auth.secret_clients.get(str(form.get("client_id") or ""))
        if known is None or not secrets.compare_digest(
            known[0].encode(), str(form.get("client_secret") or "").encode()
        ):
            return _oauth_error(400, "invalid_client_id", "client identifier invalid")
        user = ctx.auth.password_user(
            str(form.get("username") or ""), str(form.get("password") or "")
        )
        if user is None:
            return _oauth_error(400, "invalid_grant", "authentication failure")
        return _token_response(ctx, user)
    return _oauth_error(400, "unsupported_grant_type", "grant type not supported")


def _jwt_bearer(ctx: ServerContext, assertion: str) -> Response:
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        return _oauth_error(400, "invalid_grant", "invalid assertion")
    if header.get("alg") != "RS256":
        return _oauth_error(400, "invalid_grant", "invalid assertion")
    client = ctx.auth.jwt_clients.get(str(claims.get("iss")))
    if client is None:
        return _oauth_error(400, "invalid_client_id", "client identifier invalid")
    try:
        # simple-salesforce sends `exp` as a string, which Salesforce accepts: check it here
        # rather than through PyJWT, which insists on a number.
        claims = jwt.decode(
            assertion,
            client.public_key,
            algorithms=["RS256"],
            options={
                "verify_exp": False,
                "verify_aud": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.PyJWTError:
        return _oauth_error(400, "invalid_grant", "invalid assertion")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if ctx.login_url.rstrip("/") not in [str(a).rstrip("/") for a in audiences]:
        return _oauth_error(400, "invalid_grant", "audience is invalid")
    try:
        expires = float(claims["exp"])
    except (KeyError, TypeError, ValueError):
        return _oauth_error(400, "invalid_grant", "invalid assertion")
    if expires <= ctx.org.now().timestamp():
        return _oauth_error(400, "invalid_grant", "expired authorization code")
    if str(claims.get("sub", "")).lower() != client.username.lower():
        return _oauth_error(400, "invalid_grant", "user hasn't approved this consumer")
    return _token_response(ctx, ctx.auth.user_for(client.username))


async def identity(request: Request) -> Response:
    """GET /id/{org}/{user}: the identity URL from the token response."""
    ctx: ServerContext = request.app.state.ctx
    session = ctx.auth.check(request.headers.get("authorization"))
    if session is None:
        return JSONResponse(
            [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
            status_code=401,
        )
    return JSONResponse(
        {
            "id": f"{ctx.login_url}/id/{ctx.org.org_id}/{session.user_id}",
            "organization_id": ctx.org.org_id,
            "user_id": session.user_id,
            "username": session.username,
            "active": True,
        }
    )
