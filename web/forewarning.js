// The seasonal forewarning card (季节性预警, 冬病夏治) beside the leaders' map: per district and seasonal topic, last
// season's hot clusters proposed some weeks before the season comes again (GET /api/v1/forewarnings), each cluster
// with whether it was tasked already and its case. Readers allowed to task (the hot spot layer's rule) choose clusters
// and accept them as proactive cases (POST /api/v1/scans/{id}/tasks); the list is then read again. A cluster's centre
// flies the map there.
import { h, api, state, errorBox, loading, L, beijingToday } from "/web/app.js";
import { mayTask, refusal } from "/web/hotspots.js";

const STATUS = { queued: ["排队中", "Queued"], running: ["计算中", "Running"], finished: ["已完成", "Finished"], failed: ["未完成", "Failed"] };
const SCAN_ERRORS = { all_zero: ["上一季该类别没有来电，无热点可提。", "No call on the topic last season: nothing to propose."] };
const pick = (pair, k) => (pair ? L(pair[0], pair[1]) : k);
const MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A season `MM-DD..MM-DD` in words ("11月15日至次年3月15日" / "15 Nov – 15 Mar"); `null`: no longer seasonal. */
export function seasonText(season) {
  const m = /^(\d\d)-(\d\d)\.\.(\d\d)-(\d\d)$/.exec(season || "");
  if (!m) return season ? season : L("该类别已不再按季节预警", "the topic is no longer seasonal");
  const [m1, d1, m2, d2] = m.slice(1).map(Number);
  const wraps = m2 < m1 || (m2 === m1 && d2 < d1);
  return L(`${m1}月${d1}日至${wraps ? "次年" : ""}${m2}月${d2}日`, `${d1} ${MONTHS_EN[m1 - 1]} – ${d2} ${MONTHS_EN[m2 - 1]}`);
}

/** Whole Beijing days from today to the day `d` (yyyy-mm-dd). */
const daysUntil = (d) => Math.round((Date.parse(d) - Date.parse(beijingToday())) / 86400000);

