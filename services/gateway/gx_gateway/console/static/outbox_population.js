// 发件箱中的人口调查项目（离线优先，调查员的手机）：
// - population.household 住户登记：按顺序 保存住户表 → 回读确认 → 交表，每一步一个幂等键，做完一步
//   记下服务器给的版本与住户ID再做下一步；页面中途关掉、网络断开，重发时从未完成的那一步接着做，
//   已完成的步骤以同一幂等键重放，服务器只执行一次。回读确认在手机上记录（时间、确认人、调查员、
//   设备、回读内容摘要），发送时一并交给服务器。
// - population.change 人口变动报告：一次请求，一个幂等键。
// 个人信息只以密文（vault.js）存在条目的 sealed 里；服务器接受后即删除，只留不含个人信息的一行
// “已提交”记录（7天后删除）。未发出的草稿与被拒绝的条目本机最多保存 RETENTION_DAYS 天；密文条目的
// 骨架、按步骤发送、重发换键、保存期限与密钥销毁是各调查共用的（outbox_sealed.js）。
import { api } from "./api.js";
import { loadRecord } from "./devicekey.js";
import { deletePopDraft } from "./store.js";
import { readbackText } from "./population_rules.js";
import { sha256Hex } from "./vault.js";
import { expiresOn, forget, payloadOf, rekeySteps, RETENTION_DAYS, runSteps, sealedItem } from "./outbox_sealed.js";

const BASE = "/api/v1/population";
export const HOUSEHOLD = "population.household", CHANGE = "population.change";
const STEPS = ["save", "readback", "hand_in"];
export { expiresOn, payloadOf, RETENTION_DAYS };

// 回读内容的摘要：身份号码遮蔽后的回读文字的 SHA-256（手机与服务器按同一写法计算）
export const readbackDigest = (form, household, persons, kept) =>
  sha256Hex(readbackText(form, household, persons, { mask: true, kept }));

// 被调查人的确认：{respondent, confirmedAt, sha256, enumerator, device}
export async function confirmation(user, respondent, digest) {
  const dev = await loadRecord(user.username).catch(() => null);
  return { respondent, confirmedAt: new Date().toISOString(), sha256: digest, enumerator: user.username,
    device: (dev && dev.deviceId) || null };
}

// 一户的登记条目。previous：同一草稿上次被拒绝的条目——若服务器已保存过（有住户ID与版本），这次
// 在那个版本上接着保存，不会重复登记。
export async function householdItem(user, { draftId, areaId, title, household, persons, householdId,
  baseVersion, confirmation: conf, previous }) {
  const saved = previous && previous.householdId ? previous : null;
  return sealedItem(user, HOUSEHOLD, STEPS, { household, persons }, { draftId, areaId, title,
    householdId: saved ? saved.householdId : householdId || null,
    version: saved ? saved.version : baseVersion || 0, personIds: saved ? saved.personIds || [] : [],
    confirmation: conf });
}

export async function changeItem(user, { draftId, title, change }) {
  return sealedItem(user, CHANGE, ["report"], change, { draftId, title });
}

// 服务器还不认识回读确认的手机时间与摘要字段（旧版本，答“不允许的字段”）：退回只发确认本身。
// 服务器认识而拒绝的（摘要与登记内容不符、手机时间越界）不退回：原因留在这份草稿上。
const olderServer = (err) => err.status === 422 && (err.errors || []).some((e) =>
  e.type === "extra_forbidden" && /(^|\.)(confirmed_at|readback_sha256)$/.test(String(e.field || "")));

const hh = (item) => `${BASE}/households/${encodeURIComponent(item.householdId)}`;

const HOUSEHOLD_STEPS = [
  ["save", async (item, body, { signal, key }) => {
    const r = await api(`${BASE}/areas/${encodeURIComponent(item.areaId)}/households`, { method: "POST", signal,
      idempotencyKey: key, body: { household: body.household, persons: body.persons, expected_version: item.version } });
    const errors = (r.findings || []).filter((f) => f.severity === "error");
    Object.assign(item, { householdId: r.household_id, version: r.version, personIds: r.person_ids, findings: r.findings || [] });
    // 服务器审核出错误：已保存（记下），但不回读确认、不交表，留待改正
    return errors.length ? { blocked: Object.assign(new Error(`服务器审核：住户表有${errors.length}项错误未改正，不能交表`),
      { status: 422, code: "validation_blocked", errors }) } : r;
  }],
  ["readback", async (item, _body, { signal, key }) => {
    const c = item.confirmation;
    const plain = { expected_version: item.version, respondent: c.respondent, confirmed: true };
    let r;
    try {
      r = await api(`${hh(item)}/readback`, { method: "POST", signal, idempotencyKey: key,
        body: { ...plain, confirmed_at: c.confirmedAt, readback_sha256: c.sha256 } });
    } catch (err) {
      if (!olderServer(err)) throw err;
      r = await api(`${hh(item)}/readback`, { method: "POST", signal, idempotencyKey: key + "-1", body: plain });
      c.serverTime = true; // 服务器记下的是它收到时的时间，手机上的确认时间只在本机
    }
    item.version = r.version;
    return r;
  }],
  ["hand_in", async (item, _body, { signal, key }) => {
    const r = await api(`${hh(item)}/hand-in`, { method: "POST", signal, idempotencyKey: key,
      body: { expected_version: item.version } });
    Object.assign(item, { version: r.version, result: { household_id: item.householdId, status: r.status } });
    return r;
  }],
];

const CHANGE_STEPS = [["report", async (item, body, { signal, key }) => {
  const r = await api(`${BASE}/ledger/changes`, { method: "POST", signal, idempotencyKey: key, body });
  item.result = { change_id: r.change_id, month: r.month };
  return r;
}]];

// 本次改动之前排进发件箱的条目：键名 keys.handIn、单独的 key，换成按步骤名的 keys
function older(item) {
  if (item.kind === CHANGE && !item.keys) Object.assign(item, { keys: { report: item.key }, step: "report" });
  if (item.kind === HOUSEHOLD && item.keys.handIn && !item.keys.hand_in) item.keys.hand_in = item.keys.handIn;
  return item;
}

// 服务器接受后：删除密文、回读摘要与本机草稿（只留不含个人信息的一行记录）
async function finish(item) {
  forget(item);
  if (item.confirmation) delete item.confirmation.sha256;
  if (item.draftId) await deletePopDraft(item.draftId);
}

export const POPULATION_SENDERS = {
  [HOUSEHOLD]: { send: (item, ctx) => runSteps(older(item), HOUSEHOLD_STEPS, ctx), finish,
    rekey: (item) => rekeySteps(older(item), STEPS) },
  [CHANGE]: { send: (item, ctx) => runSteps(older(item), CHANGE_STEPS, ctx), finish,
    rekey: (item) => rekeySteps(older(item), ["report"]) },
};
// 保存期限与密钥销毁：outbox_sealed.js 的 tidySealed（发件箱每次发送后调用；人口与名录库的草稿一起算）
