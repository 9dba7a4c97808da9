"""The IR's text form: a printer and a parser that round-trip.

    func @mlp(%x: f32[N,784], %w: f32[784,128]) -> (f32[N,128]) {
      %0 = matmul %x, %w                : f32[N,128]  loc("dense")
      %1 = reduce_sum %0 {axes=(1,)}    : f32[N]
      return %1
    }

Invariant: `parse(print_function(f)) == f` for every Function whose attrs
are canonical (as the Builder makes them). Attributes equal to their default
are not printed; the parser fills them back in. Strings that are plain
identifiers print bare (`mode=constant`, `shape=(N,784)`); dtypes print as
their IR name (`dtype=f32`).
"""

from __future__ import annotations

import json
import math
import re

import numpy as np

from .dtypes import DType, as_dtype
from .errors import ParseError
from .function import Attrs, ConstArray, Function, Node, Value
from .registry import get_op
from .types import TensorType

_RESERVED = {"true", "false", "none", "inf", "nan", "func", "array", "loc",
             "return"}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
NAME_RE = re.compile(r"^[A-Za-z0-9_./]+$")

# --- printing ----------------------------------------------------------------


def format_type(t: TensorType) -> str:
    return f"{t.dtype.name}[{','.join(str(d) for d in t.shape)}]"


def _fmt_float(x: float) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(float(x))


def _fmt_scalar(v, dtype: DType) -> str:
    if dtype.is_bool:
        return "true" if v else "false"
    if dtype.is_int:
        return str(int(v))
    if dtype.bits == 32 and math.isfinite(float(v)):
        return _fmt_f32(v)  # the shortest text that reads back the same
    return _fmt_float(float(v))


def _fmt_f32(v) -> str:
    text = np.format_float_scientific(np.float32(v), unique=True, trim="0")
    x = float(text)
    short = repr(x)
    # repr of the float64 nearest the shortest float32 text is that text
    # (or an equal spelling), which reads back to the same float32
    return short if np.float32(x) == np.float32(v) else _fmt_float(float(v))


def format_attr(v, indent: str = "") -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _fmt_float(v)
    if isinstance(v, DType):
        return v.name
    if isinstance(v, str):
        if _IDENT.match(v) and v not in _RESERVED:
            return v
        return json.dumps(v)
    if isinstance(v, tuple):
        inner = ",".join(format_attr(x, indent) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, ConstArray):
        t = TensorType(v.shape, v.dtype)
        vals = " ".join(_fmt_scalar(x, v.dtype) for x in v.array.reshape(-1))
        return f"array<{format_type(t)} {vals}>" if vals else f"array<{format_type(t)}>"
    if isinstance(v, Function):
        body = print_function(v, indent + "    ")
        return body.lstrip()
    raise TypeError(f"cannot print attribute value {v!r}")


def _node_lhs(n: Node, indent: str) -> str:
    outs = ", ".join(f"%{o.name}" for o in n.outputs)
    s = f"{outs} = {n.op}"
    if n.inputs:
        s += " " + ", ".join(f"%{v.name}" for v in n.inputs)
    op = get_op(n.op)
    shown = []
    for k, v in n.attrs.items():
        spec = op.attrs.get(k)
        if spec is not None and spec.default is not _required() and _same(
            spec.default, v
        ):
            continue
        shown.append(f"{k}={format_attr(v, indent)}")
    if shown:
        s += " {" + ", ".join(shown) + "}"
    return s


def _required():
    from .registry import REQUIRED

    return REQUIRED


def _same(a, b) -> bool:
    try:
        return type(a) is type(b) and a == b
    except Exception:  # noqa: BLE001 - arrays and the like never match
        return False


def print_function(fn: Function, indent: str = "") -> str:
    """The text form of fn (see the module docstring)."""
    params = ", ".join(f"%{p.name}: {format_type(p.type)}" for p in fn.params)
    rtypes = ", ".join(format_type(r.type) for r in fn.results)
    lines = [f"{indent}func @{fn.name}({params}) -> ({rtypes}) {{"]
    inner = indent + "  "
    lhs = [_node_lhs(n, inner) for n in fn.nodes]
    width = min(max((len(x) for x in lhs if "\n" not in x), default=0), 48)
    for n, left in zip(fn.nodes, lhs):
        types = ", ".join(format_type(o.type) for o in n.outputs)
        line = f"{inner}{left.ljust(width)} : {types}"
        if n.loc is not None:
            line += f"  loc({json.dumps(n.loc)})"
        lines.append(line)
    rets = ", ".join(f"%{r.name}" for r in fn.results)
    lines.append(f"{inner}return {rets}".rstrip())
    lines.append(f"{indent}}}")
    return "\n".join(lines)


