// gridline's browser app: sign-in, the command centre's case desk, the caller's status page (阳光办理), and the
// leaders' map and the secretary's view (leaders.js, my.js, loaded when opened). Plain ES modules, no framework. The bearer token lives in this module's memory only (never in storage or a
// cookie): a reload signs out, and no other page or script on this origin can read it from storage.

export const state = { token: null, user: null, topics: new Map(), lang: localStorage.getItem("gridline.lang") || "zh" };
const main = document.getElementById("main");

// ---------------------------------------------------------------- words
const ZH = {
  skip: "跳到正文", brand: "接诉即办 · 网格化管理", loading: "正在加载…", desk: "案件台", map: "地图", my: "我的辖区", status_page: "阳光办理查询",
  signin: "登录", signout: "退出", username: "用户名", password: "密码", signin_title: "登录 gridline",
  signin_hint: "使用管理员分配的账号登录。来电市民请使用", filters: "筛选", status: "状态", topic: "类别", source: "来源",
  place: "区域代码", place_name: "所在位置", overdue: "仅超期", from: "开始日期", to: "结束日期", apply: "查询", reset: "重置", any: "全部",
  case: "案件", opened: "立案时间", last_item: "最近", flags: "标记", next: "下一页", prev: "上一页", page: "第 {n} 页",
  no_cases: "没有符合条件的案件。", tickets: "诉求工单", reports: "巡查上报", timeline: "办理经过", photos: "证据照片",
  deadline: "时限与督办", chain: "责任链", act: "可执行的操作", other_action: "其他操作", submit: "提交", cancel: "取消",
  note: "说明/理由", targets: "单位编号（逗号分隔）", days: "天数", into_case: "并入案件编号", evidence: "证据照片 SHA-256（逗号分隔）",
  contacted: "已联系上来电人", resolved: "是否解决", satisfaction: "满意度", caller: "来电人", masked: "已脱敏",
  reveal: "显示来电人", reveal_reason: "查看原因（记入审计）", revealed: "已显示，本次查看已记入审计",
  no_photos: "暂无照片。", doubtful: "存疑", no_steps: "当前没有您可执行的操作。", back: "返回案件台",
  respond_due: "响应时限", complete_due: "办结时限", rung: "督办级别", next_rung: "下一级", time_class: "时限类别",
  done: "已完成：", unmerge: "拆出", unmerge_reason: "拆单理由", lookup: "查询", ticket_no: "工单编号",
  phone_last4: "来电手机号后四位", status_intro: "输入热线告知的工单编号和您来电手机号的后四位，查询办理进度。不显示任何个人信息。",
  received_at: "受理时间", reply: "答复", replied_at: "答复时间", none: "无",
  retry_in: "请 {s} 秒后再试。", version_hint: "案件已被他人更新，已重新加载，请核对后再操作。", refused: "操作未执行：",
};
const EN = {
  skip: "Skip to content", brand: "12345 hotline · grid management", loading: "Loading…", desk: "Case desk", map: "Map", my: "My places",
  status_page: "Ticket status", signin: "Sign in", signout: "Sign out", username: "User name", password: "Password",
  signin_title: "Sign in to gridline", signin_hint: "Use the account your administrator gave you. Callers, please use",
  filters: "Filters", status: "Status", topic: "Topic", source: "Source", place: "Place code", place_name: "Place", overdue: "Overdue only",
  from: "From", to: "To", apply: "Search", reset: "Reset", any: "Any", case: "Case", opened: "Opened", last_item: "Latest",
  flags: "Flags", next: "Next", prev: "Previous", page: "Page {n}", no_cases: "No case matches.", tickets: "Tickets",
  reports: "Patrol reports", timeline: "Timeline", photos: "Evidence photos", deadline: "Deadlines and escalation",
  chain: "Responsibility chain", act: "Steps you may take", other_action: "Other step", submit: "Submit", cancel: "Cancel",
  note: "Note / reason", targets: "Unit ids (comma-separated)", days: "Days", into_case: "Into case id",
  evidence: "Evidence SHA-256 (comma-separated)", contacted: "Caller reached", resolved: "Resolved",
  satisfaction: "Satisfaction", caller: "Caller", masked: "masked", reveal: "Show caller",
  reveal_reason: "Reason (written to the audit log)", revealed: "Shown; this read is in the audit log", no_photos: "No photos.",
  doubtful: "doubtful", no_steps: "No step is yours to take now.", back: "Back to the desk", respond_due: "Respond by",
  complete_due: "Complete by", rung: "Escalation rung", next_rung: "Next rung", time_class: "Time class", done: "Done: ",
  unmerge: "Split out", unmerge_reason: "Reason for the split", lookup: "Look up", ticket_no: "Ticket number",
  phone_last4: "Last four digits of your phone", status_intro: "Enter the ticket number the hotline gave you and the last four digits of the phone you called from. No personal data is shown.",
  received_at: "Received", reply: "Reply", replied_at: "Replied", none: "none",
  retry_in: "Try again in {s} s.", version_hint: "Someone changed the case meanwhile; it was reloaded: check it and try again.", refused: "Not done: ",
};
export const t = (k, vars = {}) => ((state.lang === "en" ? EN : ZH)[k] || k).replace(/\{(\w+)\}/g, (_, v) => vars[v] ?? "");

