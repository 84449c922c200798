// 离线工作（service worker，作用域 /）：应用外壳、本人的任务列表与报表（含表式定义）先走网络，
// 网络不通或太慢时用本机缓存。只处理 GET；保存、提交等写操作由页面发出（页面负责签名与发件箱）。
// 网关在发送本文件时填入 VERSION（静态文件内容的摘要）与 SHELL（外壳文件列表）：部署后文件变了，
// 本文件随之变化，浏览器便安装新版本并丢弃旧的外壳缓存。
const VERSION = "__VERSION__";
const SHELL = __SHELL__;
const SHELL_CACHE = "gx-shell-" + VERSION;
const DATA_CACHE = "gx-data-v1";
const NETWORK_WAIT_MS = 4000; // 弱网：超过这个时间先用缓存，网络的回答到了再更新缓存
// 可离线查看的接口（只读）。两类：
// - DATA：不含可识别信息的回答，明文放在 Cache Storage：农业的任务列表与报表（含表式与上次审核结果）、
//   处理记录、本机证书状态；人口调查的当年表式、调查小区列表、台账（汇总数）；名录库的表式定义。
// - SEALED：可识别单位或人的回答——名录库本人的任务底册（单位名称、信用代码、地址；个体户的名称
//   就是人名）与网格列表（网格名称、网格员）。不进 Cache Storage：以本账号的本机密钥（vault.js 的
//   同一把不可导出的 AES-GCM 密钥、同一密文格式）加密后放在 IndexedDB（store answers），离线时解密
//   回答；最多留 ANSWER_DAYS 天，随密钥一起销毁（outbox_sealed.js 的 tidySealed、退出登录）。
// 住户、个人、底册等带个人信息的回答服务器标了 Cache-Control: no-store，本文件从不缓存它们（离线
// 登记的内容由页面加密存在 IndexedDB）；填过的表（/registry/forms/{id}，有负责人、电话）不缓存。
const DATA = [/^\/api\/v1\/agri\/tasks$/, /^\/api\/v1\/agri\/reports\/[^/]+$/,
  /^\/api\/v1\/agri\/reports\/[^/]+\/history$/, /^\/api\/v1\/devices\/mine$/,
  /^\/api\/v1\/population\/forms\/current$/, /^\/api\/v1\/population\/areas$/,
  /^\/api\/v1\/population\/ledger$/, /^\/api\/v1\/registry\/forms\/definition$/];
const SEALED = [/^\/api\/v1\/registry\/tasks$/, /^\/api\/v1\/registry\/grids$/];
const ANSWER_DAYS = 7;
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
    // 旧版本明文缓存过的底册、网格：删掉（现在只存密文）
    const data = await caches.open(DATA_CACHE);
    for (const req of await data.keys()) {
      if (SEALED.some((re) => re.test(new URL(req.url).pathname))) await data.delete(req);
    }
    await self.clients.claim();
  })());
});

// 缓存按用户分开：同一部手机换人登录时，不会看到上一个人的任务。令牌只用来读出用户号与登录名，不做
// 校验（校验由网关做；这里只决定读哪一份缓存、用哪一把本机密钥）。
function claimsOf(request) {
  const m = /^Bearer\s+[^.]+\.([^.]+)\./.exec(request.headers.get("Authorization") || "");
  if (!m) return null;
  try {
    const claims = JSON.parse(atob(m[1].replace(/-/g, "+").replace(/_/g, "/")));
    return claims.sub ? claims : null;
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
  } else if (!(req.headers.get("Accept") || "").includes("text/event-stream")) {
    const plain = DATA.some((re) => re.test(url.pathname)), sealed = SEALED.some((re) => re.test(url.pathname));
    const claims = (plain || sealed) && claimsOf(req);
    if (!claims) return;
    const user = String(claims.sub);
    if (plain) {
      const key = `${url.pathname}${url.search}${url.search ? "&" : "?"}__gx_user=${encodeURIComponent(user)}`;
      event.respondWith(networkFirst(req, DATA_CACHE, key));
    } else if (claims.usr) {
      event.respondWith(networkFirstSealed(req, String(claims.usr), url.pathname + url.search));
    } else return;
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

// 先网络的共同部分：network 在 NETWORK_WAIT_MS 内回答就用它；网络失败或超时用 fallback()（null：照常失败）
async function raceNetwork(network, fallback) {
  network.catch(() => {}); // 超时后才失败的请求不算未处理的错误
  let timer;
  const slow = new Promise((resolve) => { timer = setTimeout(() => resolve("slow"), NETWORK_WAIT_MS); });
  try {
    const first = await Promise.race([network, slow]);
    if (first !== "slow") return first;
  } catch { /* 网络不通：用缓存 */ } finally { clearTimeout(timer); }
  return (await fallback().catch(() => null)) || network;
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
  return raceNetwork(network, async () => {
    const cached = await cache.match(key);
    return cached ? fromCache(cached, cached.headers.get("Date") || "hit") : null;
  });
}

function fromCache(cached, at) {
  const headers = new Headers(cached.headers);
  headers.set("X-Gx-Cache", at);
  return new Response(cached.body, { status: cached.status, statusText: cached.statusText, headers });
}

// 可识别的回答：成功（200）就加密存进 IndexedDB（不看 no-store：这不是 HTTP 缓存，而是本机的密文副本），
// 离线时解密回答；密钥已销毁、过期或没有副本时照常失败。
async function networkFirstSealed(request, username, path) {
  const network = fetch(request).then(async (response) => {
    if (response.status === 200) {
      const text = await response.clone().text();
      await putAnswer(username, path, text, response.headers.get("Date")).catch(() => {});
    }
    return response;
  });
  return raceNetwork(network, async () => {
    const rec = await answerOf(username, path);
    if (!rec) return null;
    const text = await unseal(username, rec.sealed);
    if (text === null) return null;
    return new Response(text, { status: 200, headers: { "Content-Type": "application/json",
      "Cache-Control": "no-store", "X-Gx-Cache": rec.fetchedAt } });
  });
}

// —— 本机密文（与 vault.js 同一格式、同一把密钥：store vault 中本账号的 CryptoKey，附加数据为账号名）。
// service worker 不能引入页面的模块，这几行与 vault.js 的 seal/open 保持一致。
const ALGO = { name: "AES-GCM", length: 256 };
const ad = (username) => new TextEncoder().encode("gx-offline:" + username);

// 打开页面的数据库 gx-offline（不指定版本、不建库：库与 store 由页面的 store.js 建；还没有时什么也不存）
function idb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open("gx-offline");
    req.onupgradeneeded = () => req.transaction.abort(); // 库还不存在：不由这里建
    req.onsuccess = () => { req.result.onversionchange = () => req.result.close(); resolve(req.result); };
    req.onerror = () => reject(req.error);
  });
}

