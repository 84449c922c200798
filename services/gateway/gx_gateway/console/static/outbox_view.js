// 发件箱列表（我的任务页）：每项显示 待发送 / 发送中 / 已提交 / 失败（原因），随发送进度更新。
import { drain, outboxItems, removeItem, STATE_ZH } from "./outbox.js";
import { fmtTime, h } from "./ui.js";

export function stateText(item) {
  const word = STATE_ZH[item.state] || item.state;
  if (item.state === "failed") return `${word}（${item.reason || "原因不明"}）`;
  if (item.state === "queued" && item.attempts > 0) return `${word}（上次未发出：${item.reason}；将自动重发）`;
  return word;
}

export function outboxPanel() {
  const list = h("ul", { class: "list", id: "outbox-list" });
  const box = h("section", { class: "card", id: "outbox", hidden: true, "aria-live": "polite" },
    h("h2", {}, "发件箱"),
    h("p", { class: "muted" }, "在本机排队的提交：联网后自动发送，不会重复提交。"), list);
  async function draw() {
    if (!box.isConnected && box.dataset.drawn) { window.removeEventListener("gx:outbox", draw); return; }
    box.dataset.drawn = "1";
    const items = (await outboxItems()).slice().reverse();
    box.hidden = !items.length;
    list.replaceChildren(...items.map((it) => h("li", { dataset: { report: it.reportId, state: it.state } },
      h("span", { class: "title" }, it.title || "报表"),
      h("span", { class: "tag outbox-" + it.state }, stateText(it)),
      h("span", { class: "muted" }, it.state === "done" ? `提交于 ${fmtTime(it.doneAt)}` : `排队于 ${fmtTime(it.createdAt)}`),
      it.state === "failed" ? h("a", { class: "btn", href: `#/report/${it.reportId}` }, "打开修改") : null,
      it.state === "failed" || it.state === "done"
        ? h("button", { type: "button", class: "link", onclick: async () => { await removeItem(it.id); draw(); } }, "从列表移除")
        : null,
      it.state === "queued" && navigator.onLine
        ? h("button", { type: "button", class: "link", onclick: () => drain({ now: true }) }, "立即重发") : null)));
  }
  window.addEventListener("gx:outbox", draw);
  draw();
  return box;
}
