// 报表填报（手机尺寸）：指标与单位、保存草稿、校验（机内审核）、提交（带幂等键，可安全重试）。
// 校验信息显示在字段旁；警告需填写说明；退回的报表在字段旁显示审核人的批注。
import { api, ApiError, newKey } from "./api.js";
import { errorBox, fmtTime, h, LEVEL, mount, REPORT_STATUS, setBusy, toast } from "./ui.js";
import { reasonLabel } from "./meta.js";
import { historyList } from "./history.js";
import { deviceNotice } from "./device.js";

const NUMBER = /^\d+(\.\d+)?$/;

// 提交的幂等键：每次提交尝试生成一个；网络失败后重试时沿用同一个（按报表与版本保存）。
function pendingKey(reportId, version) {
  const k = `gx.submit.${reportId}`;
  const saved = JSON.parse(sessionStorage.getItem(k) || "null");
  if (saved && saved.version === version) return saved.key;
  const key = newKey();
  sessionStorage.setItem(k, JSON.stringify({ key, version }));
  return key;
}
const clearPending = (reportId) => sessionStorage.removeItem(`gx.submit.${reportId}`);

export async function render({ args, user }) {
  const id = args[0];
  mount(h("p", { class: "muted" }, "正在加载报表…"));
  let report;
  try {
    report = await api(`/api/v1/agri/reports/${encodeURIComponent(id)}`);
  } catch (err) {
    mount(h("h1", {}, "填报"), errorBox(err));
    return;
  }
  await new ReportPage(report, user).show();
}

class ReportPage {
  constructor(report, user) {
    this.r = report;
    this.user = user;
    // 编辑计数：保存期间的新输入不会被当作已保存
    this.edits = 0;
    this.savedEdits = 0;
    this.fields = {}; // code -> {box, input, msg, explain}
    // 未填报的空表不先报错；草稿和退回的报表显示上次的审核结果
    this.findings = report.status === "not_started" ? [] : report.validation || [];
  }

