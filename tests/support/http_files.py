"""A tiny HTTP server on 127.0.0.1 for download tests, and a flowers-like .tgz to serve."""

from __future__ import annotations

import io
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

SAMPLE_CLASSES = ("daisy", "roses")
SAMPLE_COLOURS = {"daisy": (240, 240, 90), "roses": (200, 30, 40)}


def jpeg_bytes(colour: tuple[int, int, int], size: int = 16) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def tgz(entries: dict[str, bytes]) -> bytes:
    """A gzipped tar of regular files (name -> content), in the order given."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as bundle:
        for name, content in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            bundle.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def sample_tgz(per_class: int = 6) -> bytes:
    """TensorFlow's flower_photos layout, small: flower_photos/<class>/*.jpg and LICENSE.txt."""
    entries = {"flower_photos/LICENSE.txt": b"All photos: CC-BY (generated for tests)\n"}
    for name in SAMPLE_CLASSES:
        for index in range(per_class):
            entries[f"flower_photos/{name}/{index}.jpg"] = jpeg_bytes(SAMPLE_COLOURS[name])
    return tgz(entries)


@contextmanager
def serve_files(files: dict[str, bytes], cut_after: int | None = None) -> Iterator[str]:
    """Serve files (path -> bytes, e.g. '/flower_photos.tgz') on 127.0.0.1; yields the base URL.

    cut_after: announce every file's whole size but close the connection after that many
    bytes (a transfer cut off half-way). Unknown paths answer 404.
    """

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def _answer(self, body: bool) -> None:
            content = files.get(self.path)
            if content is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if body:
                self.wfile.write(content if cut_after is None else content[:cut_after])

        def log_message(self, *args: object) -> None:  # quiet test output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
