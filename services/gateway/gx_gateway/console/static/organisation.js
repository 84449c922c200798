// 改革工作总览（统计工作组织，桂统字〔2019〕52号）：各市、县是否纳入改革、阶段、人员（按用人方式）与编制、
// 培训完成率、推进情况报告、规范化建设考核；逐级下钻到乡镇；导出 CSV/XLSX；打印汇总表。
// 县统计局在此看到本县各期推进情况报告，进入填报。
import { api, authedFetch, download } from "./api.js";
import { errorBox, h, mount, toast } from "./ui.js";
import { staffSection } from "./organisation_staff.js";

const BASE = "/api/v1/organisation";

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? "?" + s : "";
}

function cell(v) { return v === null || v === undefined || v === "" ? "—" : String(v); }

export async function render({ user, query: hashQuery, go }) {
  const division = hashQuery.get("division") || "";
  const year = hashQuery.get("year") || "";
  const status = h("p", { class: "muted", "aria-live": "polite" }, "正在加载…");
  mount(h("h1", {}, "改革工作总览"), status);
  let d;
  try {
    d = await api(BASE + "/dashboard" + query({ division, year }));
  } catch (err) {
    status.replaceWith(errorBox(err));
    return;
  }
  const params = { division: d.division, year: String(d.year) };
  const head = h("tr", {}, d.columns.map((c) => h("th", { scope: "col" }, c.label)));
  const drillable = d.level !== "county" && d.level !== "township";
  const rows = [...d.rows, d.total].map((r) => h("tr", { class: r.code ? "" : "total" },
    d.columns.map((c) => {
      if (c.key === "name" && r.code && drillable && !r.own) {
        return h("td", {}, h("a", { href: `#/organisation?division=${r.code}&year=${d.year}` }, r.name));
      }
      if (c.key === "name" && r.code && d.level === "county") {
        return h("td", {}, r.name);
      }
      return h("td", {}, cell(r[c.key]));
    })));
  const reformLine = d.reform
    ? `${d.reform.document_no}《${d.reform.title}》；当前阶段：${d.reform.phase_today}；推进情况报送截止：${d.reform.report_due_dates.join("、")}`
    : "尚未登记改革范围（自治区统计局可按桂统字〔2019〕52号登记）。";
  const up = user.division !== d.division
    ? h("a", { class: "btn", href: "#/organisation", id: "org-up" }, "返回本级") : null;
  const exportBtn = (fmt, text) => h("button", { type: "button", onclick: async () => {
    try { await download(BASE + "/dashboard/export" + query({ ...params, format: fmt }), `改革工作总览.${fmt}`); }
    catch (err) { toast(err.message || "导出失败"); }
  } }, text);
  const printBtn = h("button", { type: "button", onclick: async () => {
    const r = await authedFetch(BASE + "/dashboard/print" + query(params), { headers: { Accept: "text/html" } });
    if (!r.ok) { toast("打印页面生成失败"); return; }
    const url = URL.createObjectURL(new Blob([await r.text()], { type: "text/html" }));
    const w = window.open(url, "_blank");
    if (w) w.addEventListener("load", () => w.print());
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } }, "打印汇总表");
  const parts = [h("h1", {}, `${d.name} ${d.year}年改革工作总览`),
    h("p", { id: "org-reform" }, reformLine), h("p", { class: "muted" }, `截至 ${d.as_of}`),
    h("div", { class: "actions" }, up, exportBtn("csv", "导出 CSV"), exportBtn("xlsx", "导出 XLSX"), printBtn),
    h("div", { class: "table-wrap" }, h("table", { id: "org-table" }, h("thead", {}, head), h("tbody", {}, rows)))];
  if (user.role === "county_statistician" && d.reform) {
    parts.push(await countyReports(user, d));
  }
  if ((user.role === "county_statistician" || user.role === "township_statistician") && d.division === user.division) {
    parts.push(await staffSection(user));
  }
  mount(...parts);
}

// 县统计局：本县各期推进情况报告（状态、是否逾期），点击进入填报或查看
async function countyReports(user, d) {
  const mine = await api(BASE + "/progress-reports" + query({ year: String(d.year) })).catch(() => ({ items: [] }));
  const byDue = new Map(mine.items.map((r) => [r.due_date, r]));
  return h("section", { id: "org-reports" }, h("h2", {}, "本县推进情况报告"),
    h("ul", { class: "list" }, d.reform.report_due_dates.map((due) => {
      const r = byDue.get(due);
      return h("li", {}, h("span", { class: "title" }, `${due} 前报送`),
        h("span", { class: "tag " + (r ? r.status : "not_started") }, r ? r.status_zh : "未填报"),
        r && r.late ? h("span", { class: "tag late" }, "逾期报送") : null,
        h("a", { class: "btn", href: `#/organisation_report/${user.division}/${due}` },
          !r || ["not_started", "draft", "returned"].includes(r.status) ? "填报" : "查看"));
    })));
}
