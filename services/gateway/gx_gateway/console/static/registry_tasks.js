// 任务底册：本级持有的新增单位查找、实地核实任务；按详细地址批量下划到下一级；迁出（落入实际所在县的底册）、
// 返回上一级（须写原因）；村级统计协管员建网格并把任务单位分发到网格；导出 CSV/XLSX。
import { api, download, newKey } from "./api.js";
import { errorBox, h, labeled, LEVEL, openDialog, setBusy, toast } from "./ui.js";
import { BASE, cell, q } from "./registry.js";
import { outboxItems } from "./outbox.js";
import { pendingForms } from "./outbox_registry.js";

const NEXT = { region_statistician: ["county", "township", "village"], city_statistician: ["county", "township", "village"],
  county_statistician: ["township", "village"], township_statistician: ["village"] };
const STATUS = { open: "待调查", surveyed: "已调查", done: "已完成" };

export async function render({ user, body, query }) {
  const kind = query.get("kind") || "";
  const kindSel = h("select", { id: "task-kind" }, [["", "全部"], ["new_unit_search", "新增单位查找"], ["field_verification", "实地核实"]]
    .map(([v, t]) => h("option", { value: v, selected: v === kind }, t)));
  kindSel.addEventListener("change", () => { location.hash = `#/registry?tab=tasks${kindSel.value ? "&kind=" + kindSel.value : ""}`; });
  const status = h("p", { class: "muted", "aria-live": "polite" }, "正在加载…");
  const list = h("div", { class: "table-wrap" });
  const actions = h("div", { class: "actions" });
  const exp = (fmt) => h("button", { type: "button", onclick: () => download(BASE + "/tasks/export" + q({ kind, format: fmt }), `任务底册.${fmt}`).catch((e) => toast(e.message)) }, `导出 ${fmt.toUpperCase()}`);
  body.replaceChildren(h("div", { class: "filters" }, labeled("任务种类", kindSel)), actions, status, list);
  let grids = [];
  if (user.role === "village_coordinator") grids = (await api(BASE + "/grids" + q({})).catch(() => ({ items: [] }))).items || [];
  async function load() {
    const d = await api(BASE + "/tasks" + q({ kind, limit: 500 }));
    // 本机未上传的情况表（离线填的、排队的、被拒绝的）：底册上方计数，所在行标出
    const waiting = pendingForms(await outboxItems().catch(() => []));
    const queuedFor = new Map(waiting.map((x) => [x.taskId, x]));
    status.textContent = `本级任务底册共 ${d.total} 项${d.total > d.items.length ? `（显示前 ${d.items.length} 项）` : ""}` +
      (waiting.length ? `；本机待上传 ${waiting.length} 份` : "") + (d._cachedAt ? "（离线：本机缓存的底册）" : "");
    const checks = new Map();
    list.replaceChildren(h("table", { id: "task-table" },
      h("thead", {}, h("tr", {}, ["", "种类", "单位详细名称", "统一社会信用代码", "详细地址", "定位区划", "网格", "状态", "原因", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, d.items.map((t) => {
        const c = h("input", { type: "checkbox", "aria-label": "选择 " + t.name });
        checks.set(t.task_id, c);
        return h("tr", { dataset: { task: t.task_id } }, h("td", {}, c), h("td", {}, t.kind_zh), h("td", {}, t.name),
          h("td", {}, cell(t.uscc)), h("td", {}, cell(t.address)), h("td", {}, t.placed_code),
          h("td", {}, cell(t.grid_id ? (grids.find((g) => g.grid_id === t.grid_id) || {}).grid_code || "已分发" : "")),
          h("td", {}, STATUS[t.status] || t.status,
            queuedFor.has(t.task_id) ? h("span", { class: "tag outbox-" + queuedFor.get(t.task_id).state },
              queuedFor.get(t.task_id).state === "failed" ? "未能上报" : "待上传") : null),
          h("td", {}, t.reasons.map((r) => r.text).join("；")),
          h("td", {}, rowActions(t)));
      }))));
    actions.replaceChildren(...bulk(checks), exp("csv"), exp("xlsx"));
  }
  function selected(checks) { return [...checks].filter(([, c]) => c.checked).map(([id]) => id); }
  function bulk(checks) {
    const out = [];
    for (const lv of NEXT[user.role] || []) {
      const b = h("button", { type: "button", class: "primary", onclick: async () => {
        setBusy(b, true);
        try {
          const r = await api(BASE + "/tasks/push-down", { method: "POST", idempotencyKey: newKey(),
            body: { to_level: lv, task_ids: selected(checks), kind: kind || null } });
          toast(`已下划 ${r.pushed} 项到${LEVEL[lv]}；${r.stayed} 项地址不足以下划，留在本级`);
          await load();
        } catch (err) { toast(err.message); } finally { setBusy(b, false); }
      } }, `下划到${LEVEL[lv]}（选中的，未选则全部）`);
      out.push(b);
    }
    if (user.role === "village_coordinator") {
      out.push(h("button", { type: "button", onclick: () => newGrid(user, load) }, "新建网格"));
      out.push(h("button", { type: "button", onclick: () => assign(grids, selected(checks), load) }, "分发到网格"));
    }
    return out;
  }
  function rowActions(t) {
    const out = [];
    if (["county_statistician", "township_statistician", "region_statistician"].includes(user.role)) {
      out.push(h("button", { type: "button", onclick: () => move(t, "transfer-out", load) }, "迁出"));
    }
    if (user.role !== "region_statistician" && user.role !== "grid_worker") {
      out.push(h("button", { type: "button", onclick: () => move(t, "return", load) }, "返回上一级"));
    }
    if (user.role === "village_coordinator" || user.role === "grid_worker") {
      out.push(h("a", { class: "btn", href: `#/registry?tab=survey&task=${t.task_id}` }, "实地调查"));
    }
    return out;
  }
  try { await load(); } catch (err) { list.replaceChildren(errorBox(err)); }
  const again = () => { if (!list.isConnected) { window.removeEventListener("gx:outbox", again); return; } load().catch(() => {}); };
  window.addEventListener("gx:outbox", again); // 上传完成、被拒绝时更新计数
}

function move(t, what, done) {
  const to = h("input", { inputmode: "numeric", maxlength: 12, pattern: "[0-9]{12}", placeholder: "12位区划代码" });
  const reason = h("textarea", { maxlength: 500, required: true });
  openDialog(what === "return" ? "返回上一级" : "迁出到实际所在区划", h("div", {},
    h("p", {}, t.name), what === "return" ? null : labeled("迁入区划代码", to), labeled("原因（必填）", reason)),
  { onSubmit: async () => {
    await api(`${BASE}/tasks/${t.task_id}/${what}`, { method: "POST", idempotencyKey: newKey(),
      body: what === "return" ? { reason: reason.value } : { to_division: to.value, reason: reason.value } });
    toast(what === "return" ? "已返回上一级" : "已迁出");
    await done();
  } });
}

function newGrid(user, done) {
  const name = h("input", { maxlength: 200, required: true });
  const worker = h("input", { maxlength: 64, placeholder: "网格员登录名" });
  openDialog("新建网格", h("div", {}, labeled("网格名称", name), labeled("网格员", worker)), { onSubmit: async () => {
    const g = await api(BASE + "/grids", { method: "POST", idempotencyKey: newKey(),
      body: { village_code: user.division, name: name.value, worker: worker.value || null } });
    toast(`已建网格 ${g.grid_code}`);
    await done();
  } });
}

function assign(grids, ids, done) {
  if (!ids.length) { toast("请先勾选任务"); return; }
  const sel = h("select", {}, grids.map((g) => h("option", { value: g.grid_id }, `${g.grid_code} ${g.name}`)));
  openDialog(`把 ${ids.length} 项任务分发到网格`, labeled("网格", sel), { onSubmit: async () => {
    await api(BASE + "/tasks/assign", { method: "POST", idempotencyKey: newKey(), body: { grid_id: sel.value, task_ids: ids } });
    await done();
  } });
}