const STATUS = { received: "已受理", dispatched: "已派单", accepted: "已签收", in_progress: "办理中", whistled: "吹哨中",
  replied: "已反馈", called_back: "已回访", closed: "已办结", returned: "已退单", merged: "已并单", self_resolved: "已自行处置" };
const ACTION = { dispatch: "派单", accept: "签收", return: "退单", start: "开始办理", extend: "申请延期", approve_extension: "批准延期",
  refuse_extension: "驳回延期", whistle: "吹哨", report_in: "报到", end_whistle: "结束吹哨", reply: "反馈办理结果",
  call_back: "回访", close: "结案", reopen: "重新办理", merge: "并单", self_resolve: "随手做", verify: "核查结案", note: "进展说明" };
const SOURCE = { hotline: "12345热线", patrol: "网格巡查", mixed: "热线+巡查" };
const ROLE = { admin: "管理员", hotline_operator: "热线话务员", dispatcher: "调度员", street_handler: "街乡承办人",
  department_handler: "部门承办人", community_secretary: "社区书记", grid_member: "网格员", leader: "领导" };
const LINK = { command_centre: "区指挥中心", section_leader: "包片领导", street_office: "街乡", village_cadre: "包村干部",
  community_secretary: "社区书记", grid_member: "网格员", household_member: "两委包户" };
const RUNG = { remind: "催办", supervise: "督办", investigate: "查办" };
const REASON = { exif_position_far: "拍摄位置与上报位置相距过远", exif_time_far: "拍摄时间与上报时间相差过久",
  exif_unreadable: "照片的拍摄信息（EXIF）无法读取，无法核对时间和位置" };
const CHANNEL = { phone: "电话", web: "网站", wechat: "微信", message_board: "留言板", app: "App", other: "其他" };
const REQUEST = { enquiry: "咨询", help: "求助", complaint: "投诉", report: "举报", suggestion: "建议", praise: "表扬" };
const word = (map, k) => (state.lang === "en" ? k : map[k] || k);

// Errors the server answers, in words a person can act on (the server's own message follows).
const ERRORS = {
  invalid_credentials: "用户名或密码不正确。", too_many_attempts: "尝试次数过多。", unauthorized: "登录已失效，请重新登录。",
  ticket_not_found: "未找到该工单，或手机号后四位不符。", case_not_found: "案件不存在，或不在您的辖区内。",
  illegal_transition: "该案件当前状态下不能执行此操作。", forbidden_transition: "您的角色不能执行此操作。",
  version_conflict: "案件已被他人更新。", no_route: "无法按规则自动派单，请指定承办单位。", photos_missing: "证据照片尚未上传。",
  extension_limit: "延期次数或天数已达上限。", extension_pending: "已有延期申请待审批。", not_unit_member: "您不属于承办该案件的单位。",
  invalid_field: "填写内容有误。", nothing_to_unmerge: "案件只有一项，无需拆单。", network: "无法连接服务器。",
};

/** A refusal from the server, with its code, words and the extra fields (`allowed`, `missing`). */
class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super(body?.message || `HTTP ${status}`);
    Object.assign(this, { status, code: body?.code || "http_" + status, body: body || {}, retryAfter });
  }
  words() {
    const lead = state.lang === "en" ? "" : ERRORS[this.code] || "";
    let s = lead ? `${lead}（${this.message}）` : this.message;
    if (this.body.allowed) s += ` 可执行：${this.body.allowed.map((a) => word(ACTION, a)).join("、") || t("none")}。`;
    if (this.retryAfter) s += " " + t("retry_in", { s: this.retryAfter });
    return s;
  }
}

export async function api(method, path, body) {
  const headers = { accept: "application/json" };
  if (state.token) headers.authorization = "Bearer " + state.token;
  if (body !== undefined) headers["content-type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, { code: "network", message: String(e.message || e) });
  }
  if (res.status === 204) return null;
  const json = await res.json().catch(() => null);
  if (!res.ok) {
    if (res.status === 401 && state.token) signedOut();
    throw new ApiError(res.status, json, res.headers.get("retry-after"));
  }
  return json;
}

