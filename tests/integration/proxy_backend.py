#!/usr/bin/env python3
"""proxy_backend.py PORT ANSWER: an HTTP/1.1 server (keep-alive) on every
address that answers each GET with ANSWER and a newline. The proxy tests
run one per instance, so each response says which instance served it."""
import http.server
import sys

ANSWER = (sys.argv[2] + "\n").encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Handler).serve_forever()
