"""The TLS context of the wss listener (security profiles 2 and 3) and the client certificate's CN."""

from __future__ import annotations

import ssl
from typing import Any

from voltyard.config import SecurityConfig
from voltyard.errors import ConfigError

__all__ = ["certificate_common_name", "server_context"]


def server_context(config: SecurityConfig, where: str) -> ssl.SSLContext:
    """A TLS 1.2+ server context with the configured certificate; client certificates are verified
    against `client_ca_file` when one is presented (profile 3) and optional otherwise (profile 2)."""
    assert config.cert_file is not None
    assert config.key_file is not None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(config.cert_file, config.key_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"{where}: [security] cert_file/key_file: cannot load: {exc}") from exc
    if config.client_ca_file is not None:
        try:
            context.load_verify_locations(config.client_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"{where}: [security] client_ca_file: cannot load: {exc}") from exc
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def certificate_common_name(peercert: dict[str, Any] | None) -> str | None:
    """The subject CN of a verified peer certificate (`SSLObject.getpeercert()`), if any."""
    if not peercert:
        return None
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None
