// 手机登记（调查员），离线可用：户表与个人表（表式来自当年版本化表式，离线时用本机缓存），每次输入
// 自动存为本机草稿（加密，见 vault.js）；“保存”在本机检查阻止交表的错误并显示回读文字，逐项读给被
// 调查人后“记录确认”（时间、确认人、调查员、设备记在手机上），才能“交表”。交表进发件箱
// （outbox_population.js）：联网时立刻依次 保存→回读确认→交表，离线时联网后自动发送，只执行一次；
// 服务器拒绝（如未取得调查员资格、审核错误）时原因显示在这份草稿上，内容保留待改正。
import { api, newKey } from "./api.js";
import { errorBox, fmtTime, h, labeled, mount, setBusy, toast } from "./ui.js";
import { BASE, YEAR, links } from "./population.js";
import { enqueueItem, outboxItems, retryable, sendNow } from "./outbox.js";
import { confirmation, expiresOn, householdItem, payloadOf, readbackDigest } from "./outbox_population.js";
import { outboxPanel, stateText } from "./outbox_view.js";
import { blockingFindings, compactId, readbackText } from "./population_rules.js";
import { deletePopDraft, getPopDraft, popDraftsOf, putPopDraft } from "./store.js";
import { available, open, seal } from "./vault.js";

const AUTOSAVE_MS = 300;

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
    const v = box.querySelector(`[name="${f.code}"]`).value.trim();
    out[f.code] = v === "" ? null : f.type === "int" ? Number(v) : f.type === "id_number" ? compactId(v) : v;
  }
  return out;
}