  async show() {
    const r = this.r;
    const form = r.form;
    this.top = h("div", { "aria-live": "polite" });
    const list = h("div", {}, form.indicators.map((ind) => this.field(ind)));
    this.buttons = {
      save: h("button", { type: "button", id: "btn-save", onclick: () => this.run(this.buttons.save, () => this.save(true)) }, "保存草稿"),
      check: h("button", { type: "button", id: "btn-validate", onclick: () => this.run(this.buttons.check, () => this.validate()) }, "校验"),
      submit: h("button", { type: "button", id: "btn-submit", class: "primary", onclick: () => this.run(this.buttons.submit, () => this.submit()) }, "提交"),
    };
    const returned = r.status === "returned" && r.last_return ? await this.returnBanner(r.last_return) : null;
    const historyBox = h("details", { class: "card" }, h("summary", {}, "处理记录"), h("div", {}, "展开后加载…"));
    historyBox.addEventListener("toggle", () => this.loadHistory(historyBox), { once: true });
    mount(h("div", { class: "narrow", id: "report-page" },
      h("p", {}, h("a", { href: "#/tasks" }, "‹ 返回我的任务")),
      h("h1", {}, `${r.period_name || r.period} ${form.name}`),
      h("p", { class: "muted" }, `${r.village_name || r.village_code} · 表号 ${form.code} · `,
        h("span", { class: "tag " + r.status, id: "report-status" }, REPORT_STATUS[r.status] || r.status),
        r.revision ? ` · 第 ${r.revision} 次报送` : ""),
      r.read_only ? null : deviceNotice(this.user), returned, this.top,
      h("form", { id: "report-form", novalidate: true, onsubmit: (e) => e.preventDefault() }, list),
      r.read_only ? h("p", { class: "alert ok" }, r.status === "accepted" ? "报表已验收，只读。" : "报表已提交，审核中，只读。")
        : h("div", { class: "actions sticky-actions" }, this.buttons.save, this.buttons.check, this.buttons.submit),
      historyBox));
    this.showFindings(this.findings, {});
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
    const value = r.values && r.values[ind.code];
    const input = h("input", { id, name: ind.code, inputmode: ind.decimals > 0 ? "decimal" : "numeric",
      autocomplete: "off", value: value === null || value === undefined ? "" : String(value),
      disabled: r.read_only, "aria-describedby": `${id}-msg ${id}-note` });
    input.addEventListener("input", () => { this.edits += 1; });
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

  explanationBox(code) {
    const f = this.fields[code];
    let ta = f.explain.querySelector("textarea");
    if (!ta) {
      const id = `x-${code}`;
      ta = h("textarea", { id, name: `explain-${code}`, maxlength: 500, disabled: this.r.read_only },
        (this.r.explanations || {})[code] || "");
      ta.addEventListener("input", () => { this.edits += 1; });
      f.explain.replaceChildren(h("label", { for: id }, `对“${f.ind.name}”警告的说明`), ta);
    }
    return ta;
  }

  // 把审核结果和服务器字段错误画到各字段旁
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
        ...warns.map((w) => h("div", { class: "msg warning" }, "警告：", w.message, w.explained ? "（已说明）" : "")));
      const hasText = ((this.r.explanations || {})[code] || "").length > 0;
      if (warns.length || hasText) this.explanationBox(code);
      else f.explain.replaceChildren();
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
    if (Object.keys(local).length) {
      this.showFindings([], local);
      const first = Object.keys(local)[0];
      this.fields[first].input.focus();
      throw new ApiError(422, { detail: "有指标的取值不是数字，请修改标红的指标",
        errors: Object.entries(local).map(([field, [message]]) => ({ field, message })) });
    }
    return { values, explanations };
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
        orphan = this.showFindings(this.findings, {});
      } else {
        orphan = this.showFindings(this.findings, err.fieldErrors ? err.fieldErrors() : {});
      }
      this.top.replaceChildren(this.problem(err, orphan));
      const bad = this.r.form.indicators.find((i) => this.fields[i.code].box.matches(".has-error, .has-warning"));
      if (bad) this.fields[bad.code].input.focus();
    } finally {
      setBusy(button, false);
    }
  }

  problem(err, orphan) {
    if (err.status === 409) {
      return errorBox({ message: "报表已在别处被修改（版本已变化）。请刷新页面后再操作。", errors: [] },
        h("button", { type: "button", onclick: () => location.reload() }, "重新加载"));
    }
    return errorBox({ message: err.message, errors: orphan.map((m) => ({ message: m })) });
  }

  async save(announce) {
    const edits = this.edits;
    const body = { ...this.collect(), expected_version: this.r.version };
    const res = await api(`/api/v1/agri/reports/${this.r.report_id}/draft`, { method: "PUT", body, idempotencyKey: newKey() });
    Object.assign(this.r, { version: res.version, status: res.status, values: body.values, explanations: body.explanations });
    this.savedEdits = edits;
    document.getElementById("report-status").textContent = REPORT_STATUS[res.status] || res.status;
    if (announce) {
      this.top.replaceChildren(h("div", { class: "alert ok" }, `草稿已保存（${fmtTime(new Date().toISOString())}）`));
      toast("草稿已保存");
    }
  }

  async validate() {
    const body = { ...this.collect(), expected_version: this.r.version };
    const res = await api(`/api/v1/agri/reports/${this.r.report_id}/validate`, { method: "POST", body });
    this.findings = [...res.errors, ...res.warnings];
    this.showFindings(this.findings, {});
    const unexplained = res.warnings.filter((w) => !w.explained).length;
    this.top.replaceChildren(res.ok
      ? h("div", { class: "alert ok", id: "validate-result" }, res.warnings.length ? `校验通过（${res.warnings.length} 条警告已说明）` : "校验通过，可以提交")
      : h("div", { class: "alert error", id: "validate-result" },
        `校验未通过：${res.errors.length} 条错误，${unexplained} 条警告需修改或说明。`));
  }

  async submit() {
    if (this.edits !== this.savedEdits || this.r.status === "not_started" || this.r.version === 0) await this.save(false);
    const key = pendingKey(this.r.report_id, this.r.version);
    let res;
    try {
      res = await api(`/api/v1/agri/reports/${this.r.report_id}/submit`, {
        method: "POST", body: { expected_version: this.r.version }, idempotencyKey: key });
    } catch (err) {
      if (err.status === 0 || err.status >= 500) {
        err.message = `${err.message}。提交结果未知，请再次点击“提交”重试（不会重复提交）。`;
      } else {
        clearPending(this.r.report_id);
      }
      throw err;
    }
    clearPending(this.r.report_id);
    toast("报表已提交");
    const fresh = await api(`/api/v1/agri/reports/${this.r.report_id}`);
    await new ReportPage(fresh, this.user).show();
    document.getElementById("report-page").prepend(h("div", { class: "alert ok", role: "status", id: "submit-result" },
      `已提交（第 ${res.revision} 次报送），等待乡镇审核。`));
  }

  async loadHistory(box) {
    try {
      const res = await api(`/api/v1/agri/reports/${this.r.report_id}/history`);
      box.lastElementChild.replaceChildren(await historyList(res.steps.map((s) => ({
        who: s.who, role: s.role, at: s.when, action: s.what_zh, reason_code: s.reason_code,
        reason: s.reason, field_notes: s.field_notes }))));
    } catch (err) {
      box.lastElementChild.replaceChildren(errorBox(err));
    }
  }
}
