"""Weekly atmospheric CO2 at Mauna Loa, March 1958 - December 2001
(Scripps / CDIAC, public domain; see data/README.md): a small real
time-series forecasting dataset.

`load_data()` returns (dates, values): dates as float years (1958.24...),
values in ppm as float32, one per week. The 59 weeks without a
measurement in the source are filled by linear interpolation between
their neighbours (`load_data(fill=False)` keeps them as NaN).
"""

from __future__ import annotations

import datetime
import gzip
import os

import numpy as np

_PATH = os.path.join(os.path.dirname(__file__), "data", "co2.csv.gz")


def _year(yyyymmdd: str) -> float:
    d = datetime.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    start = datetime.date(d.year, 1, 1)
    days = (datetime.date(d.year + 1, 1, 1) - start).days
    return d.year + (d - start).days / days


def load_data(fill=True):
    """Load the series: (dates, values)."""
    if not os.path.exists(_PATH):
        raise FileNotFoundError(
            f"The CO2 data file is missing from the installation: {_PATH}. "
            "Reinstall graphkeras (the package data datasets/data/* must be "
            "included).")
    with gzip.open(_PATH, "rt") as f:
        rows = [line.strip().split(",") for line in f][1:]
    dates = np.array([_year(r[0]) for r in rows])
    values = np.array([float(r[1]) if len(r) > 1 and r[1] else np.nan
                       for r in rows])
    if fill:
        missing = np.isnan(values)
        values[missing] = np.interp(dates[missing], dates[~missing],
                                    values[~missing])
    return dates, values.astype(np.float32)
