# Calendar arithmetic on plain ints, independent of the port's epoch.
#
# time.mktime/gmtime count from 1970 on some ports and from 2000 on others
# (ESP32), so the token converts dates itself.  Algorithms from Howard
# Hinnant's "chrono-compatible low-level date algorithms" (days_from_civil /
# civil_from_days), proleptic Gregorian calendar, int only.


def days_from_civil(y, m, d):
    """Days since 1970-01-01 of the date y-m-d."""
    if m <= 2:
        y -= 1
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = (m + 9) % 12  # March = 0
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z):
    """(year, month, day) of the day z days after 1970-01-01."""
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    return y, m, d


def to_unix(y, mo, d, h, mi, s):
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s


def from_unix(t):
    """(year, month, day, hour, minute, second, weekday) with Monday = 0."""
    days = t // 86400
    rem = t - days * 86400
    y, mo, d = civil_from_days(days)
    # 1970-01-01 was a Thursday (weekday 3 with Monday = 0).
    return y, mo, d, rem // 3600, (rem // 60) % 60, rem % 60, (days + 3) % 7


def valid_date(y, mo, d):
    if not 1 <= mo <= 12 or d < 1:
        return False
    if mo == 2:
        leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
        return d <= (29 if leap else 28)
    return d <= (30 if mo in (4, 6, 9, 11) else 31)