// 标出服务器或本机检查指出的字段（persons.0.id_number、household.persons_at_reference、body.…）
function markFields(hhBox, people, problems) {
  for (const el of [...hhBox.querySelectorAll(".msg.error"), ...people.querySelectorAll(".msg.error")]) el.remove();
  for (const el of document.querySelectorAll("#main [aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const p of problems) {
    const m = /^(?:body\.)?(household|persons)\.(?:(\d+)\.)?([a-z_]+)$/.exec(String(p.field || ""));
    if (!m) continue;
    const scope = m[1] === "household" ? hhBox : m[2] !== undefined ? people.children[Number(m[2])] : null;
    const el = scope && scope.querySelector(`[name="${m[3]}"]`);
    if (!el) continue;
    el.setAttribute("aria-invalid", "true");
    el.parentElement.append(h("div", { class: "msg error" }, p.message));
  }
}

async function loadContext(user, areaId, householdId, draftParam) {
  const form = await api(`${BASE}/forms/current`);
  let areaName = null;
  try { areaName = ((await api(`${BASE}/areas?survey_year=${YEAR}`)).items.find((a) => a.area_id === areaId) || {}).name || null; }
  catch { /* 离线且无缓存：标题只写户编号 */ }
  const mine = (await outboxItems().catch(() => [])).filter((x) => x.kind === "population.household" && x.state !== "done");
  const drafts = await popDraftsOf(user.username).catch(() => []);
  let draft = draftParam ? drafts.find((d) => d.id === draftParam) || null
    : householdId ? drafts.find((d) => d.householdId === householdId) || null : null;
  const draftId = draftParam || (draft && draft.id) || newKey();
  const item = mine.filter((x) => x.draftId === draftId).pop() || null;
  let existing = null;
  if (householdId && !draft && !item) existing = await api(`${BASE}/households/${householdId}`);
  const values = draft ? await open(user.username, draft.sealed) : item ? await payloadOf(item) : null;
  if ((draft || item) && !values) draft = null; // 密钥已销毁：从服务器或空白重新开始
  return { form, areaName, draftId, draft, item, existing, values };
}

export async function render({ user, args, query }) {
  const [areaId, householdId] = args;
  const status = h("p", { class: "muted" }, "正在加载…");
  mount(h("h1", {}, "住户登记"), links(user), status);
  if (!available()) { status.replaceWith(errorBox({ message: "本机浏览器不支持加密存储，不能在本机保存个人信息。请换用新版浏览器。" })); return; }
  let ctx;
  try { ctx = await loadContext(user, areaId, householdId, query.get("draft")); } catch (err) {
    status.replaceWith(errorBox(err.status === 0 ? { message: "当前没有网络，本机也没有表式或该户的缓存。请联网后再打开。" } : err));
    return;
  }
  const { form, areaName, draftId, draft, existing, values } = ctx;
  let item = ctx.item;
  if (!query.get("draft")) history.replaceState(null, "", `#/population/register/${areaId}${householdId ? "/" + householdId : ""}?draft=${draftId}`);
  const src = values || (existing ? { household: existing.household, persons: existing.persons.filter((p) => !p.erased) } : null);
  const baseVersion = draft ? draft.baseVersion : existing ? existing.version : item ? item.version : 0;
  const hid = householdId || (draft && draft.householdId) || (item && item.householdId) || null;

  const hhBox = h("fieldset", { id: "pop-hh" }, h("legend", {}, "户表"),
    form.household.map((f) => labeled(f.label, control(form, f, src && src.household[f.code]))));
  const people = h("div", { id: "pop-persons" });
  const addPerson = (p = {}, kept = null) => {
    const keptId = kept || (existing && p.id_number ? p.id_number : null); // 服务器上已登记的号码（遮蔽）
    const box = h("fieldset", { class: "person", dataset: { personId: p.person_id || "", keptId: keptId || "" } },
      h("legend", {}, `第${people.children.length + 1}人`),
      form.person.map((f) => labeled(f.label, control(form, f, f.code === "id_number" && keptId ? "" : p[f.code]),
        f.code === "id_number" && keptId ? `已登记（${keptId}），如需更正请重新填写` : null)),
      h("button", { type: "button", onclick: () => { box.remove(); changed(); } }, "删除此人"));
    people.append(box);
  };
  (src ? src.persons : [{}]).forEach((p, i) => addPerson(p, src && src.kept ? src.kept[i] : null));
  if (item && item.personIds) [...people.children].forEach((b, i) => { if (!b.dataset.personId && item.personIds[i]) b.dataset.personId = item.personIds[i]; });

  const collect = () => {
    const kept = [];
    const persons = [...people.children].map((box, i) => {
      const p = read(form.person, box);
      if (box.dataset.personId) p.person_id = box.dataset.personId;
      kept[i] = box.dataset.keptId || null;
      if (kept[i] && p.id_number === null) delete p.id_number; // 不改：保留已登记号码
      return p;
    });
    return { household: read(form.household, hhBox), persons, kept };
  };
  const title = () => `住户登记：${areaName || "调查小区"} 第${hhBox.querySelector("[name=household_no]").value.trim() || "？"}户`;
  const note = h("div", { id: "pop-local", "aria-live": "polite" });
  const findings = h("div", { id: "pop-findings", "aria-live": "polite" });
  const readback = h("section", { id: "pop-readback" });
  const save = h("button", { type: "button", class: "primary" }, "保存");
  const add = h("button", { type: "button", onclick: () => { addPerson(); changed(); } }, "增加一人");
  let timer = null;
  let confirmed = null;

  async function keepDraft() {
    clearTimeout(timer);
    timer = null;
    try {
      await putPopDraft({ id: draftId, username: user.username, kind: "household", areaId, householdId: hid, baseVersion,
        title: title(), sealed: await seal(user.username, collect()) });
      note.replaceChildren(h("p", { class: "muted" }, `已保存在本机（加密），最多保留至 ${fmtTime(expiresOn(new Date().toISOString()).toISOString())}。`));
    } catch { note.replaceChildren(h("p", { class: "muted" }, "本机存储不可用：请联网后直接交表。")); }
  }
  function changed() {
    if (confirmed || readback.childElementCount) {
      confirmed = null;
      readback.replaceChildren(h("div", { class: "alert warn" }, "内容已修改，须重新“保存”并向被调查人回读确认。"));
    }
    clearTimeout(timer);
    timer = setTimeout(keepDraft, AUTOSAVE_MS);
  }
  for (const box of [hhBox, people]) { box.addEventListener("input", changed); box.addEventListener("change", changed); }
  window.addEventListener("pagehide", () => { if (timer) keepDraft(); }, { once: true });

  save.addEventListener("click", async () => {
    await keepDraft();
    const v = collect();
    const errors = blockingFindings(form, v.household, v.persons);
    markFields(hhBox, people, errors);
    if (errors.length) {
      findings.replaceChildren(h("div", { class: "alert error", role: "alert" }, `有 ${errors.length} 项错误，改正后再回读确认：`,
        h("ul", {}, errors.map((e) => h("li", {}, e.message)))));
      readback.replaceChildren();
      return;
    }
    findings.replaceChildren(h("p", {}, "本机检查通过（提交后服务器还会全面审核）。"));
    toast("已保存在本机，请向被调查人回读确认");
    await showReadback(v);
  });

  async function showReadback(v) {
    const digest = await readbackDigest(form, v.household, v.persons, v.kept);
    const who = h("select", {}, h("option", { value: "head" }, "户主本人"), h("option", { value: "member" }, "本户其他成员"),
      h("option", { value: "other" }, "其他知情人"));
    const ok = h("input", { type: "checkbox", id: "pop-rb-ok" });
    const confirm = h("button", { type: "button", class: "primary" }, "记录确认");
    const handIn = h("button", { type: "button", disabled: true }, "交表");
    const when = h("p", { class: "muted", id: "pop-rb-when" });
    confirm.addEventListener("click", async () => {
      if (!ok.checked) { toast("请先勾选“被调查人确认以上内容无误”"); return; }
      confirmed = await confirmation(user, who.value, digest);
      handIn.disabled = false;
      when.textContent = `已记录确认：${fmtTime(confirmed.confirmedAt)}，调查员 ${user.username}${confirmed.device ? "，本机已登记证书" : ""}`;
      toast("已记录回读确认");
    });
    handIn.addEventListener("click", () => submit(v, handIn));
    readback.replaceChildren(h("h2", {}, "回读确认"), h("p", {}, "请逐项读给被调查人听："),
      h("pre", { class: "readback", style: "white-space: pre-wrap; word-break: break-all" }, readbackText(form, v.household, v.persons, { kept: v.kept })),
      labeled("确认人", who), h("label", {}, ok, " 被调查人确认以上内容无误"), when, h("div", { class: "actions" }, confirm, handIn));
  }

  async function submit(v, button) {
    if (!confirmed) return;
    setBusy(button, true, "交表中…");
    const previous = item && item.state === "failed" ? item : null;
    let queued;
    try {
      queued = await householdItem(user, { draftId, areaId, title: title(), household: v.household, persons: v.persons,
        householdId: hid, baseVersion, confirmation: confirmed, previous });
      await enqueueItem(queued, previous ? [previous.id] : []);
      clearTimeout(timer);
      timer = null;
      await deletePopDraft(draftId); // 内容已在发件箱（加密）：不再另存一份
    } catch (err) { setBusy(button, false); findings.replaceChildren(errorBox(err)); return; }
    if (!navigator.onLine) { toast("已存入本机发件箱，联网后自动交表"); rerender(); return; }
    try {
      const res = await sendNow(queued.id);
      toast("已交表，待村级复核");
      location.hash = `#/population/household/${res.household_id || queued.householdId}`;
    } catch (err) {
      if (retryable(err)) toast("网络不稳定，已存入发件箱，将自动重发");
      rerender();
    }
  }
  const rerender = () => render({ user, args, query: new URLSearchParams({ draft: draftId }) });

  const heading = h("h1", {}, existing ? `第${existing.household_no}户` : item || draft ? "住户登记（本机草稿）" : "登记新住户");
  const state = h("div", { id: "pop-outbox-state", "aria-live": "polite" });
  const locked = item && (item.state === "queued" || item.state === "sending");
  if (locked) {
    for (const el of [...hhBox.querySelectorAll("input, select"), ...people.querySelectorAll("input, select, button")]) el.disabled = true;
    state.replaceChildren(h("div", { class: "alert warn", id: "pop-queued-note" }, h("strong", {}, `发件箱：${stateText(item)}`),
      h("div", {}, "这户已交表，存在本机发件箱：联网后自动发送，不会重复登记。发送前不能修改。")));
    const follow = (e) => {
      if (!state.isConnected) { window.removeEventListener("gx:outbox", follow); return; }
      if (e.detail && e.detail.id === item.id && ["done", "failed"].includes(e.detail.state)) {
        window.removeEventListener("gx:outbox", follow);
        if (e.detail.state === "done") location.hash = `#/population/household/${e.detail.householdId}`;
        else rerender();
      }
    };
    window.addEventListener("gx:outbox", follow);
  } else if (item && item.state === "failed") {
    const problems = [...((item.problem && item.problem.errors) || []), ...(item.findings || []).filter((f) => f.severity === "error")];
    state.replaceChildren(h("div", { class: "alert error", role: "alert", id: "pop-failed-note" },
      h("strong", {}, `上次交表${stateText(item)}`),
      problems.length ? h("ul", {}, [...new Set(problems.map((p) => p.message))].map((m) => h("li", {}, m))) : null,
      h("div", {}, "内容保留在本机。请改正后重新“保存”、回读确认并交表；若原因已消除（如已通过考试），可在发件箱中“不修改，重新发送”。")));
    markFields(hhBox, people, problems);
  }
  mount(heading, links(user), state, note, hhBox, h("h2", {}, "个人表"), people,
    locked ? null : h("div", { class: "actions" }, add, save), findings, readback,
    outboxPanel({ filter: (x) => x.kind === "population.household", title: "发件箱（住户登记）" }));
}
