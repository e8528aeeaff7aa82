/* The datetime formats of the schema: YYYY-MM-DDTHH:MM:SS, an optional
 * fraction of 1-9 digits, then `Z` (datetime, cw_rt_datetime_valid) or
 * `Z` / `+HH:MM` / `-HH:MM` (rfc3339, cw_rt_rfc3339_valid, what Go's
 * time.Time marshals) — a real calendar date (leap years), hour 00-23,
 * minute and second 00-59. No lowercase `t`/`z`, no date-only form. */
#include "schema_rt.h"

/* Value of `n` decimal digits at s, or -1 if any is not a digit. */
static int digits(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    if (month == 2 && leap)
        return 29;
    return days[month - 1];
}

/* The length of "YYYY-MM-DDTHH:MM:SS(.f{1,9})?" at s (a real date and
 * time), or 0. */
static size_t date_time_len(const char *s, size_t len)
{
    /* "YYYY-MM-DDTHH:MM:SS" is 19 bytes; a zone follows, so 20 at least. */
    if (len < 20)
        return 0;
    if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return 0;
    int year = digits(s, 4), month = digits(s + 5, 2), day = digits(s + 8, 2);
    int hour = digits(s + 11, 2), minute = digits(s + 14, 2), second = digits(s + 17, 2);
    if (year < 0 || month < 1 || month > 12 || day < 1)
        return 0;
    if (day > days_in_month(year, month))
        return 0;
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59)
        return 0;

    size_t i = 19;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i - start < 1 || i - start > 9)
            return 0;
    }
    return i;
}

int cw_rt_datetime_valid(const char *s, size_t len)
{
    size_t i = date_time_len(s, len);

    return i != 0 && i + 1 == len && s[i] == 'Z';
}

int cw_rt_rfc3339_valid(const char *s, size_t len)
{
    size_t i = date_time_len(s, len);

    if (i == 0 || i >= len)
        return 0;
    if (s[i] == 'Z')
        return i + 1 == len;
    if ((s[i] != '+' && s[i] != '-') || len - i != 6 || s[i + 3] != ':')
        return 0;
    int hour = digits(s + i + 1, 2), minute = digits(s + i + 4, 2);
    return hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59;
}
