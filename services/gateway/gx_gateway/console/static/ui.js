// 界面小工具：元素构造、中文标签、提示、对话框（焦点限制在对话框内，Esc 关闭）。

// h("button", {class: "primary", onclick}, "文字", child...)
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function mount(...children) {
  const main = document.getElementById("main");
  main.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return main;
}

export const REPORT_STATUS = {
  not_started: "未填报", draft: "草稿", submitted: "已提交（审核中）", returned: "已退回",
  accepted: "已验收", confirmed: "已确认",
};
export const CASE_STATUS = { in_review: "审核中", returned: "已退回", accepted: "已验收", confirmed: "已确认" };
// 报表状态的中文：服务给的 status_zh 优先，其次本表；不认识的状态不显示英文代码
export function reportStatus(r) { return r.status_zh || REPORT_STATUS[r.status] || "状态待更新"; }
export const LEVEL = { village: "村", township: "乡镇", county: "县（区）", city: "市", region: "自治区" };
export const ROLE = {
  region_statistician: "自治区统计局", city_statistician: "市统计局", county_statistician: "县统计局",
  township_statistician: "乡镇统计员", village_coordinator: "村级统计协管员", grid_worker: "网格员",
  subscriber: "其他系统", ops: "运维",
};
export const ACTION = {
  opened: "报送", submitted: "报送", approve: "审核通过", approved: "审核通过", return: "退回修改",
  returned: "退回修改", resubmitted: "重新报送", accept: "验收", accepted: "验收",
  reopen: "重新打开", reopened: "重新打开", overdue: "审核超期",
};

export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function fmtNum(v) {
  if (v === null || v === undefined || v === "") return "—";
  return Number(v).toLocaleString("zh-CN", { maximumFractionDigits: 4 });
}

let toastTimer;
export function toast(text) {
  const el = document.getElementById("toast");
  el.textContent = text;
  el.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove("show"), 4000);
}

// 错误提示块：problem details 的 detail 与 errors[].field/message（中文）。
export function errorBox(err, extra) {
  const items = (err.errors || []).filter((e) => e && e.message && e.message !== err.message);
  return h("div", { class: "alert error", role: "alert" },
    h("div", {}, err.message || String(err)),
    items.length ? h("ul", {}, items.map((e) => h("li", {}, e.field ? `${e.field}：${e.message}` : e.message))) : null,
    extra || null);
}

export function setBusy(button, busy, busyText) {
  if (busy) { button.dataset.text = button.textContent; button.textContent = busyText || "处理中…"; }
  else if (button.dataset.text) button.textContent = button.dataset.text;
  button.disabled = busy;
}

// 模态对话框：showModal 使背景不可操作；再加 Tab 循环，Esc 关闭，关闭后焦点回到触发按钮。
export function openDialog(title, body, { onSubmit, submitText = "确定", submitClass = "primary" } = {}) {
  const opener = document.activeElement;
  const errorSlot = h("div", { "aria-live": "assertive" });
  const submit = h("button", { type: "submit", class: submitClass }, submitText);
  const cancel = h("button", { type: "button", onclick: () => close() }, "取消");
  const titleId = "dlg-" + Math.random().toString(36).slice(2);
  const form = h("form", { method: "dialog", novalidate: true },
    h("h2", { id: titleId }, title), body, errorSlot, h("div", { class: "actions" }, submit, cancel));
  const dlg = h("dialog", { "aria-labelledby": titleId }, form);
  document.body.append(dlg);
  function close() {
    dlg.close();
    dlg.remove();
    if (opener && opener.focus && document.contains(opener)) opener.focus();
  }
  dlg.addEventListener("cancel", (e) => { e.preventDefault(); close(); });
  dlg.addEventListener("keydown", (e) => {
    if (e.key !== "Tab") return;
    const f = [...dlg.querySelectorAll("button, input, select, textarea, a[href], [tabindex]:not([tabindex='-1'])")]
      .filter((x) => !x.disabled && x.offsetParent !== null);
    if (!f.length) return;
    const first = f[0], last = f[f.length - 1];
    if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    errorSlot.replaceChildren();
    setBusy(submit, true);
    try {
      await onSubmit();
      close();
    } catch (err) {
      setBusy(submit, false);
      errorSlot.replaceChildren(err.render ? err.render() : errorBox(err));
    }
  });
  dlg.showModal();
  const firstField = dlg.querySelector("select, input, textarea") || submit;
  firstField.focus();
  return { dialog: dlg, close };
}

