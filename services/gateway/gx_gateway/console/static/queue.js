// 审核队列（乡镇/县/市/自治区）：本级待办案卷，超期标记，筛选；每 2.5 秒自动刷新，新案卷无需刷新页面即出现。
import { api } from "./api.js";
import { CASE_STATUS, errorBox, fmtTime, h, LEVEL, mount } from "./ui.js";

const POLL_MS = 2500;

export async function render({ query }) {
  const status = h("select", { id: "f-status" },
    h("option", { value: "" }, "待审核与已退回"), h("option", { value: "in_review" }, "待审核"),
    h("option", { value: "returned" }, "已退回"), h("option", { value: "accepted" }, "已验收"));
  const task = h("select", { id: "f-task" }, h("option", { value: "" }, "全部任务"));
  const lateOnly = h("input", { type: "checkbox", id: "f-late" });
  const search = h("input", { id: "f-search", type: "search", placeholder: "名称或区划代码" });
  status.value = query.get("status") || "";
  const list = h("ul", { class: "list", id: "queue-list" });
  const summary = h("p", { class: "muted", id: "queue-summary" }, "正在加载…");
  const announce = h("div", { class: "sr-only", "aria-live": "polite", id: "queue-announce" });
  const errors = h("div", {});
  const heading = h("h1", {}, "审核队列");
  mount(heading,
    h("div", { class: "filters card", role: "search" },
      h("div", {}, h("label", { for: "f-status" }, "状态"), status),
      h("div", {}, h("label", { for: "f-task" }, "报表任务"), task),
      h("div", {}, h("label", { for: "f-search" }, "查找"), search),
      h("label", { class: "check", for: "f-late" }, lateOnly, "只看超期")),
    errors, summary, announce, list);

  api("/api/v1/agri/tasks").then((res) => {
    for (const t of res.items || []) task.append(h("option", { value: t.task_id }, t.title));
  }).catch(() => { /* 任务筛选可选 */ });

  const seen = new Set();
  let first = true, items = [], timer = null, stopped = false, level = "";
  const fresh = new Set();

  const draw = () => {
    const q = search.value.trim();
    const shown = items.filter((c) => (!lateOnly.checked || c.late) &&
      (!q || (c.title || "").includes(q) || c.division_code.startsWith(q)));
    summary.textContent = `${LEVEL[level] || ""}级待办：共 ${items.length} 件，显示 ${shown.length} 件` +
      `，其中超期 ${items.filter((c) => c.late).length} 件（每 ${POLL_MS / 1000} 秒自动刷新）`;
    list.replaceChildren(...shown.map((c) => h("li", { class: fresh.has(c.case_id) ? "fresh" : "", dataset: { case: c.case_id } },
      h("span", { class: "title" }, c.title || c.subject_id),
      fresh.has(c.case_id) ? h("span", { class: "tag new" }, "新") : null,
      h("span", { class: "tag " + c.status }, CASE_STATUS[c.status] || c.status),
      c.late ? h("span", { class: "tag late" }, "超期") : null,
      c.revision > 1 ? h("span", { class: "tag" }, `第 ${c.revision} 次报送`) : null,
      h("span", { class: "muted" }, `到达 ${fmtTime(c.arrived_at)}`),
      c.deadline ? h("span", { class: "muted" }, `时限 ${fmtTime(c.deadline)}`) : null,
      h("a", { class: "btn", href: `#/case/${c.case_id}` }, c.status === "in_review" ? "审核" : "查看"))));
  };

  const load = async () => {
    const p = new URLSearchParams({ limit: "200" });
    if (status.value) p.set("status", status.value);
    if (task.value) p.set("task_id", task.value);
    try {
      const res = await api(`/api/v1/workflow/queue?${p}`);
      if (stopped) return;
      level = res.level;
      items = res.items;
      const arrived = items.filter((c) => !seen.has(c.case_id));
      arrived.forEach((c) => seen.add(c.case_id));
      if (!first && arrived.length) {
        arrived.forEach((c) => fresh.add(c.case_id));
        announce.textContent = `新到 ${arrived.length} 件案卷：${arrived.map((c) => c.title).join("、")}`;
      }
      first = false;
      errors.replaceChildren();
      draw();
    } catch (err) {
      if (!stopped) errors.replaceChildren(errorBox(err));
    }
  };
  const loop = async () => {
    if (stopped) return;
    if (!document.hidden) await load();
    if (!stopped) timer = setTimeout(loop, POLL_MS);
  };
  const reset = () => { first = true; seen.clear(); fresh.clear(); clearTimeout(timer); loop(); };
  status.addEventListener("change", reset);
  task.addEventListener("change", reset);
  lateOnly.addEventListener("change", draw);
  search.addEventListener("input", draw);
  await loop();
  return () => { stopped = true; clearTimeout(timer); };
}
