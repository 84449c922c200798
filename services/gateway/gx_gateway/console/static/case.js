// 审核案卷：案卷信息、指标值（警告与说明）、完整处理记录；通过 / 退回 / 验收对话框。
// 每个操作带 expected_version；409 表示他人已先处理，提示重新加载。
import { api, ApiError, newKey } from "./api.js";
import { CASE_STATUS, errorBox, fmtNum, fmtTime, h, LEVEL, labeled, mount, openDialog, toast } from "./ui.js";
import { getMeta } from "./meta.js";
import { archiveButton, historyList } from "./history.js";
import { divisionNames } from "./people.js";

const LEVEL_OF_ROLE = { township_statistician: "township", county_statistician: "county",
  city_statistician: "city", region_statistician: "region" };

export async function render(ctx) {
  const id = ctx.args[0];
  mount(h("p", { class: "muted" }, "正在加载案卷…"));
  let kase, steps, report = null;
  try {
    [kase, steps] = await Promise.all([
      api(`/api/v1/workflow/cases/${encodeURIComponent(id)}`),
      api(`/api/v1/workflow/cases/${encodeURIComponent(id)}/history`).then((r) => r.steps)]);
    if (kase.subject_kind === "agri.report") {
      report = await api(`/api/v1/agri/reports/${encodeURIComponent(kase.subject_id)}`).catch(() => null);
    }
  } catch (err) {
    mount(h("h1", {}, "审核案卷"), errorBox(err));
    return;
  }
  const flash = ctx.flash;
  const myLevel = LEVEL_OF_ROLE[ctx.user.role];
  const mine = kase.status === "in_review" && kase.level === myLevel;
  const labels = Object.fromEntries(((report && report.form.indicators) || []).map((i) => [i.code, i.name]));
  const reload = (message) => render({ ...ctx, flash: message });
  const buttons = [];
  if (mine && kase.level !== kase.final_level) {
    buttons.push(h("button", { type: "button", class: "primary", id: "btn-approve",
      onclick: () => approveDialog(kase, reload) }, "通过"));
  }
  if (mine) {
    buttons.push(h("button", { type: "button", class: "danger", id: "btn-return",
      onclick: () => returnDialog(kase, report, reload) }, "退回"));
  }
  if (mine && (kase.level === kase.final_level ||
      ((kase.early_accept_levels || []).includes(kase.level) && !kase.accepted_level))) {
    buttons.push(h("button", { type: "button", class: "primary", id: "btn-accept",
      onclick: () => acceptDialog(kase, reload) }, "验收"));
  }
  const timeline = await historyList(steps.map((s) => ({
    name: s.actor_name, role: s.role, division: s.division, at: s.at, action: stepName(s),
    to_level: /^return/.test(s.action || "") ? s.to_level : null,
    reason_code: s.reason_code, reason: s.reason, comment: s.comment, field_notes: s.field_notes })), labels);
  const where = (await divisionNames([kase.division_code]))(kase.division_code);
  mount(
    h("p", {}, h("a", { href: "#/queue" }, "‹ 返回审核队列")),
    h("h1", {}, kase.title || "审核案卷"),
    flash ? h("div", { class: "alert ok", role: "status", id: "case-flash" }, flash) : null,
    h("div", { class: "card" },
      h("div", {}, h("span", { class: "tag " + kase.status, id: "case-status" }, caseStatus(kase, report)),
        kase.status === "in_review" && kase.accepted_early_by ? h("span", { class: "tag accepted", id: "case-early" },
          `${LEVEL[kase.accepted_early_by] || ""}已数据验收，待${LEVEL[kase.final_level] || "上级"}确认`) : null,
        " ", kase.late ? h("span", { class: "tag late" }, "超期") : null),
      h("p", {}, `当前层级：${LEVEL[kase.level] || kase.level} · 审核链：`,
        kase.chain.map((lv) => LEVEL[lv] || lv).join(" → "), ` · 第 ${kase.revision} 次报送`),
      h("p", { class: "muted" }, `报送单位 ${where || (report && report.village_name) || "—"}（区划代码 ${kase.division_code}） · 到达 ${fmtTime(kase.arrived_at)} · 时限 ${fmtTime(kase.deadline)}`),
      !mine && kase.status === "in_review" ? h("p", { class: "muted" }, `案卷在${LEVEL[kase.level]}审核，您当前不能操作。`) : null,
      buttons.length ? h("div", { class: "actions" }, buttons) : null,
      archiveButton(report)),
    h("div", { class: "two-col" },
      h("section", { "aria-labelledby": "values-h" }, h("h2", { id: "values-h" }, "报送数据"), valuesTable(report, kase)),
      h("section", { "aria-labelledby": "hist-h" }, h("h2", { id: "hist-h" }, "处理记录"), timeline)));
}

// 已验收的农业报表按报表的说法（附件3：自治区审核确认后为“已确认”）
function caseStatus(kase, report) {
  if (kase.status === "accepted" && report && report.status_zh) return report.status_zh;
  return CASE_STATUS[kase.status] || "状态待更新";
}

// 处理步骤的中文名称（动作来自审核流程服务：open/approve/return/resubmit/accept/reopen/overdue）
function stepName(s) {
  const past = { opened: "open", approved: "approve", returned: "return", resubmitted: "resubmit",
    accepted: "accept", reopened: "reopen" };
  const a = past[s.action] || s.action;
  const from = LEVEL[s.from_level] || "", to = LEVEL[s.to_level] || "";
  switch (a) {
    case "open": return "报送";
    case "resubmit": return "重新报送";
    case "approve": return `${from}审核通过，报送${to || "上一级"}`;
    case "return": return `${from}退回修改`;
    case "accept": return s.label_zh || `${from || to}验收`; // 数据验收 / 审核确认（附件3）
    case "reopen": return "重新打开";
    case "overdue": return "审核超期";
    default: return "处理";
  }
}

