// 运维概览（运维人员）：各服务就绪与发布中继（积压、卡住的事件）、消费组积压、
// 死信数量（按主题）与明细、修复原因后重放死信（一条或全部）、网关各路由的请求量、错误与耗时。每 5 秒刷新。
import { api } from "./api.js";
import { errorBox, fmtNum, h, mount, openDialog, toast } from "./ui.js";

const POLL_MS = 5000;
const STATUS = { ready: "正常", degraded: "降级", not_ready: "未就绪", unreachable: "无法连接", unknown: "未知" };
const SERVICE = { registry: "基本单位名录", agri: "农业统计", population: "人口普查", organisation: "改革工作",
  workflow: "审核流转", gateway: "网关" };

// nums: the columns holding numbers (right-aligned); text columns read from the left
function table(id, caption, head, rows, empty, nums = []) {
  if (!rows.length) return h("p", { class: "muted", id }, empty);
  const cls = (i) => (nums.includes(i) ? "num" : "text");
  return h("div", { class: "table-wrap" }, h("table", { id, class: "ops-table" },
    h("caption", { class: "sr-only" }, caption),
    h("thead", {}, h("tr", {}, head.map((c, i) => h("th", { scope: "col", class: cls(i) }, c)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) => h(i ? "td" : "th", i ? { class: cls(i) } : { scope: "row" }, c)))))));
}

const ms = (v) => (v === null || v === undefined ? "—" : `${fmtNum(v)} ms`);

function stuckText(s) {
  if (!s) return "无";
  return `卡住：${s.stream_id || ""} 第 ${s.version ?? "?"} 版（${s.error || "发布失败"}）`;
}

export async function render({ user }) {
  if (user.role !== "ops") {
    mount(h("h1", {}, "运维概览"), h("p", { class: "alert error" }, "只有运维人员可以查看运维概览。"));
    return undefined;
  }
  const errors = h("div", {});
  const stamp = h("p", { class: "muted", id: "ops-stamp", "aria-live": "polite" }, "正在加载…");
  const body = h("div", { id: "ops-body" });
  mount(h("h1", {}, "运维概览"), h("p", { class: "muted" }, "积压与死信来自消息中间件，请求统计来自本网关进程。"),
    errors, stamp, body);
  let timer = null, stopped = false;
  // 死信明细：点“查看”时读取（要读整个死信主题，不随页面刷新）。修复原因后重放：各消费服务清除
  // 自己的跟踪记录再重新发布到原主题；已处理过的事件不会再生效，所以重放两次也无害。
  const letters = h("div", { id: "ops-letters", "aria-live": "polite" });
  const replay = (topic, eventIds) => openDialog(eventIds ? "重放这条死信" : `重放 ${topic} 的全部死信`,
    h("p", {}, "请确认导致失败的原因已经修复。重放后各消费服务会重新处理这些事件；已处理过的事件不会重复生效。"),
    { submitText: "重放", onSubmit: async () => {
      const r = await api("/api/v1/ops/dead-letters/replay", { method: "POST",
        body: eventIds ? { topic, event_ids: eventIds } : { topic } });
      toast(`已重放 ${r.replayed} 条`);
      letters.dataset.replayed = String(r.replayed);
    } });
  const showLetters = async (topic) => {
    letters.replaceChildren(h("p", { class: "muted" }, `正在读取 ${topic} …`));
    try {
      const r = await api(`/api/v1/ops/dead-letters?${new URLSearchParams({ topic })}`);
      const rows = r.items.map((d) => [new Date(d.time).toLocaleString("zh-CN"), d.type || "（无法解析的记录）",
        d.kind === "permanent" ? "不可重试" : d.kind === "transient" ? "重试用尽" : "—", d.consumer_group || "—", d.error,
        d.event_id ? h("button", { type: "button", class: "btn-replay", dataset: { eventId: d.event_id },
          onclick: () => replay(topic, [d.event_id]) }, "重放") : "—"]);
      letters.replaceChildren(h("h3", {}, `${topic}：最新 ${r.shown} 条`),
        table("ops-letters-table", "死信明细", ["时间", "事件类型", "类别", "消费组", "原因", "重放"], rows, "没有死信"),
        r.items.length ? h("p", {}, h("button", { type: "button", id: "ops-replay-all", onclick: () => replay(topic, null) },
          "全部重放（修复原因之后）")) : null,
        h("p", { class: "muted" }, `无法解析的记录（无事件ID）只能用命令行重放：python -m gx_kernel.dlq replay ${topic}`));
    } catch (err) { letters.replaceChildren(errorBox(err)); }
  };

  const draw = (o) => {
    const b = o.broker;
    const svc = o.services.map((s) => [SERVICE[s.service] || s.service,
      h("span", { class: "tag " + (s.status === "ready" ? "accepted" : s.status === "degraded" ? "late" : "returned") },
        STATUS[s.status] || s.status),
      s.relay_lag === null || s.relay_lag === undefined ? "—" : fmtNum(s.relay_lag), stuckText(s.relay_stuck)]);
    const dlq = b.dead_letters.map((d) => [d.topic, h("span", { class: d.depth ? "tag returned" : "" }, fmtNum(d.depth)),
      d.depth ? h("button", { type: "button", class: "btn-dlq", dataset: { topic: d.topic }, onclick: () => showLetters(d.topic) }, "查看")
        : "—"]);
    const lag = b.consumer_lag.map((c) => [c.group, c.topic, fmtNum(c.lag)]);
    const req = o.requests.map((r) => [`${r.method} ${r.route}`, fmtNum(r.count), fmtNum(r.errors), fmtNum(r.refused),
      ms(r.p50_ms), ms(r.p99_ms)]);
    body.replaceChildren(
      h("h2", {}, "服务与发布中继"),
      table("ops-services", "服务与发布中继", ["服务", "状态", "待发布事件", "卡住的事件"], svc, "无服务", [2]),
      h("h2", {}, "死信（按主题）"),
      table("ops-dlq", "死信", ["死信主题", "记录数", "明细"], dlq, "没有死信主题", [1]),
      letters,
      h("h2", {}, "消费组积压"),
      table("ops-lag", "消费组积压", ["消费组", "主题", "积压"], lag, "没有消费组", [2]),
      h("h2", {}, "网关请求（按路由）"),
      table("ops-requests", "网关请求", ["路由", "请求数", "5xx", "4xx", "中位数", "p99"], req, "尚无请求", [1, 2, 3, 4, 5]),
      h("p", { class: "muted" }, "口径：", o.basis));
    const when = b.sampled_at ? new Date(b.sampled_at * 1000).toLocaleTimeString("zh-CN") : "—";
    stamp.textContent = b.error ? `消息中间件取样失败：${b.error}` : `消息中间件取样于 ${when}（每 ${POLL_MS / 1000} 秒刷新）`;
  };

  const load = async () => {
    try {
      const o = await api("/api/v1/ops/overview");
      if (stopped) return;
      errors.replaceChildren();
      draw(o);
    } catch (err) {
      if (!stopped) errors.replaceChildren(errorBox(err));
    }
    if (!stopped) timer = setTimeout(load, POLL_MS);
  };
  await load();
  return () => { stopped = true; clearTimeout(timer); };
}
