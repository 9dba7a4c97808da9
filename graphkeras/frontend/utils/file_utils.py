"""get_file: download a file once into Keras's cache, check it, extract it.

Files land where Keras puts them (`$KERAS_HOME` or `~/.keras`, then
`cache_subdir`, "datasets" by default), under the same names, so a cache
filled by Keras serves graphkeras and the other way round.

Invariants:
- A download is written to a temporary file beside the target and renamed
  over it only once complete and (when a hash is given) verified
  (graphkeras/fileio.py): an interrupted or corrupted download never leaves
  a file that a later call would take as cached.
- Archives are extracted member by member, refusing members whose path
  would leave the extraction directory (absolute paths, "..", links out).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile

from ... import fileio
from .progbar import print_msg


def keras_home() -> str:
    """`$KERAS_HOME`, or `~/.keras` (Keras's cache root)."""
    return os.environ.get("KERAS_HOME") or os.path.join(
        os.path.expanduser("~"), ".keras")


def _hasher(algorithm: str, file_hash):
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None
                                 and len(file_hash) == 64):
        return hashlib.sha256()
    if algorithm in ("md5", "auto"):
        return hashlib.md5()
    raise ValueError(
        "hash_algorithm must be one of 'auto', 'sha256', 'md5'. Received: "
        f"hash_algorithm={algorithm!r}"
    )


def hash_file(fpath, algorithm="sha256", chunk_size=65535) -> str:
    """The hex digest of a file ("sha256" or "md5")."""
    h = _hasher(algorithm, None) if algorithm != "auto" else hashlib.sha256()
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            h.update(chunk)
    return h.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=65535) -> bool:
    """True when the file's hash equals `file_hash` ("auto": sha256 for a
    64-character hash, md5 otherwise)."""
    h = _hasher(algorithm, file_hash)
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            h.update(chunk)
    return h.hexdigest() == str(file_hash)


def _inside(root: str, name: str) -> bool:
    target = os.path.realpath(os.path.join(root, name))
    root = os.path.realpath(root)
    return target == root or target.startswith(root + os.sep)


def extract_archive(file_path, path=".", archive_format="auto") -> bool:
    """Extract a tar (gz, bz2, xz) or zip archive into `path`; False when
    the file is not an archive of an accepted format."""
    if archive_format is None:
        return False
    if archive_format == "auto":
        archive_format = ["tar", "zip"]
    if isinstance(archive_format, str):
        archive_format = [archive_format]
    file_path, path = os.fspath(file_path), os.fspath(path)
    for fmt in archive_format:
        if fmt == "tar" and tarfile.is_tarfile(file_path):
            with tarfile.open(file_path) as archive:
                members = archive.getmembers()
                for m in members:
                    if not _inside(path, m.name) or (
                            (m.issym() or m.islnk())
                            and not _inside(path, os.path.join(
                                os.path.dirname(m.name), m.linkname))):
                        raise ValueError(
                            f"Refusing to extract {file_path}: the member "
                            f"{m.name!r} would be written outside {path}."
                        )
                # NOTE: the "data" filter (Python >= 3.11.4) also refuses
                # device files and strips unsafe permission bits
                kw = {"filter": "data"} if hasattr(tarfile, "data_filter") \
                    else {}
                _extract_all(
                    lambda d, ms=members, kw=kw: archive.extractall(
                        d, ms, **kw), path)
            return True
        if fmt == "zip" and zipfile.is_zipfile(file_path):
            with zipfile.ZipFile(file_path) as archive:
                for name in archive.namelist():
                    if not _inside(path, name):
                        raise ValueError(
                            f"Refusing to extract {file_path}: the member "
                            f"{name!r} would be written outside {path}."
                        )
                _extract_all(archive.extractall, path)
            return True
    return False


