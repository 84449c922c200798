// 报表填报（手机尺寸）：指标与单位、保存草稿、校验（机内审核）、提交（带幂等键，可安全重试）。
// 校验信息显示在字段旁（指标失焦时即校验）；警告需填写说明；退回的报表在字段旁显示审核人的批注。
// 离线优先：每次输入自动存到本机，重新打开时恢复；提交进发件箱（outbox.js），联网后自动发送。
import { api, ApiError, newKey } from "./api.js";
import { errorBox, fmtTime, h, LEVEL, mount, reportStatus, setBusy, toast } from "./ui.js";
import { reasonLabel } from "./meta.js";
import { archiveButton, reportHistory } from "./history.js";
import { deviceNotice } from "./device.js";
import { enqueue, outboxItems, removeItem, retryable, sendNow } from "./outbox.js";
import { stateText } from "./outbox_view.js";
import { Autosave, blockedBox, differs, guardLeaving } from "./report_local.js";

const NUMBER = /^\d+(\.\d+)?$/;

export async function render({ args, user }) {
  const id = args[0];
  mount(h("p", { class: "muted" }, "正在加载报表…"));
  let report;
  try {
    report = await api(`/api/v1/agri/reports/${encodeURIComponent(id)}`);
  } catch (err) {
    mount(h("h1", {}, "填报"), errorBox(err.status === 0
      ? { message: "当前没有网络，且本机没有这份报表的缓存。请联网后先打开一次（打开过的报表离线也能填报）。", errors: [] }
      : err));
    return;
  }
  const page = new ReportPage(report, user);
  await page.show();
  return () => { page.gone = true; guardLeaving(null); };
}

class ReportPage {
  constructor(report, user) {
    this.r = report;
    this.user = user;
    // 编辑计数：保存期间的新输入不会被当作已保存
    this.edits = 0;
    this.savedEdits = 0;
    this.fields = {}; // code -> {box, input, msg, explain, ind}
    this.memo = {}; // 因硬性错误暂时收起的说明（警告仍在时恢复）
    this.checkSeq = 0;
    // 未填报的空表不先报错；草稿和退回的报表显示上次的审核结果（视为各指标都已校验过）
    this.findings = report.status === "not_started" ? [] : report.validation || [];
    this.touched = new Set(this.findings.map((f) => f.indicator));
    this.autosave = new Autosave(user.username, report.report_id, () => this.snapshot());
  }

  unsaved() { return !this.gone && !this.readOnly && this.edits !== this.savedEdits; }

