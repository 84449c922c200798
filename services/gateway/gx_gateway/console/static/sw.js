// 离线工作（service worker，作用域 /）：应用外壳、本人的任务列表与报表（含表式定义）先走网络，
// 网络不通或太慢时用本机缓存。只处理 GET；保存、提交等写操作由页面发出（页面负责签名与发件箱）。
// 网关在发送本文件时填入 VERSION（静态文件内容的摘要）与 SHELL（外壳文件列表）：部署后文件变了，
// 本文件随之变化，浏览器便安装新版本并丢弃旧的外壳缓存。
const VERSION = "__VERSION__";
const SHELL = __SHELL__;
const SHELL_CACHE = "gx-shell-" + VERSION;
const DATA_CACHE = "gx-data-v1";
const NETWORK_WAIT_MS = 4000; // 弱网：超过这个时间先用缓存，网络的回答到了再更新缓存
// 可离线查看的接口（只读）：任务列表、报表（含表式与上次审核结果）、处理记录、本机证书状态、目录；
// 人口调查：当年表式、调查小区列表、台账（都不含个人信息）。住户、个人、底册等带个人信息的回答
// 服务器标了 Cache-Control: no-store，本文件也从不缓存它们（离线登记的内容由页面加密存在 IndexedDB）。
// 名录库：基本单位情况表的表式、本人的任务底册（单位名称、信用代码、地址——名录库的登记资料，不含
// 法定代表人与电话）与网格列表；填过的表（/registry/forms/{id}，有负责人、电话）不缓存。
const DATA = [/^\/api\/v1\/agri\/tasks$/, /^\/api\/v1\/agri\/reports\/[^/]+$/,
  /^\/api\/v1\/agri\/reports\/[^/]+\/history$/, /^\/api\/v1\/devices\/mine$/,
  /^\/api\/v1\/population\/forms\/current$/, /^\/api\/v1\/population\/areas$/,
  /^\/api\/v1\/population\/ledger$/, /^\/api\/v1\/registry\/forms\/definition$/,
  /^\/api\/v1\/registry\/tasks$/, /^\/api\/v1\/registry\/grids$/];
// 打开一页时顺便缓存离线还要用的回答：看过任务底册，离线时就能打开其中任务的情况表（要表式）
const WARM = { "/api/v1/registry/tasks": ["/api/v1/registry/forms/definition"] };

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("gx-shell-") && name !== SHELL_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

// 缓存按用户分开：同一部手机换人登录时，不会看到上一个人的任务。令牌只用来读出用户号，不做校验
// （校验由网关做；这里只决定读哪一份缓存）。
function userOf(request) {
  const m = /^Bearer\s+[^.]+\.([^.]+)\./.exec(request.headers.get("Authorization") || "");
  if (!m) return null;
  try {
    const claims = JSON.parse(atob(m[1].replace(/-/g, "+").replace(/_/g, "/")));
    return claims.sub ? String(claims.sub) : null;
  } catch { return null; }
}

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === "/") { // 控制台页面本身（其他页面如 /docs 不经本机缓存）
    event.respondWith(networkFirst(req, SHELL_CACHE, "/"));
  } else if (url.pathname.startsWith("/console/")) {
    event.respondWith(networkFirst(req, SHELL_CACHE, url.pathname + url.search));
  } else if (DATA.some((re) => re.test(url.pathname)) &&
             !(req.headers.get("Accept") || "").includes("text/event-stream")) {
    const user = userOf(req);
    if (!user) return;
    const key = `${url.pathname}${url.search}${url.search ? "&" : "?"}__gx_user=${encodeURIComponent(user)}`;
    event.respondWith(networkFirst(req, DATA_CACHE, key));
    for (const path of WARM[url.pathname] || []) event.waitUntil(warm(req, path, user));
  }
});

// 以同一用户的令牌取一个只读回答放进缓存（网络不通时什么也不做）
async function warm(request, path, user) {
  try {
    const response = await fetch(path, { headers: { Accept: "application/json",
      Authorization: request.headers.get("Authorization") } });
    if (response.status === 200 && !/no-store/i.test(response.headers.get("Cache-Control") || "")) {
      await (await caches.open(DATA_CACHE)).put(`${path}?__gx_user=${encodeURIComponent(user)}`, response);
    }
  } catch { /* 离线：下次再取 */ }
}

// 先网络：成功（200）就更新缓存并返回；网络失败或超时则返回缓存（带 X-Gx-Cache 头，页面据此提示
// 「离线数据」）；都没有时网络失败照常失败（页面显示网络错误）。
async function networkFirst(request, cacheName, key) {
  const cache = await caches.open(cacheName);
  const network = fetch(request).then(async (response) => {
    if (response.status === 200 && !/no-store/i.test(response.headers.get("Cache-Control") || "")) {
      await cache.put(key, response.clone());
    }
    return response;
  });
  network.catch(() => {}); // 超时后才失败的请求不算未处理的错误
  let timer;
  const slow = new Promise((resolve) => { timer = setTimeout(() => resolve("slow"), NETWORK_WAIT_MS); });
  try {
    const first = await Promise.race([network, slow]);
    if (first !== "slow") return first;
  } catch { /* 网络不通：用缓存 */ } finally { clearTimeout(timer); }
  const cached = await cache.match(key);
  if (cached) return fromCache(cached);
  return network;
}

function fromCache(cached) {
  const headers = new Headers(cached.headers);
  headers.set("X-Gx-Cache", cached.headers.get("Date") || "hit");
  return new Response(cached.body, { status: cached.status, statusText: cached.statusText, headers });
}