def _extract_all(extract, path: str) -> None:
    # NOTE: extracted into a sibling temporary directory first, then moved
    # into place, so an interrupted extraction leaves no half directory
    parent = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".extract.", dir=parent)
    try:
        extract(tmp)
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(tmp):
            dest = os.path.join(path, name)
            if os.path.isdir(dest) and not os.path.islink(dest):
                shutil.rmtree(dest)
            elif os.path.lexists(dest):
                os.unlink(dest)
            os.replace(os.path.join(tmp, name), dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _download(origin: str, target: str, file_hash, algorithm: str) -> None:
    print_msg(f"Downloading data from {origin}")

    def write(tmp):
        try:
            urllib.request.urlretrieve(origin, tmp)
        except urllib.error.HTTPError as e:
            raise OSError(
                f"URL fetch failure on {origin}: {e.code} -- {e.msg}"
            ) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise OSError(
                f"URL fetch failure on {origin}: {reason}. The file could "
                f"not be downloaded (is this machine offline?). Place the "
                f"file at {target} to use it without a download."
            ) from None
        if file_hash is not None and not validate_file(tmp, file_hash,
                                                       algorithm):
            raise ValueError(
                f"Incomplete or corrupted file detected downloading {origin}. "
                f"The {algorithm} file hash does not match the provided value "
                f"of {file_hash}."
            )

    fileio.atomic_write(target, write)


def get_file(fname=None, origin=None, untar=False, md5_hash=None,
             file_hash=None, cache_subdir="datasets", hash_algorithm="auto",
             extract=False, archive_format="auto", cache_dir=None,
             force_download=False):
    """Download a file from a URL if it is not already in the cache.

    Args:
        fname: the file's name in the cache (default: the URL's last part).
            A path is refused: use `cache_dir`.
        origin: the URL.
        untar: deprecated, as `extract=True` with a tar archive.
        md5_hash: deprecated, as `file_hash` with `hash_algorithm="md5"`.
        file_hash: the expected sha256 or md5 hex digest: a cached file that
            does not match is downloaded again, a download that does not
            match is refused (ValueError).
        cache_subdir: the folder under the cache root ("datasets").
        hash_algorithm: "auto", "sha256" or "md5".
        extract: extract the archive; the extraction folder is returned.
        archive_format: "auto", "tar", "zip" or a list of them.
        cache_dir: the cache root (default `$KERAS_HOME` or `~/.keras`).
        force_download: download even when the file is cached.

    Returns:
        The path of the file (or of the extraction folder).

    Example:
        >>> path = get_file(origin="https://example.com/data.csv")  # doctest: +SKIP
    """
    if origin is None:
        raise ValueError(
            'Please specify the "origin" argument (URL of the file to '
            "download)."
        )
    if cache_dir is None:
        cache_dir = keras_home()
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    base = os.path.expanduser(os.fspath(cache_dir))
    if os.path.isdir(base) and not os.access(base, os.W_OK):
        base = os.path.join(tempfile.gettempdir(), ".keras")
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)
    provided = fname
    fname = os.fspath(fname) if fname else ""
    if not fname:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(
                f"Can't parse the file name from the origin provided: "
                f"{origin!r}. Please specify the `fname` argument."
            )
    elif os.sep in fname:
        raise ValueError(
            "Paths are no longer accepted as the `fname` argument. To specify "
            f"the file's parent directory, use the `cache_dir` argument. "
            f"Received: fname={fname}"
        )
    # the names Keras 3 uses, so its cache is shared
    if extract or untar:
        if provided and "." in fname:
            target = os.path.join(datadir, fname)
            extraction_dir = os.path.join(
                datadir, f"{fname[:fname.find('.')]}_extracted")
        else:
            extraction_dir = os.path.join(datadir, fname)
            target = os.path.join(datadir, f"{fname}_archive")
    else:
        target = os.path.join(datadir, fname)
    if force_download:
        download = True
    elif os.path.exists(target):
        download = file_hash is not None and not validate_file(
            target, file_hash, hash_algorithm)
        if download:
            print_msg(
                "A local file was found, but it seems to be incomplete or "
                f"outdated because the {hash_algorithm} file hash does not "
                f"match the original value of {file_hash} so we will "
                "re-download the data."
            )
    elif (extract or untar) and os.path.isdir(extraction_dir) and \
            os.listdir(extraction_dir):
        # Keras's cache keeps the extracted folder: use it as it is
        return extraction_dir
    else:
        download = True
    if download:
        _download(origin, target, file_hash, hash_algorithm)
    if extract or untar:
        fmt = "tar" if untar else archive_format
        if not extract_archive(target, extraction_dir, fmt):
            raise ValueError(
                f"Could not extract {target}: it is not a "
                f"{fmt if isinstance(fmt, str) else ' or '.join(fmt)} archive."
            )
        return extraction_dir
    return target
