"""A production-like deployment for tests: gunicorn on loopback HTTP behind a TLS-terminating proxy.

The proxy is a small reverse proxy written for the tests (Python's ssl and http.server): it
terminates HTTPS with a self-signed certificate made by the `openssl` command, passes each request
to gunicorn with the Host of the upstream (as nginx's plain `proxy_pass` does) and sets
X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host, as the proxies the README documents.
"""

import http.client
import os
import re
import shutil
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Hop-by-hop headers end at the proxy (RFC 9110 section 7.6.1).
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
              "upgrade"}


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """Make a throwaway certificate and key for 127.0.0.1 with the openssl command."""
    if shutil.which("openssl") is None:
        raise FileNotFoundError("the openssl command is needed to make a test certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


class Gunicorn:
    """The app served by gunicorn, as `make run` serves it, in a child process with its own settings."""

    def __init__(self, environment: dict, log: Path):
        self.log = log
        self._log_file = log.open("wb")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("SURVEY_") and k != "DATABASE_URL"} | environment
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", "2",
             "--access-logfile", "-", "survey:create_app()"],
            cwd=ROOT, env=env, stdout=self._log_file, stderr=subprocess.STDOUT)
        self.port = self._wait_for_port()
        self._wait_until_healthy()

    def _wait_for_port(self, timeout: float = 60) -> int:
        """Read the port gunicorn bound from its log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log.read_text(errors="replace")
            found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", log)
            if found:
                return int(found.group(1))
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not start:\n" + self.log.read_text(errors="replace"))

    def _wait_until_healthy(self, timeout: float = 60) -> None:
        """Wait until a worker answers /healthz with 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                if self.process.poll() is not None:
                    break
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn's workers did not answer:\n" + self.log.read_text(errors="replace"))

    def stop(self) -> None:
        """Stop gunicorn (its master stops its workers)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()


class TLSProxy:
    """Terminate HTTPS on a free port of 127.0.0.1 and forward each request to an upstream port."""

    def __init__(self, upstream_port: int, cert: Path, key: Path):
        self.upstream_port = upstream_port
        self.requests = []  # (method, path, headers the upstream was sent)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        # The handshake happens in the request's thread, not in the accepting loop.
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True,
                                                 do_handshake_on_connect=False)
        self.port = self.server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                """Stay quiet."""

            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP_BY_HOP | {"host", "content-length"}
                           and not k.lower().startswith("x-forwarded-")}
                headers |= {"Host": f"127.0.0.1:{proxy.upstream_port}",
                            "X-Forwarded-For": self.client_address[0],
                            "X-Forwarded-Proto": "https",
                            "X-Forwarded-Host": self.headers["Host"],
                            "Content-Length": str(len(body))}
                proxy.requests.append((self.command, self.path, headers))
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    reply = upstream.getresponse()
                    content = reply.read()
                    self.send_response_only(reply.status, reply.reason)
                    for name, value in reply.getheaders():
                        if name.lower() not in HOP_BY_HOP | {"content-length", "date", "server"}:
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(content)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(content)
                finally:
                    upstream.close()

            do_GET = do_POST = do_HEAD = _forward

        return Handler

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
