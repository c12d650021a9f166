"""Generators for awkward inputs (broken photos, odd image modes, hostile zips), one per case.

Every function writes into a folder it is given (a tmp_path) and returns the path it wrote,
so engine and app tests can share the same corpus without committing binary files.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

RED = (220, 30, 30)
BLUE = (30, 40, 220)


def image_bytes(
    color: tuple[int, int, int] = RED, size: tuple[int, int] = (8, 8), fmt="PNG"
) -> bytes:
    """A small single-colour image encoded in memory."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


def _write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def _noisy_jpeg(size: tuple[int, int] = (64, 48), seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


# --- photos that must be refused ------------------------------------------------------


def zero_byte(folder: Path, name: str = "empty.jpg") -> Path:
    """A 0-byte file with an image extension."""
    return _write(folder, name, b"")


def truncated_jpeg(folder: Path, name: str = "truncated.jpg") -> Path:
    """A real JPEG cut in half (the usual interrupted download)."""
    data = _noisy_jpeg()
    return _write(folder, name, data[: len(data) // 2])


def text_as_jpg(folder: Path, name: str = "notes.jpg") -> Path:
    """Plain text saved under an image name."""
    return _write(folder, name, b"shopping list\n- milk\n- eggs\n")


def html_as_jpg(folder: Path, name: str = "page.jpg") -> Path:
    """An HTML error page saved as .jpg (what 'Save image as' gives for a dead link)."""
    page = b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body></body></html>\n"
    return _write(folder, name, page)


def huge_header_png(
    folder: Path, name: str = "huge.png", width: int = 30000, height: int = 30000
) -> Path:
    """A tiny PNG whose IHDR claims width x height (the pixels are never allocated)."""
    data = bytearray(image_bytes(size=(1, 1)))
    # Signature (8 bytes), then the IHDR chunk: length (4), type (4), data (13), CRC (4);
    # width and height are the first 8 data bytes and the CRC covers type + data.
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return _write(folder, name, bytes(data))


def refused_photos(folder: Path) -> dict[str, Path]:
    """Every photo case engine.images must refuse, keyed by a short case name."""
    return {
        "zero_byte": zero_byte(folder),
        "truncated_jpeg": truncated_jpeg(folder),
        "text_as_jpg": text_as_jpg(folder),
        "html_as_jpg": html_as_jpg(folder),
        "huge_header_png": huge_header_png(folder),
    }


# --- odd but valid photos -------------------------------------------------------------


def cmyk_jpeg(folder: Path, name: str = "cmyk.jpg") -> Path:
    """A CMYK JPEG (print workflows) of pure red: C=0, M=255, Y=255, K=0."""
    buffer = io.BytesIO()
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(buffer, "JPEG", quality=95)
    return _write(folder, name, buffer.getvalue())


def gray16_png(folder: Path, values: list[list[int]], name: str = "gray16.png") -> Path:
    """A 16-bit grayscale PNG holding exactly the given values (rows of 0..65535)."""
    buffer = io.BytesIO()
    Image.fromarray(np.array(values, dtype=np.uint16)).save(buffer, "PNG")
    return _write(folder, name, buffer.getvalue())


def float_tiff(folder: Path, values: list[list[float]], name: str = "float.tif") -> Path:
    """A 32-bit float grayscale TIFF (mode F) holding the given values."""
    buffer = io.BytesIO()
    Image.fromarray(np.array(values, dtype=np.float32)).save(buffer, "TIFF")
    return _write(folder, name, buffer.getvalue())


def grayscale_png(folder: Path, value: int = 100, name: str = "gray.png") -> Path:
    """An 8-bit grayscale (mode L) PNG of one value."""
    buffer = io.BytesIO()
    Image.new("L", (8, 8), value).save(buffer, "PNG")
    return _write(folder, name, buffer.getvalue())


def bilevel_png(folder: Path, name: str = "bilevel.png") -> Path:
    """A 1-bit PNG: left half black, right half white."""
    image = Image.new("1", (8, 8), 0)
    image.paste(1, (4, 0, 8, 8))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return _write(folder, name, buffer.getvalue())


def palette_transparent_png(folder: Path, name: str = "palette.png") -> Path:
    """A palette PNG: left half transparent (index 0), right half blue (index 1)."""
    image = Image.new("P", (8, 8), 0)
    image.putpalette([0, 0, 0, *BLUE] + [0] * (256 * 3 - 6))
    image.paste(1, (4, 0, 8, 8))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", transparency=0)
    return _write(folder, name, buffer.getvalue())


def rgba_png(folder: Path, name: str = "rgba.png") -> Path:
    """An RGBA PNG: left half fully transparent black, right half opaque red."""
    image = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    image.paste((*RED, 255), (4, 0, 8, 8))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return _write(folder, name, buffer.getvalue())


def exif_rotated_jpeg(folder: Path, orientation: int = 6, name: str = "rotated.jpg") -> Path:
    """A 64x32 JPEG stored sideways: its top 8 rows are red, the rest blue.

    With EXIF Orientation 6 a viewer rotates it 90 degrees clockwise, so the upright
    photo is 32x64 with the red band on the right; with 8 the band ends up on the left.
    """
    image = Image.new("RGB", (64, 32), BLUE)
    image.paste(RED, (0, 0, 64, 8))
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95, exif=exif)
    return _write(folder, name, buffer.getvalue())


def animated_gif(folder: Path, name: str = "animated.gif") -> Path:
    """A two-frame GIF: first frame red, second blue."""
    frames = [Image.new("RGB", (8, 8), RED), Image.new("RGB", (8, 8), BLUE)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return _write(folder, name, buffer.getvalue())


def one_pixel(folder: Path, name: str = "pixel.png") -> Path:
    """A 1x1 RGB PNG."""
    return _write(folder, name, image_bytes(size=(1, 1)))


def big_two_tone_jpeg(folder: Path, name: str = "big.jpg") -> Path:
    """A 1024x768 JPEG, left half red and right half blue (large enough for draft mode)."""
    image = Image.new("RGB", (1024, 768), RED)
    image.paste(BLUE, (512, 0, 1024, 768))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return _write(folder, name, buffer.getvalue())


def non_utf8_name(folder: Path, data: bytes | None = None) -> Path | None:
    """A PNG named b'bad\\xff.png' (not UTF-8); None when the filesystem refuses such names."""
    folder.mkdir(parents=True, exist_ok=True)
    raw_path = os.path.join(os.fsencode(folder), b"bad\xff.png")
    try:
        with open(raw_path, "wb") as handle:
            handle.write(image_bytes() if data is None else data)
    except (OSError, UnicodeError):
        return None
    return Path(os.fsdecode(raw_path))


# --- archives -------------------------------------------------------------------------


def _zip(path: Path, entries: dict[str | zipfile.ZipInfo, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        for entry, data in entries.items():
            bundle.writestr(entry, data)
    return path


def dataset_entries(prefix: str = "", per_class: int = 6) -> dict[str | zipfile.ZipInfo, bytes]:
    """Zip entries for a 2-class dataset (cats red, dogs blue) under an optional prefix."""
    entries: dict[str | zipfile.ZipInfo, bytes] = {}
    for label, color in (("cats", RED), ("dogs", BLUE)):
        for i in range(per_class):
            entries[f"{prefix}{label}/{label}_{i}.png"] = image_bytes(color)
    return entries


def dataset_zip(path: Path, wrapper: str | None = "photos") -> Path:
    """A good dataset zip, as macOS makes them: one wrapper folder plus __MACOSX debris."""
    prefix = f"{wrapper}/" if wrapper else ""
    entries = dataset_entries(prefix)
    entries[f"{prefix}.DS_Store"] = b"\0\0\0\1Bud1"
    entries[f"__MACOSX/{prefix}cats/._cats_0.png"] = b"\0\5\26\7"
    return _zip(path, entries)


def traversal_zip(path: Path, entry: str = "../escaped.jpg") -> Path:
    """A dataset zip with one entry that climbs out of the extraction folder."""
    return _zip(path, {**dataset_entries(), zipfile.ZipInfo(entry): image_bytes()})


def absolute_zip(path: Path, entry: str = "/tmp/tlab-absolute.jpg") -> Path:
    """A dataset zip with one absolute-path entry (also used with 'C:/...' drive letters)."""
    return _zip(path, {**dataset_entries(), zipfile.ZipInfo(entry): image_bytes()})


def symlink_zip(path: Path, target: str = "/etc/passwd") -> Path:
    """A dataset zip with a Unix symlink entry cats/link.jpg -> target."""
    link = zipfile.ZipInfo("cats/link.jpg")
    link.create_system = 3  # Unix, so external_attr holds the st_mode
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    return _zip(path, {**dataset_entries(), link: target.encode()})


def encrypted_flag_zip(path: Path) -> Path:
    """A dataset zip whose entry cats/locked.png is flagged as password-protected."""
    _zip(path, {**dataset_entries(), "cats/locked.png": image_bytes()})
    # zipfile cannot encrypt, so set the 'encrypted' bit in the entry's central directory
    # record: signature (4), version made by (2), version needed (2), then the flags.
    data = bytearray(path.read_bytes())
    record = data.rindex(b"PK\x01\x02", 0, data.rindex(b"cats/locked.png"))
    data[record + 8] |= 0x1
    path.write_bytes(bytes(data))
    return path


def bomb_zip(path: Path, megabytes: int = 3) -> Path:
    """A few-KB zip whose one entry inflates to `megabytes` MB of zeros."""
    entries = dataset_entries()
    entries["cats/bomb.png"] = bytes(megabytes * 1024 * 1024)
    return _zip(path, entries)


def nested_zip(path: Path) -> Path:
    """A dataset zip that also contains an inner .zip (which must not be extracted)."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as bundle:
        bundle.writestr("cats/inner.png", image_bytes())
    return _zip(path, {**dataset_entries(), "cats/more.zip": inner.getvalue()})


def no_class_zip(path: Path) -> Path:
    """A zip of loose photos and a text-only folder: no class sub-folder holds images."""
    return _zip(
        path,
        {"a.png": image_bytes(), "b.png": image_bytes(), "docs/readme.txt": b"hello"},
    )


def many_files_zip(path: Path, count: int = 20) -> Path:
    """A dataset zip with `count` tiny entries (for the entry-count cap)."""
    return _zip(path, {f"cats/{i}.png": image_bytes() for i in range(count)})


def not_a_zip(path: Path) -> Path:
    """A text file named .zip."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not an archive\n")
    return path
