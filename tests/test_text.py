"""Vietnamese text helpers."""

from datetime import UTC, date, datetime

import pytest

from danvan.text import clean_text, fold, format_date, format_datetime, format_number, format_vnd


@pytest.mark.parametrize(
    "value,expected",
    [
        (1234567, "1.234.567"),
        (1234.5, "1.234,5"),
        (0, "0"),
        (999, "999"),
        (-1500, "-1.500"),
    ],
)
def test_format_number(value, expected):
    assert format_number(value) == expected


def test_money_dates_times():
    assert format_vnd(1234500) == "1.234.500 đồng"
    assert format_date(date(2023, 10, 5)) == "05/10/2023"
    # 17:30 UTC on 31/10 is 00:30 on 01/11 in Hà Nội.
    assert format_datetime(datetime(2023, 10, 31, 17, 30, tzinfo=UTC)) == "01/11/2023 00:30"


def test_fold_and_clean():
    assert fold("Dân Vận Khéo – Đồng") == "dan van kheo – dong"
    assert clean_text("a\x00b\x0bc\u0301\r\nd") == "abć\nd"
