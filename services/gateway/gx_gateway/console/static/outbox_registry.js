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
    villageCode, title: titleOf(taskId), formId: known ? known.formId : null, version: known ? known.version : null });
  if (known) item.step = "save";
  return item;
}

const form = (item) => `${BASE}/forms/${encodeURIComponent(item.formId)}`;

const SEND = [
  ["open", async (item, _p, { signal, key }) => {
    const r = await api(`${BASE}/forms`, { method: "POST", signal, idempotencyKey: key,
      body: { village_code: item.villageCode, task_id: item.taskId } });
    Object.assign(item, { formId: r.form_id, version: r.version });
    return r;
  }],
  ["save", async (item, p, { signal, key }) => {
    const r = await api(`${form(item)}/draft`, { method: "PUT", signal, idempotencyKey: key,
      body: { values: p.values, explanations: p.explanations, location: p.location, expected_version: item.version } });
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

async function finish(item) {
  forget(item);
  if (item.draftId) await deleteRegDraft(item.draftId);
}

export const REGISTRY_SENDERS = {
  [UNIT_FORM]: { send: (item, ctx) => runSteps(item, SEND, ctx), finish, rekey: (item) => rekeySteps(item, STEPS) },
};

// 未上传（排队、发送中、被拒绝）的情况表：任务列表与表上显示“待上传 n 份”
export const pendingForms = (items) => items.filter((x) => x.kind === UNIT_FORM && x.state !== "done");
