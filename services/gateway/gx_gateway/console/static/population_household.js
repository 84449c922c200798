// 住户：按最小必要原则显示（身份证号默认遮盖，查看完整号码须选原因并记入审计）；
// 村级复核（通过报乡镇审核或退回调查员）；自治区依法删除个人信息。
import { api, newKey } from "./api.js";
import { errorBox, fmtTime, h, labeled, mount, openDialog, toast } from "./ui.js";
import { BASE, links } from "./population.js";

const REVEAL = { V01: "核实公民身份号码", V02: "复查核实（与行政记录比对）", V03: "事后质量抽查比对", V99: "其他统计工作需要" };
const ERASE = { E01: "本人依法申请删除个人信息", E02: "重复登记", E03: "不属于本次调查对象", E04: "调查目的已实现（保存期限届满）", E99: "其他依法应当删除的情形" };
const LABELS = { name: "姓名", relationship: "与户主关系", sex: "性别", birth_year_month: "出生年月", ethnicity: "民族",
  id_number: "公民身份号码", age_band: "年龄组", education: "受教育程度", registration_place: "户口登记地" };

const RESPONDENT = { head: "户主本人", member: "本户其他成员", other: "其他知情人" };

// 回读确认记录：被调查人确认的时间（手机记录；离线时早于交表）与服务器收到的时间
function readbackNote(hh) {
  const rb = hh.read_back_current ? hh.readback : null;
  if (!rb || !rb.confirmed_at) return null;
  const got = rb.received_at && rb.received_at !== rb.confirmed_at ? `，服务器收到：${fmtTime(rb.received_at)}` : "";
  return h("p", { class: "muted", id: "pop-readback-record" }, `回读确认：${RESPONDENT[rb.respondent] || rb.respondent || ""}`
    + `于 ${fmtTime(rb.confirmed_at)} 确认${got}${rb.readback_digest ? "；回读内容摘要已核对" : ""}`);
}

// 代码字段显示表式代码表中的文字（代码见提示）：用该户登记时的表式版本；取不到表式时仍显示代码
async function codeWords(version) {
  let form = null;
  try { form = await api(`${BASE}/forms/${encodeURIComponent(version || "current")}`); } catch { form = null; }
  const lists = {};
  for (const f of form?.person || []) if (f.type === "code" && form.codes?.[f.codes]) lists[f.code] = form.codes[f.codes];
  return (field, v) => (v === null || v === undefined ? null : lists[field]?.[v] ?? null);
}

function choose(codes) { return h("select", {}, Object.entries(codes).map(([k, t]) => h("option", { value: k }, `${k} ${t}`))); }

export async function render({ user, args }) {
  const id = args[0];
  const status = h("p", { class: "muted" }, "正在加载…");
  mount(h("h1", {}, "住户"), links(user), status);
  let hh;
  try { hh = await api(`${BASE}/households/${id}`); } catch (err) { status.replaceWith(errorBox(err)); return; }
  const reload = () => render({ user, args });
  const full = hh.view === "full";
  const cols = full ? ["name", "relationship", "sex", "birth_year_month", "ethnicity", "id_number"] : ["sex", "age_band", "relationship", "ethnicity"];
  const word = await codeWords(hh.form_version);
  const cell = (p, c) => {
    if (p.erased && c === "name") return h("td", {}, "（已依法删除）");
    const v = p[c], w = word(c, v);
    return w ? h("td", { title: `代码 ${v}` }, w) : h("td", {}, v ?? "—");
  };
  const rows = hh.persons.map((p) => h("tr", {}, cols.map((c) => cell(p, c)),
    full && !p.erased ? h("td", {}, h("button", { type: "button", onclick: () => reveal(p) }, "查看完整号码")) : h("td", {}),
    user.role === "region_statistician" && !p.erased ? h("td", {}, h("button", { type: "button", class: "danger", onclick: () => erase(p) }, "删除个人信息")) : null));
  const parts = [h("h1", {}, `第${hh.household_no}户（${hh.area_code}）`), links(user),
    h("p", {}, h("span", { class: "tag" }, hh.status_zh), ` 共${hh.person_count}人`, hh.read_back_current ? "；已回读确认" : "；未回读确认",
      hh.return_reason ? `；退回原因：${hh.return_reason}` : ""),
    readbackNote(hh),
    full ? null : h("p", { class: "muted" }, "您当前只能查看汇总信息（案卷在本级审核时可查看个人信息）。"),
    h("div", { class: "table-wrap" }, h("table", { id: "pop-persons-table" }, h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, LABELS[c] || c)),
      full ? h("th", {}, h("span", { class: "sr-only" }, "操作")) : h("th", {}),
      user.role === "region_statistician" ? h("th", {}, h("span", { class: "sr-only" }, "删除")) : null)), h("tbody", {}, rows)))];
  const acts = h("div", { class: "actions" });
  if (user.role === "grid_worker" && full && (hh.status === "draft" || hh.status === "returned") && hh.stage !== "handed_in") {
    acts.append(h("a", { class: "btn", href: `#/population/register/${hh.area_id}/${hh.household_id}` }, "修改并回读"));
  }
  if (user.role === "village_coordinator" && hh.stage === "handed_in") {
    acts.append(h("button", { type: "button", class: "primary", onclick: () => recheck("pass") }, "复核通过，报乡镇"),
      h("button", { type: "button", onclick: () => recheck("return") }, "退回调查员"));
  }
  if (user.role === "region_statistician") acts.append(h("button", { type: "button", class: "danger", onclick: () => erase(null) }, "删除全户个人信息"));
  parts.push(acts);
  mount(...parts);

  function reveal(p) {
    const why = choose(REVEAL);
    openDialog("查看完整公民身份号码", [labeled("查看原因（将记入访问审计）", why)], { onSubmit: async () => {
      const r = await api(`${BASE}/households/${id}/persons/${p.person_id}/reveal`, { method: "POST", body: { reason_code: why.value } });
      toast(`公民身份号码：${r.id_number}`);
    } });
  }
  function recheck(decision) {
    const reason = h("textarea", { maxlength: 500 });
    openDialog(decision === "pass" ? "村级复核通过" : "退回调查员", decision === "pass" ? h("p", {}, "确认复核无误，报乡镇审核？") : labeled("退回原因", reason), {
      onSubmit: async () => {
        await api(`${BASE}/households/${id}/recheck`, { method: "POST", idempotencyKey: newKey(),
          body: { expected_version: hh.version, decision, reason: decision === "return" ? reason.value : null } });
        reload();
      } });
  }
  function erase(p) {
    const why = choose(ERASE);
    openDialog(p ? "依法删除个人信息" : "依法删除全户个人信息", [h("p", {}, "删除后数据密钥销毁，个人信息永久无法恢复；人数等汇总保留。"), labeled("删除原因", why)], {
      submitText: "删除", submitClass: "danger", onSubmit: async () => {
        await api(p ? `${BASE}/households/${id}/persons/${p.person_id}/erase` : `${BASE}/households/${id}/erase`,
          { method: "POST", idempotencyKey: newKey(), body: { reason_code: why.value } });
        reload();
      } });
  }
}
