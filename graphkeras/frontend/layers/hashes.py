"""The string hashes of Keras 3's Hashing and HashedCrossing layers, in
NumPy: FarmHash's Fingerprint64 (TensorFlow's `Fingerprint64`, behind
`tf.strings.to_hash_bucket_fast`), SipHash-2-4 (behind
`to_hash_bucket_strong`, keyed by the layer's `salt`) and the
FingerprintCat64 combine of `tf.sparse.cross_hashed`.

Invariants:
- All arithmetic is on uint64 arrays and wraps modulo 2**64, as the C++
  does (NumPy wraps uint64 array products silently; the errstate guards
  the rare scalar path).
- Strings are hashed as their UTF-8 bytes, the strings of one byte
  length together: one pass of vector operations per distinct length
  (and per 64-byte block of long strings). An ASCII str array or a bytes
  array becomes a byte matrix with array operations (no Python loop per
  string); other arrays encode each distinct string once in Python.
"""

from __future__ import annotations

import numpy as np

_U = np.uint64
_K0 = _U(0xC3A5C85C97CB3127)
_K1 = _U(0xB492B66FBE98F273)
_K2 = _U(0x9AE16A3B2F90404F)
_KMUL = _U(0xC6A4A7935BD1E995)
_MASK = (1 << 64) - 1


def _rot(v, shift: int):
    """Rotate right by `shift` bits (FarmHash's Rotate)."""
    return (v >> _U(shift)) | (v << _U(64 - shift))


def _shift_mix(v):
    return v ^ (v >> _U(47))


def _fetch64(b: np.ndarray, at: int):
    """Little-endian uint64 at byte `at` of every row of `b` (n, len)."""
    return b[:, at:at + 8].copy().view("<u8")[:, 0].astype(_U)


def _fetch32(b: np.ndarray, at: int):
    return b[:, at:at + 4].copy().view("<u4")[:, 0].astype(_U)


def _len16(u, v, mul):
    a = (u ^ v) * mul
    a ^= a >> _U(47)
    b = (v ^ a) * mul
    b ^= b >> _U(47)
    return b * mul


def _len0to16(b: np.ndarray, n: int):
    rows = b.shape[0]
    if n >= 8:
        mul = _K2 + _U(n * 2)
        a = _fetch64(b, 0) + _K2
        bb = _fetch64(b, n - 8)
        c = _rot(bb, 37) * mul + a
        d = (_rot(a, 25) + bb) * mul
        return _len16(c, d, mul)
    if n >= 4:
        mul = _K2 + _U(n * 2)
        a = _fetch32(b, 0)
        return _len16(_U(n) + (a << _U(3)), _fetch32(b, n - 4), mul)
    if n > 0:
        a = b[:, 0].astype(_U)
        bb = b[:, n >> 1].astype(_U)
        c = b[:, n - 1].astype(_U)
        # NOTE: y and z are uint32 in FarmHash, but they never exceed 32
        # bits here, and the products are uint64 as in the C++
        y = a + (bb << _U(8))
        z = _U(n) + (c << _U(2))
        return _shift_mix(y * _K2 ^ z * _K0) * _K2
    return np.full(rows, _K2, _U)


def _len17to32(b: np.ndarray, n: int):
    mul = _K2 + _U(n * 2)
    a = _fetch64(b, 0) * _K1
    bb = _fetch64(b, 8)
    c = _fetch64(b, n - 8) * mul
    d = _fetch64(b, n - 16) * _K2
    return _len16(_rot(a + bb, 43) + _rot(c, 30) + d,
                  a + _rot(bb + _K2, 18) + c, mul)


def _len33to64(b: np.ndarray, n: int):
    mul = _K2 + _U(n * 2)
    a = _fetch64(b, 0) * _K2
    bb = _fetch64(b, 8)
    c = _fetch64(b, n - 8) * mul
    d = _fetch64(b, n - 16) * _K2
    y = _rot(a + bb, 43) + _rot(c, 30) + d
    z = _len16(y, a + _rot(bb + _K2, 18) + c, mul)
    e = _fetch64(b, 16) * mul
    f = _fetch64(b, 24)
    g = (y + _fetch64(b, n - 32)) * mul
    h = (z + _fetch64(b, n - 24)) * mul
    return _len16(_rot(e + f, 43) + _rot(g, 30) + h,
                  e + _rot(f + a, 18) + g, mul)


