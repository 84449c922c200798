// 与网关通信：令牌保存在 sessionStorage；401 时刷新一次；错误统一为中文 ApiError。
// 采集角色的写操作带本机安全证书签名（devicekey.js）。
import { loadRecord, needsProof, saveRecord, signHeaders } from "./devicekey.js";

const KEY = "gx.session";

// 本机安全证书的错误：界面用统一的中文说明（见 device.js 的提示与申请按钮）
export const DEVICE_MESSAGES = {
  device_proof_missing: "本机尚未登记安全证书，请先申请登记，经县统计局批准后才能保存和提交",
  device_unknown: "本机尚未登记安全证书，请先申请登记，经县统计局批准后才能保存和提交",
  device_revoked: "本机安全证书已被吊销，请联系县统计局重新登记",
  device_signature_invalid: "本机安全证书签名无效，请重新申请登记",
  device_timestamp_invalid: "本机时间不准，请校准时间后重试",
};

export class ApiError extends Error {
  constructor(status, body) {
    const detail = DEVICE_MESSAGES[body && body.code] || (body && body.detail) || STATUS_ZH[status] ||
      `请求失败（${status}）`;
    super(detail);
    this.status = status;
    this.code = (body && body.code) || (status === 0 ? "network" : "http_" + status);
    this.errors = (body && Array.isArray(body.errors)) ? body.errors : [];
    this.body = body || {};
  }
  get deviceProblem() { return Boolean(DEVICE_MESSAGES[this.code]); }
  // 某字段的错误（字段名如 values.crop_area，也接受不带前缀的指标代码）
  fieldErrors() {
    const out = {};
    for (const e of this.errors) {
      if (!e || !e.field) continue;
      const key = String(e.field).replace(/^(body\.)?(values|explanations)\./, "");
      (out[key] ||= []).push(e.message || "取值不正确");
    }
    return out;
  }
}

const STATUS_ZH = {
  0: "网络连接失败，请检查网络后重试", 400: "请求有误", 401: "登录已过期，请重新登录",
  403: "无权执行此操作", 404: "请求的资源不存在", 409: "数据已被他人修改，请刷新后重试",
  413: "提交的内容过大", 422: "输入有误", 429: "操作过于频繁，请稍后重试",
  500: "服务器内部错误，请稍后重试", 502: "服务暂不可用，请稍后重试",
  503: "服务暂不可用，请稍后重试", 504: "服务响应超时，请稍后重试",
};

export function session() {
  try { return JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch { return null; }
}
function save(s) { sessionStorage.setItem(KEY, JSON.stringify(s)); }
export function clearSession() { sessionStorage.removeItem(KEY); }

async function readBody(r) {
  const type = r.headers.get("content-type") || "";
  if (type.includes("json")) { try { return await r.json(); } catch { return null; } }
  return null;
}

export async function login(username, password) {
  let r;
  try {
    r = await fetch("/api/v1/auth/login", {
      method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ username, password }),
    });
  } catch { throw new ApiError(0, null); }
  const body = await readBody(r);
  if (!r.ok) throw new ApiError(r.status, body);
  save({ access: body.access_token, refresh: body.refresh_token, user: body.user });
  return body.user;
}

// 多个请求同时遇到 401 时只刷新一次。
let refreshing = null;
function refreshTokens() {
  if (!refreshing) {
    refreshing = (async () => {
      const s = session();
      if (!s || !s.refresh) return false;
      try {
        const r = await fetch("/api/v1/auth/refresh", {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ refresh_token: s.refresh }),
        });
        if (!r.ok) return false;
        const b = await r.json();
        save({ ...s, access: b.access_token, refresh: b.refresh_token, user: b.user || s.user });
        return true;
      } catch { return false; }
    })().finally(() => { setTimeout(() => { refreshing = null; }, 0); });
  }
  return refreshing;
}

function loggedOut() {
  clearSession();
  window.dispatchEvent(new CustomEvent("gx:logged-out"));
}

// 401 是否令牌问题（过期等，可刷新）；本机证书的 401（device_*）不刷新、不退出登录
async function tokenProblem(r) {
  if (r.status !== 401) return false;
  try { return !String((await r.clone().json()).code || "").startsWith("device_"); } catch { return true; }
}

// 带令牌的 fetch；401 时刷新令牌后重试一次，仍 401 则退出登录。
// 数据采集请求（采集角色的写操作）每次发送前重新签名（时间戳须新鲜）；请求体为文本或原始字节
// （ArrayBuffer / Uint8Array）时签名，Blob、FormData 等须先读成字节。
export async function authedFetch(path, init = {}) {
  const method = (init.method || "GET").toUpperCase();
  for (let attempt = 0; ; attempt++) {
    const s = session();
    const headers = { Accept: "application/json", ...(init.headers || {}) };
    if (s && s.access) headers.Authorization = "Bearer " + s.access;
    if (s && s.user && needsProof(s.user.role, method, path) &&
        (init.body === undefined || typeof init.body === "string" || init.body instanceof ArrayBuffer ||
         init.body instanceof Uint8Array)) {
      Object.assign(headers, await deviceHeaders(s.user, method, path, init.body));
    }
    let r;
    try { r = await fetch(path, { ...init, headers }); } catch (e) {
      if (e && e.name === "AbortError") throw e;
      throw new ApiError(0, null);
    }
    if (await tokenProblem(r)) {
      if (attempt === 0 && await refreshTokens()) continue;
      loggedOut();
    }
    if (r.status === 401 || r.status === 403) await noteDeviceRefusal(s && s.user, r);
    return r;
  }
}

