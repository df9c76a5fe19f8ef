"""`roboos brain serve`: an OpenAI-compatible API for a local transformers model.

Example (the bundled SmolLM2-135M-Instruct on CPU, then a request)::

    roboos brain serve --port 8000
    curl -s http://127.0.0.1:8000/v1/chat/completions -H 'content-type: application/json' \\
        -d '{"model": "SmolLM2-135M-Instruct", "messages": [{"role": "user", "content": "hi"}]}'

The API is shaped as vLLM's: `/v1/chat/completions` and `/v1/completions` (whole or with
`"stream": true`), `/tokenize`, `/detokenize`, `/health` and `/metrics` (Prometheus).

`--model` takes a Hugging Face model folder or a .gguf file. Loading logs what it reads and from
where, at once, then each step. `--port 0` picks a free port; the readiness line
(`brain server ready on http://HOST:PORT/v1 ...`) says which.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys

import uvicorn

from brain.server.app import create_app
from brain.server.errors import ModelLoadError
from brain.server.model import LocalModel

__all__ = ["READY_MARKER", "build_parser", "main"]

logger = logging.getLogger(__name__)

READY_MARKER = "brain server ready on "


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roboos brain serve", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None,
                        help="Hugging Face model folder or .gguf file (default: the bundled SmolLM2-135M-Instruct)")
    parser.add_argument("--served-model-name", default=None, help="the model id clients send (default: from the path)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--dtype", choices=["auto", "float32", "bfloat16", "float16"], default="auto")
    parser.add_argument("--chat-template", default="auto",
                        help="auto (ours for ChatML models), model (the model's own), or a template path")
    parser.add_argument("--max-tokens", type=int, default=1024, help="the most new tokens one request may ask for")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser


class _Server(uvicorn.Server):
    """uvicorn's server, logging one readiness line once it accepts connections."""

    def __init__(self, config: uvicorn.Config, ready_line: str) -> None:
        super().__init__(config)
        self.ready_line = ready_line

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            logger.info("%s", self.ready_line)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.max_tokens < 1:
        logger.error("--max-tokens must be at least 1, got %d", args.max_tokens)
        return 2
    try:
        model = LocalModel.load(args.model, device=args.device, dtype=args.dtype,
                                chat_template=args.chat_template, name=args.served_model_name)
    except ModelLoadError as e:
        logger.error("%s", e)
        return 1
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as e:
        logger.error("cannot listen on %s:%d: %s", args.host, args.port, e)
        return 1
    port = sock.getsockname()[1]
    ready = f"{READY_MARKER}http://{args.host}:{port}/v1 (model {model.name}, device {model.device})"
    config = uvicorn.Config(create_app(model, max_tokens=args.max_tokens), log_level="warning",
                            log_config=None, timeout_graceful_shutdown=5)
    asyncio.run(_Server(config, ready).serve(sockets=[sock]))
    return 0