  async show() {
    const r = this.r;
    const form = r.form;
    const mine = (await outboxItems().catch(() => [])).filter((x) => x.reportId === r.report_id);
    this.queued = mine.find((x) => x.state === "queued" || x.state === "sending") || null;
    const failed = mine.find((x) => x.state === "failed") || null;
    const sent = mine.find((x) => x.state === "done" && (x.revision || 0) > (r.revision || 0)) || null;
    this.readOnly = Boolean(r.read_only || this.queued || sent);
    const draft = this.readOnly ? null : await this.autosave.load();
    this.initial = this.queued ? this.queued.draftBody : null;
    this.restored = differs(draft, r) ? draft : null;
    this.expl = { ...(r.explanations || {}), ...(this.initial ? this.initial.explanations : {}),
      ...(this.restored ? this.restored.explanations : {}) };
    this.top = h("div", { "aria-live": "polite" });
    const list = h("div", {}, form.indicators.map((ind) => this.field(ind)));
    this.buttons = {
      save: h("button", { type: "button", id: "btn-save", onclick: () => this.run(this.buttons.save, () => this.save(true)) }, "保存草稿"),
      check: h("button", { type: "button", id: "btn-validate", onclick: () => this.run(this.buttons.check, () => this.validate()) }, "校验"),
      submit: h("button", { type: "button", id: "btn-submit", class: "primary", onclick: () => this.run(this.buttons.submit, () => this.submit()) }, "提交"),
    };
    const returned = r.status === "returned" && r.last_return ? await this.returnBanner(r.last_return) : null;
    const historyBox = h("details", { class: "card" }, h("summary", {}, "处理记录"), h("div", {}, "展开后加载…"));
    historyBox.addEventListener("toggle", () => reportHistory(r, historyBox), { once: true });
    this.outboxState = h("div", { id: "outbox-state", "aria-live": "polite" });
    this.root = h("div", { class: "narrow", id: "report-page" },
      h("p", {}, h("a", { href: "#/tasks" }, "‹ 返回我的任务")),
      h("h1", {}, `${r.period_name || r.period} ${form.name}`),
      h("p", { class: "muted" }, `${r.village_name || r.village_code} · 表号 ${form.code} · `,
        h("span", { class: "tag " + r.status, id: "report-status" }, reportStatus(r)),
        r.revision ? ` · 第 ${r.revision} 次报送` : ""),
      r._cachedAt ? h("div", { class: "alert warn", id: "cached-note" },
        `离线：显示的是本机缓存的报表（${fmtTime(r._cachedAt)} 从服务器取得）。`) : null,
      this.readOnly ? null : deviceNotice(this.user), returned, this.outboxState, this.top,
      h("form", { id: "report-form", novalidate: true, onsubmit: (e) => e.preventDefault() }, list),
      this.readOnly ? this.readOnlyNote(sent)
        : h("div", { class: "actions sticky-actions" }, this.buttons.save, this.buttons.check, this.buttons.submit),
      r._cachedAt ? null : archiveButton(r), historyBox);
    mount(this.root);
    this.showFindings(this.findings.filter((f) => this.touched.has(f.indicator)), {});
    if (this.restored) { // 恢复的值视同已填过：马上校验一遍
      for (const [code, raw] of Object.entries(this.restored.values || {})) if (String(raw).trim()) this.touched.add(code);
      this.liveCheck();
      this.edits = 1;
      this.top.replaceChildren(h("div", { class: "alert ok", id: "restored-note" },
        `已恢复本机保存的未提交内容（${fmtTime(this.restored.savedAt)}）。`));
    }
    if (failed && !this.readOnly) {
      this.outboxState.replaceChildren(h("div", { class: "alert error", role: "alert" }, `上次提交${stateText(failed)}。请修改后重新提交。`));
    }
    if (this.queued) this.followQueued();
    if (!this.readOnly) guardLeaving(this);
  }

  readOnlyNote(sent) {
    if (this.queued) return h("p", { class: "muted" }, "报表已在发件箱中，发出前不能修改。");
    if (sent) return h("p", { class: "alert ok", id: "submit-result" }, `已提交（第 ${sent.revision} 次报送），等待乡镇审核。`);
    const st = this.r.status;
    return h("p", { class: "alert ok" }, st === "accepted" ? "报表已验收，只读。"
      : st === "submitted" ? "报表已提交，审核中，只读。" : `报表${reportStatus(this.r)}，只读。`);
  }

  // 发件箱里这份报表的发送进度；发出后从服务器重新读取
  followQueued() {
    const draw = async (e) => {
      if (this.gone || !this.outboxState.isConnected) { window.removeEventListener("gx:outbox", draw); return; }
      const item = e ? e.detail : this.queued;
      if (!item || item.id !== this.queued.id) return;
      if (item.state === "done" || item.state === "failed") {
        window.removeEventListener("gx:outbox", draw);
        return this.reload(item.state === "done" ? item : null);
      }
      this.outboxState.replaceChildren(h("div", { class: "alert warn", id: "queued-note" },
        h("strong", {}, `提交${stateText(item)}`), h("div", {}, "报表已存入本机发件箱，联网后自动发送，不会重复提交。")));
    };
    window.addEventListener("gx:outbox", draw);
    draw(null);
  }

  async reload(done) {
    this.gone = true; // 这一页的内容已交给发件箱或服务器：不再自动保存、不再提醒
    guardLeaving(null);
    let fresh;
    try { fresh = await api(`/api/v1/agri/reports/${this.r.report_id}`); } catch { fresh = this.r; }
    if (!this.root.isConnected) return; // 用户已离开这一页
    const next = new ReportPage(fresh, this.user);
    await next.show();
    if (done && fresh.revision >= done.revision && !document.getElementById("submit-result")) {
      document.getElementById("report-page").prepend(h("div", { class: "alert ok", role: "status", id: "submit-result" },
        `已提交（第 ${done.revision} 次报送），等待乡镇审核。`));
    }
  }