// ---------------------------------------------------------------- small DOM helpers
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v == null) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) if (c != null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}
export const errorBox = (e) => h("p", { class: "error", role: "alert" }, e instanceof ApiError ? e.words() : String(e.message || e));
export const loading = () => h("p", { class: "loading", role: "status" }, t("loading"));

const BEIJING = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit",
  day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
/** An RFC 3339 time shown in Beijing time (UTC+8), whatever the browser's zone. */
export function when(s) {
  if (!s) return t("none");
  const d = new Date(s);
  return isNaN(d) ? s : BEIJING.format(d).replace(/\//g, "-") + " (北京时间)";
}
/** The words in the page's language. */
export const L = (zh, en) => (state.lang === "en" ? en : zh);
/** Today in Beijing, yyyy-mm-dd. */
export const beijingToday = () => new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
/** A yyyy-mm-dd date `n` days later (earlier when negative). */
export const addDays = (d, n) => new Date(Date.parse(d + "T00:00:00Z") + n * 86400000).toISOString().slice(0, 10);
const topicName = (code) => {
  const tp = state.topics.get(code);
  return tp ? `${code} ${state.lang === "en" ? tp.name_en : tp.name_zh}` : code;
};

// ---------------------------------------------------------------- shell and routes
let routeGeneration = 0;
/**
 * A setter of the page's main area that draws only while the view it was made for is the latest one opened: a slow
 * view (an overview still loading) that finishes after the reader moved on draws nothing over the newer view.
 */
function mainSetter() {
  const generation = routeGeneration;
  return (...nodes) => {
    if (generation === routeGeneration) setMain(...nodes);
  };
}
function setMain(...nodes) {
  main.replaceChildren(...nodes);
}
function renderShell() {
  document.documentElement.lang = state.lang === "en" ? "en" : "zh-CN";
  document.querySelectorAll("[data-i18n]").forEach((el) => (el.textContent = t(el.dataset.i18n)));
  document.getElementById("lang").textContent = state.lang === "en" ? "中文" : "English";
  const here = location.hash.split("?")[0];
  const link = (href, key) => h("a", { href, "aria-current": here.startsWith(href) ? "page" : false }, t(key));
  const nav = document.getElementById("nav");
  nav.replaceChildren(...(state.user ? [link("#/desk", "desk"), link("#/map", "map"), link("#/my", "my")] : []), link("#/status", "status_page"));
  const who = document.getElementById("who");
  who.replaceChildren();
  if (state.user) {
    who.append(`${state.user.display_name}（${word(ROLE, state.user.role)}）`,
      h("button", { type: "button", class: "link", onclick: signOut, style: "color:#fff;margin-left:8px" }, t("signout")));
  }
}
function signedOut() {
  state.token = null;
  state.user = null;
  location.hash = "#/login";
}
async function signOut() {
  try { await api("POST", "/api/v1/auth/logout"); } catch { /* the token is forgotten either way */ }
  signedOut();
}

function parseHash() {
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  return { parts: (path || "/").split("/").filter(Boolean), params: new URLSearchParams(query || "") };
}
async function route() {
  routeGeneration += 1;
  const { parts, params } = parseHash();
  renderShell();
  const view = parts[0] || (state.user ? home() : "login");
  if (view === "status") return statusView();
  if (!state.user) return loginView(view === "login" ? null : location.hash);
  if (view === "desk") return deskView(params);
  if (view === "case" && parts[1]) return caseView(decodeURIComponent(parts[1]));
  if (view === "map") return viewFrom("/web/leaders.js", "leadersView");
  if (view === "my") return viewFrom("/web/my.js", "myView");
  location.hash = "#/" + home();
}
/** Where a reader lands after signing in: leaders on the map, secretaries and grid members on their places. */
function home() {
  const role = state.user?.role;
  return role === "leader" ? "map" : ["community_secretary", "grid_member"].includes(role) ? "my" : "desk";
}

// ---------------------------------------------------------------- sign-in
function loginView(next) {
  const setMain = mainSetter();
  const err = h("div", { "aria-live": "polite" });
  const form = h("form", { "aria-label": t("signin") },
    h("label", {}, t("username"), h("input", { name: "username", autocomplete: "username", required: true, autofocus: true })),
    h("label", {}, t("password"), h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    h("button", { type: "submit" }, t("signin")), err);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const btn = form.querySelector("button");
    btn.disabled = true;
    err.replaceChildren(loading());
    try {
      const r = await api("POST", "/api/v1/auth/login", { username: form.username.value, password: form.password.value });
      state.token = r.token;
      state.user = await api("GET", "/api/v1/auth/me");
      await loadTopics();
      location.hash = next && next.startsWith("#/") ? next : "#/" + home();
      if (location.hash === next) route();
    } catch (e) {
      err.replaceChildren(errorBox(e));
      btn.disabled = false;
    }
  });
  setMain(h("section", { class: "card login" }, h("h1", {}, t("signin_title")), form,
    h("p", { class: "muted" }, t("signin_hint"), " ", h("a", { href: "#/status" }, t("status_page")), "。")));
  form.username.focus();
}
async function loadTopics() {
  try {
    const r = await api("GET", "/api/v1/topics");
    state.topics = new Map(r.topics.map((tp) => [tp.code, tp]));
  } catch { state.topics = new Map(); }
}

