"""Decode one image safely: pixel limits, EXIF orientation, any mode to 8-bit RGB."""

from __future__ import annotations

import io
import os
import stat
import struct
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from engine.errors import ImageError
from engine.image_budget import BYTES_PER_ALLOWED_PIXEL, DECODE_BUDGET, decoded_bytes
from engine.settings import DEFAULT_MAX_IMAGE_PIXELS

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")

ImageSource = str | Path | bytes | BinaryIO

# Only what a photo dataset needs, recognised by content (the JPEG plugin also opens the
# multi-picture JPEGs phones write, as format 'MPO').
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
_DRAFT_FORMATS = ("JPEG", "MPO")  # libjpeg decodes these at reduced scale
_CHECK_SIZE = 32
_CHECK_DECODE_PIXELS = 4_000_000  # larger non-JPEGs are only verified when scanning
_REDUCIBLE_MODES = ("L", "LA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV", "I", "F")
_SNIFF_BYTES = 512
_WIDE_GRAY_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
_WHITE = (255, 255, 255, 255)
# What Pillow raises while decoding broken data (its plugins use all of these).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)
_CORRUPT_HINT = "Re-export or re-download the photo, or remove it from the folder."
_NOT_IMAGE_HINT = (
    "Expected a photo (JPEG, PNG, BMP, GIF, WebP or TIFF); remove the file or replace it."
)


def printable(path: str | Path) -> str:
    """Return the path as text that is safe to print, even when it is not valid UTF-8."""
    # Undecodable bytes in Linux names come back as lone surrogates, which break
    # printing, JSON and Streamlit; show them as U+FFFD instead.
    return os.fsencode(path).decode("utf-8", errors="replace")


