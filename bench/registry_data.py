"""Synthetic basic-unit register: a stock across the real division tree and department batches
with known ground truth. Deterministic for a seed.

    python bench/registry_data.py --stock 1000000 --batch 300000 --out /tmp/reg

writes stock.csv, batch.csv (the department columns) and truth.csv (row_no, kind, unit_id,
outcome). Batch kinds: exact repeats, changed units (USCC kept), name variants without USCC
(brackets, suffix, prefix, full-width, one-character typo), repeats without USCC, moved units
(another county, USCC kept), new units.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import random
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "services" / "registry"), str(ROOT / "contracts")]

from gx_contracts.divisions import Level, load_divisions  # noqa: E402

from gx_registry.domain.codes import ALPHABET, make_uscc  # noqa: E402
from gx_registry.domain.names import core, normalise  # noqa: E402

# Characters common in Chinese trade names (字号), person names and roads.
BRAND = ("宏达鑫源恒通华盛永安金瑞泰丰隆昌盛兴福祥嘉和利德信诚明辉耀光远志博文创新航天宇"
         "海洋山川桂邕柳榕荔凤龙祥云锦绣佳美康健乐优精品汇聚联众合力同舟众合天成万通顺发广聚"
         "星月晨阳春秋雅致尚品卓越领先汇丰融达润泽瑞丰益民惠农富民兴农绿源青竹桐林松柏梅兰")
TRADES = ("科技", "贸易", "商贸", "建筑工程", "建设", "物流", "餐饮管理", "农业开发", "房地产开发",
          "投资", "信息技术", "网络科技", "文化传媒", "电子", "机械", "食品", "医药", "汽车服务",
          "装饰工程", "劳务", "环保科技", "教育咨询", "广告", "服装", "家具", "建材", "物业服务",
          "旅游", "水产养殖", "糖业", "木业", "茶业", "五金", "电力工程", "检测")
FORMS = (("有限公司", 0.75), ("有限责任公司", 0.15), ("股份有限公司", 0.07), ("集团有限公司", 0.03))
SHOPS = ("商行", "小吃店", "超市", "经营部", "餐馆", "五金店", "汽车修理店", "服装店", "理发店", "诊所")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韦覃蒙莫陆黎农蓝廖卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华红玉兰凤梅金海波东辉建国文斌宇浩"
ROADS = ("民族大道", "人民路", "解放路", "中山路", "新华路", "朝阳路", "东葛路", "友爱路", "建设路",
         "长湖路", "金湖路", "滨江路", "桂林路", "工业大道", "迎宾路")
# (USCC authority+type, share, name maker) — a plausible 名录库 mix.
TYPES = (("91", 0.62, "enterprise"), ("92", 0.20, "shop"), ("93", 0.04, "coop"),
         ("N2", 0.04, "collective"), ("12", 0.04, "institution"), ("11", 0.015, "organ"),
         ("51", 0.02, "society"), ("52", 0.01, "private_nonprofit"), ("71", 0.005, "religion"),
         ("31", 0.003, "law"), ("53", 0.001, "foundation"))
# Registration authorities whose units each department's file carries (税务: every kind).
DEPARTMENTS = {"市场监管": "9", "民政": "5", "编制": "1", "宗教": "7", "司法": "3", "农业农村": "N9",
               "税务": "123456789AN"}
FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "()ABCDEFGHJKLMNPQRTUWXY0123456789"}

FIELDS = ("uscc", "name", "county", "address", "legal_rep", "status")


@dataclass(slots=True)
class Unit:
    unit_id: str
    uscc: str
    name: str
    county: str
    address: str
    legal_rep: str
    status: str
    kind: str = ""  # USCC authority + type, even when the record has no USCC


class Tree:
    def __init__(self) -> None:
        divs = load_divisions()
        self.divs = divs
        kids: dict[str, list] = {}
        for d in divs.values():
            if d.parent_code:
                kids.setdefault(d.parent_code, []).append(d)
        self.counties = [d for d in divs.values() if d.level == Level.county]
        self.towns = {c.code: kids.get(c.code, []) for c in self.counties}
        self.villages = {t.code: kids.get(t.code, []) for ts in self.towns.values() for t in ts}


class Generator:
    def __init__(self, seed: int = 1) -> None:
        self.r = random.Random(seed)
        self.tree = Tree()
        # (county, core name): a 字号 + trade is registered once per county (名称登记规定)
        self.taken: set[tuple[str, str]] = set()
        self.serial = 0
        self._type_cum = list(itertools.accumulate(t[1] for t in TYPES))
        self._form_cum = list(itertools.accumulate(w for _, w in FORMS))

    # -- parts --------------------------------------------------------------------------------
    def _brand(self) -> str:
        return self.r.choice(BRAND) + self.r.choice(BRAND)

    def _person(self) -> str:
        r = self.r
        return r.choice(SURNAMES) + (r.choice(GIVEN) if r.random() < 0.33
                                     else r.choice(GIVEN) + r.choice(GIVEN))

    def _uscc(self, at: str, county: str) -> str:
        self.serial += 1
        n = (self.serial * 7_919_111 + 13) % 31**6
        org = "MA" + "".join(ALPHABET[(n // 31**i) % 31] for i in range(6))
        if at[0] in "1" and self.r.random() < 0.5:
            org = f"{self.r.randrange(10**7, 10**8)}"
        return make_uscc(at, county[:6], org)

    def _place(self, county):
        town = self.r.choice(self.tree.towns[county.code])
        villages = self.tree.villages.get(town.code) or [town]
        return town, self.r.choice(villages)

    def _address(self, county, town, village) -> str:
        city = self.tree.divs[county.parent_code].name
        head = self.r.choice(("广西壮族自治区", "广西", "", ""))
        vil = village.name.removesuffix("村委会").removesuffix("居委会") if village is not town else ""
        return (f"{head}{city}{county.name}{town.name}{vil}{self.r.choice(ROADS)}"
                f"{self.r.randrange(1, 300)}号")

    def _name(self, kind: str, county, town, village) -> str:
        r = self.r
        short = county.name
        for suffix in ("各族自治县", "瑶族自治县", "苗族自治县", "侗族自治县", "自治县", "市", "县", "区"):
            if county.name.endswith(suffix) and len(county.name) - len(suffix) >= 2:
                short = county.name[: -len(suffix)]
                break
        prefix = r.choice(("", "", "广西", self.tree.divs[county.parent_code].name, county.name))
        if kind == "enterprise":
            form = r.choices(FORMS, cum_weights=self._form_cum)[0][0]
            return f"{prefix}{self._brand()}{r.choice(TRADES)}{form}"
        if kind == "shop":
            return f"{county.name}{self._brand()}{r.choice(SHOPS)}"
        if kind == "coop":
            return f"{short}{self._brand()}{r.choice(('种植', '养殖', '果蔬', '茶叶'))}专业合作社"
        if kind == "collective":
            v = village.name.removesuffix("村委会").removesuffix("居委会")
            return f"{county.name}{town.name}{v}{r.choice(('', self._brand()))}股份经济合作社"
        if kind == "institution":
            return f"{county.name}{self._brand()}{r.choice(('小学', '中学', '卫生院', '文化站', '农业技术推广站'))}"
        if kind == "organ":
            return f"{county.name}{town.name}{r.choice(('人民政府', '农业农村办公室', '财政所', '司法所'))}"
        if kind == "society":
            return f"{county.name}{self._brand()}{r.choice(('协会', '商会', '学会', '促进会'))}"
        if kind == "private_nonprofit":
            return f"{county.name}{self._brand()}{r.choice(('幼儿园', '培训学校', '养老院'))}"
        if kind == "law":
            return f"广西{self._brand()}律师事务所"
        if kind == "foundation":
            return f"{county.name}{self._brand()}慈善基金会"
        return f"{short}{self._brand()}{r.choice(('寺', '庵', '福音堂'))}"

    def unit(self, unit_id: str, authorities: str | None = None) -> Unit:
        r = self.r
        while True:
            county = r.choice(self.tree.counties)
            town, village = self._place(county)
            at, _, kind = r.choices(TYPES, cum_weights=self._type_cum)[0]
            if authorities and at[0] not in authorities:
                continue
            name = self._name(kind, county, town, village)
            key = (county.code[:6], core(name))
            if key not in self.taken:
                break
        self.taken.add(key)
        uscc = self._uscc(at, county.code) if (at != "92" or r.random() < 0.7) else ""
        return Unit(unit_id, uscc, name, county.code[:6], self._address(county, town, village),
                    self._person(), "1", at)

    def branch_of(self, parent: Unit, unit_id: str) -> Unit:
        county = next(c for c in self.tree.counties if c.code.startswith(parent.county))
        town, village = self._place(county)
        base = normalise(parent.name).replace("股份公司", "股份有限公司")
        name = f"{base}{town.name.removesuffix('街道').removesuffix('镇')}{self.r.choice(('分公司', '分店', '营业部'))}"
        self.taken.add((parent.county, core(name)))
        return Unit(unit_id, self._uscc("91", parent.county), name, parent.county,
                    self._address(county, town, village), self._person(), "1", "91")

    # -- stock and batch ---------------------------------------------------------------------
    def stock(self, n: int) -> list[Unit]:
        units: list[Unit] = []
        for i in range(n):
            uid = f"U{i:07d}"
            parent = units[self.r.randrange(len(units))] if units and self.r.random() < 0.03 else None
            if parent is not None and parent.uscc[:2] == "91" and "分" not in parent.name:
                units.append(self.branch_of(parent, uid))
            else:
                units.append(self.unit(uid))
        return units

    def name_variant(self, name: str, county: str) -> str:
        r = self.r
        how = r.choice(("brackets", "suffix", "prefix", "fullwidth", "typo"))
        if how == "brackets":
            return f"{name}（{self.tree.divs[county + '000000'].name}）" if r.random() < 0.5 \
                else name.replace("有限", "（有限）", 1) if "有限" in name else f"【{name}】"
        if how == "suffix":
            for a, b in (("有限责任公司", "有限公司"), ("股份有限公司", "股份公司"), ("有限公司", "有限责任公司")):
                if a in name:
                    return name.replace(a, b, 1)
            return name + "有限公司"
        if how == "prefix":
            return name.removeprefix("广西") if name.startswith("广西") else "广西" + name
        if how == "fullwidth":
            wide = "".join(FULLWIDTH.get(c, c) for c in name.replace("（", "(").replace("）", ")"))
            return wide.replace("有限", "有限　", 1) if "有限" in wide else wide[:2] + "　" + wide[2:]
        # One-character typo in the brand, where the name is told apart.
        idx = [i for i, c in enumerate(name) if c in BRAND]
        if not idx:
            return name + " "
        i = r.choice(idx)
        return name[:i] + r.choice([c for c in BRAND if c != name[i]]) + name[i + 1:]

    def batch(self, stock: list[Unit], n: int, new_start: int, department: str | None = None
              ) -> tuple[list[tuple], list[tuple]]:
        """Rows (row_no, *FIELDS) and truth (row_no, kind, unit_id, outcome); a ``department``
        (key of DEPARTMENTS) carries only the units its registration authorities issue."""
        r = self.r
        authorities = DEPARTMENTS[department] if department else None
        pool = [i for i, u in enumerate(stock) if not authorities or u.kind[:1] in authorities]
        mix = (("exact", 0.33), ("changed", 0.14), ("variant_no_uscc", 0.25), ("repeat_no_uscc", 0.05),
               ("moved", 0.03), ("new", 0.20))
        kinds = r.choices([k for k, _ in mix], [w for _, w in mix], k=n)
        picks = r.sample(pool, min(len(pool), sum(k != "new" for k in kinds)))
        rows, truth = [], []
        new_id = new_start
        for row_no, kind in enumerate(kinds, 1):
            if kind == "new" or not picks:
                kind = "new"
                u = self.unit(f"N{new_id:07d}", authorities)
                new_id += 1
                if r.random() < 0.3:
                    u.uscc = ""
                rows.append((row_no, u.uscc, u.name, u.county, u.address, u.legal_rep, u.status))
                truth.append((row_no, kind, "", "new"))
                continue
            s = stock[picks.pop()]
            uscc, name, county, address, rep, status = s.uscc, s.name, s.county, s.address, s.legal_rep, s.status
            outcome = "unchanged"
            if kind == "changed":
                what = r.choice(("address", "legal_rep", "status", "name"))
                if what == "address":
                    c = next(x for x in self.tree.counties if x.code.startswith(county))
                    address = self._address(c, *self._place(c))
                elif what == "legal_rep":
                    rep = self._person()
                elif what == "status":
                    status = r.choice(("2", "4"))
                else:
                    name = self._brand() + name[len(name) // 2:]
                if not uscc:  # a unit without USCC is matched by name: keep the name there
                    c = next(x for x in self.tree.counties if x.code.startswith(county))
                    name, address = s.name, self._address(c, *self._place(c))
                outcome = "changed"
            elif kind == "variant_no_uscc":
                uscc, name = "", self.name_variant(name, county)
                if r.random() < 0.15:
                    rep = ""
                outcome = "unchanged" if normalise(name) == normalise(s.name) else "changed"
            elif kind == "repeat_no_uscc":
                uscc = ""
            elif kind == "moved":
                if not uscc:
                    kind = "exact"
                else:
                    c = r.choice(self.tree.counties)
                    county, address, outcome = c.code[:6], self._address(c, *self._place(c)), "changed"
            rows.append((row_no, uscc, name, county, address, rep, status))
            truth.append((row_no, kind, s.unit_id, outcome))
        return rows, truth


def write_csv(path: Path, header: tuple[str, ...], rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def generate(out: Path, n_stock: int, n_batch: int, seed: int = 1, department: str | None = None
             ) -> None:
    out.mkdir(parents=True, exist_ok=True)
    g = Generator(seed)
    stock = g.stock(n_stock)
    write_csv(out / "stock.csv", ("unit_id", *FIELDS),
              ((u.unit_id, u.uscc, u.name, u.county, u.address, u.legal_rep, u.status) for u in stock))
    rows, truth = g.batch(stock, n_batch, new_start=n_stock, department=department)
    write_csv(out / "batch.csv", ("row_no", *FIELDS), rows)
    write_csv(out / "truth.csv", ("row_no", "kind", "unit_id", "outcome"), truth)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stock", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=30_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--department", choices=sorted(DEPARTMENTS), help="one department's file")
    ap.add_argument("--out", type=Path, default=Path("/tmp/gx-registry-data"))
    a = ap.parse_args()
    generate(a.out, a.stock, a.batch, a.seed, a.department)
    print(f"wrote {a.out}/stock.csv ({a.stock}), batch.csv and truth.csv ({a.batch})")