def _weak32(b: np.ndarray, at: int, a, c):
    """FarmHash's WeakHashLen32WithSeeds over 32 bytes at `at`."""
    w, x = _fetch64(b, at), _fetch64(b, at + 8)
    y, z = _fetch64(b, at + 16), _fetch64(b, at + 24)
    a = a + w
    c = _rot(c + a + z, 21)
    keep = a
    a = a + x + y
    c = c + _rot(a, 44)
    return a + z, c + keep


def _len_over64(b: np.ndarray, n: int):
    rows = b.shape[0]
    seed = _U(81)
    x = np.full(rows, seed, _U)
    y = np.full(rows, seed * _K1 + _U(113), _U)
    z = _shift_mix(y * _K2 + _U(113)) * _K2
    v0 = v1 = w0 = w1 = np.zeros(rows, _U)
    x = x * _K2 + _fetch64(b, 0)
    blocks = (n - 1) // 64
    last = blocks * 64 + ((n - 1) & 63) - 63
    for i in range(blocks):
        s = 64 * i
        x = _rot(x + y + v0 + _fetch64(b, s + 8), 37) * _K1
        y = _rot(y + v1 + _fetch64(b, s + 48), 42) * _K1
        x ^= w1
        y = y + v0 + _fetch64(b, s + 40)
        z = _rot(z + w0, 33) * _K1
        v0, v1 = _weak32(b, s, v1 * _K1, x + w0)
        w0, w1 = _weak32(b, s + 32, z + w1, y + _fetch64(b, s + 16))
        z, x = x, z
    mul = _K1 + ((z & _U(0xFF)) << _U(1))
    s = last
    w0 = w0 + _U((n - 1) & 63)
    v0 = v0 + w0
    w0 = w0 + v0
    x = _rot(x + y + v0 + _fetch64(b, s + 8), 37) * mul
    y = _rot(y + v1 + _fetch64(b, s + 48), 42) * mul
    x ^= w1 * _U(9)
    y = y + v0 * _U(9) + _fetch64(b, s + 40)
    z = _rot(z + w0, 33) * mul
    v0, v1 = _weak32(b, s, v1 * mul, x + w0)
    w0, w1 = _weak32(b, s + 32, z + w1, y + _fetch64(b, s + 16))
    z, x = x, z
    return _len16(_len16(v0, w0, mul) + _shift_mix(y) * _K0 + z,
                  _len16(v1, w1, mul) + x, mul)


def _farm_rows(b: np.ndarray, n: int):
    if n <= 16:
        return _len0to16(b, n)
    if n <= 32:
        return _len17to32(b, n)
    if n <= 64:
        return _len33to64(b, n)
    return _len_over64(b, n)


_SIP_INIT = (0x736F6D6570736575, 0x646F72616E646F6D, 0x6C7967656E657261,
             0x7465646279746573)


def _sip_round(v0, v1, v2, v3):
    v0 = v0 + v1
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = v2 + v3
    v3 = _rotl(v3, 16) ^ v2
    v0 = v0 + v3
    v3 = _rotl(v3, 21) ^ v0
    v2 = v2 + v1
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def _rotl(v, shift: int):
    return (v << _U(shift)) | (v >> _U(64 - shift))