def open_image(source: ImageSource, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> Image.Image:
    """Return the image as upright 8-bit RGB (first frame of animations).

    Raises:
        ImageError: empty, truncated, not an image, or more than max_pixels pixels; the
            message names the file (when known) and the reason in plain words.
    """
    return _decode(source, max_pixels, draft_size=None)


def load_array(
    source: ImageSource, size: int, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
) -> np.ndarray:
    """Return uint8 [size, size, 3]: open_image, then resize (bilinear, aspect squashed)."""
    image = _decode(source, max_pixels, draft_size=size)
    return np.asarray(image.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)


def thumbnail(
    source: ImageSource,
    size: int = 192,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    square: bool = False,
) -> Image.Image:
    """Return a small RGB copy for grids: longest side = size, or centre-cropped to size x size."""
    image = _decode(source, max_pixels, draft_size=size)
    if square:
        # Even rows of cards whatever the photos' shapes (portrait, panorama).
        return ImageOps.fit(image, (size, size), Image.Resampling.BILINEAR)
    scale = size / max(image.size)
    new_size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(new_size, Image.Resampling.BILINEAR)


def thumbnail_jpeg(
    source: ImageSource,
    size: int = 192,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    border: str | None = None,
    quality: int = 85,
) -> bytes:
    """JPEG bytes of a square, centre-cropped thumbnail, optionally framed in a colour."""
    picture = thumbnail(source, size, max_pixels, square=True)
    if border is not None:
        picture = ImageOps.expand(picture, border=max(3, size // 40), fill=border)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def check(source: ImageSource, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> None:
    """Check that an image can be used without decoding a large one fully (for scanning).

    JPEGs are decoded at 1/8 scale (which still reads the whole file, so truncation shows);
    other formats are decoded when small, and only verified (PNG checks every chunk's CRC)
    when large: their pixels are decoded, within the memory budget, when a model needs them.

    Raises:
        ImageError: as load_array would for this file.
    """
    name = _source_name(source)
    with ExitStack() as stack:
        image = _identify(_open_stream(source, name, stack), name, max_pixels)
        if image.format in _DRAFT_FORMATS or image.width * image.height <= _CHECK_DECODE_PIXELS:
            _decode_opened(image, name, max_pixels, _CHECK_SIZE)
            return
        try:
            image.verify()
        except _DECODE_ERRORS as error:
            raise _corrupt(name, error) from error


def _decode(source: ImageSource, max_pixels: int, draft_size: int | None) -> Image.Image:
    """Open, check the header size, decode, orient and convert one image to RGB."""
    name = _source_name(source)
    with ExitStack() as stack:
        image = _identify(_open_stream(source, name, stack), name, max_pixels)
        return _decode_opened(image, name, max_pixels, draft_size)


def _decode_opened(
    image: ImageFile.ImageFile, name: str, max_pixels: int, draft_size: int | None
) -> Image.Image:
    """Decode an identified image within the memory budget; reduced when a size is asked."""
    if draft_size is not None:
        # JPEG only: let libjpeg decode at 1/2, 1/4 or 1/8 scale; both sides stay
        # >= draft_size, so the later resize never upsamples.
        image.draft("RGB", (draft_size, draft_size))
    needed = decoded_bytes(image.mode, image.size)
    _refuse_bytes(name, image, needed, max_pixels)
    with DECODE_BUDGET.reserve(needed):
        try:
            image.load()
            picture = _reduced(image, draft_size) if draft_size is not None else image
            # In place: the copy made otherwise costs a fifth of decoding a 500x375 JPEG.
            ImageOps.exif_transpose(picture, in_place=True)
        except _DECODE_ERRORS + (Image.DecompressionBombError,) as error:
            raise _corrupt(name, error) from error
        return _to_rgb(picture, name, draft_size)


def _reduced(image: Image.Image, size: int) -> Image.Image:
    """A decoded image shrunk by a whole factor while both sides stay >= 2 x size (cheap box
    filter; the final resize then works on a small copy, never the whole photo)."""
    factor = min(image.size) // (2 * size)
    if factor < 2 or image.mode not in _REDUCIBLE_MODES:
        return image  # wide gray shrinks in _wide_gray_to_rgb; palettes are small GIFs
    return image.reduce(factor)


def _refuse_bytes(name: str, image: Image.Image, needed: int, max_pixels: int) -> None:
    """Raise ImageError when decoding would take more than the byte budget per image."""
    allowed = max_pixels * BYTES_PER_ALLOWED_PIXEL
    if needed <= allowed:
        return
    raise ImageError(
        f"{name} is {image.width}x{image.height} in mode {image.mode}: decoding it would take "
        f"{needed / 2**20:.0f} MB, over the {allowed / 2**20:.0f} MB allowed per image "
        f"({BYTES_PER_ALLOWED_PIXEL} bytes per pixel of TLAB_MAX_IMAGE_PIXELS). Save it as an "
        "8-bit JPEG or PNG, or downscale it."
    )


def _source_name(source: ImageSource) -> str:
    """The file name to show in messages ('image' for anonymous bytes)."""
    if isinstance(source, (str, Path)):
        return printable(Path(source).name)
    file_name = getattr(source, "name", None)
    return printable(Path(file_name).name) if isinstance(file_name, (str, Path)) else "image"


def _open_stream(source: ImageSource, name: str, stack: ExitStack) -> BinaryIO:
    """A seekable binary stream over the source, after checking it holds something; files we
    open are closed by the stack."""
    if isinstance(source, (str, Path)):
        stream = stack.enter_context(_open_file(source, name))
    elif isinstance(source, bytes):
        stream = io.BytesIO(source)
    elif not source.seekable():
        stream = io.BytesIO(source.read())
    else:
        stream = source
    stream.seek(0)
    if not stream.read(1):
        raise ImageError(f"{name}: empty file (0 bytes). {_CORRUPT_HINT}")
    stream.seek(0)
    return stream


def _open_file(path: str | Path, name: str) -> BinaryIO:
    """Open a regular file for reading; a pipe or device would block or never end."""
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "a pipe, socket or device"
            raise ImageError(f"{name}: {printable(path)} is {kind}, not a photo file.")
        return open(path, "rb")
    except FileNotFoundError as error:
        raise ImageError(f"{name}: file not found at {printable(path)}.") from error
    except (OSError, ValueError) as error:  # ValueError: a NUL byte in the name
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ImageError(
            f"{name}: cannot be opened ({reason}). Check that it is a readable file."
        ) from error


def _identify(stream: BinaryIO, name: str, max_pixels: int) -> ImageFile.ImageFile:
    """Parse the header only, accept only the photo formats, refuse too many pixels."""
    try:
        image = Image.open(stream, formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError as error:
        # Pillow's process-wide cap (PIL.Image.MAX_IMAGE_PIXELS, 2x = about 179 MP) fired
        # before ours. It stays untouched on purpose: changing it per call is not thread-safe.
        _refuse_pixels(name, _header_size(stream), max_pixels)
        raise ImageError(
            f"{name}: too many pixels for Pillow to decode safely ({error}). Downscale the photo."
        ) from error
    except UnidentifiedImageError as error:
        raise ImageError(
            f"{name}: not an image ({_what_it_is(stream)}). {_NOT_IMAGE_HINT}"
        ) from error
    except _DECODE_ERRORS as error:
        raise _corrupt(name, error) from error
    _refuse_pixels(name, image.size, max_pixels)
    return image


def _what_it_is(stream: BinaryIO) -> str:
    """Words for a file that is not an accepted photo: text, another image format, or unknown.

    Other formats (ICO, PSD, ...) are named from their header only, never decoded: an ICO can
    claim 16x16 in its directory and hold a 13000x13000 picture.
    """
    stream.seek(0)
    head = stream.read(_SNIFF_BYTES)
    if _looks_like_text(head):
        return "looks like HTML/text"
    for image_format in Image.ID:
        accept = Image.OPEN[image_format][1]
        if accept is not None and accept(head[:16]) and not isinstance(accept(head[:16]), str):
            return f"a {image_format} file, which is not accepted"
    return "unknown or unsupported format"


def _refuse_pixels(name: str, size: tuple[int, int] | None, max_pixels: int) -> None:
    """Raise ImageError when width * height is over max_pixels (no-op for unknown sizes)."""
    if size is None or size[0] * size[1] <= max_pixels:
        return
    width, height = size
    raise ImageError(
        f"{name} is {width}x{height} = {_megapixels(width * height)} megapixels; the limit "
        f"is {_megapixels(max_pixels)} megapixels (TLAB_MAX_IMAGE_PIXELS). Downscale the "
        "photo or raise the limit."
    )


def _header_size(stream: BinaryIO) -> tuple[int, int] | None:
    """Width and height from the header via Pillow's plugin registry, skipping its pixel cap."""
    # Only used to word the error message; the image itself is never decoded here.
    Image.init()
    stream.seek(0)
    prefix = stream.read(16)
    for image_format in ACCEPTED_FORMATS:
        factory, accept = Image.OPEN[image_format]
        accepted = accept(prefix) if accept else True
        if accepted and not isinstance(accepted, str):
            stream.seek(0)
            try:
                return factory(stream, "").size
            except Exception:  # any parse failure just means "size unknown"
                return None
    return None


def _corrupt(name: str, error: Exception) -> ImageError:
    """The error for data Pillow could not parse or decode."""
    return ImageError(f"{name}: truncated or corrupt image ({error}). {_CORRUPT_HINT}")


def _looks_like_text(head: bytes) -> bool:
    """True when the first bytes are printable text (HTML error pages saved as .jpg, ...)."""
    text_controls = b"\t\n\r\f"
    return all(byte >= 32 or byte in text_controls for byte in head)


def _megapixels(pixels: int) -> str:
    return f"{round(pixels / 1e6, 2):g}"  # 900, 12.35, 0.02


def _to_rgb(image: Image.Image, name: str, size: int | None) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB; transparency is composited on white."""
    try:
        if image.mode in _WIDE_GRAY_MODES:
            return _wide_gray_to_rgb(image, size)
        if image.has_transparency_data:
            background = Image.new("RGBA", image.size, _WHITE)
            return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
        return image if image.mode == "RGB" else image.convert("RGB")
    except ValueError as error:
        raise ImageError(
            f"{name}: unsupported colour mode {image.mode} ({error}). "
            "Save it as an RGB JPEG or PNG."
        ) from error


def _wide_gray_to_rgb(image: Image.Image, size: int | None) -> Image.Image:
    """Scale 16-bit, 32-bit integer or float grayscale to 0..255 (Pillow's convert clips).

    With a target size, every n-th pixel is kept first (a strided view, no copy), so the
    arithmetic runs on a small array, not 8 bytes for each of millions of pixels.
    """
    raw = np.asarray(image)
    if size is not None:
        stride = max(1, min(raw.shape) // (2 * size))
        raw = raw[::stride, ::stride]
    values = raw.astype(np.float32)
    low, high = float(values.min()), float(values.max())
    if image.mode.startswith("I;16") or (image.mode == "I" and low >= 0 and high <= 65535):
        scaled = values / 257.0  # full 16-bit range: 65535 -> 255, 32768 -> 128
    elif image.mode == "F" and low >= 0 and high <= 1:
        scaled = values * 255.0
    else:  # unknown range: stretch what is there
        scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
    gray = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return Image.fromarray(np.stack([gray] * 3, axis=-1))
