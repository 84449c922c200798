// 人口信息指标台账：村按月（由变动报告与有原因的人工调整得出），乡镇、县为各村汇总；
// 网格员报告变动，村级统计协管员调整台账。
import { api, newKey } from "./api.js";
import { errorBox, h, labeled, mount, openDialog, toast } from "./ui.js";
import { BASE, links } from "./population.js";

const KIND = { birth: "出生", death: "死亡", move_in: "迁入", move_out: "迁出" };

export async function render({ user, query }) {
  const month = query.get("month") || new Date().toISOString().slice(0, 7);
  const division = query.get("division") || "";
  const status = h("p", { class: "muted" }, "正在加载…");
  mount(h("h1", {}, "人口信息指标台账"), links(user), status);
  let d;
  try { d = await api(`${BASE}/ledger?month=${month}${division ? "&division=" + division : ""}`); }
  catch (err) { status.replaceWith(errorBox(err)); return; }
  const ind = Object.entries(d.indicators);
  const picker = h("input", { type: "month", value: month, onchange: (e) => { location.hash = `#/population/ledger?month=${e.target.value}`; } });
  const table = (rows, first) => h("div", { class: "table-wrap" }, h("table", { class: "pop-ledger" },
    h("thead", {}, h("tr", {}, h("th", {}, first), ind.map(([, t]) => h("th", {}, t)))),
    h("tbody", {}, rows.map(([label, r]) => h("tr", {}, h("td", {}, label), ind.map(([k]) => h("td", { class: "num" }, String(r[k] ?? 0))))))));
  const parts = [h("h1", {}, `人口信息指标台账（${month}）`), links(user), labeled("月份", picker)];
  if (d.months) parts.push(h("h2", {}, "逐月"), table(d.months.map((r) => [r.month, r]), "月份"),
    h("h2", {}, "本月变动报告"), h("ul", {}, d.changes.map((c) => h("li", {}, `${c.date} ${KIND[c.kind]}（${c.sex === "1" ? "男" : "女"}）`))),
    h("h2", {}, "本月人工调整"), h("ul", {}, d.adjustments.map((a) => h("li", {}, `${d.indicators[a.indicator]} ${a.delta > 0 ? "+" : ""}${a.delta}：${a.reason}`))));
  else parts.push(table([...d.villages.map((v) => [v.village_code, v]), ["合计", d.total]], "村"));
  const acts = h("div", { class: "actions" });
  if (user.role === "grid_worker") acts.append(h("button", { type: "button", onclick: report }, "报告人口变动"));
  if (user.role === "village_coordinator") acts.append(h("button", { type: "button", onclick: adjust }, "调整台账"));
  parts.push(acts);
  mount(...parts);

  function report() {
    const kind = h("select", {}, Object.entries(KIND).map(([k, t]) => h("option", { value: k }, t)));
    const date = h("input", { type: "date" });
    const name = h("input", { maxlength: 40 });
    const sex = h("select", {}, h("option", { value: "1" }, "男"), h("option", { value: "2" }, "女"));
    const idn = h("input", { maxlength: 18, autocomplete: "off" });
    openDialog("报告人口变动", [labeled("类别", kind), labeled("日期", date), labeled("姓名", name), labeled("性别", sex), labeled("公民身份号码（可不填）", idn)], {
      onSubmit: async () => {
        await api(`${BASE}/ledger/changes`, { method: "POST", idempotencyKey: newKey(), body: { kind: kind.value, date: date.value,
          person: { name: name.value, sex: sex.value, id_number: idn.value || null } } });
        toast("已报告"); render({ user, query });
      } });
  }
  function adjust() {
    const which = h("select", {}, ind.map(([k, t]) => h("option", { value: k }, t)));
    const delta = h("input", { type: "number", value: 0 });
    const reason = h("textarea", { maxlength: 500 });
    openDialog("调整台账", [labeled("指标", which), labeled("调整数（可为负）", delta), labeled("调整原因（必填）", reason)], {
      onSubmit: async () => {
        await api(`${BASE}/ledger/adjustments`, { method: "POST", idempotencyKey: newKey(), body: { month, indicator: which.value, delta: Number(delta.value), reason: reason.value } });
        render({ user, query });
      } });
  }
}
