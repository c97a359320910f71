"""Transport security: the server's TLS credentials, and those of the channels the server dials
out on, both re-read when their files change.

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


def file_stamp(paths: tuple[str, ...]) -> Stamp:
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
        stamp = file_stamp(self.files.paths)
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
        if stamp != file_stamp(self.files.paths):
            return None  # changed while being read: the next handshake reads them again
        self._stamp = stamp
        return grpc.ssl_server_certificate_configuration([(key, chain)], roots)

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """The new configuration if a file changed since the last load, else None (no change).
        Called by gRPC, on one of its threads, before each handshake."""
        with self._lock:
            try:
                if file_stamp(self.files.paths) == self._stamp:
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

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(p for p in (self.ca_file, self.cert_file, self.key_file) if p)

    def credentials(self) -> grpc.ChannelCredentials:
        def read(path: str) -> bytes | None:
            return Path(path).read_bytes() if path else None

        return grpc.ssl_channel_credentials(
            read(self.ca_file), read(self.key_file), read(self.cert_file))

    def check(self) -> None:
        """Raises (OSError or ssl.SSLError) unless the CA file holds PEM certificates and the
        certificate and key files a chain and its key (gRPC would only fail at handshakes)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if self.ca_file:
            context.load_verify_locations(cafile=self.ca_file)
        if self.cert_file:
            check_pair(self.cert_file, self.key_file)


class ReloadingChannelCredentials:
    """Credentials for the channels the server dials, re-read when their files change:
    `current()` stats the files (cheap: a channel is fetched per call out, not per inbound
    call) and reads them only when one changed; a half-written or mismatched set keeps the
    previous credentials (with a warning) until the files are whole again."""

    def __init__(self, files: ClientFiles) -> None:
        self.files = files
        files.check()
        self.credentials = files.credentials()
        self._stamp: Stamp = file_stamp(files.paths)
        self._rejected: Stamp = ()
        self.generation = 0
        """Counts the reloads: channels made with an older generation are to be replaced."""

    def current(self) -> grpc.ChannelCredentials:
        """The credentials, re-read first if a file changed since they were read."""
        try:
            stamp = file_stamp(self.files.paths)
        except OSError:
            return self.credentials  # a file is being replaced: keep what we have
        if stamp == self._stamp or stamp == self._rejected:
            return self.credentials
        try:
            self.files.check()
            credentials = self.files.credentials()
            if file_stamp(self.files.paths) != stamp:
                return self.credentials  # changed while being read: read on the next call
        except (OSError, ssl.SSLError) as error:
            self._rejected = stamp
            log.warning("outbound tls files not loaded; keeping the previous credentials",
                        ca_file=self.files.ca_file, cert_file=self.files.cert_file,
                        error=str(error))
            return self.credentials
        self.credentials, self._stamp, self._rejected = credentials, stamp, ()
        self.generation += 1
        log.info("outbound tls credentials reloaded", cert_file=self.files.cert_file)
        return self.credentials


def dial(address: str, credentials: grpc.ChannelCredentials | None) -> grpc.aio.Channel:
    """A channel from the server to `address`: TLS (mTLS with a client certificate) with
    `credentials`, plaintext without."""
    if credentials is None:
        return grpc.aio.insecure_channel(address)
    return grpc.aio.secure_channel(address, credentials)
