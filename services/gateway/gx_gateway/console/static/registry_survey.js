// 基本单位情况表（手机，离线优先）：为任务单位或实地发现的新单位填表。没有网络也能用：任务从本机缓存
// 的任务底册打开（sw.js），表式是服务器发布的版本（缓存），硬性规则在手机上审核（registry_rules.js）；
// “获取位置”用浏览器定位（纬度、经度、精度、定位时间；离线也能定位），定位缺失或精度低于要求时须写说明。
// 填写中的内容加密存在本机（vault.js，store regdrafts）；“上报”进发件箱（outbox_registry.js：打开→保存
// →上报，每步一个幂等键），联网后只上报一次，交给服务器的是定位当时的时间。被拒绝时原因留在表上。
import { api, newKey } from "./api.js";
import { errorBox, fmtTime, h, labeled, setBusy, toast } from "./ui.js";
import { BASE } from "./registry.js";
import { enqueueItem, outboxItems, removeItem, retryable, retryItem, sendNow } from "./outbox.js";
import { keepMine, OPENED_VERSION, pendingForms, titleOf, UNIT_FORM, unitFormItem } from "./outbox_registry.js";
import { expiresOn, payloadOf } from "./outbox_sealed.js";
import { outboxPanel, stateText } from "./outbox_view.js";
import { checkForm } from "./registry_rules.js";
import { deleteRegDraft, getItem, putItem, putRegDraft, regDraftsOf } from "./store.js";
import { open, seal } from "./vault.js";

const AUTOSAVE_MS = 300;
const TASK_LISTS = ["?limit=500", "?kind=new_unit_search&limit=500", "?kind=field_verification&limit=500"];

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

// 离线打开任务：从本机缓存的任务底册取单位名称、信用代码、地址作预填
async function cachedTask(taskId) {
  for (const qs of TASK_LISTS) {
    const d = await api(BASE + "/tasks" + qs).catch(() => null);
    const t = d && (d.items || []).find((x) => x.task_id === taskId);
    if (t) return t;
  }
  return null;
}

// 本机的草稿与发件箱条目（解密后的内容）、服务器上的表（联网时）
async function load(user, query) {
  const def = await api(BASE + "/forms/definition");
  const taskId = query.get("task"), formParam = query.get("form"), draftParam = query.get("draft");
  const drafts = await regDraftsOf(user.username).catch(() => []);
  let draft = drafts.find((d) => (draftParam && d.id === draftParam) || (!draftParam && taskId && d.taskId === taskId) ||
    (!draftParam && formParam && d.formId === formParam)) || null;
  const draftId = (draft && draft.id) || draftParam || null;
  const item = pendingForms(await outboxItems().catch(() => [])).filter((x) => (draftId && x.draftId === draftId) ||
    (!draftId && taskId && x.taskId === taskId) || (!draftId && formParam && x.formId === formParam)).pop() || null;
  let local = draft ? await open(user.username, draft.sealed) : item ? await payloadOf(item) : null;
  if (!local) draft = null; // 密钥已销毁：从服务器或空白重新开始
  let server = null, offline = false;
  try {
    if (formParam) server = await api(`${BASE}/forms/${formParam}`);
    else if (taskId) {
      server = await api(BASE + "/forms", { method: "POST", idempotencyKey: "open-" + taskId,
        body: { village_code: user.division, task_id: taskId } });
    }
  } catch (err) {
    if (err.status !== 0 && !retryable(err)) throw err;
    offline = true;
  }
  let prefill = server ? server.values : { division_code: user.division };
  if (!server && !local && taskId) {
    const t = await cachedTask(taskId);
    if (!t) throw new Error("离线且本机没有这个任务的缓存：请联网后打开一次任务底册");
    prefill = { ...(t.uscc ? { uscc: t.uscc } : {}), name: t.name, address: t.address, division_code: user.division };
  }
  // 本机内容是离线打开时填的（没见过服务器上的表）而服务器上的表已被保存过：不接过服务器的版本号，
  // 上报时由“打开”一步发现冲突（outbox_registry.js），而不是在别人的版本上覆盖
  const known = (draft && draft.formId) || (item && item.formId) || null;
  const adopt = Boolean(server) && (!local || known || server.version <= OPENED_VERSION);
  return { def, taskId, draft, item, local, server, offline, prefill, drafts,
    draftId: draftId || (item && item.draftId) || newKey(),
    formId: known || (adopt ? server.form_id : null) || (local ? null : formParam) || null,
    formVersion: draft && draft.formId ? draft.formVersion : item && item.formId ? item.version : adopt ? server.version : null };
}