def canonical_print(fn: Function, *, locs: bool = True,
                    names: dict | None = None) -> str:
    """`canonical_text(print_function(fn), locs=locs, names=names)`, written
    directly: the values named `%v0`, `%v1`, ... as they first appear, one
    blank wherever the printer pads, no second pass over the text (the
    compile cache keys every program and kernel on this text)."""
    renamed: dict[str, str] = {}

    def val(name: str) -> str:
        new = renamed.get(name)
        if new is None:
            new = renamed[name] = f"%v{len(renamed)}"
        return new

    def attr(v) -> str:
        if isinstance(v, Function):
            return func(v, nested=True)
        if isinstance(v, tuple) and any(isinstance(x, (Function, tuple))
                                        for x in v):
            inner = ",".join(attr(x) for x in v)
            return f"({inner},)" if len(v) == 1 else f"({inner})"
        return format_attr(v)

    def func(f: Function, nested: bool) -> str:
        params = ", ".join(f"{val(p.name)}: {format_type(p.type)}"
                           for p in f.params)
        rtypes = ", ".join(format_type(r.type) for r in f.results)
        lines = [f"func @{f.name}({params}) -> ({rtypes}) {{"]
        for n in f.nodes:
            left = ", ".join(val(o.name) for o in n.outputs) + f" = {n.op}"
            if n.inputs:
                left += " " + ", ".join(val(v.name) for v in n.inputs)
            op = get_op(n.op)
            shown = []
            for k, v in n.attrs.items():
                spec = op.attrs.get(k)
                if spec is not None and spec.default is not _required() and \
                        _same(spec.default, v):
                    continue
                shown.append(f"{k}={attr(v)}")
            if shown:
                left += " {" + ", ".join(shown) + "}"
            types = ", ".join(format_type(o.type) for o in n.outputs)
            line = f" {left} : {types}"
            if locs and n.loc is not None:
                line += f"  loc({json.dumps(n.loc)})"
            lines.append(line)
        rets = ", ".join(val(r.name) for r in f.results)
        lines.append(f" return {rets}" if rets else " return")
        lines.append(" }" if nested else "}")
        return "\n".join(lines)

    out = func(fn, nested=False)
    if names is not None:
        names.update((k, v[1:]) for k, v in renamed.items())
    return out


