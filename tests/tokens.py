"""Bearer tokens made at test time (nothing secret is kept in the repository): an issuer with a
fresh key, its public key as PEM or JWKS, and JWTs it signs; the settings of a server that
checks them, and clients that send them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from switchboard.client import AsyncClient
from switchboard.server.clock import ManualClock

ISSUER = "https://issuer.test"
AUDIENCE = "switchboard"


class Issuer:
    """Signs tokens with a fresh P-256 key (ES256)."""

    def __init__(self, kid: str = "key-1") -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.kid = kid

    @property
    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def jwks(self) -> str:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key()))
        return json.dumps({"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "ES256"}]})

    def write_pem(self, path: Path) -> Path:
        path.write_bytes(self.public_pem)
        return path

    def token(self, sub: str, now_us: int, *, lifetime_s: int = 3600, aud: str = AUDIENCE,
              iss: str = ISSUER, groups: Sequence[str] = (), **claims: Any) -> str:
        """A token for `sub`, valid from `now_us` (the server's clock) for `lifetime_s`."""
        now = now_us // 1_000_000
        body = {"sub": sub, "iss": iss, "aud": aud, "iat": now, "exp": now + lifetime_s,
                **({"groups": list(groups)} if groups else {}), **claims}
        return jwt.encode(body, self.key, algorithm="ES256", headers={"kid": self.kid})


def authorizing(directory: Path, issuer: Issuer, policy: str) -> dict[str, str]:
    """Settings that turn authorization on: `policy` (TOML) and `issuer`'s key, written into
    `directory`; for `start_server(**authorizing(...))`."""
    (directory / "policy.toml").write_text(policy)
    return {"policy_file": str(directory / "policy.toml"), "jwt_issuer": ISSUER,
            "jwt_audience": AUDIENCE, "jwt_key_file": str(issuer.write_pem(directory / "jwt.pem"))}


class Principals:
    """Clients of one server, one per principal (made on first use), each sending a bearer
    token for it from `issuer`, valid from the server clock's reading then; closed together."""

    def __init__(self, port: int, issuer: Issuer, clock: ManualClock) -> None:
        self.port = port
        self.issuer = issuer
        self.clock = clock
        self.opened: dict[str, AsyncClient] = {}

    def __call__(self, name: str) -> AsyncClient:
        if name not in self.opened:
            self.opened[name] = AsyncClient(f"127.0.0.1:{self.port}",
                                            token=self.issuer.token(name, self.clock.now()))
        return self.opened[name]

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for client in self.opened.values():
            await client.close()