  async returnBanner(ret) {
    const label = await reasonLabel(ret.reason_code);
    const notes = Object.keys(ret.field_notes || {}).length;
    return h("div", { class: "alert warn", role: "alert", id: "return-reason" },
      h("strong", {}, `已被${LEVEL[ret.from_level] || ""}退回：`), `${label}。${ret.reason || ""}`,
      notes ? h("div", {}, `审核人对 ${notes} 项指标写了批注，见各指标下方。`) : null);
  }

  field(ind) {
    const r = this.r;
    const id = `v-${ind.code}`;
    const src = this.restored ? this.restored.values : this.initial ? this.initial.values : r.values || {};
    const value = src[ind.code];
    const input = h("input", { id, name: ind.code, inputmode: ind.decimals > 0 ? "decimal" : "numeric",
      autocomplete: "off", value: value === null || value === undefined ? "" : String(value),
      disabled: this.readOnly, "aria-describedby": `${id}-msg ${id}-note` });
    input.addEventListener("input", () => this.edited());
    // 指标失焦（值有变化）时即校验
    input.addEventListener("change", () => { this.touched.add(ind.code); this.autosave.flush(); this.liveCheck(); });
    const msg = h("div", { id: `${id}-msg`, class: "msg" });
    const note = (r.last_return && r.last_return.field_notes || {})[ind.code];
    const noteEl = h("div", { id: `${id}-note` }, note && r.status === "returned"
      ? h("div", { class: "note" }, h("strong", {}, "审核批注："), note) : null);
    const explain = h("div", {});
    const box = h("div", { class: "field", dataset: { indicator: ind.code } },
      h("label", { for: id }, ind.name, h("span", { class: "muted" }, `（${ind.unit}）`)),
      h("div", { class: "unit-row" }, input, h("span", { class: "unit", "aria-hidden": "true" }, ind.unit)),
      msg, noteEl, explain);
    this.fields[ind.code] = { box, input, msg, explain, ind };
    return box;
  }

  edited() {
    this.edits += 1;
    this.autosave.schedule();
  }

  snapshot() {
    if (this.gone) return null;
    const values = {}, explanations = {};
    for (const [code, f] of Object.entries(this.fields)) {
      values[code] = f.input.value;
      const ta = f.explain.querySelector("textarea");
      if (ta && ta.value) explanations[code] = ta.value;
      else if (this.memo[code]) explanations[code] = this.memo[code];
    }
    return { values, explanations, baseVersion: this.r.version };
  }

  explanationBox(code) {
    const f = this.fields[code];
    let ta = f.explain.querySelector("textarea");
    if (!ta) {
      const id = `x-${code}`;
      ta = h("textarea", { id, name: `explain-${code}`, maxlength: 500, disabled: this.readOnly },
        this.memo[code] || this.expl[code] || "");
      delete this.memo[code];
      ta.addEventListener("input", () => this.edited());
      f.explain.replaceChildren(h("label", { for: id }, `对“${f.ind.name}”警告的说明`), ta);
    }
    return ta;
  }