export async function render({ user, body, query }) {
  let s;
  try { s = await load(user, query); } catch (err) { body.replaceChildren(errorBox(err)); return; }
  const { def, server } = s;
  const start = s.local || { values: s.prefill, explanations: (server && server.explanations) || {}, location: (server && server.location) || null };
  const inputs = {}, expl = {}, errs = {}, det = {};
  let fix = start.location;
  const sec = (iso) => String(new Date(iso).getSeconds()).padStart(2, "0");
  const fixText = (loc) => `已定位：精度 ${loc.accuracy_m} 米，定位时间 ${fmtTime(loc.taken_at)}:${sec(loc.taken_at)}` +
    (loc.accuracy_m > def.max_location_accuracy_m ? `（低于要求的 ${def.max_location_accuracy_m} 米，请说明或重试）` : "");
  const locText = h("span", { id: "loc-text" }, fix ? fixText(fix) : "尚未定位");
  const locBtn = h("button", { type: "button", id: "loc-btn", onclick: async () => {
    setBusy(locBtn, true, "定位中…");
    try { fix = await locate(); locText.textContent = fixText(fix); changed(); }
    catch (err) { locText.textContent = err.message + "（可在说明中写明原因）"; } finally { setBusy(locBtn, false); }
  } }, "获取位置");
  const errSlot = (code) => (errs[code] = h("div", { class: "note", id: "err-" + code, hidden: true }));
  const fields = def.fields.map((f) => {
    inputs[f.code] = control(f, start.values[f.code]);
    expl[f.code] = h("input", { name: "expl-" + f.code, maxlength: 500, placeholder: "如有审核警告，在此说明", value: start.explanations[f.code] || "" });
    return h("div", { class: "field" }, labeled(f.label + (f.required ? "（必填）" : ""), inputs[f.code]), errSlot(f.code),
      det[f.code] = h("details", { open: Boolean(start.explanations[f.code]) }, h("summary", {}, "说明"), expl[f.code]));
  });
  const locExpl = h("input", { name: "expl-location", maxlength: 500, placeholder: "未定位或精度不足时必须说明原因", value: start.explanations.location || "" });
  const msg = h("div", { "aria-live": "assertive" });
  const sync = h("div", { id: "reg-sync", "aria-live": "polite" });
  const pending = h("p", { class: "muted", id: "reg-pending" });
  const values = () => Object.fromEntries(def.fields.map((f) => {
    const v = inputs[f.code].value.trim();
    return [f.code, v === "" ? null : f.type === "integer" ? Number(v) : v];
  }).filter(([, v]) => v !== null));
  const explanations = () => Object.fromEntries([...Object.entries(expl).map(([k, el]) => [k, el.value.trim()]),
    ["location", locExpl.value.trim()]].filter(([, v]) => v));
  const payload = () => ({ values: values(), explanations: explanations(), location: fix });

  function showFindings(list) {
    for (const el of Object.values(errs)) { el.hidden = true; el.textContent = ""; }
    for (const f of list) {
      const code = String(f.field || "").replace(/^(body\.)?(values|explanations)\./, "");
      const el = errs[code];
      if (el) { el.hidden = false; el.textContent += (el.textContent ? "；" : "") + (f.severity === "warning" ? "警告：" : "") + f.message; }
      if (f.severity === "warning" && det[code]) det[code].open = true; // 警告写了说明就放行：把说明框打开
    }
  }

  // 本机草稿（加密）：每次输入稍后写入；草稿号写进地址，重新打开（离线也行）时恢复
  let timer = null;
  async function saveLocal() {
    clearTimeout(timer);
    const write = async () => {
      const sealed = await seal(user.username, payload());
      await putRegDraft({ id: s.draftId, username: user.username, taskId: s.taskId, formId: s.formId,
        formVersion: s.formVersion, villageCode: user.division, defVersion: def.version, title: titleOf(s.taskId), sealed });
      return sealed;
    };
    // 发件箱在“本机已无加密内容”时销毁密钥：若恰在加密与写入之间销毁，这份密文已解不开，用新密钥重写一次
    if (!(await open(user.username, await write()))) await write();
    if (!new URLSearchParams(window.location.hash.split("?")[1] || "").get("draft")) {
      history.replaceState(null, "", `#/registry?tab=survey${s.taskId ? "&task=" + s.taskId : ""}&draft=${s.draftId}`);
    }
    if (!s.draft) { s.draft = true; drawSync(); }
  }
  function changed() { clearTimeout(timer); timer = setTimeout(() => saveLocal().catch(() => {}), AUTOSAVE_MS); }

  const saveBtn = h("button", { type: "button", onclick: async () => {
    msg.replaceChildren(); setBusy(saveBtn, true);
    const found = checkForm(def, values(), explanations(), fix, user.division, { submitting: false });
    showFindings(found);
    try {
      await saveLocal();
      if (s.formId && navigator.onLine) { // 在线且表已打开：同时存到服务器
        try {
          const r = await api(`${BASE}/forms/${s.formId}/draft`, { method: "PUT", idempotencyKey: newKey(),
            body: { ...payload(), expected_version: s.formVersion } });
          s.formVersion = r.version; await saveLocal(); toast("已保存"); return;
        } catch (err) { if (err.status !== 0) { showFindings(err.errors || []); msg.replaceChildren(errorBox(err)); return; } }
      }
      toast("已保存在本机（加密），联网后随上报一起上传");
    } catch (err) { msg.replaceChildren(errorBox(err)); } finally { setBusy(saveBtn, false); }
  } }, "保存");

  const submitBtn = h("button", { type: "button", class: "primary", onclick: async () => {
    msg.replaceChildren();
    const p = payload();
    const found = checkForm(def, p.values, p.explanations, fix, user.division, { submitting: true });
    showFindings(found);
    if (found.length) {
      const errors = found.filter((f) => f.severity === "error").length;
      msg.replaceChildren(errorBox({ message: errors ? `审核未通过，不能上报：有 ${errors} 项错误，请修改标红的项目`
        : `有 ${found.length} 条审核警告未说明，不能上报：请修改或在“说明”中写明原因`, errors: found.map((f) => ({ message: f.message })) }));
      return;
    }
    const mine = pendingForms(await outboxItems()).filter((x) => x.draftId === s.draftId);
    if (mine.some((x) => x.state === "sending")) { toast("这份表正在上传，请稍候"); return; }
    setBusy(submitBtn, true, "上报中…");
    try {
      const previous = mine.pop() || null;
      const item = await unitFormItem(user, { draftId: s.draftId, taskId: s.taskId, villageCode: user.division,
        formId: s.formId, version: s.formVersion, payload: p, previous });
      await enqueueItem(item, pendingForms(await outboxItems()).filter((x) => x.draftId === s.draftId).map((x) => x.id));
      clearTimeout(timer);
      await deleteRegDraft(s.draftId); // 内容已在发件箱（加密）：不再另存一份
      current = item;
      if (navigator.onLine) await sendNow(item.id).catch(() => {}); // 结果由发件箱事件显示
      drawSync();
    } catch (err) { msg.replaceChildren(errorBox(err)); } finally { setBusy(submitBtn, false); }
  } }, "上报");

  let current = s.item;
  const panel = outboxPanel({ filter: (x) => x.kind === UNIT_FORM, title: "情况表发件箱" });
  async function drawSync() {
    if (!sync.isConnected && sync.dataset.drawn) { window.removeEventListener("gx:outbox", drawSync); return; }
    sync.dataset.drawn = "1";
    const all = pendingForms(await outboxItems().catch(() => []));
    pending.textContent = all.length ? `本机待上传 ${all.length} 份情况表` : "";
    pending.hidden = !all.length;
    if (current) current = (await outboxItems().catch(() => [])).find((x) => x.id === current.id) || null;
    if (current && current.state === "done") {
      body.replaceChildren(h("div", { class: "alert ok", id: "reg-done" }, `已上报（第 ${current.revision} 次），等待乡镇审核`), pending, panel);
      return;
    }
    if (!current) { sync.replaceChildren(s.draft ? h("p", { class: "muted" }, "已保存在本机（加密），尚未上报") : ""); return; }
    const refused = current.state === "failed";
    const queued = current.attempts > 0 ? `待上传：${stateText(current)}` : "待上传：联网后自动上传，不会重复上报";
    sync.replaceChildren(h("div", { class: "alert " + (refused ? "error" : "warn"), dataset: { state: current.state } },
      refused ? `服务器未接受：${current.reason}` : current.state === "sending" ? "正在上传…" : queued,
      current.state === "queued" ? h("div", { class: "muted" }, "如需修改，改后再点“上报”，取代排队的这一份") : null,
      refused && current.conflict ? conflictActions(current) : null,
      refused ? h("div", { class: "muted" }, `${current.conflict ? "" : "改正后再点“上报”；"}本机保存至 ${fmtTime(expiresOn(current.failedAt || current.createdAt).toISOString())}`) : null));
    if (refused && current.problem) showFindings(current.problem.errors || []);
  }
  window.addEventListener("gx:outbox", drawSync);

  // 服务器上的表有本机没见过的版本（outbox_registry.js 的冲突）：以服务器的为准（删掉本机这份，打开
  // 服务器上的表），或保留我的（在服务器当前版本上重新保存、上报，新的幂等键）
  function conflictActions(it) {
    const take = h("button", { type: "button", id: "reg-take", onclick: async () => {
      setBusy(take, true);
      await removeItem(it.id); await deleteRegDraft(s.draftId);
      location.hash = `#/registry?tab=survey${s.taskId ? "&task=" + s.taskId : ""}&form=${it.formId}`;
    } }, "以服务器上的为准");
    const keep = h("button", { type: "button", class: "primary", id: "reg-keep", onclick: async () => {
      setBusy(keep, true, "上报中…");
      const fresh = await getItem(it.id);
      if (fresh && fresh.conflict) { await putItem(keepMine(fresh)); await retryItem(fresh.id); }
    } }, `保留我的，在版本 ${it.conflict.version} 上重新上报`);
    return h("div", { class: "actions", id: "reg-conflict" }, take, keep);
  }

  const ro = server && (server.read_only || server.status === "submitted") && !s.local;
  for (const el of [...Object.values(inputs), ...Object.values(expl), locExpl]) el.addEventListener("input", changed);
  // 新发现单位的表（不带任务）在本机的草稿：在这里继续填写（任务单位的草稿从任务底册打开）
  const fresh = !s.taskId && !query.get("form") && !query.get("draft");
  const others = fresh ? s.drafts.filter((d) => d.id !== s.draftId) : [];
  const drafts = others.length ? h("section", { class: "card", id: "reg-drafts" }, h("h3", {}, `本机未上报的草稿 ${others.length} 份`),
    h("ul", { class: "list" }, others.map((d) => h("li", {}, h("span", { class: "title" }, d.title),
      h("span", { class: "muted" }, `保存于 ${fmtTime(d.savedAt)}，本机保存至 ${fmtTime(expiresOn(d.savedAt).toISOString())}`),
      h("a", { class: "btn", href: `#/registry?tab=survey${d.taskId ? "&task=" + d.taskId : ""}&draft=${d.id}` }, "继续填写"))))) : null;
  const status = h("p", { class: "muted", id: "reg-status" });
  const drawStatus = () => {
    if (!status.isConnected && status.dataset.drawn) { window.removeEventListener("online", drawStatus); window.removeEventListener("offline", drawStatus); return; }
    status.dataset.drawn = "1";
    status.textContent = server ? `状态：${server.status_zh}` : !navigator.onLine ? "离线：表在本机填写，联网后上传"
      : s.taskId ? "表在本机填写，上报时在服务器打开" : "新发现的单位：上报时在服务器建表";
  };
  window.addEventListener("online", drawStatus);
  window.addEventListener("offline", drawStatus);
  drawStatus();
  body.replaceChildren(...(drafts ? [drafts] : []), h("h2", {}, def.title), status, pending, sync,
    ...(server && server.return_reason ? [h("div", { class: "alert error" }, "退回原因：" + server.return_reason)] : []),
    h("form", { id: "unit-form", onsubmit: (e) => e.preventDefault() }, fields,
      h("fieldset", {}, h("legend", {}, "地理位置定位"), errSlot("location"), locBtn, " ", locText, labeled("定位说明", locExpl)),
      ro ? h("p", { class: "muted" }, "该表已上报或已验收，只读") : h("div", { class: "sticky-actions" }, saveBtn, submitBtn), msg),
    panel);
  drawSync();
}