async function tx(stores, mode, work) {
  const db = await idb();
  try {
    if (![].concat(stores).every((n) => db.objectStoreNames.contains(n))) return null;
    return await new Promise((resolve, reject) => {
      const t = db.transaction(stores, mode);
      const req = work(t);
      t.oncomplete = () => resolve(req && req.result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  } finally { db.close(); } // 不占着连接：页面升级数据库时不被挡住
}

// 本账号的密钥记录 {username, key, createdAt}（没有且 create 时生成一把）
async function keyOf(username, create) {
  const rec = await tx("vault", "readonly", (t) => t.objectStore("vault").get(username));
  if (rec) return rec;
  if (!create) return null;
  const made = { username, key: await crypto.subtle.generateKey(ALGO, false, ["encrypt", "decrypt"]),
    createdAt: new Date().toISOString() };
  try { await tx("vault", "readwrite", (t) => t.objectStore("vault").add(made)); }
  catch { return keyOf(username, false); } // 页面刚刚建好：用那一把
  return made;
}

// 加密后在一个含 vault 的事务里核对：加密用的那把密钥还在才写入。页面的清理（store.js shredIfUnused）
// 在加密与写入之间销毁了它时，用新密钥重来——否则存下的是一份再也解不开的密文，离线时任务底册打不开
async function putAnswer(username, path, text, date) {
  const plain = new TextEncoder().encode(JSON.stringify(text));
  const fetchedAt = new Date(date ? Date.parse(date) : Date.now()).toISOString();
  for (let attempt = 0; attempt < 3; attempt++) {
    const rec = await keyOf(username, true);
    if (!rec) return;
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const data = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: ad(username) }, rec.key, plain);
    const answer = { id: `${username}\n${path}`, username, path, fetchedAt, savedAt: new Date().toISOString(),
      sealed: { v: 1, iv, data: new Uint8Array(data) } };
    const stored = await tx(["vault", "answers"], "readwrite", (t) => {
      const check = t.objectStore("vault").get(username);
      check.onsuccess = () => { if (check.result && check.result.createdAt === rec.createdAt) t.objectStore("answers").put(answer); };
      return check;
    });
    if (stored && stored.createdAt === rec.createdAt) return;
  }
}

async function answerOf(username, path) {
  const rec = await tx("answers", "readonly", (t) => t.objectStore("answers").get(`${username}\n${path}`));
  if (!rec) return null;
  if (Date.now() - Date.parse(rec.savedAt) > ANSWER_DAYS * 24 * 3600 * 1000) {
    await tx("answers", "readwrite", (t) => t.objectStore("answers").delete(rec.id));
    return null;
  }
  return rec;
}

async function unseal(username, sealed) {
  const rec = await keyOf(username, false);
  if (!rec) return null;
  try {
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: sealed.iv, additionalData: ad(username) },
      rec.key, sealed.data);
    return JSON.parse(new TextDecoder().decode(plain));
  } catch { return null; }
}
