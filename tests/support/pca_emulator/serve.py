"""Run the moto server, with pca_ext's ACM-PCA fixes applied, on 127.0.0.1.

    python serve.py [--port N] [--throttle-every N] [--pending-polls N] [--exit-on-stdin-eof] [--verbose]

Prints exactly one line, ``http://127.0.0.1:PORT``, once it accepts connections; then
serves until SIGTERM/SIGINT (or stdin EOF with --exit-on-stdin-eof). Point clients at it
with AWS_ENDPOINT_URL (any dummy credentials, any region).

Besides the AWS API it serves a control endpoint for tests (never throttled):
  GET  /_emulator/stats   -> {"calls": {"IssueCertificate": n, ...}, "throttled": n,
                              "issued": {"<ca-arn>": n, ...}, "config": {...}}
  POST /_emulator/config  <- {"throttle_every": n, "pending_polls": n} (either key)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from typing import Any, Callable, Iterable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pca_ext  # noqa: E402  (applies the patches)
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server  # noqa: E402

ACMPCA_TARGET = "ACMPrivateCA."  # X-Amz-Target prefix of every ACM-PCA JSON operation
JSON_HEADERS = [("Content-Type", "application/json")]


def _respond(start_response: Callable, status: str, body: Any, headers: list | None = None) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start_response(status, (headers or JSON_HEADERS) + [("Content-Length", str(len(data)))])
    return [data]


def _drain(environ: dict) -> bytes:
    """Read the request body, so a kept-alive connection stays in step."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else b""


def control(environ: dict, start_response: Callable) -> Iterable[bytes]:
    path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
    if path == "/_emulator/stats" and method == "GET":
        return _respond(start_response, "200 OK", pca_ext.EMULATOR.stats())
    if path == "/_emulator/config" and method == "POST":
        try:
            body = json.loads(_drain(environ) or b"{}")
            values = {k: body[k] for k in ("throttle_every", "pending_polls") if k in body}
            if not isinstance(body, dict) or set(body) - set(values) or any(
                    not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in values.values()):
                raise ValueError("expected {\"throttle_every\": int >= 0, \"pending_polls\": int >= 0}")
        except (ValueError, TypeError) as e:
            return _respond(start_response, "400 Bad Request", {"error": str(e)})
        pca_ext.EMULATOR.configure(**values)
        return _respond(start_response, "200 OK", pca_ext.EMULATOR.stats()["config"])
    return _respond(start_response, "404 Not Found", {"error": f"no such control endpoint {method} {path}"})


def make_app(moto_app: Callable) -> Callable:
    """Wrap moto's WSGI app: serve /_emulator/*, count and throttle ACM-PCA calls."""

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/_emulator/"):
            return control(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith(ACMPCA_TARGET) and pca_ext.EMULATOR.count_call(target[len(ACMPCA_TARGET):]):
            _drain(environ)
            # What AWS answers past a rate quota: HTTP 400, __type ThrottlingException.
            return _respond(start_response, "400 Bad Request",
                            {"__type": "ThrottlingException", "message": "Rate exceeded"},
                            [("Content-Type", "application/x-amz-json-1.1"),
                             ("X-Amzn-ErrorType", "ThrottlingException")])
        return moto_app(environ, start_response)

    return app


class QuietHandler(MotoRequestHandler):
    """No per-request log lines (a harness that never reads stderr must not block us)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: pick a free one)")
    parser.add_argument("--throttle-every", type=int, default=0, metavar="N",
                        help="every Nth ACM-PCA call answers ThrottlingException (0: never)")
    parser.add_argument("--pending-polls", type=int, default=0, metavar="N",
                        help="GetCertificate answers RequestInProgressException N times per new certificate")
    parser.add_argument("--exit-on-stdin-eof", action="store_true", help="exit when stdin reaches EOF")
    parser.add_argument("--verbose", action="store_true", help="log every request on stderr")
    args = parser.parse_args(argv)
    if args.throttle_every < 0 or args.pending_polls < 0:
        parser.error("--throttle-every and --pending-polls take N >= 0")
    pca_ext.EMULATOR.configure(throttle_every=args.throttle_every, pending_polls=args.pending_polls)

    server = make_server("127.0.0.1", args.port, make_app(DomainDispatcherApplication(create_backend_app)),
                         threaded=True, request_handler=MotoRequestHandler if args.verbose else QuietHandler)

    def stop(*_: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.exit_on_stdin_eof:
        def watch_stdin() -> None:
            while os.read(sys.stdin.fileno(), 65536):  # raw read: no buffer lock at exit
                pass
            os.kill(os.getpid(), signal.SIGTERM)
        threading.Thread(target=watch_stdin, daemon=True).start()

    print(f"http://127.0.0.1:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
