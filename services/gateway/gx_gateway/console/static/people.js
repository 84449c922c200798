// 给人看的称呼：真实姓名（有则显示）、角色与所在区划名称；状态的中文说法。
// 登录名与用户编号是系统内部的标识，不出现在页面上。
import { ROLE } from "./ui.js";

const CJK = /[\u3400-\u9fff]/;
const names = new Map(); // 区划代码 -> 名称（本页会话内缓存）

// 区划名称（网关的 /console/division-names.json，来自统计用区划代码表）
export async function divisionNames(codes) {
  const want = [...new Set(codes.filter((c) => /^\d{12}$/.test(c || "") && !names.has(c)))];
  for (let i = 0; i < want.length; i += 50) {
    const part = want.slice(i, i + 50);
    try {
      const r = await fetch(`/console/division-names.json?codes=${part.join(",")}`);
      const got = r.ok ? await r.json() : {};
      for (const c of part) names.set(c, got[c] || null);
    } catch { /* 离线：只显示角色 */ }
  }
  return (code) => names.get(code) || null;
}

// 是不是人名（含汉字）：登录名（tiantang_cun）与编号都不算
export function isPersonName(s) {
  return typeof s === "string" && CJK.test(s) && !/^[0-9a-f-]{36}$/i.test(s);
}

// 一条记录的办理人：姓名（角色 · 区划），没有姓名时为“角色 · 区划”，都没有时为“系统”
export function actorLabel({ name, role, division }, nameOf) {
  const where = division ? nameOf(division) : null;
  const what = [ROLE[role] || null, where].filter(Boolean).join(" · ");
  if (isPersonName(name)) return what ? `${name}（${what}）` : name;
  return what || "系统";
}

// 顶栏：自治区统计局（角色已在名称里时不再重复），否则“名称（角色）”
export function userTitle(user) {
  const role = ROLE[user.role] || "";
  const name = isPersonName(user.name_zh) ? user.name_zh : "";
  if (!name) return role || "已登录";
  const core = role.replace(/^(自治区|市|县|乡镇|村级)/, "");
  return !role || name.endsWith(core) ? name : `${name}（${role}）`;
}