def _sip_rows(b: np.ndarray, n: int, key):
    """SipHash-2-4 of rows of `n` bytes with the key (k0, k1)."""
    rows = b.shape[0]
    k0, k1 = _U(key[0]), _U(key[1])
    v0 = np.full(rows, _U(_SIP_INIT[0]) ^ k0, _U)
    v1 = np.full(rows, _U(_SIP_INIT[1]) ^ k1, _U)
    v2 = np.full(rows, _U(_SIP_INIT[2]) ^ k0, _U)
    v3 = np.full(rows, _U(_SIP_INIT[3]) ^ k1, _U)
    # the final word: the last n % 8 bytes, the length in the top byte
    tail = np.zeros((rows, 8), np.uint8)
    full = n - n % 8
    tail[:, :n - full] = b[:, full:n]
    tail[:, 7] = n & 0xFF
    for at in range(0, full + 8, 8):
        m = _fetch64(b, at) if at < full else _fetch64(tail, 0)
        v3 = v3 ^ m
        v0, v1, v2, v3 = _sip_round(*_sip_round(v0, v1, v2, v3))
        v0 = v0 ^ m
    v2 = v2 ^ _U(0xFF)
    for _ in range(4):
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


# Byte matrices above this many bytes are not built (one very long string
# among short ones): such inputs take the per-string path.
_MAX_MATRIX_BYTES = 1 << 26


def _ascii_matrix(a: np.ndarray):
    """(bytes (n, width) uint8, lengths (n,)) of a 1-D str array whose
    characters are all ASCII (their UTF-8 bytes are their codes), built
    from its UTF-32 codes (NumPy drops trailing NULs from its strings, so
    a string ends at its last nonzero code); None when some character is
    not ASCII or the matrix would be too large."""
    n, width = a.shape[0], a.dtype.itemsize // 4
    if n == 0 or width == 0:
        return np.zeros((n, 1), np.uint8), np.zeros(n, np.int64)
    if n * width > _MAX_MATRIX_BYTES:
        return None
    codes = np.ascontiguousarray(a).view(np.uint32).reshape(n, width)
    if codes.max() >= 0x80:
        return None
    b = codes.astype(np.uint8)
    return b, _lengths(b)


def _lengths(b: np.ndarray) -> np.ndarray:
    """The index after the last nonzero byte of each row."""
    nonzero = b != 0
    width = b.shape[1]
    return np.where(nonzero.any(axis=1),
                    width - np.argmax(nonzero[:, ::-1], axis=1), 0)


def _bytes_matrix(a: np.ndarray):
    """(bytes (n, width), lengths) of a 1-D bytes ('S') array."""
    n, width = a.shape[0], a.dtype.itemsize
    if n == 0 or width == 0:
        return np.zeros((n, 1), np.uint8), np.zeros(n, np.int64)
    if n * width > _MAX_MATRIX_BYTES:
        return None
    b = np.ascontiguousarray(a).view(np.uint8).reshape(n, width)
    return b, _lengths(b)


def _hash_matrix(b: np.ndarray, lengths: np.ndarray, rows_fn) -> np.ndarray:
    """Hashes of the rows of a byte matrix, one pass per distinct length."""
    out = np.zeros(b.shape[0], _U)
    order = np.argsort(lengths, kind="stable")
    sizes, first = np.unique(lengths[order], return_index=True)
    bounds = list(first) + [len(order)]
    with np.errstate(over="ignore"):
        for i, n in enumerate(sizes.tolist()):
            idx = order[bounds[i]:bounds[i + 1]]
            rows = np.ascontiguousarray(b[idx, :n]) if n else \
                np.zeros((len(idx), 0), np.uint8)
            out[idx] = rows_fn(rows, n)
    return out


def _hash_objects(flat: np.ndarray, rows_fn) -> np.ndarray:
    """Hashes of a 1-D array of str / bytes, each distinct string encoded
    (UTF-8) and hashed once."""
    items = flat.tolist()
    uniq: dict = {}
    for v in items:
        uniq.setdefault(v, len(uniq))
    keys = [v if isinstance(v, bytes) else str(v).encode("utf-8")
            for v in uniq]
    out_u = np.zeros(len(keys), _U)
    by_len: dict = {}
    for i, s in enumerate(keys):
        by_len.setdefault(len(s), []).append(i)
    with np.errstate(over="ignore"):
        for n, idx in by_len.items():
            buf = np.frombuffer(b"".join(keys[i] for i in idx) + b"\0" * 8,
                                np.uint8)[:n * len(idx)]
            # NOTE: the 8 padding bytes let a zero-length group reshape
            out_u[idx] = rows_fn(buf.reshape(len(idx), n), n)
    pos = np.fromiter(map(uniq.__getitem__, items), np.int64, len(items))
    return out_u[pos]


