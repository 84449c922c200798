// 我的任务（村级统计协管员）：本村的报表任务及填报状态
import { api } from "./api.js";
import { errorBox, fmtTime, h, mount, REPORT_STATUS } from "./ui.js";
import { deviceNotice } from "./device.js";

const OPEN = new Set(["not_started", "draft", "returned"]);

export async function render({ user }) {
  const list = h("ul", { class: "list", id: "task-list" });
  const onlyOpen = h("input", { type: "checkbox", id: "only-open", checked: true });
  const status = h("p", { class: "muted", "aria-live": "polite" }, "正在加载…");
  mount(h("h1", {}, "我的任务"), deviceNotice(user),
    h("label", { class: "check", for: "only-open" }, onlyOpen, "只看待办（未填报、草稿、已退回）"),
    status, list);
  let items = [];
  const draw = () => {
    const shown = items.filter((t) => !onlyOpen.checked || OPEN.has(t.status));
    status.textContent = shown.length ? `共 ${shown.length} 项任务` : "暂无待办任务";
    list.replaceChildren(...shown.map((t) => {
      const late = OPEN.has(t.status) && t.deadline && new Date(t.deadline) < new Date();
      return h("li", { dataset: { report: t.report_id || "" } },
        h("span", { class: "title" }, t.title),
        h("span", { class: "tag " + (t.status || "") }, REPORT_STATUS[t.status] || t.status || "—"),
        late ? h("span", { class: "tag late" }, "已逾期") : null,
        h("span", { class: "muted" }, `截止 ${fmtTime(t.deadline)}`),
        t.report_id ? h("a", { class: "btn", href: `#/report/${t.report_id}` },
          OPEN.has(t.status) ? "填报" : "查看") : null);
    }));
  };
  onlyOpen.addEventListener("change", draw);
  try {
    items = (await api("/api/v1/agri/tasks")).items || [];
    draw();
  } catch (err) {
    status.replaceWith(errorBox(err));
  }
}
