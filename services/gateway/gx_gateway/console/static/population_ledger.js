// 人口信息指标台账：村按月（由变动报告与有原因的人工调整得出），乡镇、县为各村汇总；
// 网格员报告变动，村级统计协管员调整台账。
// 变动报告离线可用：填写中的内容存为本机草稿（加密），“报告”进发件箱（outbox_population.js），
// 联网时立刻发送、离线时联网后自动发送，只报告一次；被拒绝时原因显示在发件箱，“打开修改”回到这份报告。
import { api, newKey } from "./api.js";
import { errorBox, fmtTime, h, labeled, mount, openDialog, toast } from "./ui.js";
import { BASE, links } from "./population.js";
import { enqueueItem, outboxItems, removeItem, retryable, sendNow } from "./outbox.js";
import { changeItem, payloadOf } from "./outbox_population.js";
import { outboxPanel, stateText } from "./outbox_view.js";
import { deletePopDraft, getPopDraft, popDraftsOf, putPopDraft } from "./store.js";
import { available, open, seal } from "./vault.js";

const KIND = { birth: "出生", death: "死亡", move_in: "迁入", move_out: "迁出" };
const changeTitle = (c) => `人口变动：${KIND[c.kind] || "变动"} ${c.date || "日期未填"}`;

export async function render({ user, query }) {
  const month = query.get("month") || new Date().toISOString().slice(0, 7);
  const division = query.get("division") || "";
  const status = h("p", { class: "muted" }, "正在加载…");
  mount(h("h1", {}, "人口信息指标台账"), links(user), status);
  let d = null, failed = null;
  try { d = await api(`${BASE}/ledger?month=${month}${division ? "&division=" + division : ""}`); }
  catch (err) { failed = err; }
  const grid = user.role === "grid_worker";
  if (failed && !(grid && failed.status === 0)) { status.replaceWith(errorBox(failed)); return; }
  const again = () => render({ user, query: new URLSearchParams({ month }) });
  const parts = [h("h1", {}, `人口信息指标台账（${month}）`), links(user)];
  if (d) parts.push(...ledgerParts(d, month));
  else parts.push(h("div", { class: "alert warn", id: "pop-ledger-offline" }, "当前没有网络，本机也没有这个月台账的缓存。仍可报告人口变动：报告存在本机发件箱，联网后自动发送。"));
  const acts = h("div", { class: "actions" });
  if (grid) acts.append(h("button", { type: "button", id: "pop-report-change", onclick: () => report(user, null, again) }, "报告人口变动"));
  if (d && user.role === "village_coordinator") acts.append(h("button", { type: "button", onclick: () => adjust(d, month, again) }, "调整台账"));
  parts.push(acts);
  if (grid) parts.push(await draftsList(user), outboxPanel({ filter: (x) => x.kind === "population.change", title: "发件箱（人口变动报告）" }));
  mount(...parts);
  if (grid && query.get("draft")) report(user, query.get("draft"), again);
}

function ledgerParts(d, month) {
  const ind = Object.entries(d.indicators);
  const picker = h("input", { type: "month", value: month, onchange: (e) => { location.hash = `#/population/ledger?month=${e.target.value}`; } });
  const table = (rows, first) => h("div", { class: "table-wrap" }, h("table", { class: "pop-ledger" },
    h("thead", {}, h("tr", {}, h("th", {}, first), ind.map(([, t]) => h("th", {}, t)))),
    h("tbody", {}, rows.map(([label, r]) => h("tr", {}, h("td", {}, label), ind.map(([k]) => h("td", { class: "num" }, String(r[k] ?? 0))))))));
  const parts = [labeled("月份", picker)];
  if (d._cachedAt) parts.push(h("div", { class: "alert warn", id: "cached-note" }, `离线：显示的是本机缓存的台账（${fmtTime(d._cachedAt)} 从服务器取得）。`));
  if (d.months) parts.push(h("h2", {}, "逐月"), table(d.months.map((r) => [r.month, r]), "月份"),
    h("h2", {}, "本月变动报告"), h("ul", {}, d.changes.map((c) => h("li", {}, `${c.date} ${KIND[c.kind]}（${c.sex === "1" ? "男" : "女"}）`))),
    h("h2", {}, "本月人工调整"), h("ul", {}, d.adjustments.map((a) => h("li", {}, `${d.indicators[a.indicator]} ${a.delta > 0 ? "+" : ""}${a.delta}：${a.reason}`))));
  else parts.push(table([...d.villages.map((v) => [v.village_code, v]), ["合计", d.total]], "村"));
  return parts;
}

