"""Camera images on the wire: base64 of an image file (PNG or JPEG), as X0's and pi0's servers take them.

Pillow is imported inside the functions: the plain simulator and the skill SDK never need it.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Iterable
from typing import Any

__all__ = ["decode_image_file", "encode_image", "sample_frames", "smooth_images"]


def encode_image(image: Any, format: str = "PNG", **options: Any) -> str:
    """A PIL image -> base64 of the image file in ``format`` (``options``: e.g. ``quality`` for JPEG)."""
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def smooth_images(names: Iterable[str], width: int, height: int, seed: int = 0) -> dict[str, Any]:
    """One smooth, seeded RGB PIL image per name (a stand-in camera frame: tests, benchmarks, simulated
    robots without cameras)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    images = {}
    for name in names:
        phase = rng.uniform(0, 2 * np.pi, 3)
        channels = [127 + 100 * np.sin(xs / 37.0 + ys / 53.0 + p) for p in phase]
        images[name] = Image.fromarray(np.stack(channels, axis=-1).astype(np.uint8))
    return images


def sample_frames(names: Iterable[str], *, width: int = 640, height: int = 480, seed: int = 0,
                  quality: int = 85) -> dict[str, str]:
    """:func:`smooth_images` as base64 JPEG files, as a robot sends its cameras."""
    return {name: encode_image(image, "JPEG", quality=quality)
            for name, image in smooth_images(names, width, height, seed).items()}


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
