// 进度看板：区划树（自治区 → 市 → 县 → 乡镇 → 村）各状态计数与超期，点击下钻；
// 服务器推送（SSE）实时更新，不可用时每 5 秒轮询；ECharts 汇总图；导出按钮（仅显示已提供的格式）。
import { api, download, stream } from "./api.js";
import { errorBox, fmtNum, fmtTime, h, LEVEL, mount } from "./ui.js";

const POLL_MS = 5000;
const PREFIX_LENS = [2, 4, 6, 9, 12];
const LEVEL_BY_LEN = { 2: "region", 4: "city", 6: "county", 9: "township", 12: "village" };
const NAMES_KEY = "gx.division-names";
// 口径（每个词一个定义，看板、表格、图表一致；与工作流服务 /progress 的 basis 相同）：
// 应报 = 未报 + 退回 + 审核中 + 已验收 + 已确认；已报 = 审核中 + 已验收 + 已确认（不含退回）。
// “在乡镇…在自治区”是审核中与已验收的案卷此刻所在的层级（其和 = 审核中 + 已验收）。
// 其中草稿：未报中已保存草稿、尚未提交的村（审核流转服务看不到草稿，数字来自报表所属的
// 农业统计服务 /monitor；取不到时显示“—”）。
const COLUMNS = [
  ["expected", "应报"], ["not_started", "未报"], ["draft", "其中草稿"], ["returned", "退回"], ["submitted", "已报"],
  ["in_review", "审核中"], ["accepted_early", "已验收"], ["accepted", "已确认"],
  ["township", "在乡镇"], ["county", "在县"], ["city", "在市"], ["region", "在自治区"],
  ["late", "超期"],
];
const KPIS = [["expected", "应报"], ["not_started", "未报"], ["draft", "其中草稿"], ["returned", "退回"], ["submitted", "已报"],
  ["in_review", "审核中"], ["accepted_early", "已验收"], ["accepted", "已确认"], ["late", "超期"]];
const BASIS = "口径：应报 = 任务范围内的村数 = 未报 + 退回 + 审核中 + 已验收 + 已确认；"
  + "已报 = 审核中 + 已验收（如乡镇数据验收）+ 已确认（终审）；退回不计入已报；未报含草稿，其中草稿另列（已保存、未提交）；超期跨各状态计数。";

function names() { try { return JSON.parse(sessionStorage.getItem(NAMES_KEY) || "{}"); } catch { return {}; } }
function remember(items) {
  const n = names();
  for (const i of items) n[i.code] = i.name;
  sessionStorage.setItem(NAMES_KEY, JSON.stringify(n));
}
// 区划代码的有效前缀长度（末尾为 0 的段不算）
function sigLen(code) {
  for (let i = PREFIX_LENS.length - 1; i >= 0; i--) {
    const len = PREFIX_LENS[i], prev = PREFIX_LENS[i - 1] || 0;
    if (!/^0+$/.test(code.slice(prev, len))) return len;
  }
  return 2;
}
const cell = (item, key) => (key in item ? item[key] : (item.at_level || {})[key]) ?? 0;
// 草稿数：drafts 为 {区划代码: 草稿数, total: 合计}，未取到时为 null
const draftText = (drafts, code) => (drafts && code in drafts ? fmtNum(drafts[code]) : "—");
const show = (item, key, drafts, code) => (key === "draft" ? draftText(drafts, code) : fmtNum(cell(item, key)));

