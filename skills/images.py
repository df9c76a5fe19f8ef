"""Camera images on the wire: base64 of an image file (PNG or JPEG), as X0's and pi0's servers take them.

Pillow is imported inside the functions: the plain simulator and the skill SDK never need it.
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

__all__ = ["decode_image_file", "encode_image"]


def encode_image(image: Any, format: str = "PNG", **options: Any) -> str:
    """A PIL image -> base64 of the image file in ``format`` (``options``: e.g. ``quality`` for JPEG)."""
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def decode_image_file(data: str) -> Any:
    """Base64 of an image file -> an RGB PIL image; ``ValueError`` saying which part is wrong."""
    from PIL import Image, UnidentifiedImageError

    if not isinstance(data, str):
        raise ValueError(f"expected a base64 string, got {type(data).__name__}")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError, TypeError) as e:
        raise ValueError(f"not valid base64: {e}") from e
    try:
        return Image.open(io.BytesIO(raw)).convert("RGB")
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"not a readable image: {e}") from e
