"""公民身份号码 (GB 11643-1999): 18 characters, checked with python-stdnum `cn.ric`.

Layout: 6-digit address code, 8-digit birth date, 3-digit sequence (odd male, even female),
check character (ISO 7064 MOD 11-2, `X` = 10). stdnum checks the check character, the date
and that the address code existed in the birth year; we add the reasons in Chinese.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric

LABEL = "公民身份号码"


class IdNumberError(ValueError):
    """Why a number is not a valid 公民身份号码: a stable `code` and a Chinese message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class IdNumber:
    number: str
    address_code: str
    birth_date: dt.date
    sequence: int
    sex: str  # "1" male, "2" female (the person form's codes)


def compact(number: str) -> str:
    return ric.compact(number or "")


def check_character(body17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return ric.calc_check_digit(body17 + "0")


def parse(number: str) -> IdNumber:
    """A valid number's parts, or IdNumberError naming what is wrong (no digits echoed)."""
    n = compact(number)
    if len(n) != 18:
        raise IdNumberError("id_length", f"{LABEL}应为18位，实际为{len(n)}位")
    if not n[:17].isdigit() or not (n[17].isdigit() or n[17] == "X"):
        raise IdNumberError("id_format", f"{LABEL}前17位应为数字，末位应为数字或X")
    if n[17] != check_character(n[:17]):
        raise IdNumberError("id_checksum", f"{LABEL}校验码不正确，请核对是否录错")
    try:
        born = ric.get_birth_date(n)
    except stdnum_errors.ValidationError:
        raise IdNumberError("id_birth_date", f"{LABEL}中的出生日期不是有效日期") from None
    seq = int(n[14:17])
    return IdNumber(n, n[:6], born, seq, "1" if seq % 2 else "2")


def address_known(number: str) -> bool:
    """The first 6 digits are an administrative-division code of some period (stdnum's list)."""
    from stdnum import numdb
    parts = numdb.get("cn/loc").info(compact(number)[:6])
    return any("county" in props for _, props in parts)


def is_valid(number: str) -> bool:
    try:
        parse(number)
        return True
    except IdNumberError:
        return False


def mask(number: str) -> str:
    """Shown to people unless revealed: first 4 and last 4 kept, `4501**********1234`."""
    n = compact(number)
    if len(n) <= 8:
        return "*" * len(n)
    return n[:4] + "*" * (len(n) - 8) + n[-4:]


def build(address_code: str, birth: dt.date, sequence: int) -> str:
    """A number with its check character (for tests, demo data and benches)."""
    body = f"{address_code}{birth:%Y%m%d}{sequence:03d}"
    return body + check_character(body)