  // 把审核结果和服务器字段错误画到各字段旁。说明框只在有警告且无硬性错误时出现；警告消失后旧说明清除
  // （不再提交，也不会印进归档）；被硬性错误暂时压住的说明先记着，错误改正后放回。
  showFindings(findings, fieldErrors) {
    const byCode = {};
    for (const f of findings) (byCode[f.indicator] ||= []).push(f);
    const orphan = [];
    for (const [code, msgs] of Object.entries(fieldErrors)) {
      if (!this.fields[code]) orphan.push(...msgs);
    }
    for (const f of findings) if (!this.fields[f.indicator]) orphan.push(f.message);
    for (const [code, f] of Object.entries(this.fields)) {
      const items = byCode[code] || [];
      const errs = [...(fieldErrors[code] || []), ...items.filter((x) => x.severity === "error").map((x) => x.message)];
      const warns = items.filter((x) => x.severity === "warning");
      f.box.classList.toggle("has-error", errs.length > 0);
      f.box.classList.toggle("has-warning", !errs.length && warns.length > 0);
      f.input.setAttribute("aria-invalid", errs.length ? "true" : "false");
      f.msg.replaceChildren(
        ...errs.map((m) => h("div", { class: "msg error" }, "错误：", m)),
        // 有硬性错误时只说错误：同一指标的警告要等数值改对后才有意义
        ...(errs.length ? [] : warns).map((w) => h("div", { class: "msg warning" }, "警告：", w.message, w.explained ? "（已说明）" : "")));
      const ta = f.explain.querySelector("textarea");
      if (warns.length && !errs.length) this.explanationBox(code);
      else if (ta) {
        if (warns.length) this.memo[code] = ta.value;
        else { delete this.memo[code]; delete this.expl[code]; }
        f.explain.replaceChildren();
        if (ta.value) this.edited();
      }
    }
    return orphan;
  }

  collect() {
    const values = {}, explanations = {}, local = {};
    for (const [code, f] of Object.entries(this.fields)) {
      const raw = f.input.value.trim().replace(/,/g, "");
      if (raw === "") values[code] = null;
      else if (!NUMBER.test(raw)) local[code] = ["请输入不小于 0 的数字"];
      else values[code] = Number(raw);
      const ta = f.explain.querySelector("textarea");
      if (ta && ta.value.trim()) explanations[code] = ta.value.trim();
    }
    return { values, explanations, local };
  }

  strict() {
    const { values, explanations, local } = this.collect();
    if (Object.keys(local).length) {
      this.showFindings([], local);
      const first = Object.keys(local)[0];
      this.fields[first].input.focus();
      throw new ApiError(422, { detail: "有指标的取值不是数字，请修改标红的指标",
        errors: Object.entries(local).map(([field, [message]]) => ({ field, message })) });
    }
    return { values, explanations };
  }

  // 失焦校验：只显示已填过（或已整体校验过）的指标的结果；离线时只查数字格式
  async liveCheck() {
    if (this.readOnly) return;
    const seq = ++this.checkSeq;
    const { values, explanations, local } = this.collect();
    const shown = () => this.findings.filter((f) => this.touched.has(f.indicator) && !local[f.indicator]);
    if (Object.keys(local).length || !navigator.onLine) { this.showFindings(shown(), local); return; }
    let res;
    try {
      res = await api(`/api/v1/agri/reports/${this.r.report_id}/validate`, { method: "POST",
        body: { values, explanations, expected_version: this.r.version } });
    } catch (err) {
      if (seq === this.checkSeq && err.status === 422) this.showFindings(shown(), err.fieldErrors());
      return;
    }
    if (seq !== this.checkSeq || this.gone) return;
    this.findings = [...res.errors, ...res.warnings];
    this.showFindings(shown(), {});
  }

  async run(button, action) {
    this.top.replaceChildren();
    setBusy(button, true);
    try {
      await action();
    } catch (err) {
      let orphan;
      if (err.code === "validation_blocked") { // 服务器的机内审核结果：按严重程度画到字段旁
        this.findings = err.errors.map((e) => ({ indicator: String(e.field || "").replace(/^values\./, ""),
          severity: e.severity || "error", message: e.message }));
        this.touched = new Set(Object.keys(this.fields));
        orphan = this.showFindings(this.findings, {});
      } else {
        orphan = this.showFindings(this.findings.filter((f) => this.touched.has(f.indicator)),
          err.fieldErrors ? err.fieldErrors() : {});
      }
      this.top.replaceChildren(this.problem(err, orphan));
      const bad = this.r.form.indicators.find((i) => this.fields[i.code].box.matches(".has-error, .has-warning"));
      if (bad) this.fields[bad.code].input.focus();
    } finally {
      setBusy(button, false);
    }
  }