# --- parsing -----------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|//[^\n]*)
  | (?P<arrow>->)
  | (?P<value>%[A-Za-z0-9_./]+)
  | (?P<func>@[A-Za-z0-9_./]+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>-?(?:inf|nan)\b|-?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[()\[\]{},=:<>])
    """,
    re.VERBOSE,
)


class _Lexer:
    def __init__(self, text: str):
        self.text = text
        self.toks: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                raise self._error(pos, f"unexpected character {text[pos]!r}")
            kind = m.lastgroup
            if kind != "ws":
                self.toks.append((kind, m.group(), pos))
            pos = m.end()
        self.toks.append(("eof", "", len(text)))
        self.i = 0
        self.depth = 0  # of nested tuples and functions (MAX_NESTING)

    def _error(self, pos: int, msg: str) -> ParseError:
        line = self.text.count("\n", 0, pos) + 1
        col = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        src = self.text.splitlines()[line - 1] if self.text else ""
        return ParseError(f"line {line}, column {col}: {msg}\n  {src}")

    def peek(self, k: int = 0):
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self):
        t = self.toks[self.i]
        self.i += 1
        return t

    def error(self, msg: str) -> ParseError:
        return self._error(self.peek()[2], msg)

    def accept(self, text: str) -> bool:
        if self.peek()[1] == text and self.peek()[0] in ("punct", "ident", "arrow"):
            self.i += 1
            return True
        return False

    def expect(self, text: str):
        if not self.accept(text):
            raise self.error(f"expected {text!r}, found {self.peek()[1]!r}")

    def expect_kind(self, kind: str) -> str:
        t = self.peek()
        if t[0] != kind:
            raise self.error(f"expected a {kind}, found {t[1]!r}")
        self.i += 1
        return t[1]


def _parse_type(lx: _Lexer) -> TensorType:
    name = lx.expect_kind("ident")
    try:
        dtype = as_dtype(name)
    except TypeError:
        raise lx.error(f"unknown dtype {name!r}") from None
    lx.expect("[")
    dims = []
    if not lx.accept("]"):
        while True:
            kind, text, _ = lx.next()
            if kind == "number" and text.isdigit():
                dims.append(int(text))
            elif kind == "ident":
                dims.append(text)
            else:
                raise lx.error(f"expected a dimension, found {text!r}")
            if lx.accept("]"):
                break
            lx.expect(",")
    return TensorType(tuple(dims), dtype)


def _parse_number(text: str):
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return float(text)


# Tuples and function bodies nested deeper than this are refused with a
# ParseError (the parser recurses; Python's own limit would raise a bare
# RecursionError, and no program the compiler makes nests a tenth as deep).
MAX_NESTING = 100


def _nested(lx: _Lexer):
    lx.depth += 1
    if lx.depth > MAX_NESTING:
        raise lx.error(f"attributes or functions nested more than "
                       f"{MAX_NESTING} deep")


def _parse_attr(lx: _Lexer):
    kind, text, _ = lx.peek()
    if kind == "punct" and text == "(":
        lx.next()
        items = []
        if lx.accept(")"):
            return ()
        _nested(lx)
        while True:
            items.append(_parse_attr(lx))
            if lx.accept(")"):
                break
            lx.expect(",")
            if lx.accept(")"):
                break
        lx.depth -= 1
        return tuple(items)
    if kind == "number":
        lx.next()
        return _parse_number(text)
    if kind == "string":
        lx.next()
        return json.loads(text)
    if kind == "ident":
        if text == "func":
            return _parse_function(lx)
        lx.next()
        if text == "true":
            return True
        if text == "false":
            return False
        if text == "none":
            return None
        if text == "array" and lx.peek()[1] == "<":
            return _parse_array(lx)
        return text
    raise lx.error(f"expected an attribute value, found {text!r}")


def _parse_array(lx: _Lexer) -> ConstArray:
    lx.expect("<")
    t = _parse_type(lx)
    vals = []
    while not lx.accept(">"):
        kind, text, _ = lx.next()
        if kind == "number":
            vals.append(_parse_number(text))
        elif kind == "ident" and text in ("true", "false"):
            vals.append(text == "true")
        else:
            raise lx.error(f"expected an array element, found {text!r}")
    shape = tuple(t.shape)
    n = int(np.prod(shape, dtype=np.int64))
    if len(vals) != n:
        raise lx.error(f"array of type {format_type(t)} needs {n} values, "
                       f"got {len(vals)}")
    return ConstArray(np.array(vals, dtype=t.dtype.np).reshape(shape))


def _parse_function(lx: _Lexer) -> Function:
    _nested(lx)
    fn = _parse_function_body(lx)
    lx.depth -= 1
    return fn


def _parse_function_body(lx: _Lexer) -> Function:
    lx.expect("func")
    name = lx.expect_kind("func")[1:]
    env: dict[str, Value] = {}

    def define(vname: str, t: TensorType) -> Value:
        if vname in env:
            raise lx.error(f"%{vname} is defined twice")
        v = Value(vname, t)
        env[vname] = v
        return v

    def use(vname: str) -> Value:
        if vname not in env:
            raise lx.error(f"%{vname} is used before it is defined")
        return env[vname]

    lx.expect("(")
    params = []
    if not lx.accept(")"):
        while True:
            pname = lx.expect_kind("value")[1:]
            lx.expect(":")
            params.append(define(pname, _parse_type(lx)))
            if lx.accept(")"):
                break
            lx.expect(",")
    lx.expect("->")
    lx.expect("(")
    rtypes = []
    if not lx.accept(")"):
        while True:
            rtypes.append(_parse_type(lx))
            if lx.accept(")"):
                break
            lx.expect(",")
    lx.expect("{")
    nodes = []
    while True:
        if lx.accept("return"):
            results = []
            if lx.peek()[0] == "value":
                while True:
                    results.append(use(lx.expect_kind("value")[1:]))
                    if not lx.accept(","):
                        break
            lx.expect("}")
            break
        nodes.append(_parse_node(lx, define, use))
    if tuple(r.type for r in results) != tuple(rtypes):
        raise lx.error(
            f"@{name} declares results ({', '.join(map(format_type, rtypes))}) "
            f"but returns ({', '.join(format_type(r.type) for r in results)})"
        )
    return Function(name, tuple(params), tuple(nodes), tuple(results))


def _parse_node(lx: _Lexer, define, use) -> Node:
    out_names = [lx.expect_kind("value")[1:]]
    while lx.accept(","):
        out_names.append(lx.expect_kind("value")[1:])
    lx.expect("=")
    opname = lx.expect_kind("ident")
    try:
        op = get_op(opname)
    except TypeError as e:
        raise lx.error(str(e)) from None
    inputs = []
    if lx.peek()[0] == "value":
        while True:
            inputs.append(use(lx.expect_kind("value")[1:]))
            if not lx.accept(","):
                break
    attrs = {}
    if lx.accept("{"):
        if not lx.accept("}"):
            while True:
                key = lx.expect_kind("ident")
                lx.expect("=")
                attrs[key] = _parse_attr(lx)
                if lx.accept("}"):
                    break
                lx.expect(",")
    lx.expect(":")
    types = [_parse_type(lx)]
    while lx.accept(","):
        types.append(_parse_type(lx))
    loc = None
    if lx.peek()[1] == "loc" and lx.peek(1)[1] == "(":
        lx.next()
        lx.expect("(")
        loc = json.loads(lx.expect_kind("string"))
        lx.expect(")")
    if len(types) != len(out_names):
        raise lx.error(f"{len(out_names)} results but {len(types)} types")
    try:
        canon = op.canonical_attrs(attrs)
        canon = op.normalize(tuple(v.type for v in inputs), canon)
    except (TypeError, ValueError) as e:
        raise lx.error(f"{opname}: {e}") from None
    outs = tuple(define(n, t) for n, t in zip(out_names, types))
    return Node(opname, tuple(inputs), Attrs(canon), outs, loc)


def parse(text: str) -> Function:
    """Parse the text form of one Function (see print_function)."""
    lx = _Lexer(text)
    fn = _parse_function(lx)
    if lx.peek()[0] != "eof":
        raise lx.error(f"unexpected {lx.peek()[1]!r} after the function")
    return fn


def parse_many(text: str) -> list[Function]:
    """Parse several Functions written one after another."""
    lx = _Lexer(text)
    out = []
    while lx.peek()[0] != "eof":
        out.append(_parse_function(lx))
    return out


_CANON = re.compile(
    r"""(?P<loc>[ \t]*\bloc\("(?:[^"\\]|\\.)*"\))"""
    r"""|(?P<string>"(?:[^"\\]|\\.)*")"""
    r"""|(?P<value>%[A-Za-z0-9_./]+)"""
    r"""|(?P<ws>[ \t]+)""")


def canonical_text(text: str, *, locs: bool = True,
                   names: dict | None = None) -> str:
    """`text` (IR text) with every value renamed by order of first
    appearance (`%v0`, `%v1`, ...) and, with `locs=False`, without the
    `loc(...)` tags: two programs that differ only in their names (a
    model's `dense_3/kernel` against another's `dense/kernel`) get the same
    canonical text, and programs that differ in anything else do not
    (renaming is one to one, runs of blanks become one, strings are left
    alone). The compile cache
    keys on it. `names`, when given, receives the renaming (old name ->
    new name, without `%`)."""
    renamed: dict[str, str] = {}

    def sub(m):
        kind = m.lastgroup
        if kind == "value":
            v = m.group()
            new = renamed.get(v)
            if new is None:
                new = renamed[v] = f"%v{len(renamed)}"
            return new
        if kind == "ws":  # the printer pads to the names' widths
            return " "
        if kind == "loc" and not locs:
            return ""
        return m.group()

    out = _CANON.sub(sub, text)
    if names is not None:
        names.update((k[1:], v[1:]) for k, v in renamed.items())
    return out
