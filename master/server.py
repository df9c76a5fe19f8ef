"""Run the master: the production WSGI server waitress in front of the service.

Example::

    roboos master --redis-url redis://127.0.0.1:6379 --port 5000   # deploy.components.master_main
    curl -X POST localhost:5000/publish_task -H 'Content-Type: application/json' \\
         -d '{"task": "bring the apple to table 2"}'

waitress reads every request in its one I/O thread and hands it to a worker thread only once it
has fully arrived, so half-sent requests hold no thread; idle connections close after
``channel_timeout_s`` and at most ``connection_limit`` are open. Its workers are ``http_threads``
for requests plus one per allowed ``/events`` stream (``max_event_streams``).

``serve()`` blocks until SIGTERM or SIGINT, then ends the event streams, stops the HTTP server and
the service.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from flask import Flask
from waitress import wasyncore
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from brain.llm.config import LLMConfig
from brain.planner import Planner
from master.app import create_app
from master.config import MasterConfig
from master.service import MasterService

__all__ = ["build_planner", "close_http", "http_server", "serve"]

logger = logging.getLogger(__name__)

STOP_TIMEOUT_S = 10.0
WAITRESS_BODY_FACTOR = 4  # waitress refuses bodies this many times over the limit; Flask the rest, in JSON


def serve(config: MasterConfig, memory_url: str, prefix: str, planner: Planner,
          stop_event: threading.Event | None = None, *, own_process: bool = False) -> None:
    """Serve until SIGTERM/SIGINT (main thread only) or until ``stop_event`` is set.

    ``own_process``: the process serves this master alone (``roboos master``), so what the start
    loaded (the scene, the fleet view, the planner's vocabulary), which lives as long as the master,
    is frozen out of the garbage collector's full walks: at 1000 robots one of them held the
    master's loop 64 ms during a bench run (6 ms once frozen).
    """
    logger.info("master config: %s", config.redacted())
    service = MasterService(config, memory_url, prefix, planner)
    service.start()
    if own_process:
        gc.collect()
        gc.freeze()
    try:
        server = http_server(create_app(service), config)
    except OSError:
        service.stop()
        raise
    stop_event = stop_event or threading.Event()
    restore = _on_signals(stop_event.set)
    io_thread = threading.Thread(target=server.run, name="master-http", daemon=True)
    io_thread.start()
    logger.info("master listening on http://%s:%s", config.host, server.effective_port)
    try:
        stop_event.wait()
    finally:
        logger.info("master stopping")
        service.end_streams()  # open /events streams return, freeing their threads
        close_http(server, io_thread)
        service.stop()
        restore()


def http_server(app: Flask, config: MasterConfig) -> BaseWSGIServer:
    """A bound, not yet running waitress server for ``app``, sized and timed from ``config``."""
    server = create_server(
        app,
        host=config.host,
        port=config.port,
        ipv4=":" not in config.host,  # one family, so "localhost" is one listener as before
        ipv6=":" in config.host,
        threads=config.http_threads + config.max_event_streams,
        connection_limit=config.connection_limit,
        channel_timeout=config.channel_timeout_s,
        cleanup_interval=max(1, min(30, int(config.channel_timeout_s / 2))),
        channel_request_lookahead=1,  # keeps reading during a response, so a gone client is noticed
        max_request_body_size=WAITRESS_BODY_FACTOR * config.max_body_bytes,
        asyncore_use_poll=True,  # select() stops at 1024 file descriptors
        ident="roboos-master",
    )
    if isinstance(server, MultiSocketServer):  # a host name with several addresses of one family
        server.close()
        raise OSError(f"host {config.host!r} resolves to several addresses; give one of them")
    return server


def close_http(server: BaseWSGIServer, io_thread: threading.Thread) -> None:
    """Close every connection and the listener from waitress's own I/O thread, then stop the workers.

    Its loop runs while its channel map is not empty; emptying the map in that thread (through the
    trigger, waitress's way to run code there) ends it without racing its poll.
    """
    if io_thread.is_alive():
        try:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        except OSError:  # the loop ended meanwhile and closed its trigger: nothing left to close
            logger.debug("the HTTP loop had already stopped")
    io_thread.join(STOP_TIMEOUT_S)
    if io_thread.is_alive():
        logger.error("the HTTP server did not stop within %g s", STOP_TIMEOUT_S)
    server.task_dispatcher.shutdown(timeout=STOP_TIMEOUT_S / 2)


def _on_signals(handler: Callable[[], None]) -> Callable[[], None]:
    """Install SIGTERM/SIGINT handlers when on the main thread; return a function restoring them."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s", signal.Signals(signum).name)
        handler()

    for sig in previous:
        signal.signal(sig, on_signal)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


def build_planner(name: str, llm: LLMConfig | None = None) -> Planner:
    """The planner registered as ``name``; one that uses the LLM gets the ``llm`` settings."""
    if Planner.type_of(name).uses_llm:
        return Planner.create(name, config=llm or LLMConfig())
    return Planner.create(name)
