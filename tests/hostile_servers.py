"""Servers that say exactly what a test tells them: raw bytes on a socket, a logging proxy, a CONNECT proxy.

fake_api.py's server speaks correct HTTP through http.server; these write whatever bytes a test
gives them (duplicate or malformed headers, TLS alerts, nothing at all) and record what arrived.
"""

import select
import socket
import threading


class RawServer:
    """Accepts connections on 127.0.0.1; `reply(received bytes) -> bytes` says what to write back.

    `reply` may be bytes (written after the request head arrives), a callable of the request
    head, or None to read and close without a word. `tls` wraps each connection first.
    `read(conn)` reads what comes before the answer: by default the request head, for a
    TLS test the first chunk (the ClientHello). Everything that arrived is kept in `received`.
    """

    def __init__(self, reply=b"", tls=None, read=None):
        self.reply = reply
        self.tls = tls
        self.read = read or read_head
        self.received = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.closing = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def port(self):
        return self.sock.getsockname()[1]

    def url(self, scheme="http", path="/api/user/self"):
        return "%s://127.0.0.1:%d%s" % (scheme, self.port, path)

    def _serve(self):
        while not self.closing.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        try:
            with conn:
                conn.settimeout(10)
                if self.tls is not None:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                head = self.read(conn)
                self.received.append(head)
                answer = self.reply(head) if callable(self.reply) else self.reply
                if answer:
                    conn.sendall(answer)
        except OSError:
            pass  # the check hung up or refused the handshake, as many tests provoke

    def close(self):
        self.closing.set()
        self.sock.close()


def read_head(conn):
    """The request line and headers, up to the blank line (or whatever came before the peer stopped)."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def http(status_line, headers=(), body=b""):
    """Raw HTTP/1.1 answer bytes: `headers` is a sequence of (name, value) pairs, written as given."""
    lines = [b"HTTP/1.1 " + _bytes(status_line)]
    lines += [_bytes(name) + b": " + _bytes(value) for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _bytes(text):
    return text if isinstance(text, bytes) else text.encode("utf-8")


class TunnelProxy(RawServer):
    """A forwarding proxy that honours CONNECT to any host by connecting to that port on 127.0.0.1.

    Tests can then use a name that is not loopback (which the check would not send through a
    proxy) and needs no DNS.
    """

    def __init__(self):
        super().__init__(reply=None)

    def _handle(self, conn):
        with conn:
            head = read_head(conn)
            self.received.append(head)
            target = head.split(b" ")[1].decode() if head.startswith(b"CONNECT ") else ""
            port = target.rpartition(":")[2]
            if not port.isdigit():
                conn.sendall(http("405 Method Not Allowed", [("Content-Length", "0")]))
                return
            with socket.create_connection(("127.0.0.1", int(port))) as upstream:
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                _relay(conn, upstream, self.closing)


def _relay(one, other, closing):
    peers = {one: other, other: one}
    while not closing.is_set():
        ready, _, _ = select.select(list(peers), [], [], 0.5)
        for sock in ready:
            data = sock.recv(65536)
            if not data:
                return
            peers[sock].sendall(data)
