// 本机存储（IndexedDB "gx-offline"）：填报中的内容（drafts，每次输入自动保存）与发件箱（outbox，
// 离线时的提交）。都按账号分开。网络不好时输入不会丢：重新打开页面从这里恢复。

const DB = "gx-offline";
const STORES = { drafts: ["username", "reportId"], outbox: "id" };

let opening = null;
function idb() {
  opening ||= new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => {
      for (const [name, keyPath] of Object.entries(STORES)) {
        if (!open.result.objectStoreNames.contains(name)) open.result.createObjectStore(name, { keyPath });
      }
    };
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => { opening = null; reject(open.error); };
  });
  return opening;
}

async function tx(store, mode, work) {
  const db = await idb();
  return new Promise((resolve, reject) => {
    const t = db.transaction(store, mode);
    const req = work(t.objectStore(store));
    t.oncomplete = () => resolve(req && req.result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

// —— 填报中的内容：{username, reportId, values: {code: 原样的输入文字}, explanations, baseVersion, savedAt}
export const loadDraft = (username, reportId) => tx("drafts", "readonly", (s) => s.get([username, reportId]));
export const saveDraft = (draft) => tx("drafts", "readwrite", (s) => s.put({ ...draft, savedAt: new Date().toISOString() }));
export const dropDraft = (username, reportId) => tx("drafts", "readwrite", (s) => s.delete([username, reportId]));

// —— 发件箱：{id, username, reportId, title, draftBody, draftKey, submitKey, draftVersion, state,
// attempts, nextAt, reason, createdAt, doneAt, revision}；state: queued | sending | done | failed
export const putItem = (item) => tx("outbox", "readwrite", (s) => s.put(item));
export const getItem = (id) => tx("outbox", "readonly", (s) => s.get(id));
export const deleteItem = (id) => tx("outbox", "readwrite", (s) => s.delete(id));
export async function itemsOf(username) {
  const all = (await tx("outbox", "readonly", (s) => s.getAll())) || [];
  return all.filter((x) => x.username === username).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}
