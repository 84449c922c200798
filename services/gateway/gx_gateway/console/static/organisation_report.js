// 改革工作推进情况报告（县统计局填报）：叙述部分、人员与覆盖情况数字、附件（出台的相关文件）；
// 保存草稿、报送（经县、市审核，报自治区统计局验收）。审核中或已验收时只读。
import { api, newKey } from "./api.js";
import { ACTION, errorBox, fmtTime, h, labeled, mount, setBusy, toast } from "./ui.js";

const EDITABLE = ["not_started", "draft", "returned"];

export async function render({ args }) {
  const [county, due] = args;
  const path = `/api/v1/organisation/progress-reports/${encodeURIComponent(county)}/${encodeURIComponent(due)}`;
  let r;
  try { r = await api(path); } catch (err) { mount(h("h1", {}, "推进情况报告"), errorBox(err)); return; }
  const editable = EDITABLE.includes(r.status);
  const sections = Object.entries(r.sections_zh).map(([k, label]) => {
    const t = h("textarea", { id: `sec-${k}`, rows: 4, maxlength: 5000, disabled: !editable }, r.sections[k] || "");
    return [k, labeled(label, t), t];
  });
  const figures = Object.entries(r.figures_zh).map(([k, label]) => {
    const i = h("input", { id: `fig-${k}`, type: "number", min: 0, step: 1, disabled: !editable,
      value: r.figures[k] ?? "" });
    return [k, labeled(label, i), i];
  });
  const attach = h("textarea", { id: "attachments", rows: 3, disabled: !editable,
    placeholder: "每行一个文件：文件名称｜文号" },
  (r.attachments || []).map((a) => a.document_no ? `${a.title}｜${a.document_no}` : a.title).join("\n"));
  const msg = h("div", { "aria-live": "polite" });
  let version = r.version;
  const body = () => ({
    sections: Object.fromEntries(sections.map(([k, , t]) => [k, t.value]).filter(([, v]) => v.trim())),
    figures: Object.fromEntries(figures.map(([k, , i]) => [k, i.value]).filter(([, v]) => v !== "")
      .map(([k, v]) => [k, Number(v)])),
    attachments: attach.value.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
      const [title, no] = l.split("｜");
      return no ? { title: title.trim(), document_no: no.trim() } : { title: title.trim() };
    }),
  });
  const save = h("button", { type: "button", id: "save", disabled: !editable, onclick: async () => {
    setBusy(save, true, "保存中…");
    try {
      const res = await api(path + "/draft", { method: "PUT", body: { ...body(), expected_version: version },
        idempotencyKey: newKey() });
      version = res.version; msg.replaceChildren(); toast("草稿已保存");
    } catch (err) { msg.replaceChildren(errorBox(err)); } finally { setBusy(save, false); }
  } }, "保存草稿");
  const submit = h("button", { type: "button", class: "primary", id: "submit", disabled: !editable, onclick: async () => {
    setBusy(submit, true, "报送中…");
    try {
      const saved = await api(path + "/draft", { method: "PUT", body: { ...body(), expected_version: version },
        idempotencyKey: newKey() });
      const res = await api(path + "/submit", { method: "POST", body: { expected_version: saved.version },
        idempotencyKey: newKey() });
      toast(res.late ? "已报送（已过截止日，记为逾期报送）" : "已报送，等待审核");
      render({ args });
    } catch (err) { msg.replaceChildren(errorBox(err)); setBusy(submit, false); }
  } }, "报送");
  const history = (r.history || []).map((x) => h("li", {},
    `${fmtTime(x.at)} ${x.actor_name || ""} ${ACTION[x.type.split(".").pop()] || "审核"}${x.comment ? "：" + x.comment : ""}`));
  mount(h("h1", {}, `推进情况报告（${due} 前报送）`),
    h("p", {}, h("span", { class: "tag " + r.status, id: "report-status" }, r.status_zh),
      r.late ? h("span", { class: "tag late" }, "逾期报送") : null,
      r.return_reason && r.status === "returned" ? h("span", { class: "alert warn" }, `退回原因：${r.return_reason}`) : null),
    h("h2", {}, "叙述部分"), sections.map(([, el]) => el),
    h("h2", {}, "人员与覆盖情况"), h("div", { class: "grid" }, figures.map(([, el]) => el)),
    h("h2", {}, "附件（出台的相关文件材料）"), attach, msg,
    h("div", { class: "actions" }, h("a", { class: "btn", href: "#/organisation" }, "返回总览"), save, submit),
    history.length ? [h("h2", {}, "审核记录"), h("ul", {}, history)] : null);
}
