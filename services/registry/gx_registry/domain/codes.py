"""Unit codes: the 18-character USCC (GB 32100-2015), its organisation code (GB 11714) and the
old 15-digit registration number. Pure; results name each problem in Chinese with a stable code.

python-stdnum's ``cn.uscc`` rejects valid N- and Y-prefixed codes (农业 collective economic
organisations), so the check is written here from the standard.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 3^(i-1) mod 31, i = 1..17
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # 0-9 = 0-9, A-Z = 10-35

AUTHORITIES: dict[str, str] = {
    "1": "机构编制", "2": "外交", "3": "司法行政", "4": "文化", "5": "民政", "6": "旅游",
    "7": "宗教", "8": "工会", "9": "工商（市场监管）", "A": "中央军委改革和编制办公室",
    "N": "农业", "Y": "其他",
}
UNIT_TYPES: dict[str, str] = {
    "11": "机关", "12": "事业单位", "13": "中央编办直接管理机构编制的群众团体", "19": "其他",
    "21": "外国常驻新闻机构", "29": "其他",
    "31": "律师执业机构", "32": "公证处", "33": "基层法律服务所", "34": "司法鉴定机构",
    "35": "仲裁委员会", "39": "其他",
    "41": "外国在华文化中心", "49": "其他",
    "51": "社会团体", "52": "民办非企业单位", "53": "基金会", "59": "其他",
    "61": "外国旅游部门常驻代表机构", "62": "港澳台地区旅游部门常驻内地（大陆）代表机构", "69": "其他",
    "71": "宗教活动场所", "72": "宗教院校", "79": "其他",
    "81": "基层工会", "89": "其他",
    "91": "企业", "92": "个体工商户", "93": "农民专业合作社",
    "A1": "军队事业单位", "A9": "其他",
    "N1": "组级集体经济组织", "N2": "村级集体经济组织", "N3": "乡镇级集体经济组织", "N9": "其他",
    "Y1": "其他",
}


@dataclass(frozen=True, slots=True)
class CodeProblem:
    """One thing wrong (or worth a look) with a code: stable ``code``, Chinese ``message``."""

    code: str
    message: str
    field: str = "统一社会信用代码"
    severity: str = "error"  # "error" rejects the value; "flag" is kept for people to look at

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field, "message": self.message,
                "severity": self.severity}


@dataclass(frozen=True, slots=True)
class UsccResult:
    value: str
    problems: tuple[CodeProblem, ...] = field(default=())

    @property
    def valid(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    @property
    def authority(self) -> str | None:
        return AUTHORITIES.get(self.value[:1]) if len(self.value) == 18 else None

    @property
    def unit_type(self) -> str | None:
        return UNIT_TYPES.get(self.value[:2]) if len(self.value) == 18 else None

    @property
    def division(self) -> str | None:
        return self.value[2:8] if len(self.value) == 18 else None

    @property
    def org_code(self) -> str | None:
        return self.value[8:17] if len(self.value) == 18 else None


def uscc_check_char(body17: str) -> str:
    """The 18th character for a 17-character body (raises KeyError on a character outside the alphabet)."""
    total = sum(_VALUE[c] * w for c, w in zip(body17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def org_check_char(body8: str) -> str:
    """GB 11714 check character for the first 8 characters of an organisation code."""
    total = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def validate_org_code(code: str, field_name: str = "组织机构代码") -> tuple[CodeProblem, ...]:
    code = code.strip().upper().replace("-", "")
    if len(code) != 9:
        return (CodeProblem("org_code.length", f"{field_name}应为9位，实际{len(code)}位", field_name),)
    if any(c not in _ORG_ALPHABET for c in code[:8]) or code[8] not in "0123456789X":
        return (CodeProblem("org_code.charset", f"{field_name}含有不允许的字符", field_name),)
    if org_check_char(code[:8]) != code[8]:
        return (CodeProblem("org_code.check", f"{field_name}校验位错误，应为{org_check_char(code[:8])}",
                            field_name),)
    return ()


def validate_uscc(raw: str | None, address_division: str | None = None) -> UsccResult:
    """Check a USCC; ``address_division`` (6 or 12 digits) turns a division mismatch into a flag."""
    value = (raw or "").strip().upper()
    if not value:
        return UsccResult(value, (CodeProblem("uscc.missing", "统一社会信用代码为空"),))
    if len(value) != 18:
        return UsccResult(value, (CodeProblem("uscc.length", f"统一社会信用代码应为18位，实际{len(value)}位"),))
    bad = sorted({c for c in value if c not in _VALUE})
    if bad:
        return UsccResult(value, (CodeProblem(
            "uscc.charset", f"统一社会信用代码含有不允许的字符：{'、'.join(bad)}（不使用 I、O、Z、S、V）"),))
    problems: list[CodeProblem] = []
    if value[0] not in AUTHORITIES:
        problems.append(CodeProblem("uscc.authority", f"登记管理部门代码“{value[0]}”不存在"))
    elif value[:2] not in UNIT_TYPES:
        problems.append(CodeProblem(
            "uscc.unit_type", f"机构类别代码“{value[1]}”不属于登记管理部门“{AUTHORITIES[value[0]]}”"))
    if not value[2:8].isdigit():
        problems.append(CodeProblem("uscc.division", "统一社会信用代码第3–8位应为6位行政区划代码"))
    problems.extend(validate_org_code(value[8:17], "统一社会信用代码第9–17位（组织机构代码）"))
    expected = uscc_check_char(value[:17])
    if expected != value[17]:
        problems.append(CodeProblem("uscc.check", f"统一社会信用代码校验位错误：第18位应为“{expected}”"))
    if address_division and value[2:8].isdigit():
        flag = division_flag(value[2:8], address_division, "统一社会信用代码第3–8位")
        if flag:
            problems.append(flag)
    return UsccResult(value, tuple(problems))


def division_flag(code_division: str, address_division: str, what: str) -> CodeProblem | None:
    """A code's 6-digit division that disagrees with the address's county: a flag (units move)."""
    addr6 = address_division[:6]
    if code_division == addr6:
        return None
    # A code issued at city or region level (e.g. 450100, 450000) still agrees with a county in it.
    trimmed = code_division.rstrip("0")
    if len(trimmed) % 2:
        trimmed += "0"
    if len(trimmed) < 6 and addr6.startswith(trimmed):
        return None
    return CodeProblem("division.mismatch",
                       f"{what}的区划（{code_division}）与地址所在区划（{addr6}）不一致",
                       field="区划代码", severity="flag")


def validate_registration_number(raw: str | None, address_division: str | None = None
                                 ) -> tuple[CodeProblem, ...]:
    """Old 15-digit 注册号: digits, 6-digit division prefix; mismatch with the address is a flag."""
    value = (raw or "").strip()
    if not value:
        return ()
    if len(value) != 15 or not value.isdigit():
        return (CodeProblem("regno.format", "注册号应为15位数字", field="注册号"),)
    if value[0] == "0" or value[:2] not in _PROVINCES:
        return (CodeProblem("regno.division", f"注册号前6位（{value[:6]}）不是行政区划代码", field="注册号"),)
    if address_division:
        flag = division_flag(value[:6], address_division, "注册号前6位")
        if flag:
            return (flag,)
    return ()


_PROVINCES = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
              "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
              "65", "71", "81", "82", "10"}  # 10: 国家 level registrations (e.g. 100000…)


def make_uscc(authority_type: str, division6: str, org8: str) -> str:
    """A valid USCC from its parts (generator and tests): org check and USCC check computed."""
    org = org8 + org_check_char(org8)
    body = authority_type + division6 + org
    return body + uscc_check_char(body)
