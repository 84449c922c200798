// 发件箱中“内容加密”的条目（离线优先，调查员的手机），各调查共用的部分：
// - 条目的骨架、内容只以密文（vault.js）放在 sealed 里，发送时才解密；
// - 按步骤发送：条目记着当前步骤 step 与每一步的幂等键 keys[step]，做完一步记下服务器的回答
//   （persist）再做下一步；页面中途关掉、网络断开，重发时从未完成的那一步接着做，已完成的步骤
//   不再发，正在做的那一步以同一幂等键重放，服务器只执行一次；
// - 被拒绝后“不修改，重新发送”：未完成的步骤换新的幂等键；
// - 本机保存期限与密钥销毁（所有调查一起算：只要还有一份加密草稿、条目或离线用的回答，密钥就留着）。
// 用它的：人口调查（outbox_population.js）与名录库的基本单位情况表（outbox_registry.js）。
import { newKey } from "./api.js";
import { answersOf, deleteAnswer, deleteItem, deletePopDraft, deleteRegDraft, itemsOf, popDraftsOf,
  regDraftsOf, shredIfUnused } from "./store.js";
import { open, seal } from "./vault.js";

export const RETENTION_DAYS = 30;
export const ANSWER_DAYS = 7; // sw.js 离线用的可识别回答（任务底册、网格）：与 sw.js 的 ANSWER_DAYS 相同
const DAY_MS = 24 * 3600 * 1000;

export const expiresOn = (iso) => new Date(Date.parse(iso) + RETENTION_DAYS * DAY_MS);

// 一个新条目：steps 是步骤名（按顺序），每步一个幂等键；payload 加密后放进 sealed
export async function sealedItem(user, kind, steps, payload, fields) {
  return { id: newKey(), username: user.username, kind, state: "queued", attempts: 0, nextAt: 0, reason: "",
    problem: null, createdAt: new Date().toISOString(), step: steps[0],
    keys: Object.fromEntries(steps.map((s) => [s, newKey()])), ...fields,
    sealed: await seal(user.username, payload) };
}

// 条目中的内容（解密）；密钥已销毁或密文损坏时为 null
export const payloadOf = (item) => open(item.username, item.sealed);

export function unreadable() {
  return Object.assign(new Error("本机保存的内容已无法解密（本机密钥已销毁），请重新填写"),
    { status: 410, code: "local_data_unreadable", errors: [] });
}

// 依次做 steps（[[步骤名, async (item, payload, {signal, key}) => 回答]]）中从 item.step 起的各步。
// 一步的回答带 blocked（一个错误）时：这一步已做完、已记下，但不再往下做，把 blocked 抛给发件箱。
export async function runSteps(item, steps, { signal, persist }) {
  const payload = await payloadOf(item);
  if (!payload) throw unreadable();
  let res;
  for (let i = Math.max(0, steps.findIndex(([name]) => name === item.step)); i < steps.length; i++) {
    const [name, run] = steps[i];
    res = await run(item, payload, { signal, key: item.keys[name] });
    item.step = i + 1 < steps.length ? steps[i + 1][0] : "done";
    await persist(item);
    if (res && res.blocked) throw res.blocked;
  }
  return res;
}

// 被拒绝后原样再发：当前这一步及以后各步换新的幂等键（旧键已记下拒绝的回答，重放只会得到同一个拒绝）
export function rekeySteps(item, names) {
  const from = Math.max(0, names.indexOf(item.step));
  for (const name of names.slice(from)) item.keys[name] = newKey();
}

// 服务器接受后：删除密文（只留不含个人信息的一行“已提交”记录）
export function forget(item) {
  delete item.sealed;
}

// 本机保存期限：超过 RETENTION_DAYS 天未发出的草稿（人口调查、名录库）与被拒绝的加密条目删除，超过
// ANSWER_DAYS 天的离线回答（sw.js）删除；本账号在本机既无加密草稿、也无带密文的条目或回答时销毁密钥
// （之后残留的密文都无法解开）。
export async function tidySealed(username) {
  const old = (iso, days = RETENTION_DAYS) => Date.now() - Date.parse(iso) > days * DAY_MS;
  for (const d of (await popDraftsOf(username)).filter((x) => old(x.savedAt))) await deletePopDraft(d.id);
  for (const d of (await regDraftsOf(username)).filter((x) => old(x.savedAt))) await deleteRegDraft(d.id);
  for (const a of (await answersOf(username)).filter((x) => old(x.savedAt, ANSWER_DAYS))) await deleteAnswer(a.id);
  const items = (await itemsOf(username)).filter((x) => x.sealed || (x.kind && x.kind !== "agri.report"));
  for (const it of items.filter((x) => x.state === "failed" && old(x.failedAt || x.createdAt))) await deleteItem(it.id);
  await shredIfUnused(username); // counted and shredded in one transaction (store.js)
}

// 退出登录：离线用的回答（任务底册等）不留给下一个拿到手机的人；还有草稿或待发送项时密钥留着
// （重新登录后照常上传），否则随即销毁。
export async function forgetAnswers(username) {
  for (const a of await answersOf(username)) await deleteAnswer(a.id);
  await tidySealed(username);
}
