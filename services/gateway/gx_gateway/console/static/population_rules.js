// 人口变动调查住户表在手机上的规则（离线可用）：回读文字与服务器 gx_population.domain.forms.readback
// 逐字相同（同一表式、同一写法），所以离线时读给被调查人听的，正是联网后服务器保存的内容；
// 阻止交表的错误（必填、代码、格式、身份号码校验码与出生日期、性别、户人数、户主……）在本机先查一遍，
// 服务器仍会全部复核（警告类规则只在服务器上查）。本模块不碰页面，也不联网。

const YM = /^(\d{4})-(0[1-9]|1[0-2])$/;
const HEAD = "0";
const who = (i) => `第${i + 1}人`;

// 一个值读给被调查人听的样子：代码读成文字，出生年月读成 1990年1月
export function word(form, f, value) {
  if (value === null || value === undefined || value === "") return "未填";
  if (f.type === "code" && f.codes) {
    const t = form.codes[f.codes][String(value)];
    return t === undefined ? `未知代码${value}` : t;
  }
  if (f.type === "year_month" && YM.test(String(value))) {
    const [y, m] = String(value).split("-");
    return `${y}年${Number(m)}月`;
  }
  if (f.type === "int") return f.label.includes("人") ? `${value}人` : String(value);
  return String(value);
}

export function compactId(n) { return String(n || "").replace(/[\s-]/g, "").toUpperCase(); }

export function maskId(n) {
  const s = compactId(n);
  return s.length <= 8 ? "*".repeat(s.length) : s.slice(0, 4) + "*".repeat(s.length - 8) + s.slice(-4);
}

// 回读文字；mask = true 时身份号码只留前4后4位（回读摘要按这一写法计算，见 outbox_population.js）
export function readbackText(form, household, persons, { mask = false, kept = [] } = {}) {
  const lines = [`${form.title}（${form.version}版）`, "【户信息】"];
  for (const f of form.household) lines.push(`${f.label}：${word(form, f, household[f.code])}`);
  persons.forEach((p, i) => {
    lines.push(`【${who(i)}】`);
    for (const f of form.person) {
      let v = p[f.code];
      if (f.type === "id_number" && kept[i] && (v === null || v === undefined)) v = kept[i]; // 沿用已登记号码（已遮蔽）
      else if (f.type === "id_number" && v && mask) v = maskId(v);
      lines.push(`${f.label}：${word(form, f, v)}`);
    }
  });
  return lines.join("\n");
}

// —— 公民身份号码（GB 11643-1999）：18位，ISO 7064 MOD 11-2 校验码，第7～14位出生日期，第17位奇男偶女
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = "10X98765432";

export function parseId(number) {
  const n = compactId(number);
  const label = "公民身份号码";
  if (n.length !== 18) return { error: `${label}应为18位，实际为${n.length}位` };
  if (!/^\d{17}[\dX]$/.test(n)) return { error: `${label}前17位应为数字，末位应为数字或X` };
  const sum = WEIGHTS.reduce((acc, w, i) => acc + w * Number(n[i]), 0);
  if (CHECK[sum % 11] !== n[17]) return { error: `${label}校验码不正确，请核对是否录错` };
  const [y, m, d] = [Number(n.slice(6, 10)), Number(n.slice(10, 12)), Number(n.slice(12, 14))];
  const date = new Date(Date.UTC(y, m - 1, d));
  if (y < 1800 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) {
    return { error: `${label}中的出生日期不是有效日期` };
  }
  return { ym: `${n.slice(6, 10)}-${n.slice(10, 12)}`, sex: Number(n[16]) % 2 ? "1" : "2" };
}

function ageAt(ym, reference) {
  const [y, m] = ym.split("-").map(Number);
  const [ry, rm, rd] = reference.split("-").map(Number);
  return ry - y - ((rm < m || (rm === m && rd < 1)) ? 1 : 0);
}

function fieldFindings(form, f, value, path, prefix) {
  const bad = (msg) => [{ field: path, severity: "error", message: `${prefix}${f.label}${msg}` }];
  if (value === null || value === undefined || value === "") return f.required ? bad("未填写") : [];
  if (f.type === "int") {
    if (!Number.isInteger(value)) return bad("应为整数");
    if ((f.min !== undefined && value < f.min) || (f.max !== undefined && value > f.max)) return bad(`应在${f.min}～${f.max}之间`);
  } else if (f.type === "code") {
    if (!f.codes || !(String(value) in form.codes[f.codes])) return bad("不是有效的代码");
  } else if (f.type === "year_month") {
    if (!YM.test(String(value))) return bad("应为“年-月”，如 1990-01");
  } else if (f.max_length && String(value).length > f.max_length) return bad(`不能超过${f.max_length}个字`);
  else if (f.pattern && !new RegExp(f.pattern).test(String(value))) return bad("格式不正确");
  return [];
}

