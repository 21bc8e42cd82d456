"""TLS for the requests Xuyên makes (channel providers, payment gateways, webhooks): one context per process.

Building a context loads the CA bundle, about 20 ms of CPU; an HTTP client made per message would pay that for
every message sent. Servers are verified against certifi's bundle, or the file ``SSL_CERT_FILE`` names.
"""

from __future__ import annotations

import functools
import os
import ssl

import certifi
import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's shared client TLS context (verifying servers)."""
    return ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE") or certifi.where())


def http_client(*, timeout: httpx.Timeout | float = 10.0, follow_redirects: bool = False) -> httpx.Client:
    """A new HTTP client using the shared TLS context."""
    return httpx.Client(timeout=timeout, verify=tls_context(), follow_redirects=follow_redirects)
