"""The asyncio websocket server: I/O on the event loop, inference in a thread pool.

Listening starts before the models load, so ``GET /healthz`` can say 503 ("loading") and then 200;
until then websocket handshakes are refused with 503 too, so a client never holds a session the
server cannot serve. Frames over ``max_size`` close that one connection (code 1009) before they are
buffered; malformed messages get an error reply and the connection stays usable. Inference runs in
a ``workers``-thread pool so that decoding, health checks and other clients' I/O never wait
behind a model call.
"""

from __future__ import annotations

import asyncio
import http
import json
import logging
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

if TYPE_CHECKING:  # the torch side; `--help` should not wait for it
    from vla_core.serve.session import ServedModels

log = logging.getLogger("vla_core.serve")

HEALTH_PATH = "/healthz"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
DEFAULT_MAX_SIZE = 8 * 2**20  # bytes: four 640x480 RGB frames plus the rest fit; a runaway client does not


def exposure_warning(host: str) -> str | None:
    """The warning to shout when the server listens beyond this machine (None on loopback)."""
    if host in LOOPBACK:
        return None
    where = "every network interface" if host in ("0.0.0.0", "::", "") else host
    return (f"WARNING: the policy server is listening on {where}. It has no authentication: anyone who can "
            f"reach this port can drive the robot's policy. Bind 127.0.0.1 and tunnel (ssh -L) unless this "
            f"network is trusted.")


class PolicyServer:
    def __init__(self, models: ServedModels, host: str = "127.0.0.1", port: int = 8765,
                 max_size: int = DEFAULT_MAX_SIZE, workers: int = 1):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if max_size < 1024:
            raise ValueError(f"max_size must be at least 1024 bytes, got {max_size}")
        self.models, self.host, self.port, self.max_size = models, host, port, max_size
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix="vla-infer")
        self.ready = False
        self.connections = 0

    def _process_request(self, connection: ServerConnection, request):
        """Plain HTTP before the websocket handshake: health checks, and 503 while loading."""
        if request.path.split("?", 1)[0] == HEALTH_PATH:
            if not self.ready:
                return connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, '{"status": "loading"}\n')
            body = {"status": "ok", "connections": self.connections, "load_s": self.models.load_s,
                    **self.models.info()}
            return connection.respond(http.HTTPStatus.OK, json.dumps(body) + "\n")
        if not self.ready:
            return connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE,
                                      f"models are loading; retry when {HEALTH_PATH} answers 200\n")
        return None  # go on with the websocket handshake

    async def _handler(self, ws: ServerConnection) -> None:
        loop = asyncio.get_running_loop()
        session = self.models.session()
        self.connections += 1
        try:
            # one request in flight per connection: the reply order is the request order
            async for message in ws:
                received = time.perf_counter()
                reply = await loop.run_in_executor(self.executor, session.respond, message, received)
                await ws.send(reply)
        except ConnectionClosed as e:  # the client went away or sent an oversized frame (1009)
            log.info("connection %s closed: %s", ws.remote_address, e)
        finally:
            self.connections -= 1

    async def run(self, stop: asyncio.Future | None = None) -> None:
        """Serve until ``stop`` resolves (or SIGINT/SIGTERM); load errors propagate (CheckpointError)."""
        loop = asyncio.get_running_loop()
        if stop is None:
            stop = loop.create_future()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
        warning = exposure_warning(self.host)
        if warning:
            log.warning(warning)
        # compression off: float arrays barely deflate, and inflating costs CPU on every frame
        try:
            async with serve(self._handler, self.host, self.port, process_request=self._process_request,
                             max_size=self.max_size, compression=None) as server:
                port = server.sockets[0].getsockname()[1]
                log.info("listening on ws://%s:%d (%s answers 503 until the models are loaded)", self.host, port,
                         HEALTH_PATH)
                await loop.run_in_executor(None, self.models.load)
                self.ready = True
                info = self.models.info()
                log.info("ready in %.1f s: %s %s, horizon %d, action dim %d, planner %s", self.models.load_s,
                         info["checkpoint"], info["kind"], info["horizon"], info["action_dim"], info["planner"])
                await stop
        finally:
            self.executor.shutdown(wait=False, cancel_futures=True)
