"""The date of a step of the process: China's calendar date (Asia/Shanghai, no daylight
saving), whatever the server's own time zone."""

from __future__ import annotations

import datetime as dt

CHINA = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def china_today() -> dt.date:
    return dt.datetime.now(CHINA).date()
