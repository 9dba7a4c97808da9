"""Progbar: Keras 3's progress line, written anew.

verbose=1 redraws one line per update:

    32/32 ━━━━━━━━━━━━━━━━━━━━ 0s 3ms/step - accuracy: 0.8123 - loss: 0.5012

(the step count, a 20-character bar, the ETA while running or the elapsed
seconds when done, the time per step, then each value with 4 decimals, or
in scientific notation below 1e-3). verbose=2 prints one line at the end:

    32/32 - 0s - 3ms/step - accuracy: 0.8123 - loss: 0.5012

Values are shown as given (the trainer passes running epoch averages). On
a terminal the line is styled with the same ANSI codes Keras uses; to a
file or pipe it is plain text, each redraw starting with a carriage return.

With `keras.config.disable_interactive_logging()` nothing is redrawn: the
final line of each bar goes to Python's logging (logger "graphkeras", level
INFO), as Keras sends it to absl logging.
"""

from __future__ import annotations

import logging
import sys
import time

from ... import config as _config

_LOG = logging.getLogger("graphkeras")


def print_msg(message: str, line_break: bool = True) -> None:
    """Write a message to stdout, or to the "graphkeras" logger when
    interactive logging is disabled (Keras's io_utils.print_msg)."""
    if _config.is_interactive_logging_enabled():
        sys.stdout.write(message + ("\n" if line_break else ""))
        sys.stdout.flush()
    else:
        _LOG.info(message)


def _fmt_value(v) -> str:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return f" {v}"
    return f" {v:.4f}" if abs(v) > 1e-3 else f" {v:.4e}"


def format_time_per_unit(t: float, unit: str) -> str:
    if t >= 1 or t == 0:
        return f" {t:.0f}s/{unit}"
    if t >= 1e-3:
        return f" {t * 1e3:.0f}ms/{unit}"
    return f" {t * 1e6:.0f}us/{unit}"


class Progbar:
    """A progress bar for `target` steps (None: unknown)."""

    def __init__(self, target, width=20, verbose=1, interval=0.05,
                 unit_name="step", stream=None):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stream = stream
        self._values: dict = {}
        self._start = time.time()
        self._last_update = 0.0
        self._first_step_time = None
        self._seen = 0
        self._prev_width = 0

    def _out(self):
        return self.stream or sys.stdout

    def _styled(self) -> bool:
        """Colours and bold: on a terminal, and in Jupyter, whose output
        area renders ANSI styles and "\\r" rewrites the line (Keras's
        display there: one bar redrawn in place, not a stream of lines)."""
        out = self._out()
        if bool(getattr(out, "isatty", lambda: False)()):
            return True
        return self.stream is None and "ipykernel" in sys.modules

    def _time_per_unit(self, current, now):
        # The first step (tracing, compiling) is left out once there are
        # more steps to average over.
        if not current:
            return 0.0
        if self._first_step_time is not None and current > 1:
            t = (now - self._first_step_time) / (current - 1)
        else:
            t = (now - self._start) / current
        if current == 1:
            self._first_step_time = now
        return t

    def update(self, current, values=None, finalize=None):
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for k, v in values or []:
            self._values[k] = v
        now = time.time()
        per_unit = self._time_per_unit(current, now)
        self._seen = current
        if self.verbose == 1 and not _config.is_interactive_logging_enabled():
            if finalize:
                self._line(current, now, per_unit, finalize)
                _LOG.info(self._plain)
        elif self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            self._last_update = now
            line = self._line(current, now, per_unit, finalize)
            out = self._out()
            pad = max(0, self._prev_width - len(self._plain))
            out.write("\r" + line + " " * pad + ("\n" if finalize else ""))
            out.flush()
            self._prev_width = len(self._plain)
        elif self.verbose == 2 and finalize and self.target:
            digits = len(str(self.target))
            info = f"{current:{digits}d}/{self.target} - {now - self._start:.0f}s"
            info += " -" + format_time_per_unit(per_unit, self.unit_name)
            for k, v in self._values.items():
                info += f" - {k}:" + _fmt_value(v)
            if not _config.is_interactive_logging_enabled():
                _LOG.info(info)
                return
            out = self._out()
            out.write(info + "\n")
            out.flush()

    def _line(self, current, now, per_unit, finalize) -> str:
        styled = self._styled()
        bold = (lambda s: f"\x1b[1m{s}\x1b[0m") if styled else (lambda s: s)
        if self.target:
            digits = len(str(self.target))
            count = f"{current:{digits}d}/{self.target}"
            filled = int(self.width * min(current, self.target) / self.target)
            if styled:
                bar = (f"\x1b[32m{'━' * filled}\x1b[0m" if filled else "") + (
                    f"\x1b[37m{'━' * (self.width - filled)}\x1b[0m")
            else:
                bar = "━" * self.width
            head_plain = f"{count} {'━' * self.width}"
            head = f"{bold(count)} {bar}"
        else:
            head_plain = head = f"{current:7d}/Unknown"
        if self.target and not finalize:
            eta = per_unit * (self.target - current)
            if eta > 3600:
                t = f"{eta // 3600:.0f}:{(eta % 3600) // 60:02.0f}:{eta % 60:02.0f}"
            elif eta > 60:
                t = f"{eta // 60:.0f}:{eta % 60:02.0f}"
            else:
                t = f"{int(eta)}s"
        else:
            t = f"{now - self._start:.0f}s"
        info_plain = f" {t}" + format_time_per_unit(per_unit, self.unit_name)
        info = f" {bold(t)}" + format_time_per_unit(per_unit, self.unit_name)
        for k, v in self._values.items():
            item = f" - {k}:" + _fmt_value(v)
            info += item
            info_plain += item
        self._plain = head_plain + info_plain
        return head + info

    def add(self, n, values=None):
        self.update(self._seen + n, values)
