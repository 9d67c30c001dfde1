"""A JSON-RPC endpoint on 127.0.0.1 for the client's own tests (transport, fetcher): every POST's parsed body goes
to `answer(handler, body)`, which returns (HTTP status, JSON payload or None for an empty body), or None to drop
the connection.  HTTP/1.1 with keep-alive, as nodes answer."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalNode:
    def __init__(self, answer):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def do_POST(self):
                out = answer(self, json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                if out is None:
                    self.close_connection = True
                    self.connection.close()
                    return
                status, payload = out
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
