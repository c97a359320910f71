"""Who is calling: the principal of a call, from its bearer token (JWT) or its client
certificate (mTLS), and the check of what it may do. The one place that reads identities from
gRPC metadata and auth contexts; the decisions are `switchboard.server.policy`'s.

Tokens are never logged."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import structlog
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from cryptography.x509.oid import NameOID

from switchboard.server.clock import MICROS, Clock
from switchboard.server.errors import Unauthenticated
from switchboard.server.ownership import Access, access
from switchboard.server.permissions import PERMISSIONS, Need
from switchboard.server.policy import (
    AREA,
    RESERVED_PREFIX,
    Policy,
    Principal,
    caller,
    check_project_name,
)
from switchboard.server.tls import Stamp, file_stamp

log = structlog.get_logger("switchboard.identity")

CERT_IDENTITIES = ("san_uri", "san_dns", "cn")
"""Which part of a client certificate names its principal."""

TOKENS_KEPT = 4096
"""Verified tokens whose claims are kept (their expiry is still checked on every call)."""

KEY_FILE_CHECK_US = MICROS
"""How often, on the server's clock, the key file is looked at for a change (a stat)."""

_ALGORITHMS: tuple[tuple[type, tuple[str, ...]], ...] = (
    (rsa.RSAPublicKey, ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")),
    (ec.EllipticCurvePublicKey, ("ES256", "ES384", "ES512")),
    (ed25519.Ed25519PublicKey, ("EdDSA",)),
    (ed448.Ed448PublicKey, ("EdDSA",)),
)
"""The signature algorithms accepted for each kind of key (never HMAC or none)."""


def _algorithms(key: Any) -> tuple[str, ...]:
    for kind, names in _ALGORITHMS:
        if isinstance(key, kind):
            return names
    raise ValueError(f"unsupported key type {type(key).__name__}")


def unauthenticated(reason: str, message: str) -> Unauthenticated:
    return Unauthenticated(message=f"unauthenticated: {message}", reason=reason, area=AREA)


@dataclass(frozen=True)
class VerificationKey:
    kid: str
    key: Any
    algorithms: tuple[str, ...]


def load_keys(path: str) -> tuple[VerificationKey, ...]:
    """The public keys in `path`: one PEM public key, or a JWKS document (JSON). Raises
    OSError or ValueError."""
    text = Path(path).read_text()
    if text.lstrip().startswith("{"):
        try:
            jwks = jwt.PyJWKSet.from_json(text)
        except (jwt.PyJWKError, json.JSONDecodeError) as error:
            raise ValueError(str(error)) from None
        keys = tuple(VerificationKey(k.key_id or "", k.key, _algorithms(k.key))
                     for k in jwks.keys)
    else:
        key = load_pem_public_key(text.encode())
        keys = (VerificationKey("", key, _algorithms(key)),)
    if not keys:
        raise ValueError("no keys")
    return keys


_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.InvalidSignatureError, "TOKEN_SIGNATURE"),
    (jwt.InvalidAudienceError, "TOKEN_AUDIENCE"),
    (jwt.InvalidIssuerError, "TOKEN_ISSUER"),
)


