// 设备登记（县统计局、自治区统计局）：本级管辖范围内的登记申请（批准/驳回）与已登记的手机（吊销）。
// 手机安全证书（村级统计协管员、网格员）：本机证书状态、申请登记、本人设备挂失。
import { api } from "./api.js";
import { deviceNotice, deviceStatusText } from "./device.js";
import { COLLECTORS } from "./devicekey.js";
import { actorLabel, divisionNames } from "./people.js";
import { errorBox, fmtTime, h, labeled, mount, openDialog, toast } from "./ui.js";

const POLL_MS = 5000;
export const ADMINS = ["county_statistician", "region_statistician"];

export async function render({ user }) {
  if (COLLECTORS.includes(user.role)) return own(user);
  if (ADMINS.includes(user.role)) return admin();
  mount(h("h1", {}, "设备登记"), h("p", { class: "alert error" }, "只有县统计局和自治区统计局可以登记手机。"));
  return undefined;
}

function reasonDialog(title, submitText, fallback, action) {
  const text = h("textarea", { id: "device-reason", maxlength: 200, required: true }, fallback);
  openDialog(title, labeled("原因", text), { submitText, submitClass: "danger", onSubmit: async () => {
    if (!text.value.trim()) throw Object.assign(new Error("请填写原因"), { errors: [] });
    await action(text.value.trim());
  } });
}

function revokeButton(d, after) {
  return h("button", { type: "button", class: "danger btn-revoke", onclick: () =>
    reasonDialog(`吊销“${d.label}”的安全证书`, "吊销", "手机遗失", async (reason) => {
      await api(`/api/v1/admin/devices/${d.device_id}/revoke`, { method: "POST", body: { reason } });
      toast("安全证书已吊销，立即生效");
      await after();
    }) }, "吊销");
}

// —— 县统计局：审批与吊销 ——
function admin() {
  const pending = h("ul", { class: "list", id: "device-requests" });
  const enrolled = h("ul", { class: "list", id: "device-list" });
  const pendingNote = h("p", { class: "muted", "aria-live": "polite" }, "正在加载…");
  const errors = h("div", {});
  mount(h("h1", {}, "设备登记"),
    h("p", { class: "muted" }, "村级统计协管员和网格员在本机申请安全证书后，在此核对证书指纹并批准。吊销立即生效。"),
    errors, h("h2", {}, "待审批的登记申请"), pendingNote, pending,
    h("h2", {}, "已登记的手机"), enrolled);
  let timer = null, stopped = false;

  async function load() {
    clearTimeout(timer);
    try {
      const [reqs, devs] = await Promise.all([api("/api/v1/admin/devices/requests"), api("/api/v1/admin/devices")]);
      if (stopped) return;
      // 持有人：姓名（角色 · 区划），登录名是内部标识，不显示
      const nameOf = await divisionNames([...reqs.items, ...devs.items].map((x) => x.division));
      const owner = (x) => actorLabel({ name: x.name_zh, role: x.role, division: x.division }, nameOf);
      errors.replaceChildren();
      pendingNote.textContent = reqs.items.length ? `共 ${reqs.items.length} 件待审批` : "暂无待审批的申请";
      pending.replaceChildren(...reqs.items.map((r) => requestRow(r, owner(r))));
      if (!devs.items.length) enrolled.replaceChildren(h("li", { class: "muted" }, "尚无已登记的手机"));
      else enrolled.replaceChildren(...devs.items.map((d) => h("li", { dataset: { device: d.device_id, username: d.username } },
        h("span", { class: "title" }, owner(d)),
        h("span", {}, d.label),
        h("span", { class: "tag " + (d.revoked_at ? "returned" : "accepted") }, deviceStatusText(d)),
        h("span", { class: "muted" }, `指纹 ${d.fingerprint} · 登记于 ${fmtTime(d.enrolled_at)}`),
        d.revoked_at ? null : revokeButton(d, load))));
    } catch (err) {
      if (!stopped) errors.replaceChildren(errorBox(err));
    }
    if (!stopped) timer = setTimeout(load, POLL_MS);
  }

  function requestRow(r, who) {
    const approve = h("button", { type: "button", class: "primary btn-approve", onclick: async () => {
      approve.disabled = true;
      try {
        await api(`/api/v1/admin/devices/requests/${r.request_id}/approve`, { method: "POST" });
        toast(`已批准 ${r.name_zh} 的手机登记`);
      } catch (err) { errors.replaceChildren(errorBox(err)); }
      await load();
    } }, "批准");
    const reject = h("button", { type: "button", class: "btn-reject", onclick: () =>
      reasonDialog(`驳回 ${r.name_zh} 的登记申请`, "驳回", "", async (reason) => {
        await api(`/api/v1/admin/devices/requests/${r.request_id}/reject`, { method: "POST", body: { reason } });
        toast("已驳回");
        await load();
      }) }, "驳回");
    return h("li", { dataset: { request: r.request_id, username: r.username } },
      h("span", { class: "title" }, who),
      h("span", {}, r.label),
      h("span", { class: "muted" }, `证书指纹 ${r.fingerprint} · 申请于 ${fmtTime(r.requested_at)}`),
      approve, reject);
  }

  load();
  return () => { stopped = true; clearTimeout(timer); };
}

// —— 采集人员：本机证书与本人设备 ——
async function own(user) {
  const list = h("ul", { class: "list", id: "my-devices" });
  const errors = h("div", {});
  mount(h("div", { class: "narrow" }, h("h1", {}, "手机安全证书"), deviceNotice(user, { full: true }),
    h("h2", {}, "我的设备"),
    h("p", { class: "muted" }, "手机遗失时，可在任何已登录的设备上吊销它的证书（挂失），立即生效。"),
    errors, list));
  const load = async () => {
    try {
      const mine = await api("/api/v1/devices/mine");
      list.replaceChildren(...(mine.devices.length ? mine.devices.map((d) => h("li", { dataset: { device: d.device_id } },
        h("span", { class: "title" }, d.label),
        h("span", { class: "tag " + (d.revoked_at ? "returned" : "accepted") }, deviceStatusText(d)),
        h("span", { class: "muted" }, `指纹 ${d.fingerprint}`),
        d.revoked_at ? null : revokeButton(d, changed))) : [h("li", { class: "muted" }, "尚无已登记的设备")]));
    } catch (err) { errors.replaceChildren(errorBox(err)); }
  };
  // 挂失本机后，上方的本机证书提示随之变为“已被吊销”
  const changed = async () => { await load(); window.dispatchEvent(new CustomEvent("gx:device-changed")); };
  await load();
}