export async function render(ctx) {
  const { query, go, user } = ctx;
  const taskSel = h("select", { id: "p-task" });
  const state = { task: query.get("task") || "", division: query.get("division") || "" };
  const head = h("h1", {}, "进度");
  const treeHead = h("h2", { id: "tree-h" }, "下级区划");
  const live = h("span", { class: "live", id: "live", "aria-live": "polite" }, "连接中…");
  const crumbs = h("ol", { class: "crumbs", "aria-label": "区划层级" });
  const kpis = h("div", { class: "kpis", id: "kpis" });
  const basis = h("p", { class: "muted", id: "basis" }, BASIS);
  const tbody = h("tbody", { id: "tree-body" });
  const updated = h("span", { class: "muted", id: "updated" });
  const exportsBox = h("div", { class: "actions", id: "exports" });
  const errors = h("div", {});
  const indSel = h("select", { id: "chart-indicator" });
  const chartBox = h("div", { id: "chart", role: "img", "aria-label": "汇总图" });
  const chartMsg = h("p", { class: "muted", id: "chart-msg" });
  mount(head,
    h("div", { class: "filters card" }, h("div", {}, h("label", { for: "p-task" }, "报表任务"), taskSel),
      h("div", {}, live, " ", updated)),
    errors,
    h("nav", { "aria-label": "区划导航" }, crumbs), kpis, basis,
    treeHead,
    h("div", { class: "table-wrap" }, h("table", { "aria-labelledby": "tree-h", id: "tree" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "区划"), COLUMNS.map(([, t]) => h("th", { scope: "col" }, t)))),
      tbody)),
    exportsBox,
    h("section", { class: "card", "aria-labelledby": "chart-h" },
      h("h2", { id: "chart-h" }, "汇总数据"),
      h("div", { class: "filters" }, h("div", {}, h("label", { for: "chart-indicator" }, "指标"), indSel)),
      chartMsg, chartBox));

  // 任务已知时，任务列表与进度同时请求（首屏更快）
  const early = state.task ? progressOf(state.task, state.division).catch(() => null) : null;
  let tasks;
  try {
    tasks = (await api("/api/v1/agri/tasks")).items || [];
  } catch (err) { errors.replaceChildren(errorBox(err)); return; }
  if (!tasks.length) { errors.replaceChildren(h("p", { class: "muted" }, "暂无报表任务。")); live.textContent = ""; return; }
  for (const t of tasks) taskSel.append(h("option", { value: t.task_id }, `${t.title}（截止 ${fmtTime(t.deadline)}）`));
  if (!tasks.some((t) => t.task_id === state.task)) state.task = tasks[0].task_id;
  taskSel.value = state.task;
  taskSel.addEventListener("change", () => go(`#/progress?task=${taskSel.value}`));
  const setHash = (division) => go(`#/progress?task=${state.task}&division=${division}`);

  let stopped = false, timer = null, abort = new AbortController(), refetchTimer = null, totals = null;
  let drafts = null, lastDrawn = null;

  const draw = (p) => {
    // 刷新（实时进度、草稿数到达）会重建链接：键盘焦点留在同一区划的链接上
    const had = document.activeElement, keep = had && had.dataset && had.dataset.focus;
    lastDrawn = p;
    state.division = p.division;
    remember([{ code: p.total.code, name: p.total.name }, ...p.children]);
    head.textContent = `进度：${p.total.name}`;
    const n = names(), len = sigLen(p.division), mineLen = sigLen(user.division.padEnd(12, "0"));
    const childLen = PREFIX_LENS[PREFIX_LENS.indexOf(len) + 1];
    treeHead.textContent = childLen ? `下级区划（${LEVEL[LEVEL_BY_LEN[childLen]]}）` : "下级区划";
    crumbs.replaceChildren(...PREFIX_LENS.filter((l) => l <= len && l >= Math.min(mineLen, len)).map((l) => {
      const code = p.division.slice(0, l).padEnd(12, "0");
      const label = n[code] || code;
      return h("li", {}, l === len ? h("span", { "aria-current": "page" }, label)
        : h("button", { type: "button", class: "link", dataset: { focus: `crumb-${code}` }, onclick: () => setHash(code) }, label));
    }));
    const t = p.total;
    kpis.replaceChildren(...KPIS.map(([k, label]) => h("div", { class: "kpi" + (k === "draft" ? " sub" : ""), dataset: { kpi: k } },
      label, h("b", {}, show(t, k, drafts, "total")))));
    basis.textContent = p.scope ? `${BASIS}只列出任务范围内的区划。` : BASIS;
    const drillable = len < 9; // 乡镇的下级是村，村没有下级
    tbody.replaceChildren(...p.children.map((c) => h("tr", { dataset: { code: c.code } },
      h("td", {}, drillable ? h("button", { type: "button", class: "link", dataset: { focus: `row-${c.code}` }, onclick: () => setHash(c.code) }, c.name) : c.name),
      COLUMNS.map(([k, label]) => h("td", { class: k === "late" && cell(c, k) > 0 ? "late" : "", dataset: { col: k, label } },
        show(c, k, drafts, c.code))))),
    h("tr", { class: "total", dataset: { code: "total" } }, h("td", {}, p.children.length ? "合计" : t.name),
      COLUMNS.map(([k, label]) => h("td", { dataset: { col: k, label } }, show(t, k, drafts, "total")))));
    if (keep && !had.isConnected) document.querySelector(`[data-focus="${keep}"]`)?.focus();
    updated.textContent = `更新于 ${new Date().toLocaleTimeString("zh-CN")}`;
    // 供基准测试：树首次渲染完成的时刻（毫秒，自导航开始）
    document.body.dataset.progressReady ||= String(Math.round(performance.now()));
  };

  const fetchProgress = async () => {
    const res = await progressOf(state.task, state.division);
    if (!stopped) { errors.replaceChildren(); draw(res); }
    return res;
  };
  const refresh = () => { // 事件可能成批到达：合并为一次刷新
    clearTimeout(refetchTimer);
    refetchTimer = setTimeout(async () => {
      try { await fetchProgress(); loadTotals(); } catch (err) { if (!stopped) errors.replaceChildren(errorBox(err)); }
    }, 150);
  };

  const poll = () => {
    live.classList.remove("on");
    live.textContent = `每 ${POLL_MS / 1000} 秒自动刷新`;
    const loop = async () => {
      if (stopped) return;
      if (!document.hidden) { try { await fetchProgress(); loadTotals(); } catch (err) { errors.replaceChildren(errorBox(err)); } }
      if (!stopped) timer = setTimeout(loop, POLL_MS);
    };
    timer = setTimeout(loop, POLL_MS);
  };

  const listen = async (features) => {
    if (!features.progress_stream) { poll(); return; }
    const p = new URLSearchParams({ task_id: state.task, division: state.division });
    try {
      await stream(`/api/v1/workflow/progress/stream?${p}`, {
        signal: abort.signal,
        onOpen: () => { live.classList.add("on"); live.textContent = "实时更新（服务器推送）"; },
        onMessage: (event, data) => {
          let body = null;
          try { body = JSON.parse(data); } catch { /* 非 JSON 事件：只作为“有变化”的信号 */ }
          if (body && body.total && Array.isArray(body.children) && body.division === state.division) { draw(body); loadTotals(); }
          else if (event !== "ping" && event !== "keepalive") refresh();
        },
      });
      if (!stopped) { refresh(); poll(); } // 服务器关闭了连接：改为轮询
    } catch (err) {
      if (!stopped && err.name !== "AbortError") poll();
    }
  };

  // 汇总图（农业统计）：ECharts 只在本页按需加载
  let chart = null;
  const drawChart = () => {
    if (!totals || !window.echarts) return;
    const ind = totals.indicators.find((i) => i.code === indSel.value) || totals.indicators[0];
    if (!ind) return;
    // 没有下级时只画本区划一根柱子，标它的名称（不标区划代码）
    const kids = totals.children.length ? totals.children
      : [{ name: names()[totals.division] || "合计", totals: totals.totals }];
    // 汇总口径随数据说明：默认“已报”（审核中 + 已验收 + 已确认，不含退回），与上表一致
    const on = totals.basis === "approved" ? `经${LEVEL[totals.min_approved_level] || ""}审核通过（含以上）` : "已报（不含退回）";
    chartMsg.textContent = `${ind.name}（${ind.unit}）：合计 ${fmtNum(totals.totals[ind.code] ?? 0)}；口径：${on}的报表 ${totals.report_count} 份`;
    chart ||= window.echarts.init(chartBox, null, { renderer: "canvas" });
    chart.setOption({
      textStyle: { fontFamily: getComputedStyle(document.body).fontFamily }, tooltip: { trigger: "axis" }, grid: { left: 8, right: 8, bottom: 8, top: 36, containLabel: true },
      xAxis: { type: "category", data: kids.map((c) => c.name || names()[c.division] || "未命名区划"), axisLabel: { interval: 0, rotate: kids.length > 6 ? 40 : 0 } },
      // 单位写在轴顶、左对齐（居中时窄屏会被裁掉）；只有一个区划有数时柱子也不铺满整幅
      yAxis: { type: "value", name: `单位：${ind.unit}`, nameTextStyle: { align: "left" }, nameGap: 12 },
      series: [{ type: "bar", name: ind.name, barMaxWidth: 48, data: kids.map((c) => c.totals[ind.code] ?? 0), itemStyle: { color: "#0b5cad" } }],
    }, true);
  };
  indSel.addEventListener("change", drawChart);
  const onResize = () => chart && chart.resize();
  window.addEventListener("resize", onResize);
  let totalsBusy = false;
  async function loadTotals() {
    if (totalsBusy || stopped) return;
    totalsBusy = true;
    try {
      const p = new URLSearchParams({ division: state.division });
      loadDrafts(p);
      totals = await api(`/api/v1/agri/tasks/${state.task}/totals?${p}`);
      if (indSel.options.length !== totals.indicators.length) {
        indSel.replaceChildren(...totals.indicators.map((i) => h("option", { value: i.code }, `${i.name}（${i.unit}）`)));
      }
      await loadEcharts();
      if (!stopped) drawChart();
    } catch (err) {
      chartMsg.textContent = `汇总数据暂不可用：${err.message}`;
    } finally { totalsBusy = false; }
  }

  // 草稿（农业统计服务的 /monitor：各下级区划与合计的 draft 计数）；无权查看或失败时为“—”
  async function loadDrafts(p) {
    const task = state.task, division = state.division;
    let got = null;
    try {
      const m = await api(`/api/v1/agri/tasks/${task}/monitor?${p}`);
      got = { total: m.progress.draft };
      for (const c of m.children || []) got[c.division] = c.progress.draft;
    } catch { got = null; }
    if (stopped || task !== state.task || division !== state.division) return;
    const changed = JSON.stringify(got) !== JSON.stringify(drafts);
    drafts = got;
    if (changed && lastDrawn) draw(lastDrawn);
  }

  try {
    const first = early && await early;
    if (first && first.task_id === state.task) draw(first);
    else await fetchProgress();
  } catch (err) {
    errors.replaceChildren(errorBox(err));
  }
  getFeatures().then((f) => {
    if (stopped) return;
    drawExports(exportsBox, f.exports || [], state);
    listen(f);
  });
  loadTotals();
  return () => {
    stopped = true; clearTimeout(timer); clearTimeout(refetchTimer); abort.abort();
    window.removeEventListener("resize", onResize);
    if (chart) chart.dispose();
  };
}