// ---------------------------------------------------------------- the case desk
const SORTS = {
  opened_at: (c) => c.opened_at, last_item_at: (c) => c.last_item_at, status: (c) => c.status, topic: (c) => c.topic,
  place: (c) => c.place?.name || "", priority: (c) => c.priority * 1000 + c.ticket_count + c.report_count,
};
const FILTERS = ["status", "topic", "source", "place", "overdue", "from", "to"];

/** Beijing midnight of a yyyy-mm-dd date as RFC 3339. */
const beijingDay = (d) => (d ? `${d}T00:00:00+08:00` : "");

async function deskView(params) {
  const setMain = mainSetter();
  const form = h("form", { class: "filters", "aria-label": t("filters") },
    h("label", {}, t("status"), h("select", { name: "status" }, h("option", { value: "" }, t("any")),
      Object.keys(STATUS).map((s) => h("option", { value: s, selected: params.get("status") === s }, word(STATUS, s))))),
    h("label", {}, t("topic"), h("select", { name: "topic" }, h("option", { value: "" }, t("any")),
      [...state.topics.values()].filter((tp) => tp.active).map((tp) =>
        h("option", { value: tp.code, selected: params.get("topic") === tp.code }, (tp.parent_code ? "\u3000" : "") + topicName(tp.code))))),
    h("label", {}, t("source"), h("select", { name: "source" }, h("option", { value: "" }, t("any")),
      Object.keys(SOURCE).map((s) => h("option", { value: s, selected: params.get("source") === s }, word(SOURCE, s))))),
    h("label", {}, t("place"), h("input", { name: "place", value: params.get("place") || "", size: 15, inputmode: "numeric", pattern: "[0-9]{6,15}" })),
    h("label", {}, t("from"), h("input", { name: "from", type: "date", value: params.get("from") || "" })),
    h("label", {}, t("to"), h("input", { name: "to", type: "date", value: params.get("to") || "" })),
    h("label", { class: "check" }, h("input", { name: "overdue", type: "checkbox", checked: params.get("overdue") === "true" }), t("overdue")),
    h("button", { type: "submit" }, t("apply")),
    h("button", { type: "button", class: "secondary", onclick: () => (location.hash = "#/desk") }, t("reset")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const f of FILTERS) {
      const el = form.elements[f];
      const v = el.type === "checkbox" ? (el.checked ? "true" : "") : el.value.trim();
      if (v) q.set(f, v);
    }
    location.hash = "#/desk?" + q;
  });
  const list = h("div", { "aria-live": "polite" }, loading());
  setMain(h("section", { class: "card" }, h("h1", { style: "font-size:18px;margin:0 0 10px" }, t("desk")), form), h("section", { class: "card" }, list));

  const query = new URLSearchParams();
  for (const f of FILTERS) {
    const v = params.get(f);
    if (!v) continue;
    query.set(f, f === "from" || f === "to" ? beijingDay(v) : v);
  }
  query.set("limit", "25");
  const cursors = [null];
  let sort = { key: params.get("sort") || "opened_at", desc: params.get("dir") !== "asc" };
  let page = null;

  const draw = () => {
    if (!page.cases.length) return list.replaceChildren(h("p", { class: "empty" }, t("no_cases")));
    const rows = [...page.cases].sort((a, b) => {
      const x = SORTS[sort.key](a), y = SORTS[sort.key](b);
      return (x < y ? -1 : x > y ? 1 : 0) * (sort.desc ? -1 : 1);
    });
    const head = (key, label) => h("th", { "aria-sort": sort.key === key ? (sort.desc ? "descending" : "ascending") : false },
      h("button", { type: "button", onclick: () => { sort = { key, desc: sort.key === key ? !sort.desc : true }; draw(); } },
        label, sort.key === key ? (sort.desc ? " ▼" : " ▲") : ""));
    const table = h("table", { class: "cases" },
      h("thead", {}, h("tr", {}, h("th", {}, t("case")), head("topic", t("topic")), head("place", t("place_name")), head("status", t("status")),
        h("th", {}, t("source")), head("opened_at", t("opened")), head("last_item_at", t("last_item")), head("priority", t("flags")))),
      h("tbody", {}, rows.map((c) => h("tr", {},
        h("td", {}, h("a", { href: `#/case/${encodeURIComponent(c.id)}`, class: "case-link" }, c.id)),
        h("td", {}, topicName(c.topic)), h("td", {}, c.place ? c.place.name : "—"), h("td", {}, word(STATUS, c.status)),
        h("td", {}, word(SOURCE, c.source)), h("td", {}, when(c.opened_at)), h("td", {}, when(c.last_item_at)),
        h("td", {}, c.group_request && h("span", { class: "tag red" }, "群体"), c.repeat_request && h("span", { class: "tag amber" }, "重复"),
          h("span", { class: "tag" }, `${c.ticket_count}单/${c.report_count}报`))))));
    const pager = h("div", { class: "pager" },
      h("button", { type: "button", class: "secondary", disabled: cursors.length < 2, onclick: () => { cursors.pop(); load(cursors[cursors.length - 1]); } }, t("prev")),
      h("span", {}, t("page", { n: cursors.length })),
      h("button", { type: "button", class: "secondary", disabled: !page.next_cursor, onclick: () => { cursors.push(page.next_cursor); load(page.next_cursor); } }, t("next")));
    list.replaceChildren(table, pager);
  };
  const load = async (cursor) => {
    list.replaceChildren(loading());
    const q = new URLSearchParams(query);
    if (cursor) q.set("cursor", cursor);
    try {
      page = await api("GET", "/api/v1/cases?" + q);
      draw();
    } catch (e) {
      list.replaceChildren(errorBox(e));
    }
  };
  load(null);
}

