// 名录库：按区划查看单位（可搜索名称或信用代码），单位的完整历史及每次变更的来源；导出 CSV/XLSX；
// 县级、自治区统计局可关闭单位（注销、吊销、撤销、歇业……，原因来自服务的数据）。
import { api, download, newKey } from "./api.js";
import { errorBox, fmtTime, h, labeled, openDialog, toast } from "./ui.js";
import { BASE, cell, q } from "./registry.js";

const SOURCE = { department_file: "部门资料", survey: "实地调查", confirmation: "定期确认", review: "人工判定", manual: "人工操作", audit: "名录库审核" };
const TYPE = { "registry.unit.registered": "入库", "registry.unit.changed": "变更", "registry.unit.classified": "划分",
  "registry.unit.moved": "区划变动", "registry.unit.closed": "关闭", "registry.unit.confirmed": "定期确认", "registry.unit.flagged": "审核差错" };

function source(s) {
  if (!s) return "—";
  const bits = [SOURCE[s.kind] || s.kind];
  if (s.department) bits.push(s.department);
  if (s.file_name) bits.push(s.file_name);
  if (s.row_no) bits.push(`第${s.row_no}行`);
  if (s.note) bits.push(s.note);
  return bits.join(" · ");
}

const CLOSERS = ["county_statistician", "region_statistician"];

async function history(u, user, onClosed) {
  const d = await api(`${BASE}/units/${u.unit_id}`);
  const closed = d.history.filter((e) => e.type === "registry.unit.closed").pop();
  const state = d.closed ? h("p", { class: "tag", id: "unit-closed" }, `已关闭（${closed && closed.reason || d.status || ""}）`) : null;
  const closeBtn = !d.closed && CLOSERS.includes(user.role)
    ? h("button", { type: "button", id: "close-unit", class: "danger", onclick: () => { dlg.close(); closeDialog(d, onClosed); } }, "关闭单位") : null;
  const dlg = openDialog(d.name, h("div", {}, state, h("ol", { class: "timeline" }, d.history.map((e) => h("li", {},
    h("strong", {}, TYPE[e.type] || e.type), e.reason ? `（${e.reason}）` : "", " ", fmtTime(e.at), " ", e.by || "",
    h("div", { class: "muted" }, "来源：" + source(e.source)),
    e.changes ? h("div", {}, Object.entries(e.changes).map(([k, v]) => `${k} → ${v}`).join("；")) : null,
    e.explanation && e.explanation.text ? h("div", { class: "note" }, "为什么：" + e.explanation.text) : null))), closeBtn),
  { onSubmit: async () => {}, submitText: "关闭窗口" });
}

// 关闭单位：选原因（“其他”须写说明）；同一次提交重试时沿用同一个幂等键。
async function closeDialog(d, onClosed) {
  const reasons = (await api(`${BASE}/close-reasons`)).items;
  const pick = h("select", { name: "reason", id: "close-reason", required: true },
    h("option", { value: "" }, "请选择原因"), reasons.map((r) => h("option", { value: r.code }, `${r.label}（${r.description}）`)));
  const note = h("textarea", { name: "note", maxlength: 500, rows: 3, placeholder: "说明，如：2026年11月已在市场监管局办理注销" });
  let key = null, last = null;
  openDialog(`关闭单位：${d.name}`, h("div", {}, labeled("关闭原因", pick), labeled("说明", note),
    h("p", { class: "muted" }, "关闭后，单位退出任务底册和定期确认。")), {
    submitText: "关闭单位", submitClass: "danger",
    onSubmit: async () => {
      const body = { reason: pick.value, note: note.value };
      if (JSON.stringify(body) !== last) { key = newKey(); last = JSON.stringify(body); }
      const r = await api(`${BASE}/units/${d.unit_id}/close`, { method: "POST", idempotencyKey: key, body });
      toast(r.already_closed ? "单位此前已关闭" : `已关闭（${r.reason_zh}），${r.tasks_closed} 个任务退出任务底册`);
      onClosed();
    } });
}

export async function render({ user, body, query }) {
  const division = query.get("division") || "";
  const search = h("input", { maxlength: 100, placeholder: "单位名称或统一社会信用代码", value: query.get("q") || "" });
  const div = h("input", { maxlength: 12, inputmode: "numeric", placeholder: user.division, value: division });
  const form = h("form", { class: "filters" }, labeled("区划代码", div), labeled("搜索", search), h("button", { type: "submit" }, "查询"));
  form.addEventListener("submit", (e) => { e.preventDefault(); location.hash = "#/registry" + q({ tab: "units", division: div.value, q: search.value }); });
  const exp = (fmt) => h("button", { type: "button", onclick: () => download(BASE + "/units/export" + q({ division, format: fmt }), `基本单位名录.${fmt}`).catch((e) => toast(e.message)) }, `导出 ${fmt.toUpperCase()}`);
  const wrap = h("div", { class: "table-wrap" });
  body.replaceChildren(form, h("div", { class: "actions" }, exp("csv"), exp("xlsx")), wrap);
  try {
    const d = await api(BASE + "/units" + q({ division, q: query.get("q"), limit: 200 }));
    wrap.replaceChildren(h("p", { class: "muted" }, `共 ${d.total} 个单位`), h("table", { id: "unit-table" },
      h("thead", {}, h("tr", {}, ["单位详细名称", "统一社会信用代码", "单位类别", "单位类型", "区划代码", "法定代表人", "状态", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, d.items.map((u) => h("tr", { "data-unit": u.unit_id }, h("td", {}, u.name), h("td", {}, cell(u.uscc)),
        h("td", {}, { legal_person: "法人单位", activity_unit: "产业活动单位", individual: "个体经营户" }[u.unit_kind] || u.unit_kind),
        h("td", {}, cell(u.unit_type)), h("td", {}, u.division_code), h("td", {}, cell(u.legal_rep)),
        h("td", { class: "state" }, u.closed ? "已关闭" : "在册"),
        h("td", {}, h("button", { type: "button", onclick: () => history(u, user, () => render({ user, body, query })).catch((e) => toast(e.message)) }, "历史与来源")))))));
  } catch (err) { wrap.replaceChildren(errorBox(err)); }
}
