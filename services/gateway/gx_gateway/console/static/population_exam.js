// 调查员培训考试：网格员答题（合格即取得本年度调查员资格）；自治区查看题库与合格线。
import { api, newKey } from "./api.js";
import { errorBox, h, mount, toast } from "./ui.js";
import { BASE, YEAR, links } from "./population.js";

export async function render({ user }) {
  const status = h("p", { class: "muted" }, "正在加载…");
  mount(h("h1", {}, `${YEAR}年调查员培训考试`), links(user), status);
  let exam;
  try { exam = await api(`${BASE}/exams/${YEAR}`); } catch (err) { status.replaceWith(errorBox(err)); return; }
  const head = h("p", { id: "pop-exam-status" }, `合格线 ${exam.pass_mark} 分；`,
    exam.certified ? `您已取得调查员资格（最高 ${exam.best_score} 分）` : user.role === "grid_worker" ? "您尚未取得调查员资格" : "");
  const qs = exam.questions.map((q) => h("fieldset", { dataset: { id: q.id } }, h("legend", {}, q.text),
    q.options.map((o, i) => h("label", { class: "option" }, h("input", { type: "radio", name: q.id, value: String(i) }),
      ` ${o}`, user.role === "region_statistician" && q.answer === i ? "（正确答案）" : ""))));
  const submit = h("button", { type: "button", class: "primary" }, "交卷");
  submit.addEventListener("click", async () => {
    const answers = {};
    for (const q of exam.questions) {
      const c = document.querySelector(`input[name="${q.id}"]:checked`);
      if (c) answers[q.id] = Number(c.value);
    }
    try {
      const r = await api(`${BASE}/exams/${YEAR}/attempts`, { method: "POST", idempotencyKey: newKey(), body: { answers } });
      toast(r.passed ? `${r.score} 分，合格：已取得调查员资格` : `${r.score} 分，未达合格线 ${r.pass_mark} 分，可再次参加`);
      render({ user });
    } catch (err) { status.replaceWith(errorBox(err)); }
  });
  status.replaceWith(h("div", {}, head, qs, user.role === "grid_worker" ? submit : null));
}
