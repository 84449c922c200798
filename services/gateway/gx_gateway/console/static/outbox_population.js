// 发件箱中的人口调查项目（离线优先，调查员的手机）：
// - population.household 住户登记：按顺序 保存住户表 → 回读确认 → 交表，每一步一个幂等键，做完一步
//   记下服务器给的版本与住户ID再做下一步；页面中途关掉、网络断开，重发时从未完成的那一步接着做，
//   已完成的步骤以同一幂等键重放，服务器只执行一次。回读确认在手机上记录（时间、确认人、调查员、
//   设备、回读内容摘要），发送时一并交给服务器。
// - population.change 人口变动报告：一次请求，一个幂等键。
// 个人信息只以密文（vault.js）存在条目的 sealed 里；服务器接受后即删除，只留不含个人信息的一行
// “已提交”记录（7天后删除）。未发出的草稿与被拒绝的条目本机最多保存 RETENTION_DAYS 天。
import { api, newKey } from "./api.js";
import { loadRecord } from "./devicekey.js";
import { deleteItem, deletePopDraft, itemsOf, popDraftsOf } from "./store.js";
import { readbackText } from "./population_rules.js";
import { open, seal, sha256Hex, shred } from "./vault.js";

const BASE = "/api/v1/population";
export const HOUSEHOLD = "population.household", CHANGE = "population.change";
export const RETENTION_DAYS = 30;
const DAY_MS = 24 * 3600 * 1000;

// 回读内容的摘要：身份号码遮蔽后的回读文字的 SHA-256（手机与服务器按同一写法计算）
export const readbackDigest = (form, household, persons, kept) =>
  sha256Hex(readbackText(form, household, persons, { mask: true, kept }));

// 被调查人的确认：{respondent, confirmedAt, sha256, enumerator, device}
export async function confirmation(user, respondent, digest) {
  const dev = await loadRecord(user.username).catch(() => null);
  return { respondent, confirmedAt: new Date().toISOString(), sha256: digest, enumerator: user.username,
    device: (dev && dev.deviceId) || null };
}

function base(user, kind, fields) {
  return { id: newKey(), username: user.username, kind, state: "queued", attempts: 0, nextAt: 0, reason: "",
    problem: null, createdAt: new Date().toISOString(), ...fields };
}

// 一户的登记条目。previous：同一草稿上次被拒绝的条目——若服务器已保存过（有住户ID与版本），这次
// 在那个版本上接着保存，不会重复登记。
export async function householdItem(user, { draftId, areaId, title, household, persons, householdId,
  baseVersion, confirmation: conf, previous }) {
  const saved = previous && previous.householdId ? previous : null;
  return base(user, HOUSEHOLD, { draftId, areaId, title,
    householdId: saved ? saved.householdId : householdId || null,
    version: saved ? saved.version : baseVersion || 0, personIds: saved ? saved.personIds || [] : [],
    step: "save", keys: { save: newKey(), readback: newKey(), handIn: newKey() }, confirmation: conf,
    sealed: await seal(user.username, { household, persons }) });
}

export async function changeItem(user, { draftId, title, change }) {
  return base(user, CHANGE, { draftId, title, key: newKey(), sealed: await seal(user.username, change) });
}

// 条目中的内容（解密）；密钥已销毁或密文损坏时为 null
export const payloadOf = (item) => open(item.username, item.sealed);

function unreadable() {
  return Object.assign(new Error("本机保存的内容已无法解密（本机密钥已销毁），请重新填写"),
    { status: 410, code: "local_data_unreadable", errors: [] });
}

// 服务器还不认识回读确认的手机时间与摘要字段（旧版本，答“不允许的字段”）：退回只发确认本身。
// 服务器认识而拒绝的（摘要与登记内容不符、手机时间越界）不退回：原因留在这份草稿上。
const olderServer = (err) => err.status === 422 && (err.errors || []).some((e) =>
  e.type === "extra_forbidden" && /(^|\.)(confirmed_at|readback_sha256)$/.test(String(e.field || "")));