// ---------------------------------------------------------------- a case
/** Fetches a photo derivative with the token and shows it (an <img src> cannot carry the bearer token). */
async function photoInto(img, sha) {
  try {
    const res = await fetch(`/api/v1/photos/${sha}/thumb`, { headers: { authorization: "Bearer " + state.token } });
    if (!res.ok) throw new Error(res.status);
    img.src = URL.createObjectURL(await res.blob());
  } catch {
    img.alt = "照片无法读取 " + sha.slice(0, 8);
  }
}
function photo(sha, info) {
  const img = h("img", { alt: "照片 " + sha.slice(0, 8), width: 132, height: 99, loading: "lazy" });
  photoInto(img, sha);
  const doubtful = info?.doubtful;
  return h("figure", { class: "photo" + (doubtful ? " doubtful" : ""), "data-sha": sha }, img,
    h("figcaption", {}, doubtful ? h("span", { class: "tag red" }, "⚠ " + t("doubtful")) : null,
      doubtful ? info.reasons.map((r) => word(REASON, r)).join("；") : sha.slice(0, 8)));
}

async function caseView(id, notice, reveal) {
  const setMain = mainSetter();
  setMain(loading());
  let d;
  try {
    const q = reveal ? `?callers=shown&reason=${encodeURIComponent(reveal)}` : "?callers=masked";
    d = await api("GET", `/api/v1/cases/${encodeURIComponent(id)}${q}`);
  } catch (e) {
    return setMain(h("p", {}, h("a", { href: "#/desk" }, "← " + t("back"))), errorBox(e));
  }
  const c = d.case;
  const reload = (msg, rev) => caseView(id, msg, rev);
  const photoInfo = new Map();
  const reportPhotos = await Promise.all(d.reports.map((r) =>
    r.photos.length ? api("GET", `/api/v1/reports/${encodeURIComponent(r.id)}/photos`).catch(() => null) : null));
  for (const rp of reportPhotos) for (const p of rp?.photos || []) photoInfo.set(p.sha256, p);

  const head = h("section", { class: "card" },
    h("p", { style: "margin:0 0 6px" }, h("a", { href: "#/desk" }, "← " + t("back"))),
    h("h1", { style: "font-size:18px;margin:0 0 8px" }, `${t("case")} ${c.id}`),
    notice ? h("p", { class: "notice", role: "status" }, notice) : null,
    h("dl", { class: "kv" },
      h("dt", {}, t("status")), h("dd", { id: "case-status" }, word(STATUS, c.status)),
      h("dt", {}, t("topic")), h("dd", {}, topicName(c.topic)),
      h("dt", {}, t("place_name")), h("dd", {}, c.place ? `${c.place.name}（${c.place.code}）` : "—",
        c.location ? h("span", { class: "muted" }, ` ${c.location.lon.toFixed(5)}, ${c.location.lat.toFixed(5)} (WGS-84)`) : null),
      h("dt", {}, t("source")), h("dd", {}, word(SOURCE, c.source), " ", c.group_request && h("span", { class: "tag red" }, "群体性诉求"),
        c.repeat_request && h("span", { class: "tag amber" }, "重复诉求")),
      h("dt", {}, t("opened")), h("dd", {}, when(c.opened_at))));

  const w = d.work;
  const deadline = h("section", { class: "card", "aria-labelledby": "h-deadline" }, h("h2", { id: "h-deadline" }, t("deadline")),
    w ? h("dl", { class: "kv" },
      h("dt", {}, t("time_class")), h("dd", {}, w.time_class),
      h("dt", {}, t("respond_due")), h("dd", {}, when(w.respond_due_at), w.respond_late && h("span", { class: "tag red" }, "响应超时")),
      h("dt", {}, t("complete_due")), h("dd", {}, when(w.complete_due_at), w.overdue && h("span", { class: "tag red" }, "超期"),
        w.extension_pending_days ? h("span", { class: "tag amber" }, `延期 ${w.extension_pending_days} 天待批`) : null),
      h("dt", {}, t("rung")), h("dd", {}, w.rung ? `${w.rung}（${d.escalations.filter((e) => e.cycle === w.cycle).map((e) => word(RUNG, e.name)).join(" → ")}）` : "0"),
      h("dt", {}, t("next_rung")), h("dd", {}, when(w.next_rung_at)),
      w.buck_passing ? [h("dt", {}, "推诿"), h("dd", {}, h("span", { class: "tag red" }, `退单 ${w.return_count} 次`))] : null)
      : h("p", { class: "muted" }, "尚未派单，时限自首次派单起算。"));

  const mayUnmerge = ["dispatcher", "admin"].includes(state.user.role) && c.ticket_count + c.report_count > 1;
  const unmergeBtn = (body) => mayUnmerge && h("button", { type: "button", class: "link", onclick: async () => {
    const reason = prompt(t("unmerge_reason"));
    if (!reason) return;
    try {
      const r = await api("POST", `/api/v1/cases/${encodeURIComponent(id)}/unmerge`, { ...body, reason });
      reload(t("done") + `${t("unmerge")} → ${r.split_case.id}`);
    } catch (e) { alert(e.words ? e.words() : e); }
  } }, t("unmerge"));
  const revealForm = h("form", { class: "filters", style: "margin-top:8px" },
    h("label", {}, t("reveal_reason"), h("input", { name: "reason", required: true, maxlength: 200, size: 24 })),
    h("button", { type: "submit", class: "secondary" }, t("reveal")));
  revealForm.addEventListener("submit", (ev) => { ev.preventDefault(); reload(null, revealForm.reason.value.trim()); });
  const anyHidden = d.tickets.some((tk) => tk.caller.masked);
  const tickets = h("section", { class: "card", "aria-labelledby": "h-tickets" }, h("h2", { id: "h-tickets" }, `${t("tickets")}（${d.tickets.length}）`),
    d.tickets.length ? d.tickets.map((tk) => h("div", { class: "ticket", style: "border-bottom:1px solid var(--line);padding:6px 0" },
      h("strong", {}, tk.ticket_no), " ", h("span", { class: "muted" }, `${when(tk.received_at)} · ${word(CHANNEL, tk.channel)} · ${word(REQUEST, tk.request_type)}`),
      h("p", { style: "margin:4px 0" }, tk.text),
      h("p", { class: "muted caller", style: "margin:0" }, `${t("caller")}：${tk.caller.name} ${tk.caller.phone} `,
        tk.caller.masked ? h("span", { class: "tag" }, t("masked")) : h("span", { class: "tag amber" }, reveal ? t("revealed") : "可见"),
        tk.caller.confidential ? h("span", { class: "tag red" }, "保密") : null, " · ", tk.address || "", " ",
        unmergeBtn({ ticket_id: tk.id }))))
      : h("p", { class: "empty" }, t("none")),
    anyHidden && !reveal && ["hotline_operator", "street_handler", "department_handler"].includes(state.user.role) ? revealForm : null);

  const reports = h("section", { class: "card", "aria-labelledby": "h-reports" }, h("h2", { id: "h-reports" }, `${t("reports")}（${d.reports.length}）`),
    d.reports.length ? d.reports.map((r) => h("div", { style: "border-bottom:1px solid var(--line);padding:6px 0" },
      h("span", { class: "muted" }, `${when(r.reported_at)} · ${topicName(r.topic)}`), r.fixed_on_the_spot && h("span", { class: "tag green" }, "随手做"),
      h("p", { style: "margin:4px 0" }, r.text), h("div", { class: "photos" }, r.photos.map((p) => photo(p, photoInfo.get(p)))), unmergeBtn({ report_id: r.id })))
      : h("p", { class: "empty" }, t("none")));

  const evidence = [...new Set([...d.reports.flatMap((r) => r.photos), ...d.transitions.flatMap((s) => s.evidence)])];
  const photos = h("section", { class: "card", "aria-labelledby": "h-photos" }, h("h2", { id: "h-photos" }, `${t("photos")}（${evidence.length}）`),
    evidence.length ? h("div", { class: "photos" }, evidence.map((p) => photo(p, photoInfo.get(p)))) : h("p", { class: "empty" }, t("no_photos")));

  const timeline = h("section", { class: "card", "aria-labelledby": "h-timeline" }, h("h2", { id: "h-timeline" }, t("timeline")),
    h("ol", { class: "timeline" },
      h("li", {}, h("strong", {}, "立案"), " ", h("span", { class: "muted" }, when(c.opened_at))),
      d.transitions.map((s) => h("li", {}, h("strong", {}, word(ACTION, s.action)), ` ${word(STATUS, s.from)} → ${word(STATUS, s.to)} `,
        h("span", { class: "muted" }, `${when(s.at)} · ${s.actor_name}（${word(ROLE, s.actor_role)}）`),
        s.note ? h("div", {}, s.note) : null,
        s.details?.days ? h("div", { class: "muted" }, `${s.details.days} 天 ${s.details.extension || ""}`) : null)),
      d.escalations.map((e) => h("li", {}, h("strong", { style: "color:var(--accent)" }, word(RUNG, e.name)), " ",
        h("span", { class: "muted" }, `${when(e.fired_at)} · 通知 ${e.notified.map((n) => n.name).join("、")}`)))));

  const chain = h("section", { class: "card", "aria-labelledby": "h-chain" }, h("h2", { id: "h-chain" }, t("chain")),
    d.chain.length ? h("dl", { class: "kv" }, d.chain.map((l) => [h("dt", {}, word(LINK, l.kind)), h("dd", {}, l.person?.name || l.unit?.name || "—", l.fallback ? h("span", { class: "tag amber" }, "兜底") : null)]))
      : h("p", { class: "empty" }, t("none")));

  setMain(head, h("div", { class: "grid2" },
    h("div", {}, actionsCard(d, reload), tickets, reports, photos), h("div", {}, deadline, timeline, chain)));
}

