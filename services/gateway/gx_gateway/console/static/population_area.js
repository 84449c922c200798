// 调查小区：核实（边界、建筑物清单、名称、城乡属性）及更正的逐级审批、小区图、分配调查员、户主姓名底册与复议、住户清单、复查。
import { ApiError, api, authedFetch, newKey } from "./api.js";
import { errorBox, h, labeled, mount, openDialog, toast } from "./ui.js";
import { BASE, YEAR, links } from "./population.js";

const input = (attrs) => h("input", attrs);

export async function render({ user, args }) {
  const id = args[0];
  const status = h("p", { class: "muted" }, "正在加载…");
  mount(h("h1", {}, "调查小区"), links(user), status);
  let area, households, roster, recheck;
  try {
    const all = await api(`${BASE}/areas?survey_year=${YEAR}`);
    area = all.items.find((a) => a.area_id === id);
    if (!area) throw new Error("调查小区不存在或不在您的管辖范围内");
    [households, roster, recheck] = await Promise.all([
      api(`${BASE}/households?area_id=${id}`), api(`${BASE}/areas/${id}/roster`),
      api(`${BASE}/areas/${id}/recheck`)]);
  } catch (err) { status.replaceWith(errorBox(err)); return; }
  const coordinator = user.role === "village_coordinator";
  const reload = () => render({ user, args });
  const cur = area.current || { name: area.name, area_code: area.area_code, urban_rural_code: area.urban_rural_code,
    boundary: area.boundary, buildings: area.buildings || [] };
  const parts = [h("h1", {}, cur.name), links(user),
    h("p", {}, `代码 ${cur.area_code}；城乡分类 ${cur.urban_rural_code}；`,
      area.verified ? `已核实：${cur.boundary}` : "尚未核实"),
    cur.buildings && cur.buildings.length ? h("ol", { id: "pop-buildings" }, cur.buildings.map((b) => h("li", {}, b))) : null,
    correctionBox(area.correction)];
  const actions = h("div", { class: "actions" });
  if (coordinator) {
    const underReview = area.correction && ["submitted", "accepted"].includes(area.correction.status);
    actions.append(area.verified
      ? h("button", { type: "button", id: "pop-correct", disabled: underReview, onclick: () => correct(area, cur, reload) }, "更正（报审批）")
      : h("button", { type: "button", onclick: () => verify(area, reload) }, "核实小区"),
      h("button", { type: "button", onclick: () => assign(area, reload) }, "分配调查员"));
  }
  if (user.role === "grid_worker") actions.append(h("a", { class: "btn primary", href: `#/population/register/${id}` }, "登记新住户"));
  parts.push(actions, mapSection(area, coordinator, reload));
  parts.push(h("h2", {}, "住户"), h("ul", { class: "list", id: "pop-households" }, households.items.map((hh) =>
    h("li", {}, h("a", { href: `#/population/household/${hh.household_id}` }, `第${hh.household_no}户`),
      h("span", { class: "tag" }, hh.status_zh), ` ${hh.person_count}人`))));
  parts.push(h("h2", {}, "户主姓名底册"), h("p", {}, `共${roster.households}户，${roster.persons}人`),
    h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, ["建筑物", "住房", "户主", "人数", "户别"].map((t) => h("th", {}, t)))),
      h("tbody", {}, roster.entries.map((e) => h("tr", {}, h("td", {}, e.building_no), h("td", {}, e.dwelling_no),
        h("td", {}, e.head_name || "（仅限本村查看）"), h("td", {}, String(e.household_size)), h("td", {}, e.household_type === "1" ? "家庭户" : "集体户")))))),
    roster.reviews.map((r) => h("p", { class: "muted" }, `复议 ${r.held_on}：${r.participants.join("、")}参加；增补${r.added.length}户，删除${r.removed.length}户（${r.removed.map((x) => x.reason).join("；")}）${r.note ? "；" + r.note : ""}`)));
  if (coordinator) parts.push(h("div", { class: "actions" }, h("button", { type: "button", onclick: () => addRoster(area, roster, reload) }, "增加底册行"),
    h("button", { type: "button", onclick: () => review(area, roster, reload) }, "记录复议")));
  parts.push(h("h2", {}, "复查（与行政记录比对）"), h("p", {}, `登记：${recheck.registered.households}户、${recheck.registered.persons}人、出生${recheck.registered.births}、死亡${recheck.registered.deaths}；`,
    recheck.administrative ? `行政记录（${recheck.administrative.source}）：${recheck.administrative.households}户、${recheck.administrative.persons}人` : "尚未录入行政记录数"),
  h("ul", { id: "pop-discrepancies" }, recheck.discrepancies.map((d) => h("li", {}, `${d.label}：登记${d.registered}，行政记录${d.administrative}，差${d.difference}`,
    d.explanation ? `（说明：${d.explanation}）` : coordinator ? h("button", { type: "button", onclick: () => explain(area, d, reload) }, "说明") : "（待说明）"))));
  if (coordinator) parts.push(h("button", { type: "button", onclick: () => adminFigures(area, reload) }, "录入行政记录数"));
  mount(...parts);
}

