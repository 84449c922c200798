// 事后质量抽查（自治区）：抽样（记录随机种子）、结果表（漏登率、错误登记率、双系统估计，附公式）、
// 图与 PDF；以及个人信息访问审计记录（谁、何时、为何、从哪台设备读取了哪户的个人信息）。
import { api, authedFetch, download, newKey } from "./api.js";
import { errorBox, fmtTime, h, labeled, mount, openDialog, ROLE } from "./ui.js";
import { BASE, YEAR, links } from "./population.js";

const pct = (v) => (v === null || v === undefined ? "—" : `${(100 * v).toFixed(2)}%`);

export async function render(ctx) {
  if (ctx.view === "audit") return audit(ctx);
  const { user, query } = ctx;
  const sid = query.get("sample");
  const parts = [h("h1", {}, "事后质量抽查"), links(user),
    h("button", { type: "button", class: "primary", onclick: draw }, "抽取样本")];
  if (sid) {
    try {
      const r = await api(`${BASE}/pes/samples/${sid}/results`);
      // a drawn area not matched yet has no figures (null) and a note: shown as — with the note
      const num = (v) => (v === null || v === undefined ? "—" : String(v));
      const row = (a, label) => h("tr", {}, h("td", { title: a.note || null }, label || a.area_code, a.note ? h("span", { class: "muted" }, "（尚未比对）") : ""), ["C", "P", "M", "II", "CE"].map((k) => h("td", { class: "num" }, num(a[k]))),
        h("td", {}, pct(a.omission_rate)), h("td", {}, pct(a.erroneous_inclusion_rate)), h("td", { class: "num" }, a.dse === null || a.dse === undefined ? "—" : a.dse.toFixed(1)), h("td", {}, pct(a.net_coverage_error)));
      const res = await authedFetch(`${BASE}/pes/samples/${sid}/chart.svg`);
      const chart = h("div", { class: "chart" });
      if (res.ok) chart.innerHTML = (await res.text()).replace(/<\?xml[^>]*>/, "").replace(/<!DOCTYPE[^>]*>/, "");
      else chart.append(h("p", { class: "alert warn" }, `图暂时无法生成（${res.status}），结果表与 PDF 不受影响`));
      parts.push(h("p", {}, `随机种子 ${r.seed}；抽样框 ${r.frame_size} 个小区，抽取 ${r.area_codes.length} 个`),
        h("div", { class: "table-wrap" }, h("table", { id: "pop-pes" }, h("thead", {}, h("tr", {}, ["调查小区", "C", "P", "M", "II", "CE", "漏登率", "错误登记率", "DSE", "净覆盖误差"].map((t) => h("th", {}, t)))),
          h("tbody", {}, r.areas.map((a) => row(a)), row(r.overall, "合计")))),
        (r.unmatched || []).length ? h("p", { class: "muted" }, `尚未比对（不计入合计）：${r.unmatched.join("、")}`) : "",
        chart, h("ul", {}, Object.values(r.formulas).map((f) => h("li", {}, f))),
        h("button", { type: "button", onclick: () => download(`${BASE}/pes/samples/${sid}/results.pdf`, "事后质量抽查结果.pdf") }, "下载 PDF"));
    } catch (err) { parts.push(errorBox(err)); }
  }
  mount(...parts);

  function draw() {
    const size = h("input", { type: "number", min: 1, value: 2 });
    const seed = h("input", { maxlength: 64, placeholder: "不填则随机生成并记录" });
    openDialog("抽取事后质量抽查样本", [labeled("抽取小区数", size), labeled("随机种子", seed)], { onSubmit: async () => {
      const r = await api(`${BASE}/pes/samples`, { method: "POST", idempotencyKey: newKey(), body: { survey_year: YEAR, size: Number(size.value), seed: seed.value || null } });
      location.hash = `#/population/pes?sample=${r.sample_id}`;
    } });
  }
}

async function audit({ user }) {
  const status = h("p", { class: "muted" }, "正在加载…");
  mount(h("h1", {}, "个人信息访问记录"), links(user), status);
  try {
    const r = await api(`${BASE}/access-log?limit=500`);
    const what = { view: "查看个人表", reveal_id_number: "查看完整身份证号", view_roster: "查看户主姓名底册" };
    status.replaceWith(h("div", { class: "table-wrap" }, h("table", { id: "pop-audit" },
      h("thead", {}, h("tr", {}, ["时间", "访问人", "角色", "区划", "设备", "操作", "原因", "人数"].map((t) => h("th", {}, t)))),
      h("tbody", {}, r.items.map((i) => h("tr", {}, h("td", {}, fmtTime(i.at)), h("td", {}, i.reader_name || "—"), h("td", {}, ROLE[i.reader_role] || "—"),
        h("td", {}, i.reader_division), h("td", {}, i.device || "—"), h("td", {}, what[i.purpose] || "—"), h("td", {}, i.reason_code || "—"),
        h("td", { class: "num" }, String(i.person_ids.length))))))));
  } catch (err) { status.replaceWith(errorBox(err)); }
}