function valuesTable(report, kase) {
  if (!report) return h("p", { class: "muted" }, "该类报送的数据请在对应业务页面查看。");
  const warn = {};
  for (const f of report.validation || []) (warn[f.indicator] ||= []).push(f);
  const notes = kase.field_notes || {};
  const rows = report.form.indicators.map((ind) => {
    const ws = warn[ind.code] || [];
    const ex = (report.explanations || {})[ind.code];
    return h("tr", { dataset: { indicator: ind.code } },
      h("th", { scope: "row", style: "text-align:left;white-space:normal" }, ind.name),
      h("td", {}, fmtNum((report.values || {})[ind.code]), " ", h("span", { class: "muted" }, ind.unit)),
      h("td", { style: "text-align:left;white-space:normal" },
        ws.map((w) => h("div", { class: "msg " + w.severity }, (w.severity === "error" ? "错误：" : "警告：") + w.message)),
        ex ? h("div", {}, h("strong", {}, "说明："), ex) : null,
        notes[ind.code] && kase.status === "returned" ? h("div", { class: "note" }, "批注：", notes[ind.code]) : null));
  });
  return h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "指标"), h("th", { scope: "col" }, "数值"),
      h("th", { scope: "col", style: "text-align:left" }, "审核提示与说明"))),
    h("tbody", {}, rows)));
}

// 409：他人已先处理（版本变化）或案卷已不在本级 → 明确提示并提供重新加载。
function conflictAware(err, reload) {
  if (err.status !== 409) return err;
  err.render = () => errorBox({ message: `操作未执行：该案卷已被他人处理或状态已变化（${err.message}）。请重新加载后查看最新状态。`, errors: [] },
    h("button", { type: "button", onclick: () => { document.querySelector("dialog")?.remove(); reload(null); } }, "重新加载"));
  return err;
}

async function act(kase, action, body, reload, done) {
  try {
    await api(`/api/v1/workflow/cases/${kase.case_id}/${action}`, {
      method: "POST", body: { ...body, expected_version: kase.version }, idempotencyKey: newKey() });
  } catch (err) {
    throw conflictAware(err, reload);
  }
  toast(done);
  setTimeout(() => reload(done), 0);
}

function approveDialog(kase, reload) {
  const comment = h("textarea", { id: "approve-comment", maxlength: 500 });
  const up = kase.chain[kase.chain.indexOf(kase.level) + 1];
  openDialog("审核通过", h("div", {},
    h("p", {}, `通过后案卷报送${LEVEL[up] || "上一级"}审核。`), labeled("审核意见（可选）", comment)), {
    submitText: "确认通过",
    onSubmit: () => act(kase, "approve", { comment: comment.value.trim() }, reload, `已审核通过，报送${LEVEL[up] || "上一级"}`),
  });
}

function acceptDialog(kase, reload) {
  const comment = h("textarea", { id: "accept-comment", maxlength: 500 });
  openDialog("验收", h("div", {}, h("p", {}, "验收后数据定稿。"), labeled("验收意见（可选）", comment)), {
    submitText: "确认验收",
    onSubmit: () => act(kase, "accept", { comment: comment.value.trim() }, reload, "已验收"),
  });
}

async function returnDialog(kase, report, reload) {
  const meta = await getMeta();
  const code = h("select", { id: "return-code", required: true },
    h("option", { value: "" }, "请选择退回原因"),
    (meta.return_reasons || []).map((r) => h("option", { value: r.code }, `${r.code} ${r.label}`)));
  const reason = h("textarea", { id: "return-text", maxlength: 500, required: true });
  const lower = kase.chain.slice(0, kase.chain.indexOf(kase.level));
  const target = h("select", { id: "return-target" }, h("option", { value: "" }, "报送人（村）"),
    lower.map((lv) => h("option", { value: lv }, LEVEL[lv] || lv)));
  const notes = {};
  const noteFields = ((report && report.form.indicators) || []).map((ind) => {
    notes[ind.code] = h("textarea", { id: `note-${ind.code}`, name: `note-${ind.code}`, maxlength: 500, rows: 2 });
    return labeled(`${ind.name}（${fmtNum((report.values || {})[ind.code])} ${ind.unit}）`, notes[ind.code]);
  });
  openDialog("退回修改", h("div", {},
    labeled("退回原因", code), labeled("原因说明（必填）", reason), labeled("退回到", target),
    noteFields.length ? h("fieldset", { class: "notes" }, h("legend", {}, "指标批注（可选，写在需要修改的指标下）"), noteFields) : null), {
    submitText: "确认退回", submitClass: "danger",
    onSubmit: () => {
      const errors = [];
      if (!code.value) errors.push({ field: "退回原因", message: "请选择退回原因" });
      if (!reason.value.trim()) errors.push({ field: "原因说明", message: "请填写原因说明" });
      if (errors.length) {
        (code.value ? reason : code).focus();
        throw new ApiError(422, { detail: "请补全退回信息", errors });
      }
      const fieldNotes = Object.fromEntries(Object.entries(notes)
        .map(([k, el]) => [k, el.value.trim()]).filter(([, v]) => v));
      return act(kase, "return", { reason_code: code.value, reason: reason.value.trim(),
        field_notes: fieldNotes, to_level: target.value || null }, reload,
        `已退回${target.value ? LEVEL[target.value] : "报送人"}`);
    },
  });
}