class JwtVerifier:
    """Checks bearer tokens: signature by one of the configured keys, issuer, audience, and
    expiry (and not-before) against the server's clock; the principal is the `sub` claim, its
    groups the `groups` claim."""

    def __init__(self, issuer: str, audience: str, key_file: str, clock: Clock) -> None:
        self.issuer = issuer
        self.audience = audience
        self.key_file = key_file
        self.clock = clock
        self._stamp: Stamp = file_stamp((key_file,))
        self._rejected: Stamp = ()
        self.keys = load_keys(key_file)
        self._checked = clock.now()
        self._claims = functools.lru_cache(maxsize=TOKENS_KEPT)(self._verified)

    def _reload_if_changed(self) -> None:
        """Re-reads the key file if it changed (rotation without a restart), at most every
        KEY_FILE_CHECK_US; keeps the previous keys, with a warning, while the file does not
        load. New keys forget the verified tokens: one signed by a removed key stops working."""
        try:
            stamp = file_stamp((self.key_file,))
        except OSError:
            return  # being replaced: keep what we have
        if stamp == self._stamp or stamp == self._rejected:
            return
        try:
            keys = load_keys(self.key_file)
        except (OSError, ValueError, UnicodeDecodeError) as error:
            self._rejected = stamp
            log.warning("jwt key file not loaded; keeping the previous keys",
                        jwt_key_file=self.key_file, error=str(error))
            return
        self._stamp, self._rejected, self.keys = stamp, (), keys
        self._claims.cache_clear()
        log.info("jwt keys reloaded", jwt_key_file=self.key_file, keys=len(keys))

    def _key(self, token: str) -> VerificationKey:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise unauthenticated("TOKEN_INVALID", "the bearer token is not a JWT") from None
        for key in self.keys:
            if not key.kid or kid is None or key.kid == kid:
                return key
        raise unauthenticated("TOKEN_SIGNATURE", "the bearer token's key id is not configured")

    def verify(self, token: str) -> Principal:
        now_us = self.clock.now()
        if not 0 <= now_us - self._checked < KEY_FILE_CHECK_US:
            self._checked = now_us
            self._reload_if_changed()
        claims = self._claims(token)
        now = now_us / MICROS
        if claims["exp"] <= now:
            raise unauthenticated("TOKEN_EXPIRED", "the bearer token has expired")
        if isinstance(claims.get("nbf"), int | float) and claims["nbf"] > now:
            raise unauthenticated("TOKEN_NOT_YET_VALID", "the bearer token is not valid yet")
        return Principal(claims["sub"], tuple(claims.get("groups", ())),
                         tuple(claims.get("projects", ())))

    def _verified(self, token: str) -> dict[str, Any]:
        """The token's claims once its signature, issuer, audience and claim types are checked:
        what does not change with time, so kept for the next calls with the same token
        (`_claims`, a few hundred µs saved each)."""
        key = self._key(token)
        try:
            claims = jwt.decode(
                token, key.key, algorithms=list(key.algorithms), audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub"], "verify_exp": False,
                         "verify_nbf": False, "verify_iat": False})
        except jwt.PyJWTError as error:
            reason = next((r for kind, r in _REASONS if isinstance(error, kind)),
                          "TOKEN_INVALID")
            raise unauthenticated(reason, f"bad bearer token: {error}") from None
        if (not isinstance(claims["exp"], int | float) or not isinstance(claims["sub"], str)
                or not claims["sub"] or not _names(claims.get("groups", []))
                or not _names(claims.get("projects", []))
                or any(check_project_name(p) for p in claims.get("projects", []))):
            raise unauthenticated("TOKEN_INVALID",
                                  "bad bearer token: exp, sub, groups or projects")
        _check_name(claims["sub"])
        return claims


def _names(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check_name(name: str) -> None:
    """Refuses a principal that would pass for the server in the audit trail."""
    if name.startswith(RESERVED_PREFIX):
        raise unauthenticated("RESERVED_PRINCIPAL",
                              f"principal names starting with {RESERVED_PREFIX!r} are reserved")


@functools.lru_cache(maxsize=1024)
def certificate_principal(pem: bytes, part: str) -> str:
    """The principal a client certificate names: its first URI or DNS SAN, or its CN ("" if
    it has none)."""
    cert = x509.load_pem_x509_certificate(pem)
    if part == "cn":
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(names[0].value) if names else ""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ""
    kind = x509.UniformResourceIdentifier if part == "san_uri" else x509.DNSName
    values: Sequence[str] = san.get_values_for_type(kind)
    return values[0] if values else ""


Context = Any
"""A grpc.aio.ServicerContext (rpc.Context; not imported: rpc imports this module)."""


class Authorizer:
    """Identifies the caller of each call and checks the policy; on, with a policy file."""

    def __init__(self, policy: Policy, jwt_verifier: JwtVerifier | None,
                 cert_identity: str | None) -> None:
        self.policy = policy
        self.jwt = jwt_verifier
        self.cert_identity = cert_identity

    def identify(self, context: Context) -> Principal:
        """The principal of the call: from its bearer token if it has one, else its client
        certificate; Unauthenticated if neither is valid."""
        for key, value in context.invocation_metadata() or ():
            if key == "authorization":
                scheme, _, token = str(value).partition(" ")
                if scheme.lower() != "bearer" or not token.strip():
                    raise unauthenticated("TOKEN_INVALID", "authorization must be Bearer <token>")
                if self.jwt is None:
                    raise unauthenticated("TOKEN_NOT_ACCEPTED",
                                          "this server takes no bearer tokens")
                return self.jwt.verify(token.strip())
        if self.cert_identity is not None:
            pems = context.auth_context().get("x509_pem_cert")
            if pems:
                name = certificate_principal(pems[0], self.cert_identity)
                if name:
                    _check_name(name)
                    return Principal(name)
                raise unauthenticated("NO_CERTIFICATE_IDENTITY",
                                      f"the client certificate has no {self.cert_identity}")
        raise unauthenticated("NO_CREDENTIALS", "give a bearer token"
                              + (" or a client certificate" if self.cert_identity else ""))

    def admit(self, method: str, request: Any, context: Context) -> None:
        """Refuses the call (Unauthenticated, PermissionDenied) unless its caller may make it;
        `request` is None for request-streaming calls (scoped roles are then refused)."""
        permission = PERMISSIONS.get(method)
        if permission is not None and permission.need is Need.OPEN:
            return
        principal = self.identify(context)
        caller.set(principal)
        scope = (getattr(request, permission.scope_field, None)
                 if permission is not None and permission.scope_field and request is not None
                 else None)
        grants = self.policy.check(principal, method, permission,
                                   scope if isinstance(scope, str) else None)
        access.set(Access(principal, grants.projects, grants.admin))

