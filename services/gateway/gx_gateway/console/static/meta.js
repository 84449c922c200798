// 网关提供的目录（来自 gx_contracts）：退回原因、角色与层级名称。只取一次。
let cached = null;
export function getMeta() {
  cached ||= fetch("/console/meta.json").then((r) => r.json()).catch(() => {
    cached = null;
    return { return_reasons: [], roles: {}, levels: {} };
  });
  return cached;
}
export async function reasonLabel(code) {
  const m = await getMeta();
  const hit = (m.return_reasons || []).find((r) => r.code === code);
  return hit ? hit.label : code || "";
}
