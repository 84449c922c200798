// 发件箱：提交先存入本机（IndexedDB），再由页面发送；离线或服务暂不可用时按退避间隔自动重发，
// 联网（online 事件）时立刻重发。每项带自己的幂等键（保存草稿一个、提交一个），重发多少次、页面中途
// 被关掉多少次，网关与业务服务都只执行一次。签名在发送时由 api.js 现签（证书签名的时间戳须新鲜），
// 所以由页面而不是 service worker 发送（私钥只给页面用）。
// 状态：queued 待发送 / sending 发送中 / done 已提交 / failed 失败（原因）。
// 每项有类别 kind：agri.report（农业报表，默认）、population.household（住户登记：保存→回读确认→交表，
// 每步一个幂等键）、population.change（人口变动报告）、registry.unit_form（基本单位情况表：打开→保存→
// 上报，outbox_registry.js）；人口调查与情况表的内容以密文保存（outbox_population.js、outbox_sealed.js）。
import { api, newKey, session } from "./api.js";
import { deleteItem, dropDraft, getItem, itemsOf, putItem } from "./store.js";
import { POPULATION_SENDERS } from "./outbox_population.js";
import { REGISTRY_SENDERS } from "./outbox_registry.js";
import { tidySealed } from "./outbox_sealed.js";

export const STATE_ZH = { queued: "待发送", sending: "发送中", done: "已提交", failed: "失败" };
const BACKOFF_S = [3, 10, 30, 60, 120, 300];
const KEEP_DONE_MS = 7 * 24 * 3600 * 1000;
const LOCK = "gx-outbox";
const REQUEST_TIMEOUT_MS = 30000;

// 网络不通、服务 5xx、限流、同一幂等键的请求仍在处理：稍后重发。其余 4xx 是最终结果（显示原因）。
export function retryable(err) {
  if (!err || err.status === undefined) return false;
  if (err.status === 0 || err.status >= 500 || err.status === 408 || err.status === 429) return true;
  if (err.status === 409 && err.code === "idempotency_in_progress") return true;
  return err.status === 401 && !String(err.code || "").startsWith("device_"); // 登录过期：重新登录后再发
}

// 失败原因（中文）；机内审核不通过时说清是错误还是未说明的警告，细节在报表页各指标旁
function reasonOf(item, err) {
  if (err.code !== "validation_blocked" || item.kind) return err.message || String(err);
  const errors = (err.errors || []).filter((e) => e.severity !== "warning").length;
  return errors ? `审核未通过，不能提交：有 ${errors} 项错误，请打开报表修改`
    : `有 ${(err.errors || []).length} 条审核警告未说明，不能提交：请打开报表修改数值或填写说明`;
}

export function changed(item) {
  window.dispatchEvent(new CustomEvent("gx:outbox", { detail: item }));
}

// 把一次提交放进发件箱。body = {values, explanations}，基于读到的报表版本 version。
export async function enqueue(user, report, body, title) {
  for (const old of await itemsOf(user.username)) { // 同一报表未发出的旧提交由这次取代
    if (old.reportId === report.report_id && (old.state === "queued" || old.state === "failed")) await deleteItem(old.id);
  }
  const item = { id: newKey(), username: user.username, reportId: report.report_id, title,
    draftBody: { values: body.values, explanations: body.explanations, expected_version: report.version },
    draftKey: newKey(), submitKey: newKey(), draftVersion: null, state: "queued", attempts: 0, nextAt: 0,
    reason: "", createdAt: new Date().toISOString() };
  await putItem(item);
  changed(item);
  return item;
}

// 放入一项已备好的条目（人口调查、情况表：outbox_population.js、outbox_registry.js 备好、已加密）；replaces 中的旧项（被这次
// 改正取代的失败项）同时移除。
export async function enqueueItem(item, replaces = []) {
  for (const id of replaces) await deleteItem(id);
  await putItem(item);
  changed(item);
  return item;
}

// 农业报表：保存草稿（一个幂等键）→ 提交（另一个）
const AGRI = {
  async send(item, { signal, persist }) {
    const base = `/api/v1/agri/reports/${encodeURIComponent(item.reportId)}`;
    if (item.draftVersion === null) {
      const saved = await api(`${base}/draft`, { method: "PUT", body: item.draftBody, idempotencyKey: item.draftKey, signal });
      Object.assign(item, { draftVersion: saved.version, draftStatus: saved.status });
      await persist(item);
    }
    const res = await api(`${base}/submit`, { method: "POST", body: { expected_version: item.draftVersion },
      idempotencyKey: item.submitKey, signal });
    item.revision = res.revision;
    return res;
  },
  finish: (item) => dropDraft(item.username, item.reportId),
};
const SENDERS = { "agri.report": AGRI, ...POPULATION_SENDERS, ...REGISTRY_SENDERS };

