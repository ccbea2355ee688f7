"""Outbound HTTP that cannot be pointed at the product's own network (SSRF): the host is resolved
once, every address must be public, and the connection goes to the address that was checked (no
second lookup a DNS rebinding could answer differently). Redirects are followed by the caller,
each target checked the same way. `CDP_WEBHOOK_ALLOW_PRIVATE` lifts the rule (tests, on-premises)."""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from urllib.parse import urlsplit

from django.conf import settings


class TargetRefused(Exception):
    pass


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def checked_address(host: str, port: int) -> str:
    """The address to connect to: the first the name resolves to, once every one is public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetRefused(f"{host} does not resolve ({exc.strerror})") from None
    addresses = [info[4][0] for info in infos]
    if not settings.CDP_WEBHOOK_ALLOW_PRIVATE:
        private = [a for a in addresses if not _public(a)]
        if private:
            raise TargetRefused(f"{host} resolves to {private[0]}, a private, loopback or link-local address; "
                                "webhooks go to public addresses only (CDP_WEBHOOK_ALLOW_PRIVATE)")
    return addresses[0]


def split_target(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an http(s) URL; TargetRefused otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(f"not an http(s) URL: {url[:200]}")
    if parts.username or parts.password:
        raise TargetRefused("credentials in a URL are refused; put them in the channel's headers")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, path


def _nodelay(sock: socket.socket) -> socket.socket:
    # http.client sends the headers and the body in two writes: with Nagle's algorithm the body
    # waits for the headers' ACK, which a receiver delays 40 ms. (http.client's own connect does this.)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class _PinnedHTTPS(http.client.HTTPSConnection):
    """TLS to a checked address, with the certificate verified for the host name."""

    def __init__(self, hostname: str, address: str, port: int, timeout: float):
        super().__init__(hostname, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = _nodelay(socket.create_connection((self._address, self.port), self.timeout))
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, hostname: str, address: str, port: int, timeout: float):
        super().__init__(hostname, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = _nodelay(socket.create_connection((self._address, self.port), self.timeout))


class ConnectionPool:
    """Kept-alive connections per (scheme, host, port) for one drain process: a send to an
    endpoint reuses the last one's connection."""

    def __init__(self):
        self._open: dict[tuple, http.client.HTTPConnection] = {}

    def request(self, method: str, url: str, *, body: bytes, headers: dict, timeout: float) -> tuple[int, dict, bytes]:
        scheme, host, port, path = split_target(url)
        key = (scheme, host, port)
        for attempt in (1, 2):  # a kept-alive connection the server closed meanwhile: once more, fresh
            connection = self._open.get(key)
            fresh = connection is None
            if fresh:
                address = checked_address(host, port)
                cls = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
                connection = self._open[key] = cls(host, address, port, timeout)
            connection.timeout = timeout
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read(RESPONSE_LIMIT + 1)
                if response.length:  # not read to the end: this connection cannot be reused
                    self.drop(key)
                elif response.will_close:
                    self.drop(key)
                return response.status, {k.lower(): v for k, v in response.getheaders()}, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.drop(key)
                if fresh or attempt == 2:
                    raise
            except Exception:
                self.drop(key)
                raise
        raise AssertionError("unreachable")

    def attempt(self, method: str, url: str, *, body: bytes, headers: dict, timeout: float):
        """`request`, with what can go wrong on the way as the channel's outcome: (status,
        headers, body), or an Outcome to retry (a timeout, no connection, a malformed answer) or to
        fail (a refused target)."""
        from messaging.channels.base import Outcome

        try:
            return self.request(method, url, body=body, headers=headers, timeout=timeout)
        except TargetRefused as exc:
            return Outcome("failed", reason=str(exc))
        except TimeoutError:
            return Outcome("retry", reason=f"no answer within {timeout:g} s")
        except OSError as exc:
            return Outcome("retry", reason=f"could not connect: {exc.strerror or exc}")
        except Exception as exc:  # a malformed answer (http.client.HTTPException)
            return Outcome("retry", reason=f"bad answer: {type(exc).__name__}")

    def drop(self, key) -> None:
        connection = self._open.pop(key, None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        for key in list(self._open):
            self.drop(key)


RESPONSE_LIMIT = 64 * 1024
