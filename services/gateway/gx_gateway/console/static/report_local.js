// 填报页的本机部分：输入自动保存到 IndexedDB（重新打开时恢复）、离开页面前提醒未保存的修改、
// 提交失败时的横幅（阻止提交的错误排在最前）。
import { dropDraft, loadDraft, saveDraft } from "./store.js";
import { errorBox, h } from "./ui.js";

const DEBOUNCE_MS = 250;

export class Autosave {
  constructor(username, reportId, snapshot) {
    Object.assign(this, { username, reportId, snapshot, timer: null });
  }
  load() { return loadDraft(this.username, this.reportId).catch(() => null); }
  // 每次输入后稍等再写（连续输入只写一次）；失焦与离开页面时立即写
  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), DEBOUNCE_MS);
  }
  async flush() {
    clearTimeout(this.timer);
    this.timer = null;
    const snap = this.snapshot();
    if (!snap) return;
    try { await saveDraft({ username: this.username, reportId: this.reportId, ...snap }); } catch { /* 存储不可用：照常在线填报 */ }
  }
  async drop() {
    clearTimeout(this.timer);
    try { await dropDraft(this.username, this.reportId); } catch { /* ignore */ }
  }
}

// 本机保存的内容与服务器上的是否不同（不同才算“恢复”）
export function differs(draft, report) {
  if (!draft) return false;
  const server = report.values || {};
  for (const [code, raw] of Object.entries(draft.values || {})) {
    const s = server[code] === null || server[code] === undefined ? "" : String(server[code]);
    if (String(raw).trim() !== s) return true;
  }
  const sx = report.explanations || {};
  return Object.entries(draft.explanations || {}).some(([code, text]) => (text || "") !== (sx[code] || ""));
}

// 离开提醒：只有一个当前的填报页；它说有未保存（未存到服务器、也未进发件箱）的修改时提醒
let current = null;
export function guardLeaving(page) { current = page; }
window.addEventListener("beforeunload", (e) => {
  if (!current || !current.unsaved()) return;
  if (current.autosave) current.autosave.flush();
  e.preventDefault();
  e.returnValue = "";
});
window.addEventListener("pagehide", () => { if (current && current.autosave) current.autosave.flush(); });

// 审核不通过时的横幅：先列阻止提交的错误，再列未说明的警告
export function blockedBox(err) {
  const rank = (e) => (e.severity === "warning" ? 1 : 0);
  const items = [...(err.errors || [])].sort((a, b) => rank(a) - rank(b));
  const errors = items.filter((e) => rank(e) === 0).length;
  const head = errors
    ? `审核未通过，不能提交：有 ${errors} 项错误，请先修改标红的指标。`
    : `有 ${items.length} 条审核警告未说明，不能提交：请修改数值，或在指标下方填写说明。`;
  return errorBox({ message: head, errors: items.map((e) => ({
    message: `${rank(e) ? "警告" : "错误"}：${e.message}` })) });
}