async function send(item) {
  const sender = SENDERS[item.kind || "agri.report"];
  Object.assign(item, { state: "sending", attempts: item.attempts + 1 });
  await putItem(item);
  changed(item);
  // 弱网下请求可能一直挂着：超时就当网络失败（稍后用同一幂等键重发）
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), REQUEST_TIMEOUT_MS);
  const signal = abort.signal;
  try {
    const res = await sender.send(item, { signal, persist: putItem });
    Object.assign(item, { state: "done", doneAt: new Date().toISOString(), reason: "", problem: null });
    try { await sender.finish(item); } catch { /* 本机存储出错：不影响已提交这一结果 */ } // 已被接受：本机草稿与（人口调查的）密文删除
    await putItem(item);
    changed(item);
    return res;
  } catch (caught) {
    const err = caught && caught.name === "AbortError"
      ? Object.assign(new Error("网络太慢，请求超时"), { status: 0, code: "timeout" }) : caught;
    const again = retryable(err);
    const wait = BACKOFF_S[Math.min(item.attempts - 1, BACKOFF_S.length - 1)] * (0.8 + Math.random() * 0.4);
    Object.assign(item, { state: again ? "queued" : "failed", reason: reasonOf(item, err),
      nextAt: again ? Date.now() + wait * 1000 : 0, failedAt: again ? null : new Date().toISOString(),
      problem: again ? null : { status: err.status, code: err.code, errors: err.errors } });
    await putItem(item);
    changed(item);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

// 同一时刻只有一个页面（标签页）在发：Web Locks；页面被关掉时锁自动释放。
function locked(work, { ifAvailable = false } = {}) {
  if (!navigator.locks) return work(true);
  return navigator.locks.request(LOCK, { ifAvailable }, (lock) => work(Boolean(lock)));
}

// 页面上点“提交”（在线时）：立刻发送这一项，结果或错误交给调用方。
export function sendNow(id) {
  return locked(async () => {
    const item = await getItem(id);
    if (!item) throw new Error("发件箱中没有这一项");
    if (item.state === "done") return { revision: item.revision, result: item.result, replayed: true };
    return send(item);
  });
}

// 被拒绝的加密条目（人口调查、情况表）原样再发一次（拒绝原因已消除时，如考试通过、分配到小区之后）
export async function retryItem(id) {
  const item = await getItem(id);
  if (!item || item.state !== "failed" || !SENDERS[item.kind] || !SENDERS[item.kind].rekey) return;
  SENDERS[item.kind].rekey(item);
  Object.assign(item, { state: "queued", attempts: 0, nextAt: 0, reason: "", problem: null, failedAt: null });
  await putItem(item);
  changed(item);
  return drain({ now: true });
}

let timer = null;
// 把到期的待发送项（以及上次被关掉的页面留下的“发送中”项）依次发出；网络不通时停下，等下次。
export function drain({ now = false } = {}) {
  return locked(async (got) => {
    if (!got) return;
    const s = session();
    if (!s || !s.user) return;
    for (const item of await itemsOf(s.user.username)) {
      if (item.state === "done" && Date.now() - Date.parse(item.doneAt) > KEEP_DONE_MS) await deleteItem(item.id);
      if (item.state !== "queued" && item.state !== "sending") continue;
      if (!navigator.onLine) break;
      if (item.state === "queued" && item.nextAt > Date.now() && !now) continue;
      try { await send(item); } catch (err) { if (retryable(err)) break; }
    }
    // 保存期限与密钥销毁（人口调查与情况表一起算：还有任何一份加密内容时密钥留着）
    await tidySealed(s.user.username).catch(() => {});
  }, { ifAvailable: true }).finally(schedule);
}

async function schedule() {
  clearTimeout(timer);
  const s = session();
  if (!s || !s.user) return;
  const due = (await itemsOf(s.user.username)).filter((x) => x.state === "queued").map((x) => x.nextAt);
  if (!due.length) return;
  timer = setTimeout(() => drain(), Math.max(500, Math.min(...due) - Date.now()));
}

let started = false;
// 采集角色登录后启动（app.js）：页面打开时、联网时、到期时发送。
export function startOutbox() {
  if (!started) {
    started = true;
    window.addEventListener("online", () => drain({ now: true }));
  }
  drain({ now: true }); // 刚登录（或重新登录）：不等退避，马上发
}

export const outboxItems = () => { const s = session(); return s && s.user ? itemsOf(s.user.username) : Promise.resolve([]); };
export { deleteItem as removeItem };