/** The card: a section that loads the reader's proposals; `getMap()` gives the leaders' map once drawn (or null). */
export function forewarningCard(getMap) {
  const allowed = mayTask(state.user);
  const out = h("div", { "aria-live": "polite" });
  const result = h("div", { class: "task-result", "aria-live": "polite" });
  const card = h("section", { class: "card forewarnings", "aria-labelledby": "h-fore" },
    h("h2", { id: "h-fore" }, L("季节性预警", "Seasonal forewarning"), " ", h("span", { class: "muted" }, "冬病夏治")),
    h("p", { class: "muted" }, L("季节开始前数周，按上一季同类诉求的热点提出，供领导确认转为主动治理任务。",
      "Weeks before a season starts, last season's hot spots of its topic are proposed for a leader to turn into proactive tasks.")),
    result, out);

  const fly = (c) => getMap()?.flyTo({ center: [c.lon, c.lat], zoom: 14.5, duration: 800 });

  function clusterItem(p, c, chosen, button) {
    const text = [
      h("strong", {}, `#${c.rank}`), " ",
      h("button", { type: "button", class: "link centre", "data-code": c.centre.code, title: L("在地图上查看", "Show on the map"), onclick: () => fly(c.centre) },
        `${L("中心网格", "Centre")} ${c.centre.code}`),
      h("span", { class: "calls", title: L("计入：同一网格同一天至多计两件；预期为按户数推算的计入件数",
        "Counted: at most two a cell and day; expected: counted calls expected from the households") },
      ` · ${L("来电", "calls")} ${c.observed} · ${L("计入", "counted")} ${c.counted} / ${L("预期", "expected")} ${c.expected.toFixed(1)}`),
      ` · ${L("网格", "cells")} ${c.units.length} `,
      c.tasked
        ? h("span", { class: "tag green" }, L("已转任务", "Tasked"), " ",
          h("a", { href: `#/case/${encodeURIComponent(c.case_id)}`, class: "case-link" }, c.case_id))
        : h("span", { class: "tag amber" }, L("未转任务", "Not tasked")),
    ];
    if (!allowed || c.tasked) return h("li", { "data-rank": c.rank }, text);
    const box = h("input", { type: "checkbox", "data-scan": p.scan_id, "data-rank": c.rank,
      "aria-label": L(`选择热点 #${c.rank}`, `Choose cluster #${c.rank}`),
      onchange: (e) => {
        if (e.target.checked) chosen.add(c.rank); else chosen.delete(c.rank);
        button.disabled = !chosen.size;
      } });
    return h("li", { "data-rank": c.rank }, box, " ", text);
  }

  function proposal(p) {
    const chosen = new Set();
    const open = p.clusters.filter((c) => !c.tasked);
    const button = allowed && open.length
      ? h("button", { type: "button", class: "accept", "data-scan": p.scan_id, disabled: true, onclick: () => accept(p, chosen, button) },
        L("转为主动任务", "Make proactive tasks"))
      : null;
    const days = daysUntil(p.season_starts);
    const status = p.status === "failed" && p.error
      ? `${pick(STATUS.failed)}：${pick(SCAN_ERRORS[p.error.code], p.error.message)}`
      : pick(STATUS[p.status], p.status);
    return h("article", { class: "forewarning", "data-scan": p.scan_id, "data-topic": p.topic.code },
      h("h3", {}, `${p.topic.code} ${L(p.topic.name_zh, p.topic.name_en) || p.topic.code}`, " ", h("span", { class: "muted" }, p.district_code)),
      h("dl", { class: "kv" },
        h("dt", {}, L("季节", "Season")), h("dd", {}, seasonText(p.season)),
        h("dt", {}, L("季节开始", "Season starts")), h("dd", { class: "starts" }, p.season_starts,
          h("span", { class: "muted" }, days > 0 ? L(` （还有 ${days} 天）`, ` (in ${days} days)`) : L(" （已开始）", " (started)"))),
        h("dt", {}, L("上一季", "Last season")), h("dd", {}, `${p.last_season.from} ~ ${p.last_season.to}`),
        h("dt", {}, L("扫描", "Scan")), h("dd", { class: "scan-status" }, status)),
      p.clusters.length
        ? h("ul", { class: "clusters" }, p.clusters.map((c) => clusterItem(p, c, chosen, button)))
        : p.status === "finished" ? h("p", { class: "empty" }, L("上一季没有热点。", "Last season had no hot spot.")) : null,
      button);
  }

  async function accept(p, chosen, button) {
    button.disabled = true;
    result.replaceChildren(loading());
    try {
      const r = await api("POST", `/api/v1/scans/${encodeURIComponent(p.scan_id)}/tasks`, { clusters: [...chosen].sort((a, b) => a - b) });
      const made = r.tasks.filter((x) => x.created).length, before = r.tasks.length - made;
      result.replaceChildren(h("p", { class: "ok", role: "status" },
        `${p.topic.code} ${L(p.topic.name_zh, p.topic.name_en)}：`,
        made ? L(`已生成 ${made} 件主动治理案件，已派至责任街乡。`, `${made} proactive case(s) made and sent to the street.`) : "",
        before ? L(` ${before} 个热点此前已转任务。`, ` ${before} cluster(s) were tasked before.`) : ""));
    } catch (e) {
      result.replaceChildren(refusal(e));
      button.disabled = !chosen.size;
      return;
    }
    await load();
  }

  async function load() {
    card.dataset.ready = "false";
    out.replaceChildren(loading());
    try {
      const r = await api("GET", "/api/v1/forewarnings?per_page=20");
      out.replaceChildren(...(r.forewarnings.length
        ? [...r.forewarnings.map(proposal),
          r.total > r.forewarnings.length ? h("p", { class: "muted" }, L(`另有 ${r.total - r.forewarnings.length} 项较早的预警未列出。`,
            `${r.total - r.forewarnings.length} older forewarning(s) not listed.`)) : null].filter(Boolean)
        : [h("p", { class: "empty" }, L("辖区内暂无季节性预警。", "No seasonal forewarning for your places."))]));
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
    card.dataset.ready = "true";
  }

  load();
  return card;
}
