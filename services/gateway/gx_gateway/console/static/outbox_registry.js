// 发件箱中的基本单位情况表（名录库实地调查，网格员的手机，离线优先）：按顺序
//   打开表（为任务单位：服务器上每个任务只有一张表）→ 保存草稿（填写的值、说明、定位）→ 上报，
// 每一步一个幂等键（outbox_sealed.js 的步骤发送）：联网后只执行一次。定位是按“获取位置”时浏览器
// 给的结果（纬度、经度、精度、定位时间），原样交给服务器——服务器记下的是定位时间，不是上传时间。
// 单位名称、法定代表人、电话等只以密文放在条目里，服务器接受后即删除；标题只写任务号，不写单位名称。
import { api } from "./api.js";
import { deleteRegDraft } from "./store.js";
import { forget, rekeySteps, runSteps, sealedItem } from "./outbox_sealed.js";

const BASE = "/api/v1/registry";
export const UNIT_FORM = "registry.unit_form";
const STEPS = ["open", "save", "submit"];
export const STEP_DONE_ZH = { save: "表已在服务器打开", submit: "草稿已保存到服务器，待上报" };

export const titleOf = (taskId) => `基本单位情况表（${taskId ? "任务 " + taskId.slice(0, 8) : "新发现单位"}）`;

// 一份上报。formId/version：表已在服务器打开时（在线打开过）的表号与版本，离线打开的为 null。
// previous：同一草稿上次被拒绝或排队未发的条目——服务器已打开或保存过的，这次在那个版本上接着保存。
export async function unitFormItem(user, { draftId, taskId, villageCode, formId, version, payload, previous }) {
  const known = previous && previous.formId ? previous : formId ? { formId, version } : null;
  const item = await sealedItem(user, UNIT_FORM, STEPS, payload, { draftId, taskId: taskId || null,
    villageCode, title: titleOf(taskId), formId: known ? known.formId : null, version: known ? known.version : null,
    conflict: (previous && previous.conflict) || null }); // 冲突未解决：改后再上报也不覆盖服务器的版本
  if (known) item.step = "save";
  return item;
}

const form = (item) => `${BASE}/forms/${encodeURIComponent(item.formId)}`;

// 冲突：服务器上的表已有本机没见过的内容（离线打开的表，打开时服务器的表已被保存过；或在线打开后
// 别人先存了一版）。不保存，条目留在草稿上，等网格员选：以服务器的为准，或保留我的（在服务器当前
// 版本上重新保存，新的幂等键）。item.conflict = {version}：服务器当前的版本。
export const CONFLICT = "form_changed_on_server";
function conflict(item, version) {
  item.conflict = { version };
  return Object.assign(new Error(`服务器上已有他人保存的情况表（版本 ${version}），请核对后再提交`),
    { status: 409, code: CONFLICT, errors: [] });
}
// 刚打开的表是第 1 版（只有“打开”一个事件）：更高的版本说明有人保存、上报或退回过
export const OPENED_VERSION = 1;

const SEND = [
  ["open", async (item, _p, { signal, key }) => {
    const r = await api(`${BASE}/forms`, { method: "POST", signal, idempotencyKey: key,
      body: { village_code: item.villageCode, task_id: item.taskId } });
    item.formId = r.form_id;
    if (r.version > OPENED_VERSION) return { blocked: conflict(item, r.version) }; // 不在别人的版本上覆盖
    item.version = r.version;
    return r;
  }],
  ["save", async (item, p, { signal, key }) => {
    if (item.version == null) { // 冲突未解决（或本机不知道服务器的版本）：不保存，报出服务器当前的版本
      throw conflict(item, item.conflict ? item.conflict.version : (await api(form(item), { signal })).version);
    }
    let r;
    try {
      r = await api(`${form(item)}/draft`, { method: "PUT", signal, idempotencyKey: key,
        body: { values: p.values, explanations: p.explanations, location: p.location, expected_version: item.version } });
    } catch (err) {
      if (err.status !== 409 || err.code !== "version_conflict") throw err;
      const now = await api(form(item), { signal }).catch(() => null); // 在线打开后别人先存了：同样当冲突
      throw now ? conflict(item, now.version) : err;
    }
    item.version = r.version;
    return r;
  }],
  ["submit", async (item, _p, { signal, key }) => {
    const r = await api(`${form(item)}/submit`, { method: "POST", signal, idempotencyKey: key,
      body: { expected_version: item.version } });
    Object.assign(item, { version: r.version, revision: r.revision, result: { form_id: item.formId, revision: r.revision } });
    return r;
  }],
];

// 冲突时“保留我的”：在服务器当前版本上重新保存再上报，未完成的步骤换新的幂等键（发件箱 retryItem 发出）。
// “以服务器的为准”由页面删除条目与草稿。
export function keepMine(item) {
  Object.assign(item, { version: item.conflict.version, step: "save", conflict: null });
  rekeySteps(item, STEPS);
  return item;
}

async function finish(item) {
  forget(item);
  if (item.draftId) await deleteRegDraft(item.draftId);
}

export const REGISTRY_SENDERS = {
  [UNIT_FORM]: { send: (item, ctx) => runSteps(item, SEND, ctx), finish, rekey: (item) => rekeySteps(item, STEPS) },
};

// 未上传（排队、发送中、被拒绝）的情况表：任务列表与表上显示“待上传 n 份”
export const pendingForms = (items) => items.filter((x) => x.kind === UNIT_FORM && x.state !== "done");
