"""Transport security: the server's TLS credentials, re-read when their files change, and the
channels the server dials out on.

With a client CA the server asks every client for a certificate signed by it and refuses the
handshake without one (mTLS); the peer's verified certificate is then in each call's
`context.auth_context()` (`x509_common_name`, `x509_subject_alternative_name`,
`x509_pem_cert`), where a principal can be read from it.
"""

from __future__ import annotations

import os
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

import grpc
import structlog

log = structlog.get_logger("switchboard.tls")

Stamp = tuple[tuple[int, int, int], ...]


def _stamp(paths: tuple[str, ...]) -> Stamp:
    """What changes when any of the files is replaced or rewritten: inode, size, mtime."""
    stats = [os.stat(p) for p in paths]
    return tuple((s.st_ino, s.st_size, s.st_mtime_ns) for s in stats)


def check_pair(cert_file: str, key_file: str) -> None:
    """Raises (OSError or ssl.SSLError) unless the files hold a PEM certificate chain and the
    unencrypted private key of its first certificate (gRPC takes no passphrase; an empty one
    stops OpenSSL from prompting for one)."""
    ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert_file, key_file, password=b"")


@dataclass(frozen=True)
class ServerFiles:
    """Where the server's TLS material is: its certificate chain and key, and the CA its
    clients' certificates must be signed by (empty: clients are not asked for one)."""

    cert_file: str
    key_file: str
    client_ca_file: str = ""

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.cert_file, self.key_file,
                *((self.client_ca_file,) if self.client_ca_file else ()))


class ReloadingCredentials:
    """Server credentials whose certificates are re-read, without a restart, when their files
    change. gRPC asks `fetch` before every handshake: it stats the files and reads them only
    when one changed; a half-written or mismatched set keeps the previous certificates (with a
    warning) until the files are whole again."""

    def __init__(self, files: ServerFiles) -> None:
        self.files = files
        self._lock = threading.Lock()
        self._stamp: Stamp = ()
        self._rejected: Stamp = ()
        initial = self._load()
        if initial is None:
            raise ValueError(f"cannot load {self.files.cert_file} and {self.files.key_file}")
        self.credentials = grpc.dynamic_ssl_server_credentials(
            initial, self.fetch,  # type: ignore[arg-type]  # None (no change) is allowed
            require_client_authentication=bool(files.client_ca_file))

    def _load(self) -> grpc.ServerCertificateConfiguration | None:
        stamp = _stamp(self.files.paths)
        try:
            check_pair(self.files.cert_file, self.files.key_file)
            chain = Path(self.files.cert_file).read_bytes()
            key = Path(self.files.key_file).read_bytes()
            roots = (Path(self.files.client_ca_file).read_bytes()
                     if self.files.client_ca_file else None)
        except (OSError, ssl.SSLError) as error:
            if stamp != self._rejected:
                self._rejected = stamp
                log.warning("tls files not loaded; keeping the previous certificates",
                            cert_file=self.files.cert_file, key_file=self.files.key_file,
                            error=str(error))
            return None
        if stamp != _stamp(self.files.paths):
            return None  # changed while being read: the next handshake reads them again
        self._stamp = stamp
        return grpc.ssl_server_certificate_configuration([(key, chain)], roots)

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """The new configuration if a file changed since the last load, else None (no change).
        Called by gRPC, on one of its threads, before each handshake."""
        with self._lock:
            try:
                if _stamp(self.files.paths) == self._stamp:
                    return None
            except OSError:
                return None  # a file is being replaced: keep what we have
            configuration = self._load()
        if configuration is not None:
            log.info("tls certificates reloaded", cert_file=self.files.cert_file)
        return configuration


@dataclass(frozen=True)
class ClientFiles:
    """TLS material for a channel: the CA to verify the server by (empty: the system's roots)
    and, for mTLS, a client certificate chain and key (both or neither)."""

    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""

    def credentials(self) -> grpc.ChannelCredentials:
        def read(path: str) -> bytes | None:
            return Path(path).read_bytes() if path else None

        return grpc.ssl_channel_credentials(
            read(self.ca_file), read(self.key_file), read(self.cert_file))


def dial(address: str, credentials: grpc.ChannelCredentials | None) -> grpc.aio.Channel:
    """A channel from the server to `address`: TLS (mTLS with a client certificate) with
    `credentials`, plaintext without."""
    if credentials is None:
        return grpc.aio.insecure_channel(address)
    return grpc.aio.secure_channel(address, credentials)
