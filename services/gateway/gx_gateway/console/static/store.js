// 本机存储（IndexedDB "gx-offline"）：填报中的内容（drafts，每次输入自动保存）、发件箱（outbox，
// 离线时的提交）、人口调查的本机草稿（popdrafts）、名录库基本单位情况表的本机草稿（regdrafts）与
// 加密它们的密钥（vault，见 vault.js），以及 service worker 为离线保存的可识别回答（answers：名录库
// 任务底册、网格列表的密文，见 sw.js）。都按账号分开。网络不好时输入不会丢：重新打开页面从这里恢复。人口调查的个人信息（姓名、身份号码等）只以
// 密文存放（vault.js），单位情况表的单位名称、法定代表人、电话等也是；服务器接受后即删除。

const DB = "gx-offline";
const VERSION = 4; // 2：增加 popdrafts 与 vault；3：增加 regdrafts；4：增加 answers
const STORES = { drafts: ["username", "reportId"], outbox: "id", popdrafts: "id", vault: "username", regdrafts: "id",
  answers: "id" };

let opening = null;
function idb() {
  opening ||= new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, VERSION);
    open.onupgradeneeded = () => {
      for (const [name, keyPath] of Object.entries(STORES)) {
        if (!open.result.objectStoreNames.contains(name)) open.result.createObjectStore(name, { keyPath });
      }
    };
    open.onsuccess = () => {
      // 另一个标签页升级了数据库：关闭旧连接，下次使用时重新打开
      open.result.onversionchange = () => { open.result.close(); opening = null; };
      resolve(open.result);
    };
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

// 加密草稿的一个 store（按 id 存取，按账号列出，最早保存的在前）
function sealedDrafts(name) {
  return {
    get: (id) => tx(name, "readonly", (s) => s.get(id)),
    put: (d) => tx(name, "readwrite", (s) => s.put({ ...d, savedAt: new Date().toISOString() })),
    remove: (id) => tx(name, "readwrite", (s) => s.delete(id)),
    async of(username) {
      const all = (await tx(name, "readonly", (s) => s.getAll())) || [];
      return all.filter((x) => x.username === username).sort((a, b) => a.savedAt.localeCompare(b.savedAt));
    },
  };
}
// —— 人口调查的本机草稿：{id, username, kind: "household" | "change", areaId, householdId, title,
// sealed: {iv, data}（密文，见 vault.js）, savedAt}；标题与其余字段不含个人信息
const POP = sealedDrafts("popdrafts");
export const { get: getPopDraft, put: putPopDraft, remove: deletePopDraft, of: popDraftsOf } = POP;

// —— 基本单位情况表的本机草稿：{id, username, taskId, formId, formVersion, villageCode, defVersion, title,
// sealed（密文：填写的值、说明、定位）, savedAt}；标题与其余字段不含单位名称、负责人、电话
const REG = sealedDrafts("regdrafts");
export const { get: getRegDraft, put: putRegDraft, remove: deleteRegDraft, of: regDraftsOf } = REG;

// —— 离线用的可识别回答（sw.js 写入、解密）：{id: 账号 + "\n" + 路径, username, path, fetchedAt, savedAt,
// sealed（密文：回答的正文）}；路径含查询串，不含可识别信息
export async function answersOf(username) {
  const all = (await tx("answers", "readonly", (s) => s.getAll())) || [];
  return all.filter((x) => x.username === username);
}
export const deleteAnswer = (id) => tx("answers", "readwrite", (s) => s.delete(id));

// —— 加密密钥：{username, key: CryptoKey（AES-GCM，不可导出）, createdAt}
export const getVaultKey = (username) => tx("vault", "readonly", (s) => s.get(username));
export const putVaultKey = (rec) => tx("vault", "readwrite", (s) => s.add(rec)); // add：两页同时创建时只留先到的

// 本账号在本机没有任何密文（加密草稿、带密文的发件箱条目、离线回答）时销毁密钥——清点与删除在同一个
// 事务里：service worker 正在存的回答（sw.js putAnswer 也在一个含 vault 的事务里核对密钥）要么先到、
// 被清点到，要么后到、发现密钥已销毁而重新加密，不会留下一份再也解不开的密文。返回是否销毁了
export async function shredIfUnused(username) {
  const db = await idb();
  return new Promise((resolve, reject) => {
    const t = db.transaction(["popdrafts", "regdrafts", "outbox", "answers", "vault"], "readwrite");
    let pending = 4, used = false, shredded = false;
    for (const name of ["popdrafts", "regdrafts", "outbox", "answers"]) {
      const req = t.objectStore(name).getAll();
      req.onsuccess = () => {
        used ||= (req.result || []).some((x) => x.username === username && (name !== "outbox" || x.sealed));
        if (--pending === 0 && !used) { t.objectStore("vault").delete(username); shredded = true; }
      };
    }
    t.oncomplete = () => resolve(shredded);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}
