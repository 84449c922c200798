// 人口变动调查（附件4）：调查小区、调查员资格、住户登记与回读、台账、复查、事后质量抽查、访问审计。
// 入口 #/population/…：本模块按第一个参数分发到 population_*.js 的各页面。
import { api } from "./api.js";
import { errorBox, h, mount } from "./ui.js";

export const BASE = "/api/v1/population";
export const YEAR = 2026;
const VIEWS = {
  area: () => import("./population_area.js"),
  register: () => import("./population_register.js"),
  household: () => import("./population_household.js"),
  exam: () => import("./population_exam.js"),
  ledger: () => import("./population_ledger.js"),
  pes: () => import("./population_pes.js"),
  audit: () => import("./population_pes.js"),
};

export function links(user) {
  const items = [["#/population", "调查小区"], ["#/population/ledger", "人口台账"]];
  if (user.role === "grid_worker" || user.role === "region_statistician") items.push(["#/population/exam", "调查员考试"]);
  if (user.role === "region_statistician") items.push(["#/population/pes", "事后质量抽查"], ["#/population/audit", "个人信息访问记录"]);
  return h("nav", { class: "actions", "aria-label": "人口变动调查" }, items.map(([href, t]) => h("a", { class: "btn", href }, t)));
}

export async function render(ctx) {
  const [view, ...rest] = ctx.args;
  if (VIEWS[view]) return (await VIEWS[view]()).render({ ...ctx, view, args: rest });
  const status = h("p", { class: "muted", "aria-live": "polite" }, "正在加载…");
  mount(h("h1", {}, `${YEAR}年人口变动情况抽样调查`), links(ctx.user), status);
  let areas;
  try {
    areas = await api(`${BASE}/areas?survey_year=${YEAR}`);
  } catch (err) { status.replaceWith(errorBox(err)); return; }
  const rows = areas.items.map((a) => h("tr", {},
    h("td", {}, h("a", { href: `#/population/area/${a.area_id}` }, a.name)),
    h("td", {}, a.area_code), h("td", {}, a.verified ? (a.corrected ? "已核实（有更正）" : "已核实") : "待核实"),
    h("td", {}, a.enumerators.length ? a.enumerators.join("、") : "未分配"),
    h("td", { class: "num" }, String(a.households)), h("td", { class: "num" }, String(a.roster_households))));
  status.replaceWith(areas.items.length ? h("div", { class: "table-wrap" }, h("table", { id: "pop-areas" },
    h("thead", {}, h("tr", {}, ["调查小区", "代码", "核实", "调查员", "已登记户", "底册户数"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows))) : h("p", {}, "本辖区本年度尚无调查小区（每年8月由自治区统计局下发）。"));
}