function send(method, path, body) { return api(path, { method, body, idempotencyKey: newKey() }); }

function verify(area, done) {
  const boundary = h("textarea", { maxlength: 1000 }, area.boundary || "");
  const buildings = h("textarea", { maxlength: 20000 }, (area.buildings || []).join("\n"));
  const name = input({ maxlength: 100, value: area.verified_name || area.name });
  const urc = input({ maxlength: 3, value: area.verified_urban_rural_code || area.urban_rural_code });
  openDialog("核实调查小区", [labeled("边界描述", boundary), labeled("建筑物清单（每行一栋：编号 名称）", buildings),
    labeled("小区名称", name), labeled("城乡分类代码", urc)], { onSubmit: async () => {
    await send("POST", `${BASE}/areas/${area.area_id}/verification`, { boundary: boundary.value,
      buildings: buildings.value.split("\n").map((s) => s.trim()).filter(Boolean), name: name.value, urban_rural_code: urc.value });
    toast("已核实"); done();
  } });
}

function correctionBox(c) {
  if (!c) return null;
  const box = h("div", { class: "card", id: "pop-correction" }, h("h2", {}, "核实更正"),
    h("p", {}, h("span", { class: "tag" }, c.status_zh), ` 更正项目：${c.changed_zh.join("、")}`,
      c.state && c.state.review_level ? `；当前审批层级：${LEVEL_ZH[c.state.review_level] || c.state.review_level}` : ""));
  if (c.proposal) box.append(h("p", { class: "muted" }, `报批内容：${c.proposal.name}（${c.proposal.area_code}，城乡分类 ${c.proposal.urban_rural_code}）；`
    + `建筑物${c.proposal.buildings.length}栋；边界：${c.proposal.boundary}`));
  if (c.status === "returned") box.append(h("p", { class: "error", id: "pop-correction-return" }, `退回原因：${c.return_reason || ""}`,
    ...Object.entries(c.field_notes || {}).map(([k, v]) => h("span", {}, `；${FIELD_ZH[k] || k}：${v}`))));
  box.append(h("ol", { class: "muted" }, (c.history || []).map((e) => h("li", {},
    `${(e.at || "").slice(0, 16).replace("T", " ")} ${EVENT_ZH[e.type] || e.type}${e.by ? "（" + e.by + "）" : ""}${e.reason ? "：" + e.reason : ""}`))));
  return box;
}

const LEVEL_ZH = { township: "乡镇", county: "县", city: "市", region: "自治区" };
const FIELD_ZH = { boundary: "边界描述", buildings: "建筑物清单", name: "小区名称", area_code: "小区代码", urban_rural_code: "城乡属性" };
const EVENT_ZH = { "population.area_correction.submitted": "上报审批", "population.area_correction.review_followed": "审批流转",
  "population.area_correction.returned": "退回修改", "population.area_correction.accepted": "审批通过" };

function correct(area, cur, done) {
  const c = area.correction && area.correction.status === "returned" ? area.correction.proposal : cur;
  const boundary = h("textarea", { maxlength: 1000 }, c.boundary || "");
  const buildings = h("textarea", { maxlength: 20000 }, (c.buildings || []).join("\n"));
  const name = input({ maxlength: 100, value: c.name });
  const code = input({ maxlength: 15, value: c.area_code, inputmode: "numeric" });
  const urc = input({ maxlength: 3, value: c.urban_rural_code });
  openDialog("更正调查小区（报乡镇、县审批）", [labeled("边界描述", boundary), labeled("建筑物清单（每行一栋：编号 名称）", buildings),
    labeled("小区名称", name), labeled("小区代码（15位）", code), labeled("城乡分类代码", urc),
    h("p", { class: "muted" }, "更正经逐级审批通过后才生效。")], { onSubmit: async () => {
    await send("POST", `${BASE}/areas/${area.area_id}/corrections`, { boundary: boundary.value,
      buildings: buildings.value.split("\n").map((s) => s.trim()).filter(Boolean), name: name.value,
      area_code: code.value.trim(), urban_rural_code: urc.value, expected_version: area.version });
    toast("已上报审批"); done();
  } });
}

