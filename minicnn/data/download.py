"""Downloading dataset files: mirrors tried in turn, MD5 checked, cached on disk.

``download_file(filename, md5, mirrors, folder)`` returns the path of a verified copy of
``filename``:

1. If ``folder/filename`` exists and its MD5 matches, it is used as is (no network).
2. Otherwise each mirror is tried in turn: the file is streamed to ``filename.part`` with a
   progress bar, its MD5 is compared with the published one, and only a verified file is
   renamed to its final name (``os.replace``, atomic). A partial or wrong file is deleted,
   and the message says so.
3. When every mirror fails, ``DownloadError`` lists what happened at each one.

The cache folder is ``$MINICNN_DATA`` when set, else ``~/.cache/minicnn``.
MD5 is used because it is what the datasets' authors and torchvision publish; it guards
against truncated and corrupted downloads, not against an attacker.
"""
from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

_CHUNK = 1 << 16
_USER_AGENT = "minicnn/0.1 (dataset download)"


class DownloadError(RuntimeError):
    """No mirror gave a file with the expected checksum."""


def cache_dir() -> Path:
    """Where datasets are kept: ``$MINICNN_DATA``, else ``~/.cache/minicnn``."""
    configured = os.environ.get("MINICNN_DATA")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "minicnn"


def md5_of(path) -> str:
    """Hex MD5 digest of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(url: str, destination: Path, progress: bool, timeout: float) -> None:
    """Stream ``url`` into ``destination`` with a tqdm progress bar."""
    from tqdm import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        with open(destination, "wb") as out, tqdm(
                total=total, unit="B", unit_scale=True, unit_divisor=1024,
                desc=destination.name.removesuffix(".part"), disable=not progress,
                file=sys.stderr, leave=False) as bar:
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                bar.update(len(chunk))
        if total is not None and destination.stat().st_size != total:
            raise OSError(f"connection closed after {destination.stat().st_size} of "
                          f"{total} bytes")


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def download_file(filename: str, md5: str, mirrors, folder, progress: bool = True,
                  timeout: float = 30.0) -> Path:
    """A verified local copy of ``filename``, downloaded from the first mirror that works.

    Args:
        filename: the file's name on the mirrors and in ``folder``.
        md5: its published MD5 (hex).
        mirrors: base URLs, tried in order; the URL is ``mirror + filename``.
        folder: where to keep it (created if needed).
        progress: show a tqdm progress bar on stderr.
        timeout: seconds to wait for each connection.

    Raises:
        DownloadError: no mirror gave a file with this MD5; lists what each mirror did.
    """
    folder = Path(folder)
    target = folder / filename
    if target.exists():
        found = md5_of(target)
        if found == md5:
            return target
        print(f"minicnn: cached {target} has MD5 {found}, expected {md5}; downloading again",
              file=sys.stderr)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / (filename + ".part")
    failures = []
    for mirror in mirrors:
        url = mirror if mirror.endswith("/") else mirror + "/"
        url += filename
        try:
            _fetch(url, partial, progress, timeout)
        except (urllib.error.URLError, OSError, ValueError) as error:
            # HTTPError (404 ...), no network, timeout, connection cut: try the next mirror
            _remove(partial)
            failures.append(f"{url}: {error}")
            continue
        found = md5_of(partial)
        if found != md5:
            _remove(partial)
            message = (f"{url}: checksum mismatch (MD5 {found}, expected {md5}); "
                       f"deleted the partial file {partial}")
            print(f"minicnn: {message}", file=sys.stderr)
            failures.append(message)
            continue
        os.replace(partial, target)
        return target
    if not failures:
        raise DownloadError(f"cannot download {filename}: no mirrors given")
    report = "\n  ".join(failures)
    raise DownloadError(f"cannot download {filename} (MD5 {md5}) into {folder}; "
                        f"every mirror failed:\n  {report}")
