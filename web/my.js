// The community secretary's view (#/my), from GET /api/v1/my/overview: the reader's cells on the map coloured by
// today's patrol coverage and late cases; their places' open, overdue and escalated cases; which cells had a patrol
// report today (Beijing day) and which did not, with the grid member; every cell's chain and who is late. Laid out
// for a phone as well as a desk screen.
import { h, api, state, when, errorBox, loading, L } from "/web/app.js";
import { createMap } from "/web/map.js";
import { LEVEL_NAME, pick, chainList } from "/web/leaders.js";

const KINDS = {
  late: ["#de2d26", "有超期案件", "Late cases"],
  missed: ["#fdae6b", "今日未巡查", "Not patrolled today"],
  patrolled: ["#74c476", "今日已巡查", "Patrolled today"],
  open: ["#fdd0a2", "有在办案件", "Open cases"],
  clear: ["#c7e9c0", "无在办案件", "No open case"],
};
const FILL = ["match", ["to-string", ["feature-state", "kind"]], ...Object.entries(KINDS).flatMap(([k, v]) => [k, v[0]]), "#d9dde3"];
const MAX_CELLS_LISTED = 400;

export async function myView(setMain) {
  setMain(loading());
  let o;
  try {
    o = await api("GET", "/api/v1/my/overview");
  } catch (e) {
    return setMain(errorBox(e));
  }
  const sum = (k) => o.places.reduce((n, p) => n + p[k], 0);
  const late = o.cells.flatMap((c) => c.late.map((k) => ({ ...k, cell: c })));
  const missed = o.cells.filter((c) => !c.patrolled_today);
  const stat = (n, label, cls) => h("div", { class: "stat " + (cls || "") }, h("strong", {}, String(n)), h("span", {}, label));
  const head = h("section", { class: "card" },
    h("h1", { class: "view-title" }, L("我的辖区", "My places"), " ", h("span", { class: "muted" }, `${o.day}（${L("北京时间", "Beijing")}）`)),
    h("div", { class: "stats" },
      stat(sum("open"), L("在办案件", "Open cases")), stat(sum("overdue"), L("超期", "Overdue"), sum("overdue") ? "red" : ""),
      stat(sum("escalated"), L("已督办", "Escalated"), sum("escalated") ? "amber" : ""),
      stat(`${o.cells_patrolled}/${o.cells_total}`, L("今日已巡查网格", "Cells patrolled today")),
      stat(o.cells_not_patrolled, L("今日未巡查", "Not patrolled"), o.cells_not_patrolled ? "amber" : "")),
    o.cells_truncated ? h("p", { class: "muted" }, L("网格过多，未全部列出。", "Too many cells: not all are listed.")) : null);

  const box = h("div", { id: "map", class: "map small", role: "region", "aria-label": L("我的网格地图", "Map of my cells"), tabindex: 0 });
  const msg = h("div", { "aria-live": "polite" }, loading());
  const legend = h("ul", { class: "key" }, Object.values(KINDS).map(([c, zh, en]) => h("li", {}, h("span", { class: "swatch", style: `background:${c}` }), L(zh, en))));

  const places = h("section", { class: "card", "aria-labelledby": "h-places" }, h("h2", { id: "h-places" }, L("下辖区域", "Places below")),
    o.places.length ? h("table", { class: "compact" },
      h("thead", {}, h("tr", {}, [L("名称", "Name"), L("在办", "Open"), L("超期", "Overdue"), L("督办", "Escalated")].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, o.places.map((p) => h("tr", { "data-code": p.code },
        h("td", {}, h("a", { href: `#/desk?place=${p.code}` }, p.name), h("span", { class: "muted" }, ` ${pick(LEVEL_NAME[p.level])}`)),
        h("td", {}, p.open), h("td", { class: p.overdue ? "red" : "" }, p.overdue), h("td", {}, p.escalated)))))
      : h("p", { class: "empty" }, L("没有下辖区域。", "No places below yours.")));

  const lateCard = h("section", { class: "card", "aria-labelledby": "h-late" }, h("h2", { id: "h-late" }, `${L("超期案件（谁在拖）", "Late cases (who is late)")}（${late.length}）`),
    late.length ? h("ul", { class: "late" }, late.map((k) => h("li", {},
      h("a", { href: `#/case/${encodeURIComponent(k.case_id)}`, class: "case-link" }, k.case_id), " ",
      h("span", { class: "tag red" }, `${L("应办结", "due")} ${when(k.due_at)}`), k.rung ? h("span", { class: "tag amber" }, `${L("督办级别", "rung")} ${k.rung}`) : null,
      h("div", { class: "muted" }, `${k.cell.name} · ${L("承办单位", "unit")} ${k.handler_unit_id || "—"} · ${L("签收人", "accepted by")} ${k.accepted_by || L("未签收", "not accepted")}`))))
      : h("p", { class: "empty" }, L("没有超期案件。", "No late case.")));

  const missedCard = h("section", { class: "card", "aria-labelledby": "h-missed" }, h("h2", { id: "h-missed" }, `${L("今日未巡查网格", "Cells not patrolled today")}（${missed.length}）`),
    missed.length ? h("ul", { class: "missed" }, missed.slice(0, MAX_CELLS_LISTED).map((c) => h("li", { "data-code": c.code },
      c.name, " ", h("span", { class: "muted" }, `${L("网格员", "grid member")}：${c.grid_member || L("未指派", "nobody")}`))))
      : h("p", { class: "empty" }, L("今天每个网格都有巡查上报。", "Every cell has a patrol report today.")));

  const cells = h("section", { class: "card", "aria-labelledby": "h-cells" }, h("h2", { id: "h-cells" }, L("网格与责任链", "Cells and their chains")),
    o.cells.length ? o.cells.slice(0, MAX_CELLS_LISTED).map((c) => h("details", { class: "cell", "data-code": c.code },
      h("summary", {}, h("strong", {}, c.name), " ",
        h("span", { class: "tag " + (c.patrolled_today ? "green" : "amber") }, c.patrolled_today ? `${L("已巡查", "patrolled")} ${c.reports_today}` : L("未巡查", "not patrolled")),
        c.late.length ? h("span", { class: "tag red" }, `${L("超期", "late")} ${c.late.length}`) : null,
        h("span", { class: "muted" }, ` ${L("网格员", "grid member")}：${c.grid_member || L("未指派", "nobody")}`)),
      chainList(c.chain)))
      : h("p", { class: "empty" }, L("辖区内没有网格。", "No cells in your places.")),
    o.cells.length > MAX_CELLS_LISTED ? h("p", { class: "muted" }, L(`仅列出前 ${MAX_CELLS_LISTED} 个。`, `First ${MAX_CELLS_LISTED} listed.`)) : null);

  setMain(head, h("div", { class: "mygrid" },
    h("div", {}, h("section", { class: "card" }, msg, h("div", { class: "mapwrap" }, box), legend), places),
    h("div", {}, lateCard, missedCard, cells)));

  try {
    const { token } = state;
    const map = await createMap(box, { api, user: state.user, token: () => token, fill: FILL });
    window.gridlineMap = map;
    const layerOf = (level) => map.levels.find((l) => l.level === level);
    for (const p of o.places) {
      const l = layerOf(p.level);
      if (l) map.setFeatureState({ source: l.level, sourceLayer: l.layer, id: p.code }, { kind: p.overdue ? "late" : p.open ? "open" : "clear" });
    }
    const cl = layerOf("cell");
    if (cl) for (const c of o.cells) map.setFeatureState({ source: "cell", sourceLayer: cl.layer, id: c.code }, { kind: c.late.length ? "late" : c.patrolled_today ? "patrolled" : "missed" });
    map.on("click", (e) => {
      const ft = map.queryRenderedFeatures(e.point, { layers: map.levels.map((l) => `${l.level}-fill`) })[0];
      const el = ft && document.querySelector(`details.cell[data-code="${String(ft.properties.code)}"]`);
      if (el) { el.open = true; el.scrollIntoView({ block: "nearest" }); el.querySelector("summary").focus(); }
    });
    map.once("idle", () => (box.dataset.painted = "true"));
    msg.replaceChildren();
  } catch (e) {
    msg.replaceChildren(errorBox(e));
  }
}