async function sendHousehold(item, { signal, persist }) {
  const body = await payloadOf(item);
  if (!body) throw unreadable();
  const hh = () => `${BASE}/households/${encodeURIComponent(item.householdId)}`;
  if (item.step === "save") {
    const r = await api(`${BASE}/areas/${encodeURIComponent(item.areaId)}/households`, { method: "POST", signal,
      idempotencyKey: item.keys.save, body: { household: body.household, persons: body.persons, expected_version: item.version } });
    const errors = (r.findings || []).filter((f) => f.severity === "error");
    Object.assign(item, { householdId: r.household_id, version: r.version, personIds: r.person_ids,
      findings: r.findings || [], step: "readback" });
    await persist(item);
    if (errors.length) { // 服务器审核出错误：不回读确认、不交表，留待改正
      throw Object.assign(new Error(`服务器审核：住户表有${errors.length}项错误未改正，不能交表`),
        { status: 422, code: "validation_blocked", errors });
    }
  }
  if (item.step === "readback") {
    const c = item.confirmation;
    const plain = { expected_version: item.version, respondent: c.respondent, confirmed: true };
    let r;
    try {
      r = await api(`${hh()}/readback`, { method: "POST", signal, idempotencyKey: item.keys.readback,
        body: { ...plain, confirmed_at: c.confirmedAt, readback_sha256: c.sha256 } });
    } catch (err) {
      if (!olderServer(err)) throw err;
      r = await api(`${hh()}/readback`, { method: "POST", signal, idempotencyKey: item.keys.readback + "-1", body: plain });
      c.serverTime = true; // 服务器记下的是它收到时的时间，手机上的确认时间只在本机
    }
    Object.assign(item, { version: r.version, step: "hand_in" });
    await persist(item);
  }
  const r = await api(`${hh()}/hand-in`, { method: "POST", signal, idempotencyKey: item.keys.handIn,
    body: { expected_version: item.version } });
  Object.assign(item, { version: r.version, step: "done", result: { household_id: item.householdId, status: r.status } });
  return r;
}

async function sendChange(item, { signal }) {
  const body = await payloadOf(item);
  if (!body) throw unreadable();
  const r = await api(`${BASE}/ledger/changes`, { method: "POST", signal, idempotencyKey: item.key, body });
  item.result = { change_id: r.change_id, month: r.month };
  return r;
}

// 服务器接受后：删除密文、回读摘要与本机草稿（只留不含个人信息的一行记录）
async function finish(item) {
  delete item.sealed;
  if (item.confirmation) delete item.confirmation.sha256;
  if (item.draftId) await deletePopDraft(item.draftId);
}

// 被拒绝的条目不改内容再发一次（如考试通过、分配到小区之后）：未完成的步骤换新的幂等键
// （旧键已记下了拒绝的回答，重放只会得到同一个拒绝）
function rekey(item) {
  if (item.kind === CHANGE) { item.key = newKey(); return; }
  const order = ["save", "readback", "hand_in"];
  const from = order.indexOf(item.step);
  if (from <= 0) item.keys.save = newKey();
  if (from <= 1) item.keys.readback = newKey();
  item.keys.handIn = newKey();
}

export const POPULATION_SENDERS = {
  [HOUSEHOLD]: { send: sendHousehold, finish, rekey },
  [CHANGE]: { send: sendChange, finish, rekey },
};

// 本机保存期限：超过 RETENTION_DAYS 天未发出的草稿与被拒绝的条目删除；本账号在本机既无草稿、
// 也无带密文的条目时销毁密钥。
export async function tidyPopulation(username) {
  const old = (iso) => Date.now() - Date.parse(iso) > RETENTION_DAYS * DAY_MS;
  const drafts = await popDraftsOf(username);
  for (const d of drafts.filter((x) => old(x.savedAt))) await deletePopDraft(d.id);
  const items = (await itemsOf(username)).filter((x) => x.kind && x.kind.startsWith("population."));
  for (const it of items.filter((x) => x.state === "failed" && old(x.failedAt || x.createdAt))) await deleteItem(it.id);
  const left = (await popDraftsOf(username)).length + (await itemsOf(username)).filter((x) => x.sealed).length;
  if (!left) await shred(username);
}

export const expiresOn = (iso) => new Date(Date.parse(iso) + RETENTION_DAYS * DAY_MS);
