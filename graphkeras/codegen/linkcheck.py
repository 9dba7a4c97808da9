"""Every function an object file calls is defined before its code runs.

MCJIT links the objects of a native module when it finalizes them; a
symbol that no object defines and the process does not export is not an
error there: it resolves to address 0, and the first call through it
takes the process down. `check_links` reads the symbol tables of the
objects (ELF64, what this package emits on Linux) and raises an
InternalCompilerError naming the first symbol that nothing defines, so a
library part that lost a function (a bug of ours) is a Python error, not a
segfault. Objects in another format are not checked.
"""

from __future__ import annotations

import struct
from collections import OrderedDict

from ..ir.errors import InternalCompilerError

_ELF64_LE = b"\x7fELF\x02\x01"
_SHT_SYMTAB = 2
_STB_GLOBAL, _STB_WEAK = 1, 2
_SHN_UNDEF = 0
_SYM = struct.Struct("<IBBHQQ")  # name, info, other, shndx, value, size
_SHDR = struct.Struct("<IIQQQQIIQQ")

# object bytes -> (defined, undefined) symbol names; library objects are
# linked into every module of a process, so each is read once
_MEMO: OrderedDict = OrderedDict()
_MEMO_SIZE = 256


def symbols(obj: bytes) -> tuple[frozenset, frozenset] | None:
    """(global symbols obj defines, strong symbols it needs from outside),
    or None when obj is not a little-endian ELF64 object."""
    obj = bytes(obj)
    got = _MEMO.get(obj)
    if got is not None:
        _MEMO.move_to_end(obj)
        return got
    if not obj.startswith(_ELF64_LE):
        return None
    try:
        got = _read_symbols(obj)
    except (struct.error, IndexError, ValueError) as e:
        raise InternalCompilerError(
            f"an object file of the native module is malformed ({e})") from e
    _MEMO[obj] = got
    while len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)
    return got


def _read_symbols(obj: bytes) -> tuple[frozenset, frozenset]:
    shoff, = struct.unpack_from("<Q", obj, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", obj, 0x3A)
    if shentsize != _SHDR.size:
        raise struct.error(f"section header size {shentsize}")
    sections = [_SHDR.unpack_from(obj, shoff + i * shentsize)
                for i in range(shnum)]
    defined, needed = set(), set()
    for sh in sections:
        if sh[1] != _SHT_SYMTAB:
            continue
        offset, size, link, entsize = sh[4], sh[5], sh[6], sh[9]
        if entsize != _SYM.size or offset + size > len(obj):
            raise struct.error("symbol table out of bounds")
        strings = sections[link]
        str_off, str_size = strings[4], strings[5]
        if str_off + str_size > len(obj):
            raise struct.error("string table out of bounds")
        for pos in range(offset, offset + size, entsize):
            name_at, info, _, shndx, _, _ = _SYM.unpack_from(obj, pos)
            bind = info >> 4
            if not name_at or bind not in (_STB_GLOBAL, _STB_WEAK):
                continue
            if name_at >= str_size:
                raise struct.error("symbol name out of bounds")
            start = str_off + name_at
            name = obj[start:obj.index(b"\0", start)].decode()
            if shndx != _SHN_UNDEF:
                defined.add(name)
            elif bind == _STB_GLOBAL:  # a weak reference may stay null
                needed.add(name)
    return frozenset(defined), frozenset(needed)


def check_links(objs, exported) -> None:
    """Raise InternalCompilerError if an object needs a symbol that no
    object of `objs` defines and `exported(name)` (the process's symbol
    lookup: libc's memset, libm's functions) does not find."""
    tables = [symbols(o) for o in objs]
    if any(t is None for t in tables):
        return  # not ELF: MCJIT's own resolution is all there is
    defined = set().union(*(d for d, _ in tables))
    for _, needed in tables:
        for name in sorted(needed - defined):
            if not exported(name):
                raise InternalCompilerError(
                    f"the native module calls {name!r}, which none of its "
                    f"{len(tables)} object files defines and the process does "
                    "not export; running it would jump to address 0. The "
                    "compiled libraries and the program disagree (a bug of "
                    "graphkeras: please report it).")
