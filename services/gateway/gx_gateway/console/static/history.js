// 处理记录时间线：谁（角色）、何时、做了什么、原因与指标批注。
import { fmtTime, h, LEVEL, ROLE } from "./ui.js";
import { reasonLabel } from "./meta.js";

export async function historyList(steps) {
  if (!steps.length) return h("p", { class: "muted" }, "暂无记录");
  const items = [];
  for (const s of steps) {
    const reason = s.reason_code ? `${await reasonLabel(s.reason_code)}：${s.reason || ""}` : s.reason;
    const notes = Object.entries(s.field_notes || {});
    items.push(h("li", {},
      h("div", {}, h("strong", {}, s.action || "—"),
        s.to_level ? `（至${LEVEL[s.to_level] || s.to_level}）` : ""),
      h("div", { class: "when" }, `${fmtTime(s.at)} · ${s.who || "系统"}${s.role ? "（" + (ROLE[s.role] || s.role) + "）" : ""}`),
      reason ? h("div", {}, "原因：", reason) : null,
      s.comment && s.comment !== s.reason ? h("div", {}, "意见：", s.comment) : null,
      notes.length ? h("ul", {}, notes.map(([k, v]) => h("li", {}, `${s.labels && s.labels[k] || k}：${v}`))) : null));
  }
  return h("ol", { class: "timeline", "aria-label": "处理记录" }, items);
}
