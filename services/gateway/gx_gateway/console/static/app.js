// 控制台入口：按 #/页面 路由，登录守卫，顶栏导航。每个页面模块导出 render(ctx)，
// 可返回一个清理函数（离开页面时停止轮询或推送连接）。
import { clearSession, session } from "./api.js";
import { h } from "./ui.js";
import { userTitle } from "./people.js";
import { COLLECTORS } from "./devicekey.js";

const REVIEWERS = ["township_statistician", "county_statistician", "city_statistician", "region_statistician"];
const PAGES = {
  login: () => import("./login.js"),
  tasks: () => import("./tasks.js"),
  report: () => import("./report.js"),
  queue: () => import("./queue.js"),
  case: () => import("./case.js"),
  progress: () => import("./progress.js"),
  devices: () => import("./devices.js"),
  ops: () => import("./ops.js"),
  organisation: () => import("./organisation.js"),
  organisation_report: () => import("./organisation_report.js"),
  population: () => import("./population.js"),
  registry: () => import("./registry.js"),
};
const TITLES = { login: "登录", tasks: "我的任务", report: "填报", queue: "审核队列", case: "审核案卷", progress: "进度",
  devices: "设备登记", ops: "运维概览", organisation: "改革工作总览", organisation_report: "推进情况报告", population: "人口变动调查", registry: "基本单位名录库" };

let cleanup = null;
let renderSeq = 0;

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function parse() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  const [page, ...args] = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { page: page || "", args, query: new URLSearchParams(query) };
}

export function homeFor(user) {
  if (!user) return "#/login";
  if (user.role === "village_coordinator" || user.role === "grid_worker") return "#/tasks";
  if (REVIEWERS.includes(user.role)) return "#/queue";
  if (user.role === "ops") return "#/ops";
  return "#/progress";
}

function navItems(user) {
  const items = [];
  if (user.role === "village_coordinator") items.push(["tasks", "我的任务"]);
  if (REVIEWERS.includes(user.role)) items.push(["queue", "审核队列"]);
  if (user.role === "ops") items.push(["ops", "运维概览"]);
  items.push(["progress", "进度"]);
  if (user.role !== "subscriber" && user.role !== "ops") items.push(["population", "人口变动调查"]);
  if (REVIEWERS.includes(user.role) || COLLECTORS.includes(user.role)) items.push(["registry", "名录库"]);
  if (REVIEWERS.includes(user.role)) items.push(["organisation", "改革工作"]);
  if (user.role === "village_coordinator" || user.role === "grid_worker") items.push(["devices", "手机安全证书"]);
  if (user.role === "county_statistician" || user.role === "region_statistician") items.push(["devices", "设备登记"]);
  return items;
}

function renderChrome(user, page) {
  const top = document.getElementById("top");
  top.hidden = !user;
  if (!user) return;
  document.getElementById("who").textContent = userTitle(user);
  document.getElementById("nav").replaceChildren(...navItems(user).map(([p, text]) =>
    h("li", {}, h("a", { href: "#/" + p, "aria-current": p === page ? "page" : null }, text))));
}

async function route() {
  const seq = ++renderSeq;
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  const s = session();
  let { page, args, query } = parse();
  if (!s && page !== "login") { location.replace("#/login"); return; }
  if (s && (page === "" || page === "login")) { location.replace(homeFor(s.user)); return; }
  if (!PAGES[page]) { location.replace(s ? homeFor(s.user) : "#/login"); return; }
  renderChrome(s && s.user, page);
  document.title = `${TITLES[page]} - 广西基层统计平台`;
  const mod = await PAGES[page]();
  if (seq !== renderSeq) return; // the user navigated on meanwhile
  const main = document.getElementById("main");
  const result = await mod.render({ user: s && s.user, args, query, go });
  if (seq !== renderSeq) { if (typeof result === "function") result(); return; }
  cleanup = typeof result === "function" ? result : null;
  // 页面切换后把焦点放到主区域标题，方便键盘与读屏用户
  const heading = main.querySelector("h1");
  if (heading && page !== "login") { heading.tabIndex = -1; heading.focus({ preventScroll: true }); }
}

document.getElementById("logout").addEventListener("click", async () => {
  // 离线用的任务底册等（密文，sw.js）不留给下一个拿到手机的人；无其他加密内容时密钥随即销毁
  const s = session();
  if (s && s.user) await import("./outbox_sealed.js").then((m) => m.forgetAnswers(s.user.username)).catch(() => {});
  clearSession();
  outboxUser = null;
  go("#/login");
});
window.addEventListener("gx:logged-out", () => { outboxUser = null; go("#/login"); });

// 离线：提示条随网络状态显示；采集角色的发件箱在登录后、联网时自动发送
function showNetwork() { document.getElementById("net").hidden = navigator.onLine; }
window.addEventListener("online", showNetwork);
window.addEventListener("offline", showNetwork);
showNetwork();
let outboxUser = null;
function startOutboxFor(s) {
  if (!s || !COLLECTORS.includes(s.user.role) || outboxUser === s.user.username) return;
  outboxUser = s.user.username;
  import("./outbox.js").then((m) => m.startOutbox());
}
window.addEventListener("hashchange", () => startOutboxFor(session()));
startOutboxFor(session());
// 应用外壳、任务与表式的离线缓存（sw.js 由网关在根路径提供，作用域覆盖整个控制台）
if ("serviceWorker" in navigator && window.isSecureContext) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => { /* 不支持时照常在线使用 */ });
}
window.addEventListener("hashchange", route);
route();
