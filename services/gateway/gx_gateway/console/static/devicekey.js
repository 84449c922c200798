// 手机安全证书（本机密钥）：浏览器用 WebCrypto 生成不可导出的 Ed25519 密钥对，私钥以 CryptoKey
// 对象保存在 IndexedDB（结构化克隆，私钥本身永不离开浏览器），只把公钥交给网关登记。
// 每个数据采集请求按网关 domain/device_proof.py 的格式签名：
//   GX1\n<device_id>\n<METHOD>\n<path?query>\n<timestamp>\n<body 的 SHA-256 十六进制>
// 本模块不依赖 api.js（api.js 在发送前调用 signHeaders）。

const DB = "gx-device", STORE = "keys";
export const COLLECTORS = ["village_coordinator", "grid_worker"];

function idb() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: "username" });
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

async function tx(mode, work) {
  const db = await idb();
  try {
    return await new Promise((resolve, reject) => {
      const t = db.transaction(STORE, mode);
      const req = work(t.objectStore(STORE));
      t.oncomplete = () => resolve(req && req.result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  } finally { db.close(); }
}

// 本机为某账号保存的证书记录：{username, privateKey, publicKey, fingerprint, label,
// requestId, deviceId, status: "pending" | "enrolled" | "rejected" | "revoked", reason}
export async function loadRecord(username) {
  if (!username || !window.indexedDB) return null;
  try { return (await tx("readonly", (s) => s.get(username))) || null; } catch { return null; }
}
export async function saveRecord(record) { await tx("readwrite", (s) => s.put(record)); }
export async function updateRecord(username, patch) {
  const rec = await loadRecord(username);
  if (rec) await saveRecord({ ...rec, ...patch });
  return rec ? { ...rec, ...patch } : null;
}

export function supported() {
  return Boolean(window.isSecureContext && window.crypto && crypto.subtle && window.indexedDB);
}

function b64url(buf) {
  let s = "";
  for (const b of new Uint8Array(buf)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
function hex(buf) { return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join(""); }

// 与网关 device_requests.fingerprint 相同：公钥 SHA-256 的前 8 字节，大写，4 位一组
async function fingerprintOf(rawPublicKey) {
  const d = hex(await crypto.subtle.digest("SHA-256", rawPublicKey)).slice(0, 16).toUpperCase();
  return d.match(/.{4}/g).join(" ");
}

// 生成新密钥对（不可导出），返回待申请的记录（尚未保存）
export async function newKeyPair(username, label) {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const raw = await crypto.subtle.exportKey("raw", pair.publicKey); // 公钥总是可导出
  return { username, label, privateKey: pair.privateKey, publicKey: b64url(raw),
    fingerprint: await fingerprintOf(raw), requestId: null, deviceId: null, status: "new",
    createdAt: new Date().toISOString() };
}

// 该请求是否属于数据采集（网关 capabilities.is_data_collection：采集角色的写操作）
export function needsProof(role, method, path) {
  return COLLECTORS.includes(role) && !["GET", "HEAD", "OPTIONS"].includes(method.toUpperCase()) &&
    !/^\/api\/v1\/(admin|devices|auth)\//.test(path);
}

// 请求签名头；本机尚无已批准的证书时返回 null（由网关回答 device_proof_missing）。
// body：文本（按 UTF-8 取摘要）或原始字节（ArrayBuffer / Uint8Array，如小区图，按字节本身取摘要）
export async function signHeaders(record, method, url, body) {
  if (!record || !record.deviceId || !record.privateKey || record.status === "revoked") return null;
  // 签名用浏览器实际发出的路径（已做百分号编码）与查询串
  const u = new URL(url, location.origin);
  const stamp = String(Math.floor(Date.now() / 1000));
  const bytes = typeof body === "string" || body == null ? new TextEncoder().encode(body || "") : body;
  const bodyHash = hex(await crypto.subtle.digest("SHA-256", bytes));
  const text = ["GX1", record.deviceId, method.toUpperCase(), u.pathname + u.search, stamp, bodyHash].join("\n");
  const sig = await crypto.subtle.sign({ name: "Ed25519" }, record.privateKey, new TextEncoder().encode(text));
  return { "X-Gx-Device-Id": record.deviceId, "X-Gx-Timestamp": stamp, "X-Gx-Signature": b64url(sig) };
}
