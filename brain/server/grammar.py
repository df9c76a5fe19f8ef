"""Constrained decoding with xgrammar: JSON schemas compiled once per model and cached."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from brain.server.errors import APIError
from brain.server.structure import Structure, StructureKind

__all__ = ["GrammarCache"]

logger = logging.getLogger(__name__)


class GrammarCache:
    """Compiles JSON schemas (compact JSON, no free whitespace), regexes and EBNF grammars for one tokenizer."""

    def __init__(self, tokenizer: Any, vocab_size: int, stop_token_ids: list[int], max_entries: int = 64) -> None:
        import xgrammar as xgr

        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size, stop_token_ids=stop_token_ids)
        self._compiler = xgr.GrammarCompiler(info, max_threads=2)
        self._cache: dict[tuple[str, str], Any] = {}
        self._max_entries = max_entries

    def for_structure(self, structure: Structure) -> Any:
        """The compiled grammar of a request's structured output; APIError (400) if it cannot compile."""
        kind, spec = structure.kind, structure.spec
        if kind is StructureKind.JSON:
            return self.json_schema(spec)
        if kind is StructureKind.JSON_OBJECT:
            return self.json_object()
        if kind is StructureKind.REGEX:
            return self._cached(("regex", spec), partial(self._compiler.compile_regex, spec))
        ebnf = "root ::= " + " | ".join(json.dumps(c) for c in spec) if kind is StructureKind.CHOICE else spec
        return self._cached((kind.value, ebnf), partial(self._compiler.compile_grammar, ebnf))

    def json_schema(self, schema: dict[str, Any]) -> Any:
        """The grammar of JSON documents valid against `schema`; APIError (400) if it cannot compile."""
        compile_ = partial(self._compiler.compile_json_schema, schema, any_whitespace=False, strict_mode=True)
        return self._cached(("json", json.dumps(schema, sort_keys=True)), compile_)

    def json_object(self) -> Any:
        """The grammar of any JSON object (response_format json_object)."""
        return self.json_schema({"type": "object"})

    def _cached(self, key: tuple[str, str], compile_: Callable[[], Any]) -> Any:
        if key not in self._cache:
            if len(self._cache) >= self._max_entries:
                self._cache.pop(next(iter(self._cache)))
            try:
                self._cache[key] = compile_()
            except (RuntimeError, ValueError, TypeError) as e:
                what, param = ("JSON schema", "response_format") if key[0] == "json" else (key[0], "structured_outputs")
                raise APIError(f"the {what} cannot be used for constrained decoding: {e}", param=param) from e
        return self._cache[key]