def _hash_strings(values, rows_fn) -> np.ndarray:
    """uint64 hashes of an array of str / bytes, computed by `rows_fn(b, n)`
    on each group of equal byte length (b: uint8 (k, n))."""
    arr = np.asarray(values)
    flat = arr.reshape(-1)
    found = None
    if flat.dtype.kind == "U":
        found = _ascii_matrix(flat)
    elif flat.dtype.kind == "S":
        found = _bytes_matrix(flat)
    if found is None:
        out = _hash_objects(flat, rows_fn)
    else:
        out = _hash_matrix(found[0], found[1], rows_fn)
    return out.reshape(arr.shape)


def decimal_matrix(x: np.ndarray):
    """(bytes (n, 20) uint8, lengths) of the decimal text of int64 values
    (TensorFlow's as_string: a "-" before negatives), built with array
    operations: the ASCII digits left-aligned in each row."""
    v = np.asarray(x, dtype=np.int64).reshape(-1)
    neg = v < 0
    # |v| as uint64 (exact for -2**63 too: two's complement negation)
    mag = np.where(neg, (~v.view(np.uint64)) + np.uint64(1),
                   v.view(np.uint64))
    digits = np.zeros((v.size, 20), np.uint8)  # right-aligned
    count = np.ones(v.size, np.int64)
    rest = mag.copy()
    for col in range(19, -1, -1):
        digits[:, col] = (rest % np.uint64(10)).astype(np.uint8)
        rest //= np.uint64(10)
        count = np.where(rest > 0, 20 - col + 1, count)
    count = np.minimum(count, 20)
    lengths = count + neg
    out = np.zeros((v.size, 21), np.uint8)
    cols = np.arange(21)
    # the digit in output column j: digits[20 - count + (j - neg)]
    src = 20 - count[:, None] + (cols[None, :] - neg[:, None])
    inside = (cols[None, :] >= neg[:, None]) & (cols[None, :] < lengths[:, None])
    rows = np.broadcast_to(np.arange(v.size)[:, None], src.shape)
    out[inside] = digits[rows[inside], src[inside]] + ord("0")
    out[neg, 0] = ord("-")
    return out, lengths


def hash_integers(values, key=None) -> np.ndarray:
    """Fingerprint64 (SipHash with `key`) of the decimal text of integer
    values, without a Python string per value."""
    arr = np.asarray(values)
    b, lengths = decimal_matrix(arr)
    if key is None:
        rows_fn = _farm_rows
    else:
        key = tuple(int(k) & _MASK for k in key)

        def rows_fn(b, n):
            return _sip_rows(b, n, key)
    return _hash_matrix(b, lengths, rows_fn).reshape(arr.shape)


def fingerprint64(values) -> np.ndarray:
    """FarmHash Fingerprint64 (uint64) of each string in `values` (an
    array-like of str or bytes), as TensorFlow's `Fingerprint64`."""
    return _hash_strings(values, _farm_rows)


def siphash(values, key) -> np.ndarray:
    """SipHash-2-4 (uint64) of each string, keyed by two uint64 (k0, k1)."""
    key = tuple(int(k) & _MASK for k in key)
    return _hash_strings(values, lambda b, n: _sip_rows(b, n, key))


CROSS_HASH_KEY = 0xDECAFCAFFE  # tf.sparse.cross_hashed's default hash_key


def fingerprint_cat64(fp1, fp2) -> np.ndarray:
    """Combine two uint64 fingerprints (TensorFlow's FingerprintCat64)."""
    fp1 = np.asarray(fp1, _U)
    fp2 = np.asarray(fp2, _U)
    with np.errstate(over="ignore"):
        r = fp1 ^ _KMUL
        r = r ^ (_shift_mix(fp2 * _KMUL) * _KMUL)
        r = r * _KMUL
        r = _shift_mix(r) * _KMUL
        return _shift_mix(r)
