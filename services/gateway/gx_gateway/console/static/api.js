// 与网关通信：令牌保存在 sessionStorage；401 时刷新一次；错误统一为中文 ApiError。
const KEY = "gx.session";

export class ApiError extends Error {
  constructor(status, body) {
    const detail = (body && body.detail) || STATUS_ZH[status] || `请求失败（${status}）`;
    super(detail);
    this.status = status;
    this.code = (body && body.code) || (status === 0 ? "network" : "http_" + status);
    this.errors = (body && Array.isArray(body.errors)) ? body.errors : [];
    this.body = body || {};
  }
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

// 带令牌的 fetch；401 时刷新令牌后重试一次，仍 401 则退出登录。
export async function authedFetch(path, init = {}) {
  for (let attempt = 0; ; attempt++) {
    const s = session();
    const headers = { Accept: "application/json", ...(init.headers || {}) };
    if (s && s.access) headers.Authorization = "Bearer " + s.access;
    let r;
    try { r = await fetch(path, { ...init, headers }); } catch (e) {
      if (e && e.name === "AbortError") throw e;
      throw new ApiError(0, null);
    }
    if (r.status === 401 && attempt === 0 && await refreshTokens()) continue;
    if (r.status === 401) loggedOut();
    return r;
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
