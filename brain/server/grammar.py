"""Constrained decoding with xgrammar: JSON schemas compiled once per model and cached."""

from __future__ import annotations

import json
import logging
from typing import Any

from brain.server.errors import APIError

__all__ = ["GrammarCache"]

logger = logging.getLogger(__name__)


class GrammarCache:
    """Compiles JSON schemas into xgrammar grammars for one tokenizer (compact JSON, no free whitespace)."""

    def __init__(self, tokenizer: Any, vocab_size: int, stop_token_ids: list[int], max_entries: int = 64) -> None:
        import xgrammar as xgr

        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size, stop_token_ids=stop_token_ids)
        self._compiler = xgr.GrammarCompiler(info, max_threads=2)
        self._cache: dict[str, Any] = {}
        self._max_entries = max_entries

    def json_schema(self, schema: dict[str, Any]) -> Any:
        """The grammar of JSON documents valid against `schema`; APIError (400) if it cannot compile."""
        key = json.dumps(schema, sort_keys=True)
        if key not in self._cache:
            if len(self._cache) >= self._max_entries:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = self._compile(schema)
        return self._cache[key]

    def json_object(self) -> Any:
        """The grammar of any JSON object (response_format json_object)."""
        return self.json_schema({"type": "object"})

    def _compile(self, schema: dict[str, Any]) -> Any:
        try:
            return self._compiler.compile_json_schema(schema, any_whitespace=False, strict_mode=True)
        except (RuntimeError, ValueError, TypeError) as e:
            raise APIError(f"the JSON schema cannot be used for constrained decoding: {e}",
                           param="response_format") from e