  problem(err, orphan) {
    if (err.status === 409 && err.code !== "idempotency_in_progress") {
      return errorBox({ message: "报表已在别处被修改（版本已变化）。请刷新页面后再操作。", errors: [] },
        h("button", { type: "button", onclick: () => location.reload() }, "重新加载"));
    }
    if (err.code === "validation_blocked") return blockedBox(err);
    return errorBox({ message: err.message, errors: orphan.map((m) => ({ message: m })) });
  }

  async save(announce) {
    const edits = this.edits;
    const { values, explanations } = this.strict();
    const body = { values, explanations, expected_version: this.r.version };
    let res;
    try {
      res = await api(`/api/v1/agri/reports/${this.r.report_id}/draft`, { method: "PUT", body, idempotencyKey: newKey() });
    } catch (err) {
      if (err.status === 0) { // 离线：内容已在本机，联网后再保存或直接提交
        await this.autosave.flush();
        err.message = "当前没有网络，草稿已保存在本机（联网后点“保存草稿”存到服务器，或直接提交）";
      }
      throw err;
    }
    Object.assign(this.r, { version: res.version, status: res.status, values, explanations });
    this.savedEdits = edits;
    await this.autosave.drop();
    if (this.edits !== edits) await this.autosave.flush(); // 保存期间又有输入
    document.getElementById("report-status").textContent = reportStatus(res);
    if (announce) {
      this.top.replaceChildren(h("div", { class: "alert ok" }, `草稿已保存（${fmtTime(new Date().toISOString())}）`));
      toast("草稿已保存");
    }
  }

  async validate() {
    const { values, explanations } = this.strict();
    const body = { values, explanations, expected_version: this.r.version };
    const res = await api(`/api/v1/agri/reports/${this.r.report_id}/validate`, { method: "POST", body });
    this.findings = [...res.errors, ...res.warnings];
    this.touched = new Set(Object.keys(this.fields));
    this.showFindings(this.findings, {});
    const unexplained = res.warnings.filter((w) => !w.explained).length;
    this.top.replaceChildren(res.ok
      ? h("div", { class: "alert ok", id: "validate-result" }, res.warnings.length ? `校验通过（${res.warnings.length} 条警告已说明）` : "校验通过，可以提交")
      : h("div", { class: "alert error", id: "validate-result" },
        `校验未通过：${res.errors.length} 条错误，${unexplained} 条警告需修改或说明。`));
  }

  // 提交：先进发件箱（带两个幂等键），在线时立刻发送；网络不通或服务暂不可用时留在发件箱自动重发。
  async submit() {
    const edits = this.edits;
    const body = this.strict();
    const title = `${this.r.period_name || this.r.period}${this.r.form.name}`;
    const item = await enqueue(this.user, this.r, body, title);
    this.savedEdits = edits;
    await this.autosave.flush();
    if (!navigator.onLine) { await this.reload(null); return; }
    this.outboxState.replaceChildren(h("div", { class: "alert warn", id: "queued-note" },
      h("strong", {}, "提交发送中…"), h("div", {}, "已存入本机发件箱：即使现在断网或关闭页面，之后也会自动发送，不会重复提交。")));
    let res;
    try {
      res = await sendNow(item.id);
    } catch (err) {
      this.outboxState.replaceChildren();
      if (retryable(err)) { toast("网络不稳定，提交已存入发件箱，将自动重发"); await this.reload(null); return; }
      const left = await removeItemFor(item.id);
      if (left && left.draftVersion !== null) { // 草稿已存到服务器，只是没有通过提交
        Object.assign(this.r, { version: left.draftVersion, values: body.values, explanations: body.explanations,
          status: left.draftStatus || this.r.status });
        document.getElementById("report-status").textContent = reportStatus({ status: this.r.status });
      } else this.savedEdits = -1; // 什么都没存到服务器：仍算未保存
      throw err;
    }
    toast("报表已提交");
    await this.reload({ revision: res.revision });
  }
}

// 被最终拒绝的提交不留在发件箱（错误已在页面上显示）；返回它最后的样子
async function removeItemFor(id) {
  const items = await outboxItems();
  const item = items.find((x) => x.id === id) || null;
  await removeItem(id);
  return item;
}