let uid = 0;
export function fieldId(prefix = "f") { uid += 1; return `${prefix}-${uid}`; }

// 带标签的输入控件
export function labeled(text, control, hint) {
  control.id ||= fieldId();
  const parts = [h("label", { for: control.id }, text), control];
  if (hint) {
    const hid = control.id + "-hint";
    control.setAttribute("aria-describedby", hid);
    parts.push(h("div", { id: hid, class: "muted msg" }, hint));
  }
  return h("div", {}, parts);
}

// 表格：手机上（app.css，600px 以下）列数多的表改为逐行卡片，每格在值前显示所在列的表头；
// 列少的表与数字矩阵在 .table-wrap 里横向滚动（首列固定）。表头文字由本函数写进各格的 data-label（CSS 读不到表头）。
// 页面不必各自调用：#main 里新出现的 .table-wrap 表格由下面的观察者补上（进度树 #tree 有自己的卡片样式）。
export const STACK_MIN_COLUMNS = 5;
const NUMBER = /^(—|[-+]?[\d,]+(\.\d+)?\s*(%|ms)?)$/;
export function labelTable(table) {
  const heads = [...table.querySelectorAll(":scope > thead > tr:last-child > th")].map((th) => th.textContent.trim());
  if (!heads.length || table.id === "tree") return table;
  // 数字矩阵（运维概览的 .ops-table）不改卡片：在框内横向滚动，首列固定
  table.classList.toggle("stack", heads.length >= STACK_MIN_COLUMNS && !table.matches(".ops-table"));
  table.dataset.labelled = "";
  const numeric = heads.map(() => true); // 一列全是数字（或“—”）时右对齐，文字列左对齐
  const rows = table.querySelectorAll(":scope > tbody > tr");
  for (const row of rows) {
    let col = 0;
    for (const c of row.children) {
      if (!c.hasAttribute("data-label")) c.dataset.label = heads[col] ?? "";
      if (col < numeric.length && !NUMBER.test(c.textContent.trim())) numeric[col] = false;
      col += c.colSpan || 1;
    }
  }
  const ths = table.querySelectorAll(":scope > thead > tr:last-child > th");
  const declared = table.querySelector(".text") !== null;
  numeric.forEach((isNum, i) => {
    const on = isNum && rows.length > 0 && !declared; // 页面自己标了 .text/.num 的（运维概览）按页面的
    if (ths[i]) ths[i].toggleAttribute("data-num", on);
    for (const row of rows) if (row.children[i]) row.children[i].toggleAttribute("data-num", on);
  });
  return table;
}

// 给页面用的包装：<div class="table-wrap"><table>…</table></div>，标签已写好
export function tableWrap(table) { return h("div", { class: "table-wrap" }, labelTable(table)); }

function watchTables(root) {
  new MutationObserver((records) => {
    const tables = new Set();
    for (const r of records) {
      const at = r.target.closest ? r.target.closest(".table-wrap table") : null;
      if (at) tables.add(at);
      for (const n of r.addedNodes) {
        if (n.nodeType !== 1) continue;
        if (n.matches(".table-wrap table")) tables.add(n);
        n.querySelectorAll(".table-wrap table").forEach((t) => tables.add(t));
      }
    }
    tables.forEach(labelTable);
  }).observe(root, { childList: true, subtree: true });
}
const mainEl = typeof document === "undefined" ? null : document.getElementById("main");
if (mainEl) watchTables(mainEl);