// 本机未报告的变动草稿（关掉对话框时留下的）
async function draftsList(user) {
  const drafts = (await popDraftsOf(user.username).catch(() => [])).filter((x) => x.kind === "change");
  if (!drafts.length) return null;
  return h("section", { class: "card", id: "pop-change-drafts" }, h("h2", {}, "本机草稿（尚未报告）"),
    h("ul", { class: "list" }, drafts.map((x) => h("li", {}, h("span", { class: "title" }, x.title),
      h("span", { class: "muted" }, `保存于 ${fmtTime(x.savedAt)}`),
      h("a", { class: "btn", href: `#/population/ledger?draft=${encodeURIComponent(x.id)}` }, "继续填写")))));
}

async function report(user, draftId, done) {
  if (!available()) { toast("本机浏览器不支持加密存储，不能离线报告"); return; }
  const id = draftId || newKey();
  const items = (await outboxItems().catch(() => [])).filter((x) => x.draftId === id && x.state !== "done");
  const previous = items.filter((x) => x.state === "failed").pop() || null;
  if (items.some((x) => x.state !== "failed")) { toast("这份报告已在发件箱中等待发送"); return; }
  const draft = await getPopDraft(id).catch(() => null);
  const v = (draft && await open(user.username, draft.sealed)) || (previous && await payloadOf(previous)) ||
    { kind: "birth", date: "", person: { name: "", sex: "1", id_number: null } };
  const kind = h("select", { name: "kind" }, Object.entries(KIND).map(([k, t]) => h("option", { value: k, selected: v.kind === k }, t)));
  const date = h("input", { type: "date", name: "date", value: v.date || "" });
  const name = h("input", { maxlength: 40, name: "name", value: v.person.name || "" });
  const sex = h("select", { name: "sex" }, h("option", { value: "1", selected: v.person.sex === "1" }, "男"),
    h("option", { value: "2", selected: v.person.sex === "2" }, "女"));
  const idn = h("input", { maxlength: 18, autocomplete: "off", name: "id_number", value: v.person.id_number || "" });
  const collect = () => ({ kind: kind.value, date: date.value, person: { name: name.value.trim(), sex: sex.value,
    id_number: idn.value.replace(/\s/g, "").toUpperCase() || null } });
  let timer = null;
  const keep = async () => {
    clearTimeout(timer);
    const c = collect();
    try { await putPopDraft({ id, username: user.username, kind: "change", title: changeTitle(c), sealed: await seal(user.username, c) }); }
    catch { /* 本机存储不可用：照常在线报告 */ }
  };
  const reason = previous ? h("div", { class: "alert error", role: "alert", id: "pop-change-failed" },
    `上次报告${stateText(previous)}`, previous.problem && previous.problem.errors && previous.problem.errors.length
      ? h("ul", {}, previous.problem.errors.map((e) => h("li", {}, e.message))) : null) : null;
  const { dialog } = openDialog("报告人口变动", [reason, labeled("类别", kind), labeled("日期", date), labeled("姓名", name), labeled("性别", sex),
    labeled("公民身份号码（可不填）", idn), h("p", { class: "muted" }, "填写的内容加密保存在本机；没有网络时报告存入发件箱，联网后自动发送。")], {
    submitText: "报告",
    onSubmit: async () => {
      const c = collect();
      const item = await changeItem(user, { draftId: id, title: changeTitle(c), change: c });
      clearTimeout(timer);
      await enqueueItem(item, previous ? [previous.id] : []);
      await deletePopDraft(id).catch(() => {});
      if (!navigator.onLine) { toast("已存入本机发件箱，联网后自动报告"); done(); return; }
      try { await sendNow(item.id); } catch (err) {
        if (retryable(err)) { toast("网络不稳定，已存入发件箱，将自动重发"); done(); return; }
        await removeItem(item.id); // 当场被拒绝：原因显示在对话框里，内容仍在对话框中
        await keep();
        throw err;
      }
      toast("已报告"); done();
    } });
  dialog.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(keep, 300); });
  dialog.addEventListener("change", () => { clearTimeout(timer); timer = setTimeout(keep, 300); });
}

function adjust(d, month, done) {
  const ind = Object.entries(d.indicators);
  const which = h("select", {}, ind.map(([k, t]) => h("option", { value: k }, t)));
  const delta = h("input", { type: "number", value: 0 });
  const reason = h("textarea", { maxlength: 500 });
  openDialog("调整台账", [labeled("指标", which), labeled("调整数（可为负）", delta), labeled("调整原因（必填）", reason)], {
    onSubmit: async () => {
      await api(`${BASE}/ledger/adjustments`, { method: "POST", idempotencyKey: newKey(), body: { month, indicator: which.value, delta: Number(delta.value), reason: reason.value } });
      done();
    } });
}
