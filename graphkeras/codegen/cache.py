"""The on-disk compile cache: object code keyed by what determines it.

An entry is one file `<cache_dir>/<key[:2]>/<key>.gko` (object code) or
`.gkir` (a prepared program's text, runtime/compiled.py):

    GKOBJ1 <key> <sha256 of the payload> <payload length>\n<payload>

The key hashes the optimised program text, the storage layout, the codegen
and math-library versions and a digest of the code generator's source,
llvmlite's and LLVM's versions and the host
(triple, CPU name, feature string). An entry whose header, key, length or
checksum does not match is treated as a miss, rebuilt and overwritten:
a corrupt or stale entry is never trusted. Writes go to a temporary file
renamed into place, so a reader never sees half an entry.

GRAPHKERAS_CACHE=0 turns the cache off; GRAPHKERAS_CACHE_DIR moves it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile

from .. import config

MAGIC = b"GKOBJ1"


def make_key(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        data = p.encode()
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def entry_path(key: str, ext: str = ".gko") -> str:
    return os.path.join(config.cache_dir(), key[:2], key + ext)


def load(key: str, ext: str = ".gko") -> bytes | None:
    """The cached payload for key, or None (off, missing, corrupt, stale)."""
    if not config.cache_enabled():
        return None
    path = entry_path(key, ext)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    head, sep, payload = data.partition(b"\n")
    parts = head.split(b" ")
    if (not sep or len(parts) != 4 or parts[0] != MAGIC
            or parts[1].decode(errors="replace") != key):
        return None
    try:
        n = int(parts[3])
    except ValueError:
        return None
    if n != len(payload) or hashlib.sha256(payload).hexdigest().encode() != parts[2]:
        return None
    return payload


def store(key: str, payload: bytes, ext: str = ".gko") -> str | None:
    """Write an entry (best effort: an unwritable cache is not an error)."""
    if not config.cache_enabled():
        return None
    path = entry_path(key, ext)
    head = b" ".join([MAGIC, key.encode(),
                      hashlib.sha256(payload).hexdigest().encode(),
                      str(len(payload)).encode()])
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(head + b"\n" + payload)
        os.replace(tmp, path)
    except OSError:
        return None
    return path
