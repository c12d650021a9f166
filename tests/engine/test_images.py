"""Tests for engine.images: safe decoding of awkward photos into upright 8-bit RGB."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine import images
from engine.errors import ImageError
from tests.engine import badfiles


def _mean_rgb(array: np.ndarray) -> np.ndarray:
    return np.asarray(array, dtype=np.float64).reshape(-1, 3).mean(axis=0)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (badfiles.zero_byte, ["empty.jpg", "empty file"]),
        (badfiles.truncated_jpeg, ["truncated.jpg", "truncated or corrupt"]),
        (badfiles.text_as_jpg, ["notes.jpg", "not an image", "HTML/text"]),
        (badfiles.html_as_jpg, ["page.jpg", "not an image", "HTML/text"]),
        (badfiles.huge_header_png, ["huge.png is 30000x30000 = 900 megapixels", "limit is 50"]),
    ],
)
def test_refused_photos_raise_image_error_naming_file_and_reason(
    tmp_path: Path, make, words: list[str]
) -> None:
    path = make(tmp_path)
    for load in (images.open_image, lambda p: images.load_array(p, 32), images.thumbnail):
        with pytest.raises(ImageError) as caught:
            load(path)
        for word in words:
            assert word in str(caught.value)


def test_pixel_limit_is_per_call_and_leaves_pillow_global_alone(tmp_path: Path) -> None:
    path = badfiles.one_pixel(tmp_path, "wide.png")
    Image.new("RGB", (200, 100)).save(path)
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ImageError, match=r"wide.png is 200x100 = 0\.02 megapixels.*TLAB_MAX"):
        images.open_image(path, max_pixels=19_999)
    assert images.open_image(path, max_pixels=20_000).size == (200, 100)
    assert Image.MAX_IMAGE_PIXELS == before


def test_sources_path_bytes_and_file_object_agree(tmp_path: Path) -> None:
    path = badfiles.big_two_tone_jpeg(tmp_path)
    from_path = images.load_array(path, 24)
    from_str = images.load_array(str(path), 24)
    from_bytes = images.load_array(path.read_bytes(), 24)
    with path.open("rb") as handle:
        from_file = images.load_array(handle, 24)
    for other in (from_str, from_bytes, from_file):
        np.testing.assert_array_equal(from_path, other)


def test_messages_name_uploaded_file_objects_and_fall_back_for_bytes() -> None:
    upload = io.BytesIO(b"")
    upload.name = "holiday.jpg"
    with pytest.raises(ImageError, match="holiday.jpg: empty file"):
        images.open_image(upload)
    with pytest.raises(ImageError, match="image: not an image"):
        images.open_image(b"<html></html>")


def test_missing_file_is_an_image_error(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="not found"):
        images.open_image(tmp_path / "gone.png")


def test_load_array_shape_dtype_and_colour(tmp_path: Path) -> None:
    array = images.load_array(badfiles.one_pixel(tmp_path), 16)
    assert array.shape == (16, 16, 3)
    assert array.dtype == np.uint8
    np.testing.assert_array_equal(array[0, 0], badfiles.RED)


def test_jpeg_draft_mode_gives_the_same_picture_as_a_full_decode(tmp_path: Path) -> None:
    path = badfiles.big_two_tone_jpeg(tmp_path)
    fast = images.load_array(path, 32).astype(np.int16)
    full = np.asarray(images.open_image(path).resize((32, 32), Image.Resampling.BILINEAR))
    assert np.abs(fast - full.astype(np.int16)).mean() < 3
    assert _mean_rgb(fast[:, :14])[0] > 180 and _mean_rgb(fast[:, 18:])[2] > 180


@pytest.mark.parametrize(("size", "expected"), [((400, 200), (64, 32)), ((30, 90), (21, 64))])
def test_thumbnail_longest_side_is_size(
    tmp_path: Path, size: tuple[int, int], expected: tuple[int, int]
) -> None:
    path = tmp_path / "photo.png"
    Image.new("RGB", size, badfiles.BLUE).save(path)
    thumb = images.thumbnail(path, size=64)
    assert thumb.mode == "RGB"
    assert thumb.size == expected


def test_square_thumbnail_crops_the_centre(tmp_path: Path) -> None:
    # A panorama: red left and right thirds, blue middle; the square keeps the middle.
    pixels = np.zeros((100, 300, 3), np.uint8)
    pixels[:, :100] = pixels[:, 200:] = badfiles.RED
    pixels[:, 100:200] = badfiles.BLUE
    path = tmp_path / "panorama.png"
    Image.fromarray(pixels).save(path)

    thumb = images.thumbnail(path, size=50, square=True)

    assert thumb.size == (50, 50)
    assert np.abs(np.asarray(thumb, np.int16)[5:45, 5:45] - badfiles.BLUE).max() <= 2


def test_one_pixel_image_opens_and_thumbnails(tmp_path: Path) -> None:
    path = badfiles.one_pixel(tmp_path)
    assert images.open_image(path).size == (1, 1)
    assert images.thumbnail(path, size=10).size == (10, 10)


def test_cmyk_jpeg_becomes_rgb_with_the_right_colour(tmp_path: Path) -> None:
    image = images.open_image(badfiles.cmyk_jpeg(tmp_path))
    assert image.mode == "RGB"
    red, green, blue = _mean_rgb(np.asarray(image))
    assert red > 200 and green < 60 and blue < 60


def test_16_bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    path = badfiles.gray16_png(tmp_path, [[0, 32768, 65535, 257]])
    array = np.asarray(images.open_image(path))
    assert array.dtype == np.uint8
    np.testing.assert_array_equal(array[0, :, 0], [0, 128, 255, 1])
    np.testing.assert_array_equal(array[..., 0], array[..., 2])


def test_float_image_in_unit_range_is_scaled(tmp_path: Path) -> None:
    path = badfiles.float_tiff(tmp_path, [[0.0, 0.5, 1.0]])
    np.testing.assert_array_equal(np.asarray(images.open_image(path))[0, :, 1], [0, 128, 255])


def test_grayscale_and_bilevel_become_rgb(tmp_path: Path) -> None:
    gray = np.asarray(images.open_image(badfiles.grayscale_png(tmp_path, value=100)))
    assert gray.shape == (8, 8, 3) and (gray == 100).all()
    bilevel = np.asarray(images.open_image(badfiles.bilevel_png(tmp_path)))
    assert (bilevel[:, :4] == 0).all() and (bilevel[:, 4:] == 255).all()


def test_transparency_is_composited_on_white(tmp_path: Path) -> None:
    palette = np.asarray(images.open_image(badfiles.palette_transparent_png(tmp_path)))
    assert (palette[:, :4] == 255).all()
    np.testing.assert_array_equal(palette[0, 7], badfiles.BLUE)
    rgba = np.asarray(images.open_image(badfiles.rgba_png(tmp_path)))
    assert (rgba[:, :4] == 255).all()
    np.testing.assert_array_equal(rgba[0, 7], badfiles.RED)


@pytest.mark.parametrize(("orientation", "red_side"), [(6, "right"), (8, "left")])
def test_exif_rotated_photo_comes_out_upright(
    tmp_path: Path, orientation: int, red_side: str
) -> None:
    path = badfiles.exif_rotated_jpeg(tmp_path, orientation)
    image = images.open_image(path)
    assert image.size == (32, 64)  # stored 64x32, shown portrait
    array = np.asarray(image)
    red_band, blue_part = (array[:, -6:], array[:, :20])
    if red_side == "left":
        red_band, blue_part = array[:, :6], array[:, -20:]
    assert _mean_rgb(red_band)[0] > 180 and _mean_rgb(red_band)[2] < 80
    assert _mean_rgb(blue_part)[2] > 180 and _mean_rgb(blue_part)[0] < 80
    # The small-size path (JPEG draft mode) must orient the same way.
    small = images.load_array(path, 16)
    column = 15 if red_side == "right" else 0
    assert _mean_rgb(small[:, column : column + 1])[0] > 150


def test_animated_gif_gives_its_first_frame(tmp_path: Path) -> None:
    array = np.asarray(images.open_image(badfiles.animated_gif(tmp_path)))
    np.testing.assert_array_equal(array[0, 0], badfiles.RED)


def test_file_name_that_is_not_utf8_decodes_and_errors_print(tmp_path: Path) -> None:
    path = badfiles.non_utf8_name(tmp_path)
    if path is None:
        pytest.skip("this filesystem refuses file names that are not valid UTF-8")
    assert images.open_image(path).size == (8, 8)
    path.write_bytes(b"")
    with pytest.raises(ImageError) as caught:
        images.open_image(path)
    message = str(caught.value)
    message.encode("utf-8")  # printable: no lone surrogates
    assert "bad\ufffd.png: empty file" in message
