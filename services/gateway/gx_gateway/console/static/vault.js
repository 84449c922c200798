// 本机个人信息的加密（个人信息保护法）：人口调查在手机上暂存的住户表、个人表与变动报告（姓名、
// 公民身份号码、出生年月、户口登记地址……）只以 AES-GCM 密文放在 IndexedDB。每个账号一把密钥，
// 由 WebCrypto 在本机生成，不可导出（extractable = false：页面脚本、插件都读不出密钥本身，只能
// 请浏览器用它加解密），以 CryptoKey 对象存在 IndexedDB（store "vault"）。
// 密文与密钥在同一浏览器配置里：它挡住的是把存储内容拷走、在开发者工具里翻看、别的脚本读出
// 明文，而不是已经控制了这台手机并能以本人身份运行页面的人——那一层靠手机自身的锁屏与加密。
// 服务器接受后，密文随即删除；账号在本机没有任何待发送或草稿时，密钥也随之销毁（之后残留的
// 任何密文都无法再解开；销毁与清点在一个事务里：store.js shredIfUnused）。
import { getVaultKey, putVaultKey } from "./store.js";

const ALGO = { name: "AES-GCM", length: 256 };
export const available = () => Boolean(window.crypto && crypto.subtle && window.indexedDB);

async function keyFor(username, create) {
  const rec = await getVaultKey(username);
  if (rec) return rec.key;
  if (!create) return null;
  const key = await crypto.subtle.generateKey(ALGO, false, ["encrypt", "decrypt"]);
  try { await putVaultKey({ username, key, createdAt: new Date().toISOString() }); }
  catch { return (await getVaultKey(username)).key; } // 另一页刚刚建好：用那一把
  return key;
}

// 加密一个对象：{v: 1, iv, data}；附加数据（账号）绑定密文，换到别的账号名下解不开
export async function seal(username, value) {
  const key = await keyFor(username, true); // 每次从 IndexedDB 取：另一页销毁了密钥，这里不会用旧的
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = new TextEncoder().encode(JSON.stringify(value));
  const data = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: ad(username) }, key, plain);
  return { v: 1, iv, data: new Uint8Array(data) };
}

// 解密；密钥已销毁或密文被改过时返回 null（调用方说明“本机保存的内容已无法读取”）
export async function open(username, sealed) {
  if (!sealed || !sealed.data) return null;
  const key = await keyFor(username, false);
  if (!key) return null;
  try {
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: sealed.iv, additionalData: ad(username) },
      key, sealed.data);
    return JSON.parse(new TextDecoder().decode(plain));
  } catch { return null; }
}

const ad = (username) => new TextEncoder().encode("gx-offline:" + username);

// SHA-256 十六进制（回读内容的摘要）
export async function sha256Hex(text) {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}
