"""The on-disk compile cache: object code keyed by what determines it.

An entry is one file `<cache_dir>/<key[:2]>/<key><ext>`: `.gko` (object
code) or `.gkir` (a prepared program's text, runtime/compiled.py):

    GKOBJ2 <key> <HMAC-SHA256 of (ext, key, payload)> <payload length>\n<payload>

The key hashes everything code generation reads (codegen/jit.cache_key):
the program text with per-process names taken out, the storage layout,
the whole package's source, llvmlite's and LLVM's versions and the host.

Trust (docs/security.md):
- The cache directory and its subdirectories are created 0700. A cache
  directory owned by another user, or writable by group or others, is not
  used at all: one warning, then every load misses and nothing is stored.
- An entry is read only if it is a regular file (no symlink, FIFO or
  device: opened with O_NOFOLLOW | O_NONBLOCK, then fstat-ed) owned by
  this user and at most MAX_ENTRY_BYTES long, and its HMAC verifies with
  this user's secret (`<cache_dir>/secret`, 32 random bytes, 0600, made
  on first use). Anything else is a miss: rebuilt and overwritten, never
  trusted, never an error.
- Writes go to a temporary file renamed into place, so a reader never
  sees half an entry.

Size: GRAPHKERAS_CACHE_MAX caps the entries' total size (default 1 GiB);
a store that goes over it evicts the least recently used entries (a hit
refreshes an entry's mtime). GRAPHKERAS_CACHE=0 turns the cache off;
GRAPHKERAS_CACHE_DIR moves it. `graphkeras cache info|clear`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import tempfile
import threading
import warnings

from .. import flags

MAGIC = b"GKOBJ2"
SECRET = "secret"
SECRET_BYTES = 32
# An entry larger than this is not read (object code of the largest
# programs measured here is a few MB; a prepared program's text is smaller).
MAX_ENTRY_BYTES = 256 << 20
ENTRY_EXTS = (".gko", ".gkir")

_LOCK = threading.Lock()
_ROOTS: dict = {}  # cache dir -> (secret bytes | None); per process
_WARNED: set = set()
STATS = {"hits": 0, "misses": 0, "stores": 0, "refused": 0, "evicted": 0}


class UntrustedCacheError(OSError):
    """The cache directory is not this user's alone."""


