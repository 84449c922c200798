// 处理记录时间线：谁（姓名、角色、区划）、何时、做了什么、原因与指标批注（指标的中文名称）。
import { api, download } from "./api.js";
import { errorBox, fmtTime, h, LEVEL, toast } from "./ui.js";
import { reasonLabel } from "./meta.js";
import { actorLabel, divisionNames } from "./people.js";

// steps: [{name, role, division, at, action, to_level, reason_code, reason, comment, field_notes}]
// labels: 指标代码 -> 中文名称（批注只显示中文名称）
export async function historyList(steps, labels = {}) {
  if (!steps.length) return h("p", { class: "muted" }, "暂无记录");
  const nameOf = await divisionNames(steps.map((s) => s.division));
  const items = [];
  for (const s of steps) {
    const reason = s.reason_code ? `${await reasonLabel(s.reason_code)}：${s.reason || ""}` : s.reason;
    const notes = Object.entries(s.field_notes || {});
    const label = (k) => (s.labels && s.labels[k]) || labels[k] || "其他指标";
    items.push(h("li", {},
      h("div", {}, h("strong", {}, s.action || "—"),
        s.to_level ? `（至${LEVEL[s.to_level] || ""}）` : ""),
      h("div", { class: "when" }, `${fmtTime(s.at)} · ${actorLabel(s, nameOf)}`),
      reason ? h("div", {}, "原因：", reason) : null,
      s.comment && s.comment !== s.reason ? h("div", {}, "意见：", s.comment) : null,
      notes.length ? h("ul", {}, notes.map(([k, v]) => h("li", {}, `${label(k)}：${v}`))) : null));
  }
  return h("ol", { class: "timeline", "aria-label": "处理记录" }, items);
}

// 报表的处理记录（农业统计服务的 /history）放进 box 的最后一个子元素
export async function reportHistory(report, box) {
  const labels = Object.fromEntries((report.form.indicators || []).map((i) => [i.code, i.name]));
  try {
    const res = await api(`/api/v1/agri/reports/${report.report_id}/history`);
    box.lastElementChild.replaceChildren(await historyList(res.steps.map((s) => ({
      name: s.actor_name || s.who_name, role: s.role, division: s.division, at: s.when,
      action: s.what_zh, reason_code: s.reason_code, reason: s.reason, field_notes: s.field_notes,
      labels: { ...(report.field_labels || {}), ...(s.field_labels || {}) } })), labels));
  } catch (err) {
    box.lastElementChild.replaceChildren(errorBox(err));
  }
}

// 可打印存档的报表状态（农业统计服务只打印已报送、已验收、已确认的报表）
const PRINTABLE = new Set(["submitted", "accepted", "confirmed"]);

// 本村报表的归档 PDF（农业统计服务 /reports/{id}/pdf，带令牌下载，与其他导出相同）；
// 尚不能打印的报表（草稿、已退回）没有按钮
export function archiveButton(report) {
  if (!report || !PRINTABLE.has(report.status)) return null;
  const btn = h("button", { type: "button", id: "btn-archive-pdf" }, "下载归档 PDF");
  btn.addEventListener("click", async () => {
    btn.disabled = true;
    try {
      await download(`/api/v1/agri/reports/${report.report_id}/pdf`,
        `${report.village_name || report.village_code || "报表"}_归档.pdf`);
    } catch (err) {
      toast(`归档 PDF 下载失败：${err.message || err}`);
    } finally {
      btn.disabled = false;
    }
  });
  return btn;
}
