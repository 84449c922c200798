// 本县（本乡镇）统计工作机构与人员：管理办公室与乡镇统计工作办公室（编制、加挂部门），人员任用
// （岗位、用人方式、起止日期、平台账号）；登记表单。供 organisation.js 在县、乡镇统计员页面下方显示。
import { api, newKey } from "./api.js";
import { errorBox, h, labeled, setBusy, toast } from "./ui.js";

const BASE = "/api/v1/organisation";
const ROLES = [["county_office_staff", "管理办公室工作人员"], ["township_statistician", "乡镇统计员"],
  ["village_coordinator", "村级统计协管员"], ["grid_worker", "网格员"], ["enterprise_statistician", "企业统计人员"]];
const MODES = [["dispatched", "派驻"], ["full_time", "专职"], ["purchased_service", "购买服务"], ["part_time", "兼职"]];
const KINDS = [["county_management", "乡镇（街道）统计工作管理办公室"], ["township_office", "乡镇（街道）统计工作办公室"]];

function select(id, options) {
  return h("select", { id }, options.map(([v, t]) => h("option", { value: v }, t)));
}

export async function staffSection(user) {
  const offices = h("ul", { class: "list", id: "org-offices" });
  const people = h("tbody", {});
  const msg = h("div", { "aria-live": "polite" });
  async function load() {
    const [o, a] = await Promise.all([api(BASE + "/offices"), api(BASE + "/appointments")]);
    offices.replaceChildren(...o.items.map((x) => h("li", {},
      h("span", { class: "title" }, x.name), h("span", {}, `${x.division_name}　编制 ${x.establishment} 名`),
      x.host_department ? h("span", { class: "muted" }, `加挂：${x.host_department}`) : null)));
    people.replaceChildren(...a.items.map((x) => h("tr", {}, h("td", {}, x.person_name), h("td", {}, x.role_zh),
      h("td", {}, x.division_name), h("td", {}, x.staffing_mode_zh), h("td", {}, x.start_date),
      h("td", {}, x.in_establishment ? "是" : "否"))));
  }
  const f = {
    person: h("input", { id: "p-name", maxlength: 50 }), role: select("p-role", ROLES),
    division: h("input", { id: "p-division", inputmode: "numeric", maxlength: 12, value: user.division }),
    mode: select("p-mode", MODES), start: h("input", { id: "p-start", type: "date" }),
    account: h("input", { id: "p-account", maxlength: 50 }), unit: h("input", { id: "p-unit", maxlength: 200 }),
    est: h("input", { id: "p-est", type: "checkbox" }),
  };
  const add = h("button", { type: "button", class: "primary", id: "p-add", onclick: async () => {
    setBusy(add, true, "登记中…");
    try {
      await api(BASE + "/appointments", { method: "POST", idempotencyKey: newKey(), body: {
        person_name: f.person.value.trim(), role: f.role.value, division_code: f.division.value.trim(),
        staffing_mode: f.mode.value, start_date: f.start.value || null, in_establishment: f.est.checked,
        account_username: f.account.value.trim() || null, unit_name: f.unit.value.trim() || null } });
      msg.replaceChildren(); toast("已登记"); f.person.value = ""; await load();
    } catch (err) { msg.replaceChildren(errorBox(err)); } finally { setBusy(add, false); }
  } }, "登记人员");
  const o = { kind: select("o-kind", KINDS),
    division: h("input", { id: "o-division", inputmode: "numeric", maxlength: 12, value: user.division }),
    name: h("input", { id: "o-name", maxlength: 200 }), host: h("input", { id: "o-host", maxlength: 200 }),
    est: h("input", { id: "o-est", type: "number", min: 0, value: 0 }) };
  const addOffice = h("button", { type: "button", id: "o-add", onclick: async () => {
    setBusy(addOffice, true, "登记中…");
    try {
      await api(BASE + "/offices", { method: "POST", idempotencyKey: newKey(), body: {
        kind: o.kind.value, division_code: o.division.value.trim(), name: o.name.value.trim(),
        host_department: o.host.value.trim() || null, establishment: Number(o.est.value) } });
      msg.replaceChildren(); toast("机构已登记"); await load();
    } catch (err) { msg.replaceChildren(errorBox(err)); } finally { setBusy(addOffice, false); }
  } }, "登记机构");
  await load().catch((err) => msg.replaceChildren(errorBox(err)));
  return h("section", { id: "org-staff" }, h("h2", {}, "统计工作机构与人员"), offices,
    h("details", {}, h("summary", {}, "登记机构"), h("div", { class: "grid" },
      labeled("机构类别", o.kind), labeled("区划代码", o.division), labeled("机构名称", o.name),
      labeled("加挂部门（乡镇）", o.host), labeled("编制数", o.est)), addOffice),
    h("div", { class: "table-wrap" }, h("table", { id: "org-people" }, h("thead", {}, h("tr", {},
      ["姓名", "岗位", "任职区划", "用人方式", "起始日期", "占编"].map((t) => h("th", { scope: "col" }, t)))), people)),
    h("details", { open: true }, h("summary", {}, "登记人员"), h("div", { class: "grid" },
      labeled("姓名", f.person), labeled("岗位", f.role), labeled("任职区划代码", f.division),
      labeled("用人方式", f.mode), labeled("任职起始日期", f.start), labeled("平台账号（如有）", f.account),
      labeled("联网直报单位（企业统计人员）", f.unit), labeled("占用管理办公室编制", f.est)), add),
    msg);
}
