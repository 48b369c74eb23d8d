"""An in-process moto server whose requests are serialized, so each DynamoDB request is atomic as on AWS."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer

from loyalty_local import moto_patches
from loyalty_local.http_server import threaded_server


class SerializedApp:
    """moto is not thread-safe and has no per-item locking: one lock around every request."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()
        # Fault injection for tests: a callable(operation_target) -> None or (status, body).
        self.fault: Callable[[str], tuple[int, str] | None] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.fault is not None:
            injected = self.fault(environ.get("HTTP_X_AMZ_TARGET", ""))
            if injected is not None:
                status, body = injected
                start_response(f"{status} Injected", [("Content-Type", "application/x-amz-json-1.0")])
                return [body.encode()]
        with self.lock:
            # Materialize the body inside the lock: moto builds it lazily in some paths.
            return list(self.app(environ, start_response))


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        moto_patches.apply()
        self.app = SerializedApp(DomainDispatcherApplication(create_backend_app))
        self.server: BaseWSGIServer = threaded_server(host, port, self.app)
        self.thread = threading.Thread(target=self.server.serve_forever, name="moto", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"

    def start(self) -> MotoServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