/** The steps the reader may take (buttons from `next_steps`) and any other step (the server decides and says why not). */
function actionsCard(d, reload) {
  const c = d.case;
  const out = h("div", { "aria-live": "polite" });
  const area = h("div");
  const open = (action, needs) => {
    const fields = [];
    // A step the page was not offered: the note and units only; the server says in words what else it needs.
    const n = { ...(needs || { reason: true, targets: true }) };
    if (action === "dispatch") n.targets = true; // 改派: optional units, else the dispatch rules route it
    if (n.reason || action === "note") fields.push(h("label", {}, t("note"), h("textarea", { name: "note", rows: 2, cols: 36, maxlength: 2000 })));
    if (n.targets) fields.push(h("label", {}, t("targets"), h("input", { name: "targets", size: 30 })));
    if (n.days) fields.push(h("label", {}, t("days"), h("input", { name: "days", type: "number", min: 1, max: 30, value: 3 })));
    if (n.into_case) fields.push(h("label", {}, t("into_case"), h("input", { name: "into_case", size: 24 })));
    if (n.evidence) fields.push(h("label", {}, t("evidence"), h("input", { name: "evidence", size: 30 })));
    if (n.callback) fields.push(h("label", { class: "check" }, h("input", { name: "contacted", type: "checkbox", checked: true }), t("contacted")),
      h("label", {}, t("resolved"), h("select", { name: "resolved" }, ["yes", "partly", "no"].map((v) => h("option", { value: v }, { yes: "已解决", partly: "部分解决", no: "未解决" }[v])))),
      h("label", {}, t("satisfaction"), h("select", { name: "satisfaction" }, ["satisfied", "basically_satisfied", "dissatisfied"].map((v) => h("option", { value: v }, { satisfied: "满意", basically_satisfied: "基本满意", dissatisfied: "不满意" }[v])))));
    const form = h("form", { class: "step", "data-action": action, "aria-label": word(ACTION, action) }, h("strong", {}, word(ACTION, action)), fields,
      h("button", { type: "submit" }, t("submit")), h("button", { type: "button", class: "secondary", onclick: () => area.replaceChildren() }, t("cancel")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = { action, version: c.version };
      const val = (k) => form.elements[k]?.value?.trim();
      const list = (k) => (val(k) || "").split(/[,，\s]+/).filter(Boolean);
      if (val("note")) body.note = val("note");
      if (list("targets").length) body.targets = list("targets");
      if (form.elements.days && (n.days || val("days") !== "3")) body.days = Number(val("days"));
      if (val("into_case")) body.into_case = val("into_case");
      if (list("evidence").length) body.evidence = list("evidence");
      if (n.callback && form.elements.contacted) {
        const contacted = form.elements.contacted.checked;
        body.callback = contacted ? { contacted, resolved: val("resolved"), satisfaction: val("satisfaction") } : { contacted };
      }
      form.querySelector("button[type=submit]").disabled = true;
      out.replaceChildren(loading());
      try {
        const r = await api("POST", `/api/v1/cases/${encodeURIComponent(c.id)}/transitions`, body);
        reload(t("done") + `${word(ACTION, action)}，${word(STATUS, r.transition.from)} → ${word(STATUS, r.transition.to)}`);
      } catch (e) {
        if (e.code === "version_conflict") return reload(t("version_hint"));
        out.replaceChildren(h("p", { class: "error", role: "alert" }, t("refused") + (e.words ? e.words() : e)));
        form.querySelector("button[type=submit]").disabled = false;
      }
    });
    area.replaceChildren(form);
    form.querySelector("textarea,input,select,button")?.focus();
  };
  const buttons = d.next_steps.map((s) => h("button", { type: "button", "data-action": s.action, onclick: () => open(s.action, s.needs) }, word(ACTION, s.action)));
  const other = h("select", { "aria-label": t("other_action"), name: "other" }, h("option", { value: "" }, t("other_action") + "…"),
    Object.keys(ACTION).map((a) => h("option", { value: a }, word(ACTION, a))));
  other.addEventListener("change", () => other.value && open(other.value, null));
  return h("section", { class: "card", "aria-labelledby": "h-act" }, h("h2", { id: "h-act" }, t("act")),
    h("div", { class: "actions" }, buttons.length ? buttons : h("span", { class: "muted" }, t("no_steps")), other), area, out);
}