// 阻止交表的错误（与服务器同一措辞、同一字段路径，如 persons.0.id_number）
export function blockingFindings(form, household, persons) {
  const out = [];
  const add = (field, message) => out.push({ field, severity: "error", message });
  for (const f of form.household) out.push(...fieldFindings(form, f, household[f.code], `household.${f.code}`, ""));
  persons.forEach((p, i) => {
    for (const f of form.person) out.push(...fieldFindings(form, f, p[f.code], `persons.${i}.${f.code}`, who(i)));
  });
  // 表式中以错误级别列出的规则才在本机查（规则表是数据，改版时随表式变化）
  const rule = (check) => (form.rules || []).find((r) => r.check === check && r.severity === "error");
  const on = (check) => Boolean(rule(check));
  const reference = form.reference_time.slice(0, 10);
  const [lo, hi] = [form.past_year.from, form.past_year.to];
  const ym = (p) => (YM.test(String(p.birth_year_month || "")) ? p.birth_year_month : null);
  const seen = new Map();
  persons.forEach((p, i) => {
    if (p.id_number) {
      const id = parseId(p.id_number);
      if (id.error && on("id_number_valid")) add(`persons.${i}.id_number`, who(i) + id.error);
      else {
        if (on("id_birth_agrees") && ym(p) && id.ym !== ym(p)) add(`persons.${i}.birth_year_month`, `${who(i)}出生年月与公民身份号码中的出生日期不一致`);
        if (on("id_sex_agrees") && ["1", "2"].includes(p.sex) && id.sex !== p.sex) add(`persons.${i}.sex`, `${who(i)}性别与公民身份号码中的性别（顺序码奇男偶女）不一致`);
      }
      const n = compactId(p.id_number);
      if (seen.has(n) && on("id_unique_in_household")) add(`persons.${i}.id_number`, `${who(i)}与${who(seen.get(n))}的公民身份号码相同`);
      else seen.set(n, i);
    }
    if (on("born_before_reference") && ym(p) && ym(p) > hi) add(`persons.${i}.birth_year_month`, `${who(i)}出生年月晚于调查标准时点`);
    const left = String(p.left_registration_time || "");
    if (!on("left_reason_when_left")) { /* 本年表式无此规则 */ } else if (left && left !== "1" && !p.left_registration_reason) add(`persons.${i}.left_registration_reason`, `${who(i)}已离开户口登记地，离开原因未填写`);
    else if (left === "1" && p.left_registration_reason) add(`persons.${i}.left_registration_reason`, `${who(i)}没有离开户口登记地，不应填写离开原因`);
    const edu = rule("education_required");
    if (edu && ym(p) && ageAt(ym(p), reference) >= edu.min_age && !p.education) add(`persons.${i}.education`, `${who(i)}已满${edu.min_age}周岁，受教育程度未填写`);
  });
  const n = household.persons_at_reference;
  if (on("household_size_matches") && Number.isInteger(n) && n !== persons.length) add("household.persons_at_reference", `本户人数填报为${n}人，但登记了${persons.length}人的个人信息`);
  const oneHead = rule("one_head");
  if (oneHead && (!oneHead.household_type || household.household_type === oneHead.household_type)) {
    const heads = persons.filter((p) => String(p.relationship) === HEAD).length;
    if (heads !== 1) add("persons.relationship", `家庭户应有且只有一位户主（与户主关系为“户主”），现有${heads}位`);
  }
  for (const [code, key, w] of [["1", "male", "男"], ["2", "female", "女"]]) {
    const births = household[`births_${key}`];
    const babies = persons.filter((p) => p.sex === code && ym(p) && lo <= ym(p) && ym(p) <= hi).length;
    if (on("births_cover_babies") && Number.isInteger(births) && births < babies) {
      add(`household.births_${key}`, `过去一年出生人口（${w}）填报${births}人，少于本户登记的过去一年出生的${w}性${babies}人`);
    }
  }
  return out;
}
