// 我的任务（村级统计协管员）：本村的报表任务及填报状态，发件箱（离线时排队的提交）。
// 在线打开时顺便取一遍待办报表（service worker 缓存下来），之后离线也能打开填报。
import { api } from "./api.js";
import { errorBox, fmtTime, h, mount, REPORT_STATUS } from "./ui.js";
import { deviceNotice } from "./device.js";
import { outboxItems, STATE_ZH } from "./outbox.js";
import { outboxPanel } from "./outbox_view.js";

const PREFETCH = 30;

const OPEN = new Set(["not_started", "draft", "returned"]);

export async function render({ user }) {
  const list = h("ul", { class: "list", id: "task-list" });
  const onlyOpen = h("input", { type: "checkbox", id: "only-open", checked: true });
  const status = h("p", { class: "muted", "aria-live": "polite" }, "正在加载…");
  const cachedNote = h("div", {});
  mount(h("h1", {}, "我的任务"), deviceNotice(user), cachedNote,
    h("label", { class: "check", for: "only-open" }, onlyOpen, "只看待办（未填报、草稿、已退回）"),
    status, list, outboxPanel());
  let items = [];
  let sending = new Map(); // report_id -> 发件箱里未发出的那一项
  const draw = async () => {
    if (!list.isConnected) return;
    sending = new Map((await outboxItems().catch(() => []))
      .filter((x) => x.state !== "done").map((x) => [x.reportId, x]));
    const shown = items.filter((t) => !onlyOpen.checked || OPEN.has(t.status));
    status.textContent = shown.length ? `共 ${shown.length} 项任务` : "暂无待办任务";
    list.replaceChildren(...shown.map((t) => {
      const late = OPEN.has(t.status) && t.deadline && new Date(t.deadline) < new Date();
      const queued = sending.get(t.report_id);
      return h("li", { dataset: { report: t.report_id || "" } },
        h("span", { class: "title" }, t.title),
        h("span", { class: "tag " + (t.status || "") }, t.status_zh || REPORT_STATUS[t.status] || t.status || "—"),
        queued ? h("span", { class: "tag outbox-" + queued.state }, "发件箱：" + STATE_ZH[queued.state]) : null,
        late ? h("span", { class: "tag late" }, "已逾期") : null,
        h("span", { class: "muted" }, `截止 ${fmtTime(t.deadline)}`),
        t.report_id ? h("a", { class: "btn", href: `#/report/${t.report_id}` },
          OPEN.has(t.status) && !queued ? "填报" : "查看") : null);
    }));
  };
  onlyOpen.addEventListener("change", draw);
  // 发件箱有一项发出了、或网络恢复了：重新从服务器读任务列表
  const refresh = (e) => {
    if (!list.isConnected) {
      window.removeEventListener("online", refresh);
      window.removeEventListener("gx:outbox", refresh);
      return;
    }
    if (e.type === "online" || (e.detail && ["done", "failed"].includes(e.detail.state))) load(false);
    else draw();
  };
  window.addEventListener("gx:outbox", refresh);
  window.addEventListener("online", refresh);
  let shownError = null;
  async function load(first) {
    let res;
    try {
      res = await api("/api/v1/agri/tasks");
    } catch (err) {
      if (!first) return;
      shownError = errorBox(err.status === 0
        ? { message: "当前没有网络，本机也没有任务列表的缓存。请联网后再打开。", errors: [] } : err);
      status.replaceWith(shownError);
      return;
    }
    if (shownError) { shownError.replaceWith(status); shownError = null; }
    items = res.items || [];
    cachedNote.replaceChildren(res._cachedAt ? h("div", { class: "alert warn", id: "cached-note" },
      `离线：显示的是本机缓存的任务列表（${fmtTime(res._cachedAt)} 从服务器取得）。`) : "");
    await draw();
    if (first && !res._cachedAt) prefetch(items);
  }
  await load(true);
}

// 待办报表（含表式定义）逐个取一遍，由 service worker 缓存；失败无妨
async function prefetch(items) {
  for (const t of items.filter((x) => x.report_id && OPEN.has(x.status)).slice(0, PREFETCH)) {
    try { await api(`/api/v1/agri/reports/${encodeURIComponent(t.report_id)}`); } catch { return; }
  }
}