// —— 本机安全证书 ——

function deviceChanged(record) {
  window.dispatchEvent(new CustomEvent("gx:device-changed", { detail: record }));
}

// 本机记录的最新状态：申请中的去网关查是否已批准（批准后得到 device_id），已登记的查是否被吊销
export async function resolveDevice(user) {
  const rec = await loadRecord(user && user.username);
  if (!rec || !rec.requestId || rec.status === "revoked" || rec.status === "invalid") return rec;
  let mine;
  try {
    const r = await authedFetch("/api/v1/devices/mine");
    if (!r.ok) return rec;
    mine = await r.json();
  } catch { return rec; }
  const req = (mine.requests || []).find((x) => x.request_id === rec.requestId);
  const dev = rec.deviceId && (mine.devices || []).find((x) => x.device_id === rec.deviceId);
  let next = rec.status;
  const patch = {};
  if (dev) next = dev.revoked_at ? "revoked" : "enrolled";
  else if (!req || req.status === "withdrawn") next = "invalid";
  else if (req.status === "approved") { next = "enrolled"; patch.deviceId = req.device_id; }
  else if (req.status === "rejected") { next = "rejected"; patch.reason = req.reason; }
  if (next === rec.status && !patch.deviceId) return rec;
  const updated = { ...rec, ...patch, status: next };
  await saveRecord(updated);
  deviceChanged(updated);
  return updated;
}

async function deviceHeaders(user, method, path, body) {
  let rec = await loadRecord(user.username);
  if (rec && rec.status === "pending") rec = await resolveDevice(user); // 也许刚被批准
  try { return (await signHeaders(rec, method, path, body)) || {}; } catch { return {}; }
}

// 网关拒绝了本机证书：记下状态，让页面上的提示随之更新
async function noteDeviceRefusal(user, r) {
  if (!user) return;
  let code;
  try { code = (await r.clone().json()).code; } catch { return; }
  const status = { device_revoked: "revoked", device_unknown: "invalid",
    device_signature_invalid: "invalid" }[code];
  const rec = await loadRecord(user.username);
  if (code === "device_proof_missing" || (status && rec)) {
    if (status && rec && rec.status !== status) await saveRecord({ ...rec, status });
    deviceChanged(await loadRecord(user.username));
  }
}

// JSON 请求：body 为对象时以 JSON 发送；idempotencyKey 放在 Idempotency-Key 头。
export async function api(path, { method = "GET", body, idempotencyKey, signal } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  const r = await authedFetch(path, {
    method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await readBody(r);
  if (!r.ok) throw new ApiError(r.status, data);
  // 离线时由 service worker 从本机缓存回答（sw.js 的 X-Gx-Cache 头：缓存取得的时间）
  const cached = r.headers.get("X-Gx-Cache");
  if (cached && data && typeof data === "object") Object.defineProperty(data, "_cachedAt", { value: cached });
  return data;
}

export function newKey() {
  return (crypto.randomUUID && crypto.randomUUID()) ||
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

// 服务器推送事件（SSE）：EventSource 不能带 Authorization 头，所以用 fetch 读取流。
// 连接失败时抛出 ApiError（调用方据此退回轮询）；onMessage(event, data) 每个事件调用一次。
export async function stream(path, { onMessage, onOpen, signal }) {
  const r = await authedFetch(path, { headers: { Accept: "text/event-stream" }, signal });
  const type = r.headers.get("content-type") || "";
  if (!r.ok || !type.includes("text/event-stream") || !r.body) {
    throw new ApiError(r.ok ? 415 : r.status, r.ok ? null : await readBody(r));
  }
  if (onOpen) onOpen();
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value.replace(/\r\n?/g, "\n");
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue; // comment / keep-alive
        const i = line.indexOf(":");
        const field = i < 0 ? line : line.slice(0, i);
        const val = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
        if (field === "event") event = val;
        else if (field === "data") data.push(val);
      }
      if (data.length || event !== "message") onMessage(event, data.join("\n"));
    }
  }
}

// 带令牌下载文件（导出）：保存为浏览器下载。
export async function download(path, fallbackName) {
  const r = await authedFetch(path, { headers: { Accept: "*/*" } });
  if (!r.ok) throw new ApiError(r.status, await readBody(r));
  const blob = await r.blob();
  const cd = r.headers.get("content-disposition") || "";
  const m = /filename\*=UTF-8''([^;]+)/i.exec(cd) || /filename="?([^";]+)"?/i.exec(cd);
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = m ? decodeURIComponent(m[1]) : fallbackName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}
