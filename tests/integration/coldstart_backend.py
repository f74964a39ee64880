#!/usr/bin/env python3
"""coldstart_backend.py PORT ANSWER [DELAY_S]: an HTTP/1.1 server for the
cold-start tests that answers each GET with ANSWER, then " fd3" when it
got its listening socket from the agent (LISTEN_FDS=1 and LISTEN_PID its
own pid, systemd's convention) or " bound" when it bound PORT itself. It
waits DELAY_S seconds before it listens (a slow start)."""
import http.server
import os
import socket
import sys
import time

if len(sys.argv) > 3:
    time.sleep(float(sys.argv[3]))
activated = os.environ.get("LISTEN_FDS") == "1" and \
    os.environ.get("LISTEN_PID") == str(os.getpid())
ANSWER = (sys.argv[2] + (" fd3" if activated else " bound") + "\n").encode()


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


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self):
        if activated:
            self.socket.close()
            self.socket = socket.socket(fileno=3)
            self.server_address = self.socket.getsockname()
        else:
            super().server_bind()

    def server_activate(self):
        if not activated:
            super().server_activate()


Server(("0.0.0.0", int(sys.argv[1])), Handler).serve_forever()
