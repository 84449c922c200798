// 基本单位情况表（手机）：为任务单位或实地发现的新单位填表；“获取位置”用浏览器定位（纬度、经度、精度、时间），
// 定位缺失或精度低于要求时须写说明；保存草稿、上报后进入审核链（乡镇→县）。
import { api, newKey } from "./api.js";
import { errorBox, h, labeled, setBusy, toast } from "./ui.js";
import { BASE } from "./registry.js";

function control(f, value) {
  if (f.type === "choice") {
    return h("select", { name: f.code }, h("option", { value: "" }, "请选择"),
      Object.entries(f.options).map(([k, v]) => h("option", { value: k, selected: String(value ?? "") === k }, `${k} ${v}`)));
  }
  return h("input", { name: f.code, value: value ?? "", maxlength: f.max || 200,
    inputmode: f.type === "integer" || f.type === "division" ? "numeric" : null });
}

function locate() {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) { reject(new Error("本机浏览器不支持定位")); return; }
    navigator.geolocation.getCurrentPosition((p) => resolve({ latitude: p.coords.latitude, longitude: p.coords.longitude,
      accuracy_m: Math.round(p.coords.accuracy), taken_at: new Date(p.timestamp).toISOString() }),
    (e) => reject(new Error(e.code === 1 ? "未允许定位权限" : "定位失败，请到室外重试")),
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
  });
}

export async function render({ user, body, query }) {
  const def = await api(BASE + "/forms/definition");
  let form;
  const task = query.get("task");
  const fid = query.get("form");
  try {
    form = fid ? await api(`${BASE}/forms/${fid}`)
      : await api(BASE + "/forms", { method: "POST", idempotencyKey: task ? "open-" + task : newKey(),
        body: { village_code: user.division, task_id: task || null } });
  } catch (err) { body.replaceChildren(errorBox(err)); return; }
  const inputs = {};
  const expl = {};
  let location = form.location;
  const locText = h("span", { id: "loc-text" }, location ? `已定位：精度 ${location.accuracy_m} 米` : "尚未定位");
  const locBtn = h("button", { type: "button", id: "loc-btn", onclick: async () => {
    setBusy(locBtn, true, "定位中…");
    try {
      location = await locate();
      locText.textContent = `已定位：精度 ${location.accuracy_m} 米` + (location.accuracy_m > def.max_location_accuracy_m ? `（低于要求的 ${def.max_location_accuracy_m} 米，请说明或重试）` : "");
    } catch (err) { locText.textContent = err.message + "（可在说明中写明原因）"; } finally { setBusy(locBtn, false); }
  } }, "获取位置");
  const fields = def.fields.map((f) => {
    inputs[f.code] = control(f, form.values[f.code]);
    expl[f.code] = h("input", { maxlength: 500, placeholder: "如有审核警告，在此说明", value: form.explanations[f.code] || "" });
    return h("div", { class: "field" }, labeled(f.label + (f.required ? "（必填）" : ""), inputs[f.code]),
      h("details", {}, h("summary", {}, "说明"), expl[f.code]));
  });
  const locExpl = h("input", { maxlength: 500, placeholder: "未定位或精度不足时必须说明原因", value: form.explanations.location || "" });
  const msg = h("div", { "aria-live": "assertive" });
  let version = form.version;
  const values = () => Object.fromEntries(def.fields.map((f) => {
    const v = inputs[f.code].value.trim();
    return [f.code, v === "" ? null : f.type === "integer" ? Number(v) : v];
  }).filter(([, v]) => v !== null));
  const explanations = () => Object.fromEntries([...Object.entries(expl).map(([k, el]) => [k, el.value.trim()]),
    ["location", locExpl.value.trim()]].filter(([, v]) => v));
  const save = async () => {
    const r = await api(`${BASE}/forms/${form.form_id}/draft`, { method: "PUT", idempotencyKey: newKey(),
      body: { values: values(), explanations: explanations(), location, expected_version: version } });
    version = r.version;
  };
  const saveBtn = h("button", { type: "button", onclick: async () => {
    msg.replaceChildren(); setBusy(saveBtn, true);
    try { await save(); toast("已保存"); } catch (err) { msg.replaceChildren(errorBox(err)); } finally { setBusy(saveBtn, false); }
  } }, "保存");
  const submitBtn = h("button", { type: "button", class: "primary", onclick: async () => {
    msg.replaceChildren(); setBusy(submitBtn, true, "上报中…");
    try {
      await save();
      const r = await api(`${BASE}/forms/${form.form_id}/submit`, { method: "POST", idempotencyKey: newKey(),
        body: { expected_version: version } });
      body.replaceChildren(h("div", { class: "alert" }, `已上报（第 ${r.revision} 次），等待乡镇审核`));
    } catch (err) { msg.replaceChildren(errorBox(err)); setBusy(submitBtn, false); }
  } }, "上报");
  const ro = form.read_only || form.status === "submitted";
  body.replaceChildren(h("h2", {}, def.title), h("p", { class: "muted" }, `状态：${form.status_zh}`),
    form.return_reason ? h("div", { class: "alert error" }, "退回原因：" + form.return_reason) : null,
    h("form", { id: "unit-form", onsubmit: (e) => e.preventDefault() }, fields,
      h("fieldset", {}, h("legend", {}, "地理位置定位"), locBtn, " ", locText, labeled("定位说明", locExpl)),
      ro ? h("p", { class: "muted" }, "该表已上报或已验收，只读") : h("div", { class: "sticky-actions" }, saveBtn, submitBtn), msg));
}
