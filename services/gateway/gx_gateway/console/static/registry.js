// 基本单位名录库（附件2）：按角色分栏——部门资料导入、人工判定、任务底册、实地调查（基本单位情况表）、
// 定期确认、名录库查询与导出。各栏在 registry_*.js 中，由 #/registry?tab=… 选择。
import { h, mount } from "./ui.js";

export const BASE = "/api/v1/registry";
const STAT = ["region_statistician", "city_statistician", "county_statistician", "township_statistician"];
const TABS = [
  ["imports", "部门资料导入", (r) => ["region_statistician", "city_statistician", "county_statistician"].includes(r), () => import("./registry_import.js")],
  ["reviews", "人工判定", (r) => ["region_statistician", "city_statistician", "county_statistician"].includes(r), () => import("./registry_review.js")],
  ["tasks", "任务底册", (r) => STAT.includes(r) || r === "village_coordinator" || r === "grid_worker", () => import("./registry_tasks.js")],
  ["survey", "基本单位情况表", (r) => r === "village_coordinator" || r === "grid_worker", () => import("./registry_survey.js")],
  ["rounds", "定期确认", () => true, () => import("./registry_rounds.js")],
  ["units", "名录库", (r) => r !== "grid_worker", () => import("./registry_units.js")],
];

export function q(params) {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") s.set(k, v);
  const t = s.toString();
  return t ? "?" + t : "";
}

export function cell(v) { return v === null || v === undefined || v === "" ? "—" : String(v); }

export async function render(ctx) {
  const mine = TABS.filter(([, , may]) => may(ctx.user.role));
  const tab = mine.find(([k]) => k === ctx.query.get("tab")) || mine[0];
  const nav = h("nav", { class: "filters", "aria-label": "名录库栏目" }, mine.map(([k, text]) =>
    h("a", { class: "btn", href: `#/registry?tab=${k}`, "aria-current": k === tab[0] ? "page" : null }, text)));
  const body = h("section", { id: "registry-" + tab[0] });
  mount(h("h1", {}, "基本单位名录库"), nav, body);
  const mod = await tab[3]();
  return mod.render({ ...ctx, body });
}
