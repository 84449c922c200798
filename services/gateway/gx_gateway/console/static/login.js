// 登录页
import { login } from "./api.js";
import { errorBox, h, mount, setBusy } from "./ui.js";
import { homeFor } from "./app.js";

export function render({ go }) {
  const user = h("input", { id: "username", name: "username", autocomplete: "username", required: true,
    autocapitalize: "off", spellcheck: "false" });
  const pass = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password",
    required: true });
  const errors = h("div", { "aria-live": "assertive" });
  const submit = h("button", { type: "submit", class: "primary" }, "登录");
  const form = h("form", { class: "card", novalidate: true },
    h("label", { for: "username" }, "用户名"), user,
    h("label", { for: "password" }, "密码"), pass,
    errors,
    h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    errors.replaceChildren();
    if (!user.value.trim() || !pass.value) {
      errors.replaceChildren(h("div", { class: "alert error", role: "alert" }, "请输入用户名和密码"));
      (user.value.trim() ? pass : user).focus();
      return;
    }
    setBusy(submit, true, "正在登录…");
    try {
      const who = await login(user.value.trim(), pass.value);
      go(homeFor(who));
    } catch (err) {
      setBusy(submit, false);
      const text = err.code === "invalid_credentials" ? "用户名或密码错误" : null;
      errors.replaceChildren(text ? h("div", { class: "alert error", role: "alert" }, text) : errorBox(err));
      pass.select();
      pass.focus();
    }
  });
  mount(h("div", { class: "narrow" },
    h("h1", {}, "广西基层统计网格化服务管理平台"),
    h("p", { class: "muted" }, "请使用统计工作账号登录。"),
    form));
  user.focus();
}
