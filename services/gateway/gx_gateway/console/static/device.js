// 本机安全证书提示（采集角色的任务页、填报页、证书页）：未登记时显示「申请登记」，申请中等待县统计局
// 批准（定时查看），被吊销或驳回时说明原因并可重新申请。状态变化由 api.js 发出 gx:device-changed。
import { api, resolveDevice } from "./api.js";
import { COLLECTORS, newKeyPair, saveRecord, supported } from "./devicekey.js";
import { getMeta } from "./meta.js";
import { errorBox, fmtTime, h, setBusy, toast } from "./ui.js";

export const REVOKED_TEXT = "本机安全证书已被吊销，请联系县统计局重新登记";
const POLL_MS = 5000;

function defaultLabel() {
  const p = (navigator.userAgentData && navigator.userAgentData.platform) || navigator.platform || "";
  const phone = /Android|iPhone|iPad|Mobile/i.test(navigator.userAgent);
  return `${p ? p + " " : ""}${phone ? "手机" : "电脑"}浏览器`.slice(0, 64);
}

// 申请登记：生成密钥对，只上传公钥；成功后把私钥（CryptoKey）与申请号存入 IndexedDB
export async function requestEnrolment(user, label) {
  const rec = await newKeyPair(user.username, label || defaultLabel());
  const res = await api("/api/v1/devices/requests", { method: "POST",
    body: { label: rec.label, public_key: rec.publicKey } });
  const saved = { ...rec, requestId: res.request_id, status: "pending" };
  await saveRecord(saved);
  window.dispatchEvent(new CustomEvent("gx:device-changed", { detail: saved }));
  return saved;
}

// 提示块。full=true 时（证书页）已登记也显示详情；否则已登记时不占位置。
export function deviceNotice(user, { full = false } = {}) {
  const box = h("div", { id: "device-notice", "aria-live": "polite" });
  if (!user || !COLLECTORS.includes(user.role)) return box;
  let timer = null;
  const onChange = () => draw(null);
  window.addEventListener("gx:device-changed", onChange);
  // 页面切换后（提示已不在文档中）停止监听与轮询
  const alive = () => {
    if (box.isConnected || !box.dataset.drawn) return true;
    window.removeEventListener("gx:device-changed", onChange);
    clearTimeout(timer);
    return false;
  };

  async function draw(known) {
    if (!alive()) return;
    clearTimeout(timer);
    const rec = known || await resolveDevice(user);
    // 网关未要求证书时（GX_DEVICE_REQUIRED 关闭），未登记不打扰；证书页仍可申请
    const required = Boolean((await getMeta()).device_required);
    const quiet = !full && !rec && !required;
    box.dataset.drawn = "1";
    box.dataset.state = supported() ? (rec ? rec.status : "none") : "unsupported";
    box.replaceChildren(quiet ? "" : view(rec, required));
    if (rec && rec.status === "pending") timer = setTimeout(() => draw(null), POLL_MS);
  }

  function view(rec, required) {
    if (!supported()) {
      return h("div", { class: "alert error", role: "alert" },
        "此浏览器无法使用手机安全证书（需要通过 HTTPS 访问，并使用新版浏览器）。");
    }
    const state = rec ? rec.status : "none";
    if (state === "enrolled") {
      return full ? h("div", { class: "alert ok" }, `本机安全证书有效（${rec.label}，证书指纹 ${rec.fingerprint}）。`) : "";
    }
    if (state === "pending") {
      return h("div", { class: "alert warn" },
        h("strong", {}, "已申请登记本机安全证书，等待县统计局批准。"),
        h("div", {}, `证书指纹：${rec.fingerprint}（县统计局审批时可电话核对）`),
        h("div", { class: "actions" }, h("button", { type: "button", onclick: () => draw(null) }, "刷新状态")));
    }
    const label = h("input", { id: "device-label", maxlength: 64, value: defaultLabel() });
    const button = h("button", { type: "button", class: "primary", id: "btn-device-request" },
      state === "none" ? "申请登记" : "重新申请登记");
    const err = h("div", {});
    button.addEventListener("click", async () => {
      err.replaceChildren();
      setBusy(button, true, "正在申请…");
      try {
        const saved = await requestEnrolment(user, label.value.trim());
        toast("已提交登记申请，请等待县统计局批准");
        await draw(saved);
      } catch (e) {
        setBusy(button, false);
        err.replaceChildren(errorBox(e));
      }
    });
    const head = {
      revoked: REVOKED_TEXT,
      rejected: `本机的登记申请被驳回${rec && rec.reason ? "：" + rec.reason : ""}`,
    }[state] || "本机尚未登记安全证书";
    return h("div", { class: state === "none" || state === "invalid" ? "alert warn" : "alert error", role: "alert" },
      h("strong", {}, head),
      h("p", {}, required
        ? "保存和提交报表须使用已登记的安全证书。申请后由县统计局批准；私钥只保存在本浏览器中。"
        : "本平台目前不要求安全证书，不登记也能保存和提交；登记后每次提交都带本机签名。申请后由县统计局批准；私钥只保存在本浏览器中。"),
      h("label", { for: "device-label" }, "设备名称"), label,
      h("div", { class: "actions" }, button), err);
  }

  draw(null);
  return box;
}

export function deviceStatusText(d) {
  return d.revoked_at ? `已吊销（${fmtTime(d.revoked_at)}）` : "有效";
}
