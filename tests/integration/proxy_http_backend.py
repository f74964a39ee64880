#!/usr/bin/env python3
"""proxy_http_backend.py PORT NAME: an HTTP/1.1 backend (keep-alive) for
the proxy's http tests, on every address:
  GET /            NAME and a newline
  GET /headers     the request's headers as a JSON object (lowercase names)
  GET /big         4 MiB of "b"
  GET /hang        never answers
  GET|POST /flaky  503 from web-2, NAME from the others
  GET /slow?ms=N   NAME after N ms
  PUT|POST /upload reads the body (content-length or chunked, as it
                   streams) and answers {"bytes": N}
  GET /ws          with "upgrade": 101, then echoes every byte back until
                   the client ends its side, then ends its own
  GET|POST /drop   the first request of a connection: NAME; a later one on
                   the same connection is closed without an answer (a
                   server closing a keep-alive connection under a request),
                   "drop METHOD" written to stderr
proxy_http_backend.py --tcp PORT: a tcp server that reads until the client
ends its side (half-close), then answers "got N bytes" and closes."""
import http.server
import json
import socket
import sys
import threading
import time
import urllib.parse


def tcp_server(port):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(64)

    def serve(conn):
        n = 0
        while True:
            b = conn.recv(65536)
            if not b:
                break
            n += len(b)
        conn.sendall(b"got %d bytes\n" % n)
        conn.close()

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, code, body, ctype="text/plain"):
        self.send_response(code)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def dropped(self):
        """1 when this /drop request is not the first of its connection:
        the connection is closed with no answer."""
        self.nreq = getattr(self, "nreq", 0) + 1
        if urllib.parse.urlsplit(self.path).path != "/drop" or self.nreq == 1:
            return 0
        sys.stderr.write("drop %s\n" % self.command)
        sys.stderr.flush()
        self.close_connection = True
        return 1

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if self.dropped():
            return
        if url.path == "/headers":
            h = {k.lower(): v for k, v in self.headers.items()}
            self.answer(200, json.dumps(h).encode(), "application/json")
        elif url.path == "/flaky" and NAME == "web-2":
            self.answer(503, b"flaky\n")
        elif url.path == "/big":
            self.answer(200, b"b" * (4 << 20))
        elif url.path == "/hang":
            time.sleep(600)
        elif url.path == "/slow":
            ms = int(urllib.parse.parse_qs(url.query).get("ms", ["100"])[0])
            sys.stderr.write("slow start\n")
            sys.stderr.flush()
            time.sleep(ms / 1000)
            self.answer(200, (NAME + "\n").encode())
        elif url.path == "/ws" and self.headers.get("upgrade"):
            self.send_response(101)
            self.send_header("connection", "upgrade")
            self.send_header("upgrade", self.headers.get("upgrade"))
            self.end_headers()
            self.wfile.flush()
            conn = self.connection
            while True:
                b = conn.recv(65536)
                if not b:
                    break
                conn.sendall(b)
            conn.shutdown(socket.SHUT_WR)
            self.close_connection = True
        else:
            self.answer(200, (NAME + "\n").encode())

    def read_body(self):
        n = 0
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return n
                left = size
                while left:
                    b = self.rfile.read(min(left, 65536))
                    if not b:
                        raise ConnectionError("body cut short")
                    left -= len(b)
                n += size
                self.rfile.readline()
        left = int(self.headers.get("content-length", "0"))
        while left:
            b = self.rfile.read(min(left, 65536))
            if not b:
                raise ConnectionError("body cut short")
            left -= len(b)
            n += len(b)
        return n

    def do_PUT(self):
        n = self.read_body()
        if self.dropped():
            return
        if self.path == "/flaky" and NAME == "web-2":
            self.answer(503, b"flaky\n")
            return
        self.answer(200, json.dumps({"bytes": n, "name": NAME}).encode(), "application/json")

    do_POST = do_PUT

    def log_message(self, *args):
        pass


if sys.argv[1] == "--tcp":
    tcp_server(int(sys.argv[2]))
else:
    NAME = sys.argv[2]
    http.server.ThreadingHTTPServer.daemon_threads = True
    http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Handler).serve_forever()