function progressOf(task, division) {
  const p = new URLSearchParams({ task_id: task });
  if (division) p.set("division", division);
  return api(`/api/v1/workflow/progress?${p}`);
}

let featuresPromise = null;
function getFeatures() {
  featuresPromise ||= fetch("/console/features.json").then((r) => r.json())
    .catch(() => ({ exports: [], progress_stream: false }));
  return featuresPromise;
}

let echartsPromise = null;
function loadEcharts() {
  if (window.echarts) return Promise.resolve();
  echartsPromise ||= new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = "/console/vendor/echarts.min.js";
    s.onload = resolve;
    s.onerror = () => { echartsPromise = null; reject(new Error("图表库加载失败")); };
    document.head.append(s);
  });
  return echartsPromise;
}

// 导出：从 agri 服务的 OpenAPI 中找到的导出路由；某格式没有路由就不显示按钮。
function exportUrl(routes, fmt, state) {
  for (const r of routes) {
    const inPath = r.path.toLowerCase().includes(fmt);
    const fmtParam = r.params.find((p) => (p.enum || []).map((x) => String(x).toLowerCase()).includes(fmt));
    if (!inPath && !fmtParam) continue;
    let path = r.path, ok = true;
    const q = new URLSearchParams();
    for (const p of r.params) {
      const value = p === fmtParam ? fmt : p.name === "task_id" ? state.task
        : p.name === "division" ? state.division : null;
      if (value === null) { if (p.required) ok = false; continue; }
      if (p.in === "path") path = path.replace(`{${p.name}}`, encodeURIComponent(value));
      else if (p.in === "query") q.set(p.name, value);
    }
    if (ok && !/\{/.test(path)) return q.toString() ? `${path}?${q}` : path;
  }
  return null;
}

function drawExports(box, routes, state) {
  const buttons = [["csv", "导出 CSV"], ["xlsx", "导出 Excel（XLSX）"], ["pdf", "打印版 PDF"]]
    .map(([fmt, text]) => {
      const url = exportUrl(routes, fmt, state);
      if (!url) return null;
      const b = h("button", { type: "button", dataset: { format: fmt } }, text);
      b.addEventListener("click", async () => {
        b.disabled = true;
        try { await download(url, `export-${state.division}.${fmt}`); }
        catch (err) { box.append(errorBox(err)); }
        finally { b.disabled = false; }
      });
      return b;
    }).filter(Boolean);
  box.replaceChildren(...buttons);
}