def make_key(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        data = p.encode()
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def entry_path(key: str, ext: str = ".gko") -> str:
    return os.path.join(flags.cache_dir(), key[:2], key + ext)


# --- the directory and the secret ----------------------------------------------


def _check_dir(path: str) -> None:
    """Raise UntrustedCacheError unless path is a directory owned by this
    user that nobody else can write."""
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise UntrustedCacheError(f"{path} is not a directory")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise UntrustedCacheError(
            f"{path} is owned by another user (uid {st.st_uid})")
    if st.st_mode & 0o022:
        raise UntrustedCacheError(
            f"{path} is writable by group or others (mode "
            f"{stat.S_IMODE(st.st_mode):04o}); run `chmod 700 {path}`")


def _make_dir(path: str, *, fix: bool = False) -> None:
    """Create path 0700 (or check it); `fix` tightens a directory of ours
    that others could write (a subdirectory made by an older graphkeras
    under umask 000) instead of refusing it."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
    except FileExistsError:
        pass
    if fix:
        st = os.lstat(path)
        if (stat.S_ISDIR(st.st_mode) and st.st_mode & 0o022
                and st.st_uid == os.getuid()):
            os.chmod(path, 0o700)
    _check_dir(path)


def _read_secret(root: str) -> bytes:
    path = os.path.join(root, SECRET)
    data = _read_regular(path, SECRET_BYTES)
    if data is None or len(data) != SECRET_BYTES:
        raise UntrustedCacheError(f"{path} is not a {SECRET_BYTES}-byte "
                                  "file of this user's")
    st = os.lstat(path)
    if st.st_mode & 0o077:
        raise UntrustedCacheError(
            f"{path} is readable by others (mode "
            f"{stat.S_IMODE(st.st_mode):04o})")
    return data


def _new_secret(root: str) -> None:
    """Create the secret if absent, atomically (two processes starting at
    once agree on one secret: os.link fails if it exists)."""
    fd, tmp = tempfile.mkstemp(dir=root, suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, os.urandom(SECRET_BYTES))
        os.close(fd)
        try:
            os.link(tmp, os.path.join(root, SECRET))
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)


def _secret() -> bytes | None:
    """This user's secret for the current cache dir, or None when the
    cache is off or not trusted (warned once per directory)."""
    if not flags.cache_enabled():
        return None
    root = os.path.abspath(flags.cache_dir())
    if root in _ROOTS:
        return _ROOTS[root]
    with _LOCK:
        if root in _ROOTS:
            return _ROOTS[root]
        try:
            _make_dir(root)
            if not os.path.lexists(os.path.join(root, SECRET)):
                _new_secret(root)
            secret = _read_secret(root)
        except OSError as e:
            secret = None
            if root not in _WARNED:
                _WARNED.add(root)
                warnings.warn(
                    f"graphkeras: not using the compile cache in {root}: "
                    f"{e}. Programs are compiled without it; set "
                    "GRAPHKERAS_CACHE_DIR to a directory of your own.",
                    RuntimeWarning, stacklevel=3)
        _ROOTS[root] = secret
        return secret


def _reset() -> None:
    """Forget the checked directories (tests, after a fork: re-checked)."""
    _ROOTS.clear()
    _WARNED.clear()


# --- reading and writing entries -----------------------------------------------


def _read_regular(path: str, limit: int) -> bytes | None:
    """The bytes of path if it is a regular file owned by this user of at
    most `limit` bytes, else None. Never blocks on a FIFO and never follows
    a symlink."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(
        os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (not stat.S_ISREG(st.st_mode) or st.st_size > limit
                or (hasattr(os, "getuid") and st.st_uid != os.getuid())):
            STATS["refused"] += 1
            return None
        chunks, left = [], st.st_size + 1
        while left > 0:
            b = os.read(fd, min(left, 1 << 20))
            if not b:
                break
            chunks.append(b)
            left -= len(b)
        data = b"".join(chunks)
        return data if len(data) <= limit else None
    except OSError:
        return None
    finally:
        os.close(fd)


def _mac(secret: bytes, key: str, ext: str, payload: bytes) -> bytes:
    m = hmac.new(secret, digestmod=hashlib.sha256)
    m.update(f"{ext} {key} {len(payload)}\n".encode())
    m.update(payload)
    return m.hexdigest().encode()


def load(key: str, ext: str = ".gko") -> bytes | None:
    """The cached payload for key, or None (off, untrusted, missing,
    corrupt, stale, not authenticated)."""
    secret = _secret()
    if secret is None:
        return None
    path = entry_path(key, ext)
    data = _read_regular(path, MAX_ENTRY_BYTES)
    if data is None:
        STATS["misses"] += 1
        return None
    head, sep, payload = data.partition(b"\n")
    parts = head.split(b" ")
    ok = (sep and len(parts) == 4 and parts[0] == MAGIC
          and parts[1] == key.encode() and parts[3] == str(len(payload)).encode()
          and hmac.compare_digest(parts[2], _mac(secret, key, ext, payload)))
    if not ok:
        STATS["misses"] += 1
        STATS["refused"] += 1
        return None
    STATS["hits"] += 1
    try:
        os.utime(path)  # recently used: evicted last
    except OSError:
        pass
    return payload


def store(key: str, payload: bytes, ext: str = ".gko") -> str | None:
    """Write an entry (best effort: an unwritable cache is not an error)."""
    path = _write(key, payload, ext)
    if path is not None:
        evict(flags.cache_max_bytes(), keep=path)
    return path


def store_many(items, ext: str = ".gko") -> int:
    """store() every (key, payload) of items, checking the cache's size
    once at the end (a program's new kernel objects are hundreds of small
    entries); returns how many were written."""
    written = [p for p in (_write(k, v, ext) for k, v in items)
               if p is not None]
    if written:
        evict(flags.cache_max_bytes(), keep=set(written))
    return len(written)


def _write(key: str, payload: bytes, ext: str) -> str | None:
    secret = _secret()
    if secret is None or len(payload) > MAX_ENTRY_BYTES - 256:
        return None
    path = entry_path(key, ext)
    head = b" ".join([MAGIC, key.encode(), _mac(secret, key, ext, payload),
                      str(len(payload)).encode()])
    try:
        _make_dir(os.path.dirname(path), fix=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(head + b"\n" + payload)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError:
        return None
    STATS["stores"] += 1
    return path


# --- size, eviction, info ------------------------------------------------------


def entries(root: str | None = None) -> list:
    """[(path, size, mtime)] of the cache's entries (no symlinks)."""
    root = root or flags.cache_dir()
    out = []
    try:
        subs = list(os.scandir(root))
    except OSError:
        return out
    for d in subs:
        if len(d.name) != 2 or not d.is_dir(follow_symlinks=False):
            continue
        try:
            files = list(os.scandir(d.path))
        except OSError:
            continue
        for f in files:
            if f.name.endswith(ENTRY_EXTS) and f.is_file(follow_symlinks=False):
                try:
                    st = f.stat(follow_symlinks=False)
                except OSError:
                    continue
                out.append((f.path, st.st_size, st.st_mtime))
    return out


def evict(max_bytes: int, keep=None) -> int:
    """Remove least recently used entries until the total is at most
    max_bytes (never `keep`, the entry just written, or a set of them);
    returns how many."""
    found = entries()
    total = sum(s for _, s, _ in found)
    if total <= max_bytes:
        return 0
    removed = 0
    for path, size, _ in sorted(found, key=lambda e: e[2]):
        if total <= max_bytes:
            break
        if path == keep or (isinstance(keep, set) and path in keep):
            continue
        try:
            os.unlink(path)
        except OSError:
            continue
        total -= size
        removed += 1
    STATS["evicted"] += removed
    return removed


def info() -> dict:
    """What `graphkeras cache info` prints."""
    root = flags.cache_dir()
    found = entries(root)
    trusted = None
    if flags.cache_enabled():
        try:
            if os.path.isdir(root):
                _check_dir(root)
            trusted = True
        except OSError as e:
            trusted = str(e)
    return {
        "dir": root,
        "enabled": flags.cache_enabled(),
        "trusted": trusted,
        "entries": len(found),
        "bytes": sum(s for _, s, _ in found),
        "max_bytes": flags.cache_max_bytes(),
    }


def clear() -> int:
    """Remove every entry; returns how many were removed."""
    root = flags.cache_dir()
    n = 0
    for path, _, _ in entries(root):
        try:
            os.unlink(path)
            n += 1
        except OSError:
            pass
    return n
