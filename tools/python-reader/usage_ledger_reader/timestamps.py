"""Timestamps: (epoch_seconds, nanos, offset_seconds), Go's RFC3339Nano text, day and hour keys.

packages/snapshots/README.md, "How to merge": day and hour come from the timestamp in its own UTC
offset; the dedup key uses the instant in UTC. packages/wire/README.md, "Detail chunk, version 1":
what a storable timestamp is.
"""

from __future__ import annotations

ZERO_TIME_EPOCH_SECONDS = -62_135_596_800
"""Go's zero time, 0001-01-01T00:00:00Z: "no timestamp" (with nanos 0, whatever the offset)."""

_MIN_LOCAL_SECONDS = -62_167_219_200  # 0000-01-01T00:00:00 local
_END_LOCAL_SECONDS = 253_402_300_800  # 10000-01-01T00:00:00 local
_DAY = 86_400
_MAX_SAFE = 2**53 - 1


def is_zero_time(epoch_seconds: int, nanos: int) -> bool:
    """Go's ``time.Time.IsZero``: the instant 0001-01-01T00:00:00Z in any offset."""
    return epoch_seconds == ZERO_TIME_EPOCH_SECONDS and nanos == 0


def timestamp_problem(epoch_seconds: int, nanos: int, offset_seconds: int) -> str | None:
    """Why a timestamp cannot be stored, or None when it can."""
    if not -_MAX_SAFE <= epoch_seconds <= _MAX_SAFE:
        return "epoch_seconds is not a safe integer"
    if not 0 <= nanos <= 999_999_999:
        return "nanos is not in 0..999999999"
    if offset_seconds % 60 != 0:
        return "offset_seconds is not a whole number of minutes"
    if not -_DAY < offset_seconds < _DAY:
        return "offset_seconds is not strictly within 24 hours"
    local = epoch_seconds + offset_seconds
    if not _MIN_LOCAL_SECONDS <= local < _END_LOCAL_SECONDS:
        return "the local year is outside 0000..9999"
    return None


def civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of the proleptic Gregorian date ``days`` after 1970-01-01."""
    z = days + 719_468
    era = z // 146_097
    day_of_era = z - era * 146_097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    mp = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return year_of_era + era * 400 + (1 if month <= 2 else 0), month, day


def _date(days: int) -> str:
    year, month, day = civil_from_days(days)
    return f"{year:04d}-{month:02d}-{day:02d}"


def day_key(epoch_seconds: int, offset_seconds: int) -> str:
    """The day bucket ``YYYY-MM-DD`` of the timestamp in its own offset."""
    return _date((epoch_seconds + offset_seconds) // _DAY)


def hour_key(epoch_seconds: int, offset_seconds: int) -> str:
    """The hour bucket ``00``..``23`` of the timestamp in its own offset."""
    return f"{(epoch_seconds + offset_seconds) % _DAY // 3600:02d}"


def _fraction(nanos: int) -> str:
    if nanos == 0:
        return ""
    return "." + f"{nanos:09d}".rstrip("0")


def rfc3339nano(epoch_seconds: int, nanos: int, offset_seconds: int) -> str:
    """Go's ``time.RFC3339Nano`` text of the timestamp in its offset (``Z`` for offset 0)."""
    local = epoch_seconds + offset_seconds
    days, second_of_day = divmod(local, _DAY)
    hour, rest = divmod(second_of_day, 3600)
    minute, second = divmod(rest, 60)
    if offset_seconds == 0:
        zone = "Z"
    else:
        sign = "-" if offset_seconds < 0 else "+"
        zone_hours, zone_rest = divmod(abs(offset_seconds), 3600)
        zone = f"{sign}{zone_hours:02d}:{zone_rest // 60:02d}"
    return f"{_date(days)}T{hour:02d}:{minute:02d}:{second:02d}{_fraction(nanos)}{zone}"


def utc_rfc3339nano(epoch_seconds: int, nanos: int) -> str:
    """Go's ``t.UTC().Format(time.RFC3339Nano)``: the instant in UTC (the dedup key's form)."""
    return rfc3339nano(epoch_seconds, nanos, 0)
