#!/usr/bin/env python3
"""proxy_backend.py PORT ANSWER [DELAY_MS]: an HTTP/1.1 server (keep-alive) on every
address that answers each GET with ANSWER and a newline (with
content-length; GET /chunked: the same in three chunks). The proxy tests
run one per instance, so each response says which instance served it.
DELAY_MS: each answer waits this long first (a slow instance)."""
import http.server
import sys
import time

ANSWER = (sys.argv[2] + "\n").encode()
DELAY = float(sys.argv[3]) / 1000.0 if len(sys.argv) > 3 else 0.0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # the head and the body leave in one write, without Nagle's delay
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def do_GET(self):
        if DELAY:
            time.sleep(DELAY)
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("content-type", "text/plain")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            third = max(1, len(ANSWER) // 3)
            parts = [ANSWER[:third], ANSWER[third:2 * third], ANSWER[2 * third:]]
            for part in parts:
                if part:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_response(200)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Handler).serve_forever()