// ---------------------------------------------------------------- the caller's page (阳光办理)
function statusView() {
  const setMain = mainSetter();
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", { "aria-label": t("status_page") },
    h("label", {}, t("ticket_no"), h("input", { name: "ticket_no", required: true, maxlength: 64, autocomplete: "off", placeholder: "BJ20261206-9001" })),
    h("label", {}, t("phone_last4"), h("input", { name: "phone_last4", required: true, inputmode: "numeric", pattern: "[0-9]{4}", maxlength: 4, autocomplete: "off" })),
    h("button", { type: "submit" }, t("lookup")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    out.replaceChildren(loading());
    try {
      const s = await api("POST", "/api/v1/public/status", { ticket_no: form.ticket_no.value.trim(), phone_last4: form.phone_last4.value.trim() });
      out.replaceChildren(h("section", { class: "card result" }, h("h2", {}, `${t("ticket_no")} ${s.ticket_no}`),
        h("dl", { class: "kv" },
          h("dt", {}, t("status")), h("dd", { class: "status-note" }, h("strong", {}, s.status_note || word(STATUS, s.status))),
          h("dt", {}, t("received_at")), h("dd", {}, when(s.received_at)),
          h("dt", {}, t("time_class")), h("dd", {}, s.time_class || t("none")),
          h("dt", {}, t("respond_due")), h("dd", {}, when(s.respond_due_at)),
          h("dt", {}, t("complete_due")), h("dd", {}, when(s.complete_due_at)),
          h("dt", {}, t("reply")), h("dd", {}, s.reply || t("none")),
          h("dt", {}, t("replied_at")), h("dd", {}, when(s.replied_at)))));
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
  });
  setMain(h("section", { class: "card status" }, h("h1", { style: "font-size:19px" }, "阳光办理 · " + t("status_page")),
    h("p", { class: "muted" }, t("status_intro")), form), h("div", { class: "status" }, out));
}

// ---------------------------------------------------------------- views in their own modules
/** Loads a view's module (once) and draws it; a module that cannot load is shown as an error. */
async function viewFrom(path, name) {
  const setMain = mainSetter();
  setMain(loading());
  try {
    const mod = await import(path);
    await mod[name](setMain);
  } catch (e) {
    setMain(errorBox(e));
  }
}

document.getElementById("lang").addEventListener("click", () => {
  state.lang = state.lang === "en" ? "zh" : "en";
  localStorage.setItem("gridline.lang", state.lang);
  route();
});
window.addEventListener("hashchange", () => { route(); main.focus({ preventScroll: true }); });
route();
