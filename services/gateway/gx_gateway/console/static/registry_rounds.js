// 定期确认：上级开始一轮确认；村级统计协管员逐个确认本村单位（确认无误、有变更→填基本单位情况表、差错、迁出）；
// 各级实时看到本级以下的确认进度（服务器推送，断开时改为轮询）。
import { api, newKey, stream } from "./api.js";
import { errorBox, h, labeled, openDialog, toast } from "./ui.js";
import { BASE } from "./registry.js";

const OUTCOMES = [["confirmed", "确认无误"], ["changed", "有变更"], ["erroneous", "差错"], ["moved_out", "迁出"]];

export async function render({ user, body, query }) {
  const d = await api(BASE + "/rounds");
  const rid = query.get("round") || (d.items[0] && d.items[0].round_id);
  const pick = h("select", { id: "round-pick" }, d.items.map((r) => h("option", { value: r.round_id, selected: r.round_id === rid }, `${r.period} ${r.title}`)));
  pick.addEventListener("change", () => { location.hash = `#/registry?tab=rounds&round=${pick.value}`; });
  const openBtn = user.role.endsWith("statistician") ? h("button", { type: "button", onclick: () => openRound(user) }, "开始新一轮确认") : null;
  const view = h("div", {});
  body.replaceChildren(h("div", { class: "filters" }, d.items.length ? labeled("确认轮次", pick) : h("p", {}, "还没有确认轮次"), openBtn), view);
  if (!rid) return;
  if (user.role === "village_coordinator") return villageList(view, rid);
  return liveProgress(view, rid);
}

function openRound(user) {
  const period = h("input", { placeholder: "如 2026-Q2", maxlength: 10, required: true });
  const title = h("input", { maxlength: 200, required: true, value: "定期确认" });
  openDialog("开始定期确认", h("div", {}, labeled("期别", period), labeled("标题", title)), { onSubmit: async () => {
    const r = await api(BASE + "/rounds", { method: "POST", idempotencyKey: newKey(),
      body: { period: period.value, scope_division: user.division, title: title.value } });
    location.hash = `#/registry?tab=rounds&round=${r.round_id}`;
  } });
}

async function villageList(view, rid) {
  const d = await api(`${BASE}/rounds/${rid}/units`);
  view.replaceChildren(h("ul", { class: "list", id: "confirm-list" }, d.items.map((u) => {
    const tag = h("span", { class: "tag" }, u.outcome_zh);
    const gone = u.outcome === "moved_out";  // moved out in this round: no longer the village's
    const buttons = gone ? [] : OUTCOMES.map(([k, text]) => h("button", { type: "button", "data-outcome": k,
      onclick: () => (k === "erroneous" || k === "moved_out") ? explainDialog(rid, u, k, text, tag, view)
        : send(rid, { unit_id: u.unit_id, outcome: k, note: "" }, newKey()).then((r) => {
          tag.textContent = text;
          if (r.form_id) location.hash = `#/registry?tab=survey&form=${r.form_id}`;
        }).catch((err) => toast(err.message)) }, text));
    return h("li", { "data-unit": u.unit_id }, h("span", { class: "title" }, u.name), h("span", { class: "muted" }, u.address || ""), tag, ...buttons);
  })), h("a", { class: "btn", id: "found-unit", href: "#/registry?tab=survey" }, "登记实地发现的新单位"));
}

function send(rid, body, key) {
  return api(`${BASE}/rounds/${rid}/confirm`, { method: "POST", idempotencyKey: key, body });
}

// 差错、迁出须说明原因；迁出还须填迁入区划（单位实际所在地，12位代码），任务落入该县的任务底册。
function explainDialog(rid, u, outcome, text, tag, view) {
  let key = null, last = null;  // a retried submit of the same answer keeps its key
  const note = h("textarea", { name: "note", maxlength: 500, required: true, rows: 3,
    placeholder: outcome === "erroneous" ? "如：查无此单位、重复登记、已注销" : "如：2026年8月迁至某区某街道" });
  const to = outcome === "moved_out" ? h("input", { name: "to_division", inputmode: "numeric", maxlength: 12,
    pattern: "[0-9]{12}", required: true, placeholder: "12位区划代码" }) : null;
  openDialog(`${text}：${u.name}`, h("div", {}, labeled("原因", note), to ? labeled("迁入区划代码", to) : null), {
    onSubmit: async () => {
      const body = { unit_id: u.unit_id, outcome, note: note.value };
      if (to) body.to_division = to.value.trim();
      if (JSON.stringify(body) !== last) { key = newKey(); last = JSON.stringify(body); }
      const r = await send(rid, body, key);
      tag.textContent = text;
      toast(r.holder_code ? `已${text}，转入 ${r.holder_code} 的任务底册` : `已${text}`);
      if (outcome === "moved_out") villageList(view, rid);
    } });
}

function table(p) {
  return h("table", { id: "round-progress" },
    h("thead", {}, h("tr", {}, ["区划", "单位数", "已确认", "确认无误", "有变更", "差错", "迁出", "完成率"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, p.items.map((i) => h("tr", {}, h("td", {}, i.name), h("td", {}, i.units), h("td", {}, i.done), h("td", {}, i.confirmed),
      h("td", {}, i.changed), h("td", {}, i.erroneous), h("td", {}, i.moved_out), h("td", {}, i.units ? `${Math.round(i.done / i.units * 100)}%` : "—")))));
}

function liveProgress(view, rid) {
  const head = h("p", { class: "live", "aria-live": "polite" }, "正在连接…");
  const wrap = h("div", { class: "table-wrap" });
  view.replaceChildren(head, wrap);
  const ctl = new AbortController();
  const draw = (p) => { head.textContent = `共 ${p.units} 个单位，已确认 ${p.done}（${Math.round(p.rate * 100)}%）`; wrap.replaceChildren(table(p)); };
  let timer = null;
  const poll = async () => { try { draw(await api(`${BASE}/rounds/${rid}/progress`)); } catch (e) { wrap.replaceChildren(errorBox(e)); } timer = setTimeout(poll, 5000); };
  stream(`${BASE}/rounds/${rid}/progress/stream`, { signal: ctl.signal, onMessage: (ev, data) => { if (ev === "progress") draw(JSON.parse(data)); } })
    .catch((e) => { if (e.name !== "AbortError") poll(); });
  return () => { ctl.abort(); clearTimeout(timer); };
}
