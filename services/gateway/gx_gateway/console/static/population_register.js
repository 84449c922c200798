// 手机登记（调查员）：户表与个人表（表式来自当年版本化表式），保存后逐项回读给被调查人，
// 记录其确认（时间、调查员、设备）后才能交表；交表后由村级统计协管员复核。
import { api, newKey } from "./api.js";
import { errorBox, h, labeled, mount, setBusy, toast } from "./ui.js";
import { BASE, links } from "./population.js";

function control(form, f, value) {
  if (f.type === "code") {
    return h("select", { name: f.code }, h("option", { value: "" }, "请选择"),
      Object.entries(form.codes[f.codes]).map(([k, t]) => h("option", { value: k, selected: String(value ?? "") === k }, `${k} ${t}`)));
  }
  const attrs = { name: f.code, value: value ?? "", maxlength: f.max_length || (f.type === "id_number" ? 18 : 60) };
  if (f.type === "int") Object.assign(attrs, { type: "number", min: f.min ?? 0, max: f.max ?? 999, inputmode: "numeric" });
  if (f.type === "year_month") Object.assign(attrs, { placeholder: "如 1990-01", maxlength: 7 });
  if (f.type === "id_number") Object.assign(attrs, { autocomplete: "off", inputmode: "text" });
  return h("input", attrs);
}

function read(fields, box) {
  const out = {};
  for (const f of fields) {
    const el = box.querySelector(`[name="${f.code}"]`);
    const v = el.value.trim();
    out[f.code] = v === "" ? null : f.type === "int" ? Number(v) : v;
  }
  return out;
}

export async function render({ user, args }) {
  const [areaId, householdId] = args;
  const status = h("p", { class: "muted" }, "正在加载…");
  mount(h("h1", {}, "住户登记"), links(user), status);
  let form, existing = null;
  try {
    form = await api(`${BASE}/forms/current`);
    if (householdId) existing = await api(`${BASE}/households/${householdId}`);
  } catch (err) { status.replaceWith(errorBox(err)); return; }
  let version = existing ? existing.version : 0;
  const hhBox = h("fieldset", { id: "pop-hh" }, h("legend", {}, "户表"),
    form.household.map((f) => labeled(f.label, control(form, f, existing && existing.household[f.code]))));
  const people = h("div", { id: "pop-persons" });
  const addPerson = (p = {}) => {
    const box = h("fieldset", { class: "person", dataset: { personId: p.person_id || "" } },
      h("legend", {}, `第${people.children.length + 1}人`),
      form.person.map((f) => labeled(f.label, control(form, f, f.code === "id_number" ? "" : p[f.code]),
        f.code === "id_number" && p.id_number ? `已登记（${p.id_number}），如需更正请重新填写` : null)),
      h("button", { type: "button", onclick: () => { box.remove(); } }, "删除此人"));
    people.append(box);
  };
  (existing ? existing.persons.filter((p) => !p.erased) : [{}]).forEach(addPerson);
  const findings = h("div", { id: "pop-findings", "aria-live": "polite" });
  const readback = h("section", { id: "pop-readback" });
  const save = h("button", { type: "button", class: "primary" }, "保存");
  save.addEventListener("click", async () => {
    const persons = [...people.children].map((box) => {
      const p = read(form.person, box);
      if (box.dataset.personId) p.person_id = box.dataset.personId;
      if (box.dataset.personId && p.id_number === null) delete p.id_number; // 不改：保留已登记号码
      return p;
    });
    setBusy(save, true, "保存中…");
    try {
      const r = await api(areaId ? `${BASE}/areas/${areaId}/households` : "", { method: "POST", idempotencyKey: newKey(),
        body: { household: read(form.household, hhBox), persons, expected_version: version } });
      version = r.version;
      [...people.children].forEach((box, i) => { box.dataset.personId = r.person_ids[i]; });
      findings.replaceChildren(r.findings.length ? h("ul", {}, r.findings.map((f) =>
        h("li", { class: f.severity === "error" ? "error" : "warn" }, `${f.severity === "error" ? "错误" : "提示"}：${f.message}`)))
        : h("p", {}, "审核通过。"));
      toast("已保存，请向被调查人回读确认");
      await showReadback(r.household_id);
    } catch (err) { findings.replaceChildren(errorBox(err)); } finally { setBusy(save, false); }
  });

  async function showReadback(hid) {
    const rb = await api(`${BASE}/households/${hid}/readback`);
    const who = h("select", {}, h("option", { value: "head" }, "户主本人"), h("option", { value: "member" }, "本户其他成员"),
      h("option", { value: "other" }, "其他知情人"));
    const ok = h("input", { type: "checkbox", id: "pop-rb-ok" });
    const confirm = h("button", { type: "button", class: "primary" }, "记录确认");
    const handIn = h("button", { type: "button", disabled: true }, "交表");
    confirm.addEventListener("click", async () => {
      if (!ok.checked) { toast("请先勾选“被调查人确认以上内容无误”"); return; }
      try {
        const r = await api(`${BASE}/households/${hid}/readback`, { method: "POST", idempotencyKey: newKey(),
          body: { expected_version: version, respondent: who.value, confirmed: true } });
        version = r.version; handIn.disabled = false; toast("已记录回读确认");
      } catch (err) { readback.append(errorBox(err)); }
    });
    handIn.addEventListener("click", async () => {
      try {
        await api(`${BASE}/households/${hid}/hand-in`, { method: "POST", idempotencyKey: newKey(), body: { expected_version: version } });
        toast("已交表，待村级复核"); location.hash = `#/population/household/${hid}`;
      } catch (err) { readback.append(errorBox(err)); }
    });
    readback.replaceChildren(h("h2", {}, "回读确认"), h("p", {}, "请逐项读给被调查人听："),
      h("pre", { class: "readback", style: "white-space: pre-wrap; word-break: break-all" }, rb.text), labeled("确认人", who),
      h("label", {}, ok, " 被调查人确认以上内容无误"), h("div", { class: "actions" }, confirm, handIn));
  }
  mount(h("h1", {}, existing ? `第${existing.household_no}户` : "登记新住户"), links(user), hhBox, h("h2", {}, "个人表"), people,
    h("div", { class: "actions" }, h("button", { type: "button", onclick: () => addPerson() }, "增加一人"), save), findings, readback);
}
