// 部门资料导入：选择部门与文件（CSV：UTF-8 或 GB18030；XLSX），分片上传（每片不超过网关的请求体上限），
// 完成后服务端导入；列表显示进度（读取校验、比对合并、写入名录库）与结果，错误清单可下载 CSV/XLSX。
import { api, authedFetch, download, newKey } from "./api.js";
import { errorBox, fmtNum, fmtTime, h, labeled, setBusy, toast } from "./ui.js";
import { BASE, cell } from "./registry.js";

const STATUS = { uploading: "上传中", queued: "排队中", processing: "导入中", done: "已完成", failed: "失败",
  duplicate: "重复文件（未导入）" };
const STAGE = { "": "", reading: "读取并校验", matching: "比对合并", writing: "写入名录库", done: "" };
const OUTCOME = { unchanged: "无变化", changed: "有变更", new: "新增", ambiguous: "待人工判定" };

async function uploadFile(department, file, onProgress) {
  const start = await api(BASE + "/imports", { method: "POST", idempotencyKey: newKey(),
    body: { department, file_name: file.name, file_bytes: file.size } });
  const size = start.part_bytes;
  for (let i = 0, n = 0; i < file.size; i += size, n++) {
    const r = await authedFetch(`${BASE}/imports/${start.batch_id}/parts/${n}`, {
      method: "PUT", headers: { "Content-Type": "application/octet-stream" }, body: file.slice(i, i + size) });
    if (!r.ok) throw Object.assign(new Error((await r.json().catch(() => ({}))).detail || "上传失败"), { status: r.status });
    onProgress(Math.min(1, (i + size) / file.size));
  }
  return api(`${BASE}/imports/${start.batch_id}/finish`, { method: "POST" });
}

export async function render({ body }) {
  const deps = await api(BASE + "/departments");
  const names = [...new Set(deps.items.map((d) => d.department))];
  const dept = h("select", { id: "imp-dept" }, names.map((n) => h("option", { value: n }, n)));
  const file = h("input", { type: "file", id: "imp-file", accept: ".csv,.xlsx" });
  const bar = h("progress", { max: 1, value: 0, hidden: true, id: "imp-bar" });
  const go = h("button", { type: "submit", class: "primary" }, "上传并导入");
  const msg = h("div", { "aria-live": "polite" });
  const list = h("div", { class: "table-wrap" });
  const form = h("form", { class: "card", id: "imp-form" }, h("h2", {}, "导入部门资料"),
    labeled("部门", dept), labeled("文件", file, "CSV（UTF-8 或 GB18030）或 XLSX；同一文件重复导入不会重复入库"),
    bar, h("div", { class: "actions" }, go), msg);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!file.files[0]) { msg.replaceChildren(h("div", { class: "alert error" }, "请选择文件")); return; }
    setBusy(go, true, "上传中…");
    bar.hidden = false;
    try {
      const r = await uploadFile(dept.value, file.files[0], (p) => { bar.value = p; });
      msg.replaceChildren(h("div", { class: "alert" }, r.status === "duplicate" ? r.detail : "已上传，正在导入"));
      clearTimeout(timer);
      await tick();
    } catch (err) { msg.replaceChildren(errorBox(err)); } finally { setBusy(go, false); bar.hidden = true; }
  });
  body.replaceChildren(form, h("h2", {}, "导入批次"), list);
  async function refresh() {
    const d = await api(BASE + "/imports?limit=50");
    const errorsButtons = (b) => (b.bad_rows ? ["csv", "xlsx"].map((fmt) => h("button", { type: "button",
      onclick: () => download(`${BASE}/imports/${b.batch_id}/errors?format=${fmt}`, `错误清单.${fmt}`).catch((e) => toast(e.message)) },
    `错误清单 ${fmt.toUpperCase()}`)) : cell(""));
    const row = (b) => h("tr", { dataset: { batch: b.batch_id } },
      h("td", {}, b.department), h("td", {}, b.file_name),
      h("td", {}, h("span", { class: "tag " + b.status }, STATUS[b.status] || b.status),
        b.failure ? h("div", { class: "muted" }, b.failure) : null),
      h("td", {}, b.status === "processing" ? `${STAGE[b.stage] || ""} ${fmtNum(b.rows_done)}/${fmtNum(b.good_rows)}` : "—"),
      h("td", {}, fmtNum(b.rows_total)), h("td", {}, fmtNum(b.bad_rows)),
      h("td", {}, Object.entries(b.outcomes || {}).map(([k, v]) => `${OUTCOME[k] || k} ${fmtNum(v)}`).join("，") || "—"),
      h("td", {}, fmtTime(b.created_at)), h("td", {}, errorsButtons(b)));
    const head = ["部门", "文件", "状态", "进度", "行数", "错误行", "比对结果", "时间", ""].map((t) => h("th", { scope: "col" }, t));
    list.replaceChildren(h("table", { id: "imp-table" }, h("thead", {}, h("tr", {}, head)),
      h("tbody", {}, d.items.map(row))));
    return d.items.some((b) => ["uploading", "queued", "processing"].includes(b.status));
  }
  let timer = null;
  const tick = async () => { try { if (await refresh() && list.isConnected) timer = setTimeout(tick, 2000); } catch (e) { list.replaceChildren(errorBox(e)); } };
  await tick();
  return () => clearTimeout(timer);
}