function mapSection(area, coordinator, done) {
  const box = h("div", { id: "pop-map-box" }, h("h2", {}, "小区图"));
  if (area.map) {
    const img = h("img", { id: "pop-map", alt: "小区图", style: "max-width:100%;border:1px solid #ccc" });
    authedFetch(`${BASE}/areas/${area.area_id}/map`).then(async (r) => {
      if (!r.ok) throw new ApiError(r.status, await r.json().catch(() => null));
      img.src = URL.createObjectURL(await r.blob());
    }).catch((err) => img.replaceWith(errorBox(err)));
    box.append(img, h("p", { class: "muted" }, `${area.map.content_type === "image/png" ? "PNG" : "JPEG"}，`
      + `${area.map.width}×${area.map.height}，${Math.ceil(area.map.size / 1024)} KiB；上传：${area.map.uploaded_by || ""} ${(area.map.uploaded_at || "").slice(0, 10)}`));
  } else box.append(h("p", { class: "muted" }, "尚未上传小区图"));
  if (coordinator) {
    const file = input({ type: "file", accept: "image/png,image/jpeg", id: "pop-map-file" });
    const err = h("div");
    box.append(labeled("上传小区图（PNG 或 JPEG，不超过 976 KiB）", file), err, h("button", { type: "button", id: "pop-map-upload", onclick: async () => {
      err.replaceChildren();
      const f = file.files && file.files[0];
      if (!f) { err.append(errorBox(new Error("请选择小区图文件"))); return; }
      const url = `${BASE}/areas/${area.area_id}/map`;
      // 读成字节：api.js 对字节请求体签名（设备签名覆盖的正是发出的字节）
      const r = await authedFetch(url, { method: "PUT", body: await f.arrayBuffer(),
        headers: { "Content-Type": f.type || "application/octet-stream", "Idempotency-Key": newKey() } });
      if (!r.ok) { err.append(errorBox(new ApiError(r.status, await r.json().catch(() => null)))); return; }
      toast("小区图已上传"); done();
    } }, "上传"));
  }
  return box;
}

function assign(area, done) {
  const u = input({ maxlength: 64, placeholder: "网格员登录名" });
  openDialog("分配调查员", labeled("调查员登录名", u), { onSubmit: async () => {
    await send("POST", `${BASE}/areas/${area.area_id}/assignments`, { username: u.value.trim() }); done();
  } });
}

function addRoster(area, roster, done) {
  const f = { building_no: input({ maxlength: 20 }), dwelling_no: input({ maxlength: 20 }), head_name: input({ maxlength: 40 }),
    household_size: input({ type: "number", min: 1, max: 999, value: 1 }) };
  const type = h("select", {}, h("option", { value: "1" }, "家庭户"), h("option", { value: "2" }, "集体户"));
  openDialog("增加底册行", [labeled("建筑物编号", f.building_no), labeled("住房编号", f.dwelling_no), labeled("户主姓名", f.head_name),
    labeled("户人数", f.household_size), labeled("户别", type)], { onSubmit: async () => {
    const keep = roster.entries.map((e) => ({ entry_id: e.entry_id, building_no: e.building_no, dwelling_no: e.dwelling_no,
      head_name: e.head_name, household_size: e.household_size, household_type: e.household_type }));
    keep.push({ building_no: f.building_no.value, dwelling_no: f.dwelling_no.value, head_name: f.head_name.value,
      household_size: Number(f.household_size.value), household_type: type.value });
    await api(`${BASE}/areas/${area.area_id}/roster`, { method: "PUT", body: { entries: keep, expected_version: roster.version }, idempotencyKey: newKey() });
    done();
  } });
}

function review(area, roster, done) {
  const date = input({ type: "date" });
  const who = input({ maxlength: 400, placeholder: "如：村委会主任、居民代表（用顿号分隔）" });
  const note = h("textarea", { maxlength: 500 });
  openDialog("记录底册复议", [labeled("复议日期", date), labeled("参加人员（职务或身份）", who), labeled("复议说明", note)], { onSubmit: async () => {
    await send("POST", `${BASE}/areas/${area.area_id}/roster/reviews`, { held_on: date.value,
      participants: who.value.split(/[、,，]/).map((s) => s.trim()).filter(Boolean), note: note.value, expected_version: roster.version });
    done();
  } });
}

function adminFigures(area, done) {
  const f = Object.fromEntries(["households", "persons", "births", "deaths"].map((k) => [k, input({ type: "number", min: 0, value: 0 })]));
  const source = input({ maxlength: 200, value: "户籍登记" });
  openDialog("录入行政记录数", [labeled("户数", f.households), labeled("人数", f.persons), labeled("出生人口", f.births),
    labeled("死亡人口", f.deaths), labeled("资料来源", source)], { onSubmit: async () => {
    await api(`${BASE}/areas/${area.area_id}/admin-figures`, { method: "PUT", idempotencyKey: newKey(), body: {
      ...Object.fromEntries(Object.entries(f).map(([k, el]) => [k, Number(el.value)])), source: source.value } });
    done();
  } });
}

function explain(area, d, done) {
  const text = h("textarea", { maxlength: 500 });
  openDialog(`说明差异：${d.label}`, labeled("差异说明", text), { onSubmit: async () => {
    await send("POST", `${BASE}/areas/${area.area_id}/recheck/explanations`, { indicator: d.indicator, explanation: text.value });
    done();
  } });
}
