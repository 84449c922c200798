// 人工判定（县级）：比对结论不确定的部门记录与候选单位并排显示，附“为什么”（规则、各字段比较级别与权重）；
// 判定为同一单位（并入所选单位）或新增单位。
import { api, newKey } from "./api.js";
import { errorBox, h, setBusy } from "./ui.js";
import { BASE, cell } from "./registry.js";

const FIELDS = [["uscc", "统一社会信用代码"], ["name", "单位详细名称"], ["address", "详细地址"], ["legal_rep", "法定代表人"], ["status", "运营状态"]];
const LABEL = Object.fromEntries(FIELDS);

function why(expl) {
  const f = expl.fields || {};
  return h("div", { class: "note" }, h("strong", {}, "判定依据："), expl.text || "",
    Object.keys(f).length ? h("ul", {}, Object.entries(f).map(([k, v]) =>
      h("li", {}, `${LABEL[k] || k}：${v.label}（权重 ${v.weight}${v.similarity !== undefined ? "，相似度 " + v.similarity : ""}）`))) : null,
    expl.match_weight !== undefined ? h("div", { class: "muted" }, `匹配权重 ${expl.match_weight}；同一单位阈值 ${expl.thresholds.same}，复核阈值 ${expl.thresholds.review}`) : null);
}

export async function render({ body }) {
  const d = await api(BASE + "/reviews");
  if (!d.items.length) { body.replaceChildren(h("p", { class: "muted" }, "没有待人工判定的记录")); return; }
  body.replaceChildren(...d.items.map((rv) => {
    const msg = h("div", { "aria-live": "polite" });
    const table = h("table", { class: "side-by-side" },
      h("thead", {}, h("tr", {}, h("th", {}, "字段"), h("th", {}, `部门资料（第${rv.row_no}行）`),
        rv.candidates.map((c, i) => h("th", {}, `候选单位 ${i + 1}`)))),
      h("tbody", {}, FIELDS.map(([k, label]) => h("tr", {}, h("th", { scope: "row" }, label),
        h("td", {}, cell(rv.record[k])), rv.candidates.map((c) => h("td", { class: c[k] === rv.record[k] ? "" : "diff" }, cell(c[k])))))));
    const decide = async (btn, decision, unitId) => {
      setBusy(btn, true);
      try {
        await api(`${BASE}/reviews/${rv.review_id}/resolve`, { method: "POST", idempotencyKey: newKey(),
          body: { decision, unit_id: unitId || null, reason: "" } });
        card.replaceChildren(h("p", {}, decision === "same" ? "已并入所选单位" : "已作为新增单位入库"));
      } catch (err) { msg.replaceChildren(errorBox(err)); setBusy(btn, false); }
    };
    const card = h("article", { class: "card", dataset: { review: rv.review_id } },
      h("h2", {}, rv.record.name || "（无名称）"), table, why(rv.explanation),
      h("div", { class: "actions" },
        rv.candidates.map((c, i) => { const b = h("button", { type: "button", onclick: () => decide(b, "same", c.unit_id) }, `是候选单位 ${i + 1}`); return b; }),
        (() => { const b = h("button", { type: "button", class: "primary", onclick: () => decide(b, "new") }, "是新增单位"); return b; })()),
      msg);
    return card;
  }));
}
