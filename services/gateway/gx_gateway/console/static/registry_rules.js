// 基本单位情况表在手机上的审核（离线也能用）：按服务器发布的表式（/registry/forms/definition，
// service worker 缓存）逐字段检查硬性规则（必填、整数范围、长度、格式、代码表、区划代码在本村），
// 软性规则与定位（未定位、精度低于要求）是警告，写了说明才放行——与服务器
// gx_registry.domain.unit_form.check 同一写法、同一中文说法。统一社会信用代码在手机上查长度、字符、
// 组织机构代码校验位与第18位校验位（GB 32100、GB 11714 的算法）；登记管理部门与机构类别代码表
// 不在表式里，由服务器查，不通过时的原因留在草稿上。
const ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"; // 不用 I、O、Z、S、V
const ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2];

const finding = (field, rule, message, severity = "error") => ({ field, rule, message, severity });

function usccCheckChar(body17) {
  let total = 0;
  for (let i = 0; i < 17; i++) total += ALPHABET.indexOf(body17[i]) * (3 ** i % 31);
  return ALPHABET[(31 - (total % 31)) % 31];
}

function orgProblems(code) {
  const what = "统一社会信用代码第9–17位（组织机构代码）";
  if ([...code.slice(0, 8)].some((c) => !ORG_ALPHABET.includes(c)) || !"0123456789X".includes(code[8])) {
    return [["org_code.charset", `${what}含有不允许的字符`]];
  }
  const total = [...code.slice(0, 8)].reduce((s, c, i) => s + ORG_ALPHABET.indexOf(c) * ORG_WEIGHTS[i], 0);
  const c = 11 - (total % 11);
  const want = c === 10 ? "X" : c === 11 ? "0" : String(c);
  return want === code[8] ? [] : [["org_code.check", `${what}校验位错误，应为${want}`]];
}

export function usccProblems(raw) {
  const v = String(raw || "").trim().toUpperCase();
  if (v.length !== 18) return [["uscc.length", `统一社会信用代码应为18位，实际${v.length}位`]];
  const bad = [...new Set([...v].filter((c) => !ALPHABET.includes(c)))].sort();
  if (bad.length) return [["uscc.charset", `统一社会信用代码含有不允许的字符：${bad.join("、")}（不使用 I、O、Z、S、V）`]];
  const out = [];
  if (!/^[0-9]{6}$/.test(v.slice(2, 8))) out.push(["uscc.division", "统一社会信用代码第3–8位应为6位行政区划代码"]);
  out.push(...orgProblems(v.slice(8, 17)));
  const want = usccCheckChar(v.slice(0, 17));
  if (want !== v[17]) out.push(["uscc.check", `统一社会信用代码校验位错误：第18位应为“${want}”`]);
  return out;
}

// 管辖前缀（与 gx_contracts.divisions.prefix_of 相同）：村级12位全用，乡镇9位，县6位，市4位，区2位
function prefixOf(code) {
  for (const n of [2, 4, 6, 9]) if (/^0+$/.test(code.slice(n))) return code.slice(0, n);
  return code;
}
const isDivision = (v) => /^[1-9][0-9]{11}$/.test(v);

function fieldFindings(f, v, villageCode, submitting) {
  const { code, label } = f;
  if (v === null || v === undefined || v === "") {
    return f.required && submitting ? [finding(code, "required", `${label}为必填项`)] : [];
  }
  if (f.type === "integer") {
    if (!Number.isInteger(v)) return [finding(code, "type.integer", `${label}应为整数`)];
    const lo = f.min ?? v, hi = f.max ?? v;
    return lo <= v && v <= hi ? [] : [finding(code, "range", `${label}应在 ${f.min}–${f.max} 之间`)];
  }
  if (typeof v !== "string") return [finding(code, "type.text", `${label}应为文字`)];
  if ([...v].length > (f.max || 200)) return [finding(code, "too_long", `${label}过长（至多${f.max || 200}字）`)];
  if (f.type === "uscc") return usccProblems(v).map(([rule, message]) => finding(code, rule, message));
  if (f.type === "division") {
    if (!isDivision(v)) return [finding(code, "division.format", `${label}应为12位数字`)];
    if (!v.startsWith(prefixOf(villageCode))) {
      return [finding(code, "division.outside", `${label}不在本村（社区）范围内；不在本辖区的单位请迁出`)];
    }
    return [];
  }
  if (f.type === "choice" && !Object.prototype.hasOwnProperty.call(f.options, v)) {
    return [finding(code, "choice", `${label}“${v}”不在代码表中`)];
  }
  if (f.pattern && !new RegExp(`^(?:${f.pattern})$`, "u").test(v)) return [finding(code, "pattern", `${label}格式不正确`)];
  return [];
}

// 审核结果：硬性错误（error）全列出；警告（warning）写了说明的不列。def 带 max_location_accuracy_m。
export function checkForm(def, values, explanations, location, villageCode, { submitting }) {
  const out = [];
  for (const f of def.fields) out.push(...fieldFindings(f, values[f.code], villageCode, submitting));
  for (const rule of def.soft || []) {
    const v = values[rule.field];
    const hit = (rule.rule === "gt" && typeof v === "number" && v > rule.value) ||
      (rule.rule === "missing_unless" && submitting && (v === undefined || v === null || v === "") &&
        !Object.entries(rule.unless).some(([k, vs]) => vs.includes(values[k])));
    if (hit) out.push(finding(rule.field, rule.id, rule.message, "warning"));
  }
  if (submitting) {
    const max = def.max_location_accuracy_m;
    if (!location) out.push(finding("location", "location.missing", "未取得地理位置定位，请说明原因（如室内无信号）", "warning"));
    else if (location.accuracy_m > max) {
      out.push(finding("location", "location.coarse",
        `定位精度 ${Math.round(location.accuracy_m)} 米，低于要求（${Math.round(max)} 米以内），请重新定位或说明原因`, "warning"));
    }
  }
  return out.filter((x) => x.severity === "error" || !String(explanations[x.field] || "").trim());
}
