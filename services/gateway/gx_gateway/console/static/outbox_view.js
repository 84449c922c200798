// 发件箱列表（我的任务页、住户登记页、人口台账页）：每项显示 待发送 / 发送中 / 已提交 / 失败（原因），
// 随发送进度更新。人口调查的条目标题不含个人信息（小区、户编号、变动类别与日期），基本单位情况表的
// 只写任务号（不写单位名称）。
import { drain, outboxItems, removeItem, retryItem, STATE_ZH } from "./outbox.js";
import { expiresOn } from "./outbox_sealed.js";
import { STEP_DONE_ZH, UNIT_FORM } from "./outbox_registry.js";
import { fmtTime, h } from "./ui.js";

const DONE_BEFORE = { readback: "住户表已保存到服务器", hand_in: "已保存并记录回读确认，待交表" };

export function stateText(item) {
  const word = STATE_ZH[item.state] || item.state;
  if (item.state === "failed") return `${word}（${item.reason || "原因不明"}）`;
  const done = item.kind === "population.household" ? DONE_BEFORE : item.kind === UNIT_FORM ? STEP_DONE_ZH : {};
  const step = item.state !== "done" && done[item.step] ? `；${done[item.step]}` : "";
  if (item.state === "queued" && item.attempts > 0) return `${word}（上次未发出：${item.reason}${step}；将自动重发）`;
  return step ? `${word}（${step.slice(1)}）` : word;
}

// 失败项“打开修改”去哪里：报表页，或人口调查的登记页 / 台账页（带本机草稿号）
export function editLink(item) {
  if (item.kind === "population.household") {
    return `#/population/register/${encodeURIComponent(item.areaId)}?draft=${encodeURIComponent(item.draftId)}`;
  }
  if (item.kind === "population.change") return `#/population/ledger?draft=${encodeURIComponent(item.draftId)}`;
  if (item.kind === UNIT_FORM) {
    return `#/registry?tab=survey&${item.taskId ? "task=" + encodeURIComponent(item.taskId) + "&" : ""}draft=${encodeURIComponent(item.draftId)}`;
  }
  return `#/report/${item.reportId}`;
}

// filter：只列某类条目（如住户登记页只列 population.*）
export function outboxPanel({ filter = () => true, title = "发件箱" } = {}) {
  const list = h("ul", { class: "list", id: "outbox-list" });
  const count = h("span", { class: "tag", id: "outbox-count" });
  const box = h("section", { class: "card", id: "outbox", hidden: true, "aria-live": "polite" },
    h("h2", {}, title, " ", count),
    h("p", { class: "muted" }, "在本机排队的提交：联网后自动发送，不会重复提交。"), list);
  async function draw() {
    if (!box.isConnected && box.dataset.drawn) { window.removeEventListener("gx:outbox", draw); return; }
    box.dataset.drawn = "1";
    const items = (await outboxItems().catch(() => [])).filter(filter).reverse();
    box.hidden = !items.length;
    const waiting = items.filter((x) => x.state !== "done").length;
    count.textContent = `待上传 ${waiting} 份`;
    count.hidden = !waiting;
    list.replaceChildren(...items.map((it) => {
      const pop = Boolean(it.kind);
      const remove = async () => {
        if (pop && it.state === "failed" && !window.confirm("移除后本机保存的这份内容将被删除，不能恢复。确定移除？")) return;
        await removeItem(it.id); draw();
      };
      return h("li", { dataset: { report: it.reportId || "", kind: it.kind || "agri.report", draft: it.draftId || "", state: it.state } },
        h("span", { class: "title" }, it.title || "报表"),
        h("span", { class: "tag outbox-" + it.state }, stateText(it)),
        h("span", { class: "muted" }, it.state === "done" ? `提交于 ${fmtTime(it.doneAt)}` : `排队于 ${fmtTime(it.createdAt)}`),
        pop && it.state === "failed"
          ? h("span", { class: "muted" }, `本机保存至 ${fmtTime(expiresOn(it.failedAt || it.createdAt).toISOString())}`) : null,
        it.state === "failed" ? h("a", { class: "btn", href: editLink(it) }, "打开修改") : null,
        pop && it.state === "failed" && navigator.onLine
          ? h("button", { type: "button", class: "link", onclick: () => retryItem(it.id) }, "不修改，重新发送") : null,
        it.state === "failed" || it.state === "done"
          ? h("button", { type: "button", class: "link", onclick: remove }, "从列表移除") : null,
        it.state === "queued" && navigator.onLine
          ? h("button", { type: "button", class: "link", onclick: () => drain({ now: true }) }, "立即重发") : null);
    }));
  }
  window.addEventListener("gx:outbox", draw);
  draw();
  return box;
}
