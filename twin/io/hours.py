"""The hour-of-year axis every site series lives on (8,760 UTC hours, 29 February dropped), and the
errors of the files read onto it."""

import numpy as np

from twin.errors import InputError

HOURS_PER_YEAR = 8760


class SiteDataError(InputError, ValueError):
    """A weather or grid file that cannot be used, with the reason a user can act on."""


class WeatherError(SiteDataError):
    """A weather file (EPW, TMY3) that cannot be used: unreadable, incomplete or physically impossible."""


class GridError(SiteDataError):
    """A grid CSV (carbon, price, water per hour) that cannot be used."""


def hour_of_year_index(day_of_year, hour_of_day, utc_offset_h):
    """UTC hour-of-year [0, 8760) of local-standard-time stamps (day 1..365, hour 0..24).

    In a half-hour time zone the stamps fall at UTC h:30; they go to slot h (floor), and
    on_whole_hours then moves the values onto the whole hours.
    """
    hours_utc = (np.asarray(day_of_year) - 1) * 24 + np.asarray(hour_of_day) - utc_offset_h
    return np.mod(np.floor(hours_utc + 1e-9).astype(np.int64), HOURS_PER_YEAR)


def on_whole_hours(values, fraction_h):
    """Values whose slot h holds the value at UTC h + fraction_h -> values at UTC h, by linear
    interpolation between the neighbouring stamps (circular over the year). For hour-ending
    means the same weights give the mean over the whole hour ending at h."""
    if fraction_h == 0.0:
        return values
    return fraction_h * np.roll(values, 1, axis=0) + (1.0 - fraction_h) * values


def utc_hour_of_year(stamps):
    """(UTC hour-of-year slot, keep mask, fraction of an hour past the slot) of UTC stamps (a
    tz-aware pandas Series); rows on 29 February are not kept and later days of a leap year move
    back one day, so every year has 8,760 hours. The fraction is that of the first stamp."""
    leap_day = ((stamps.dt.month == 2) & (stamps.dt.day == 29)).to_numpy()
    doy = stamps.dt.day_of_year.to_numpy() - (stamps.dt.is_leap_year & (stamps.dt.month > 2)).to_numpy()
    fraction = float(stamps.iloc[0].minute) / 60.0 if len(stamps) else 0.0
    return hour_of_year_index(doy, stamps.dt.hour.to_numpy(), 0.0), ~leap_day, fraction
