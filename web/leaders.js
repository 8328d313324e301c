// The leaders' map (#/map): a choropleth of the reader's places at the level the zoom shows (district → street →
// community → cell) over gridline's vector tiles, coloured from the heat map's numbers for the chosen topic, source,
// window and status, with a legend of its class breaks (quantiles of the values shown); hover and click show a
// place's numbers, its trend and its chain; beside the map the hot spot layer's card, the seasonal forewarnings
// (forewarning.js), the month's 三率 ranking and the candidates for next month's 每月一题 list. Only gridline's
// routes are read, and they answer only inside the reader's jurisdiction.
import { h, api, state, when, errorBox, loading, L, beijingToday, addDays } from "/web/app.js";
import { createMap, stepColour, drawnCodes } from "/web/map.js";
import { hotspotCard } from "/web/hotspots.js";
import { forewarningCard } from "/web/forewarning.js";

const COLOURS = ["#fee5d9", "#fcbba1", "#fc9272", "#fb6a4a", "#de2d26", "#a50f15"];
export const LEVEL_NAME = { district: ["区", "District"], street: ["街乡", "Street"], community: ["社区", "Community"], cell: ["网格", "Cell"] };
const SOURCES = { hotline: ["12345热线", "Hotline"], patrol: ["网格巡查", "Patrol"], mixed: ["热线+巡查", "Hotline + patrol"], proactive: ["主动治理", "Proactive"] };
const STATUSES = { open: ["办理中", "Open"], overdue: ["已超期", "Overdue"], closed: ["已办结", "Closed"] };
const MEASURES = { tickets: ["诉求量（来电）", "Tickets (calls)"], cases: ["案件量", "Cases"] };
const LINK = { command_centre: ["区指挥中心", "Command centre"], section_leader: ["包片领导", "Section leader"], street_office: ["街乡", "Street office"],
  village_cadre: ["包村干部", "Village cadre"], community_secretary: ["社区书记", "Community secretary"], grid_member: ["网格员", "Grid member"],
  household_member: ["两委包户", "Household member"] };
export const pick = (pair) => (pair ? L(pair[0], pair[1]) : "");
const pct = (x) => (x == null ? "—" : `${(x * 100).toFixed(1)}%`);
const signed = (x, digits = 1) => (x == null ? "—" : `${x > 0 ? "+" : ""}${x.toFixed(digits)}`);

/** Class breaks: the distinct positive quantiles (k classes at most) of `values`; classes are [0, b1), [b1, b2), … */
export function breaksOf(values, k = 5) {
  const v = [...values].sort((a, b) => a - b);
  const out = [];
  for (let i = 1; i < k && v.length; i++) {
    const q = v[Math.min(v.length - 1, Math.floor((i * v.length) / k))];
    if (q > 0 && (!out.length || q > out[out.length - 1])) out.push(q);
  }
  return out;
}
/** The colours of `n + 1` classes, spread over the palette. */
const coloursFor = (n) => Array.from({ length: n + 1 }, (_, i) => COLOURS[n ? Math.round((i * (COLOURS.length - 1)) / n) : 2]);

/** Bars of a series as a small SVG (no chart library): one bar per step, its Beijing dates and value as a tooltip. */
export function sparkline(points, key) {
  const W = 320, H = 64, max = Math.max(1, ...points.map((p) => p[key]));
  const bw = W / Math.max(1, points.length);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H + 14}`);
  svg.setAttribute("class", "spark");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", points.map((p) => `${p.from}: ${p[key]}`).join("; "));
  points.forEach((p, i) => {
    const r = document.createElementNS(ns, "rect");
    const hgt = Math.max(p[key] ? 1.5 : 0, (p[key] / max) * H);
    Object.entries({ x: i * bw + 0.5, y: H - hgt, width: Math.max(1, bw - 1), height: hgt, fill: "#de2d26" }).forEach(([k, v]) => r.setAttribute(k, v));
    const title = document.createElementNS(ns, "title");
    title.textContent = `${p.from}${p.to !== p.from ? " – " + p.to : ""}: ${p[key]}`;
    r.append(title);
    svg.append(r);
  });
  const text = (x, anchor, s) => {
    const el = document.createElementNS(ns, "text");
    Object.entries({ x, y: H + 12, "font-size": 10, fill: "#5b6776", "text-anchor": anchor }).forEach(([k, v]) => el.setAttribute(k, v));
    el.textContent = s;
    svg.append(el);
  };
  if (points.length) {
    text(0, "start", points[0].from);
    text(W, "end", points[points.length - 1].to);
  }
  text(W / 2, "middle", `max ${max}`);
  return svg;
}

/** The chain of a place, top-down, as a definition list. */
export function chainList(links) {
  if (!links.length) return h("p", { class: "empty" }, L("无", "none"));
  return h("dl", { class: "kv chain" }, links.map((l) => [
    h("dt", {}, pick(LINK[l.kind]) || l.kind),
    h("dd", {}, l.person?.name || l.person || l.unit?.name || l.unit || "—", l.fallback ? h("span", { class: "tag amber" }, L("兜底", "fallback")) : null),
  ]));
}

/** The month in Beijing, yyyy-mm. */
const beijingMonth = () => beijingToday().slice(0, 7);

export async function leadersView(setMain) {
  const today = beijingToday();
  const f = { from: addDays(today, -29), to: today, topic: "", source: "", status: "", measure: "tickets" };
  const restricted = state.user.topics || [];
  const topics = [...state.topics.values()].filter((tp) => tp.active && (!restricted.length || restricted.some((x) => tp.code.startsWith(x))));
  const opt = (value, label, sel) => h("option", { value, selected: sel === value }, label);
  const form = h("form", { class: "filters", "aria-label": L("地图筛选", "Map filters") },
    h("label", {}, L("类别", "Topic"), h("select", { name: "topic" }, opt("", L("全部", "Any"), f.topic),
      topics.map((tp) => opt(tp.code, (tp.parent_code ? "\u3000" : "") + `${tp.code} ${L(tp.name_zh, tp.name_en)}`, f.topic)))),
    h("label", {}, L("来源", "Source"), h("select", { name: "source" }, opt("", L("全部", "Any"), f.source),
      Object.entries(SOURCES).map(([k, v]) => opt(k, pick(v), f.source)))),
    h("label", {}, L("状态", "Status"), h("select", { name: "status" }, opt("", L("全部", "Any"), f.status),
      Object.entries(STATUSES).map(([k, v]) => opt(k, pick(v), f.status)))),
    h("label", {}, L("开始日期", "From"), h("input", { name: "from", type: "date", value: f.from, max: today, required: true })),
    h("label", {}, L("结束日期", "To"), h("input", { name: "to", type: "date", value: f.to, max: today, required: true })),
    h("label", {}, L("指标", "Measure"), h("select", { name: "measure" }, Object.entries(MEASURES).map(([k, v]) => opt(k, pick(v), f.measure)))),
    h("span", { class: "muted" }, L("日期按北京时间，含首尾两天", "Beijing days, both ends included")));
  const msg = h("div", { class: "map-msg", "aria-live": "polite" }, loading());
  const box = h("div", { id: "map", class: "map", role: "region", "aria-label": L("热力地图", "Heat map"), tabindex: 0 });
  const legend = h("div", { class: "legend", "aria-live": "polite" });
  const hover = h("div", { class: "hover", hidden: true });
  const info = h("div", { class: "place-info", "aria-live": "polite" },
    h("p", { class: "muted" }, L("将鼠标移到区域上查看数字，点击（或在下方列表中选择）查看趋势和责任链。",
      "Hover over a place for its numbers; click it (or pick it in the list below) for its trend and chain.")));
  const top = h("div", { class: "top-list" });
  const ranking = h("div", { class: "ranking" });
  const hotspots = h("div", { class: "hotspots" });
  setMain(
    h("section", { class: "card" }, h("h1", { class: "view-title" }, L("领导驾驶舱 · 热力地图", "Leaders' map")), form),
    h("div", { class: "mapgrid" },
      h("div", { class: "mapcol" }, msg, h("div", { class: "mapwrap" }, box, legend, hover)),
      h("aside", { class: "side" },
        h("section", { class: "card", "aria-labelledby": "h-place" }, h("h2", { id: "h-place" }, L("区域详情", "Place")), info),
        h("section", { class: "card", "aria-labelledby": "h-hot" }, h("h2", { id: "h-hot" }, L("热点与主动治理", "Hot spots and proactive tasks")), hotspots),
        forewarningCard(() => map),
        h("section", { class: "card", "aria-labelledby": "h-top" }, h("h2", { id: "h-top" }, L("本级数量最多", "Highest at this level")), top),
        h("section", { class: "card", "aria-labelledby": "h-rank" }, h("h2", { id: "h-rank" }, L("三率排名", "Rates ranking (三率)")), ranking),
        monthlyTopicCard())));

  rankingCard(ranking);

  // The numbers of each level for the current filters: code → heat map properties, per `within` fetched.
  const cache = new Map();
  let map = null, current = null, selected = null, generation = 0;
  const filterKey = () => JSON.stringify([f.from, f.to, f.topic, f.source, f.status]);
  const perStreet = (l) => map.jurisdiction.cityWide || Math.min(...map.jurisdiction.codes.map((c) => c.length)) <= 6 ? ["community", "cell"].includes(l.level) : false;
  const query = (level, within) => {
    const q = new URLSearchParams({ level, from: f.from, to: f.to });
    for (const k of ["topic", "source", "status"]) if (f[k]) q.set(k, f[k]);
    if (within) q.set("within", within);
    return q;
  };
  const values = (level) => {
    const out = new Map();
    for (const [k, part] of cache) if (k.startsWith(level + "|" + filterKey())) for (const [code, p] of part) out.set(code, p);
    return out;
  };
  const target = (level, code) => ({ source: level, sourceLayer: map.levels.find((l) => l.level === level).layer, id: code });

  async function refresh(reset) {
    if (!map) return;
    const l = current;
    const gen = ++generation;
    const withins = perStreet(l) ? [...new Set(drawnCodes(map, l.level).map((c) => c.slice(0, 9)))] : [""];
    const missing = withins.filter((w) => !cache.has(`${l.level}|${filterKey()}|${w}`));
    if (!missing.length && !reset) return;
    msg.replaceChildren(loading());
    try {
      for (let i = 0; i < missing.length; i += 6) {
        await Promise.all(missing.slice(i, i + 6).map(async (w) => {
          const r = await api("GET", "/api/v1/heatmap?" + query(l.level, w));
          cache.set(`${l.level}|${filterKey()}|${w}`, new Map(r.features.map((ft) => [ft.id, ft.properties])));
        }));
      }
    } catch (e) {
      if (gen === generation) msg.replaceChildren(errorBox(e));
      return;
    }
    if (gen !== generation) return;
    msg.replaceChildren();
    paint(l, reset);
  }

  function paint(l, reset) {
    const vals = values(l.level);
    const breaks = breaksOf([...vals.values()].map((p) => p[f.measure]));
    const colours = coloursFor(breaks.length);
    if (reset) map.removeFeatureState({ source: l.level, sourceLayer: l.layer });
    map.setPaintProperty(`${l.level}-fill`, "fill-color", stepColour(breaks, colours));
    for (const [code, p] of vals) map.setFeatureState(target(l.level, code), { value: p[f.measure] });
    if (selected && selected.level === l.level) map.setFeatureState(target(l.level, selected.code), { selected: true });
    drawLegend(l, breaks, colours, vals);
    drawTop(l, vals);
    map.once("idle", () => {
      if (box.dataset.painted !== "true") performance.mark("gridline-choropleth");
      box.dataset.painted = "true";
    });
  }

  function drawLegend(l, breaks, colours, vals) {
    const v = [...vals.values()].map((p) => p[f.measure]);
    const max = v.length ? Math.max(...v) : 0;
    const lows = [0, ...breaks];
    const rows = lows.map((lo, i) => {
      const hi = i + 1 < lows.length ? lows[i + 1] - 1 : max;
      const n = v.filter((x) => x >= lo && (i + 1 >= lows.length || x < lows[i + 1])).length;
      return h("li", {}, h("span", { class: "swatch", style: `background:${colours[i]}` }),
        h("span", { class: "range" }, hi > lo ? `${lo}–${hi}` : `${lo}`), h("span", { class: "muted" }, ` (${n})`));
    });
    legend.replaceChildren(h("strong", {}, `${pick(LEVEL_NAME[l.level])} · ${pick(MEASURES[f.measure])}`),
      v.length ? h("ol", {}, rows) : h("p", { class: "muted" }, L("暂无数据", "No numbers yet")),
      h("div", { class: "muted" }, `${f.from} ~ ${f.to}`));
    legend.dataset.breaks = breaks.join(",");
  }

  function drawTop(l, vals) {
    const rows = [...vals.entries()].sort((a, b) => b[1][f.measure] - a[1][f.measure] || a[0].localeCompare(b[0])).slice(0, 8);
    top.replaceChildren(rows.length ? h("ol", { class: "places" }, rows.map(([code, p]) => h("li", {},
      h("button", { type: "button", class: "link", "data-code": code, onclick: () => select(l.level, code) }, p.name),
      ` ${p[f.measure]}`))) : h("p", { class: "empty" }, L("暂无数据", "No numbers yet")));
  }

  function numbers(p) {
    const row = (k, label, extra) => [h("dt", {}, label), h("dd", { "data-k": k }, h("span", { class: "n" }, p[k] ?? "—"), extra ? h("span", { class: "muted" }, " " + extra) : null)];
    return h("dl", { class: "kv numbers" },
      row("tickets", L("诉求量", "Tickets"), p.tickets_change_pct == null ? "" : `${L("环比", "vs before")} ${signed(p.tickets_change_pct)}%`),
      row("cases", L("案件量", "Cases"), p.cases_change_pct == null ? "" : `${L("环比", "vs before")} ${signed(p.cases_change_pct)}%`),
      row("previous_tickets", L("上期诉求", "Tickets before")),
      h("dt", {}, L("每千户诉求", "Tickets / 1,000 households")), h("dd", {}, p.tickets_per_1000_households == null ? "—" : p.tickets_per_1000_households.toFixed(1)));
  }

  async function select(level, code) {
    if (selected) map.setFeatureState(target(selected.level, selected.code), { selected: false });
    selected = { level, code };
    map.setFeatureState(target(level, code), { selected: true });
    const p = values(level).get(code);
    const trend = h("div", {}, loading());
    const chain = h("div", {}, loading());
    info.replaceChildren(h("h3", { class: "place-name" }, p?.name || code, " ", h("span", { class: "muted" }, `${pick(LEVEL_NAME[level])} ${code}`)),
      p ? numbers(p) : h("p", { class: "muted" }, L("暂无数字", "No numbers")),
      h("h3", {}, L("趋势", "Trend")), trend, h("h3", {}, L("责任链（谁负责）", "Chain (who answers for it)")), chain);
    info.dataset.code = code;
    const days = (Date.parse(f.to) - Date.parse(f.from)) / 86400000 + 1;
    const q = new URLSearchParams({ from: f.from, to: f.to, step: days > 92 ? "month" : days > 31 ? "week" : "day" });
    for (const k of ["topic", "source", "status"]) if (f[k]) q.set(k, f[k]);
    api("GET", `/api/v1/places/${encodeURIComponent(code)}/trend?${q}`)
      .then((r) => trend.replaceChildren(sparkline(r.points, f.measure), h("div", { class: "muted" }, `${L("合计", "Total")} ${r[f.measure]}`)))
      .catch((e) => trend.replaceChildren(errorBox(e)));
    api("GET", `/api/v1/places/${encodeURIComponent(code)}/chain`)
      .then((r) => chain.replaceChildren(chainList(r.links), h("div", { class: "muted" }, `${L("截至", "As of")} ${when(r.at)}`)))
      .catch((e) => chain.replaceChildren(errorBox(e)));
  }

  form.addEventListener("change", (ev) => {
    const el = ev.target;
    if (el.name === "from" || el.name === "to") {
      if (!form.from.value || !form.to.value) return;
      if (form.from.value > form.to.value) return msg.replaceChildren(errorBox(new Error(L("开始日期晚于结束日期。", "The window starts after it ends."))));
    }
    for (const k of Object.keys(f)) f[k] = form.elements[k].value;
    if (el.name === "measure") return current && paint(current, false);
    refresh(true);
  });
  form.addEventListener("submit", (ev) => ev.preventDefault());

  try {
    const { token } = state;
    map = await createMap(box, { api, user: state.user, token: () => token, fill: "#d9dde3",
      onLevel: (l, m) => { map = m; current = l; refresh(true); } });
    window.gridlineMap = map;
  } catch (e) {
    return msg.replaceChildren(errorBox(e));
  }
  hotspotCard(map, hotspots);
  map.on("idle", () => current && perStreet(current) && refresh(false));
  const levelLayers = () => map.levels.map((l) => `${l.level}-fill`);
  map.on("mousemove", (e) => {
    const ft = map.queryRenderedFeatures(e.point, { layers: levelLayers() })[0];
    map.getCanvas().style.cursor = ft ? "pointer" : "";
    if (!ft) return (hover.hidden = true);
    const level = ft.layer.id.replace(/-fill$/, "");
    const code = String(ft.properties.code);
    const p = values(level).get(code);
    hover.hidden = false;
    hover.replaceChildren(h("strong", {}, ft.properties.name), h("div", { class: "muted" }, `${pick(LEVEL_NAME[level])} ${code}`),
      p ? h("div", {}, `${L("诉求", "Tickets")} ${p.tickets} · ${L("案件", "Cases")} ${p.cases}`) : null);
  });
  map.on("mouseout", () => (hover.hidden = true));
  map.on("click", (e) => {
    const ft = map.queryRenderedFeatures(e.point, { layers: levelLayers() })[0];
    if (ft) select(ft.layer.id.replace(/-fill$/, ""), String(ft.properties.code));
  });
}

/** The month's 三率 ranking (street / district / department), from the assessment route. */
function rankingCard(box) {
  const month = h("input", { type: "month", name: "month", value: beijingMonth(), max: beijingMonth() });
  const level = h("select", { name: "rank-level" }, [["street", "街乡", "Streets"], ["district", "区", "Districts"], ["department", "部门", "Departments"]]
    .map(([v, zh, en]) => h("option", { value: v }, L(zh, en))));
  const out = h("div", { "aria-live": "polite" });
  const load = async () => {
    out.replaceChildren(loading());
    try {
      const r = await api("GET", `/api/v1/assessment?month=${encodeURIComponent(month.value)}&level=${level.value}`);
      if (!r.entries.length) return out.replaceChildren(h("p", { class: "empty" }, L("本月尚无考核数据。", "No figures for this month yet.")));
      out.replaceChildren(h("table", { class: "rank" },
        h("thead", {}, h("tr", {}, [L("名次", "Rank"), L("名称", "Name"), L("响应率", "Response"), L("解决率", "Resolution"), L("满意率", "Satisfaction"), L("得分", "Score")]
          .map((x) => h("th", { scope: "col" }, x)))),
        h("tbody", {}, r.entries.slice(0, 30).map((e) => h("tr", { "data-code": e.code },
          h("td", {}, e.rank ?? "—"), h("td", {}, e.name || e.code), h("td", {}, pct(e.response_rate)), h("td", {}, pct(e.resolution_rate)),
          h("td", {}, pct(e.satisfaction_rate)), h("td", {}, e.score == null ? "—" : e.score.toFixed(1),
            e.change.score == null ? null : h("span", { class: "muted" }, ` (${signed(e.change.score)})`)))))),
      r.entries.length > 30 ? h("p", { class: "muted" }, L(`另有 ${r.entries.length - 30} 项未列出。`, `${r.entries.length - 30} more not listed.`)) : null);
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
  };
  month.addEventListener("change", load);
  level.addEventListener("change", load);
  box.replaceChildren(h("div", { class: "filters" }, h("label", {}, L("月份", "Month"), month), h("label", {}, L("范围", "Level"), level)), out);
  load();
}

/** The candidates for next month's 每月一题 list (the reader's city or district), from the topic ranking route. */
function monthlyTopicCard() {
  const month = h("input", { type: "month", name: "topic-month", value: beijingMonth(), max: beijingMonth() });
  const out = h("div", { "aria-live": "polite" });
  const load = async () => {
    out.replaceChildren(loading());
    try {
      const r = await api("GET", `/api/v1/topics/ranking?month=${encodeURIComponent(month.value)}`);
      if (!r.candidates.length) return out.replaceChildren(h("p", { class: "empty" }, L("本月尚无诉求。", "No calls this month yet.")));
      out.replaceChildren(h("p", { class: "muted" }, `${r.place.name} · ${L("诉求", "Tickets")} ${r.tickets}`),
        h("table", { class: "compact topic-candidates" },
          h("thead", {}, h("tr", {}, [L("序", "#"), L("类别", "Topic"), L("诉求", "Tickets"), L("环比", "vs last month"), L("解决率", "Resolution"), L("得分", "Score")]
            .map((x) => h("th", { scope: "col" }, x)))),
          h("tbody", {}, r.candidates.map((c) => {
            const t = r.topics.find((x) => x.code === c.code) || {};
            return h("tr", { "data-code": c.code }, h("td", {}, c.rank), h("td", {}, `${c.code} ${c.name}`), h("td", {}, c.tickets),
              h("td", {}, t.change_previous_pct == null ? "—" : `${signed(t.change_previous_pct)}%`), h("td", {}, pct(t.resolution_rate)),
              h("td", {}, c.score.toFixed(1)));
          }))),
        h("p", { class: "muted" }, L("得分 = 诉求量 × 增长 × (1 − 解决率)", "Score = tickets × growth × (1 − resolution)")));
    } catch (e) {
      // A street's or community's reader holds no whole district: the list is not theirs to read.
      out.replaceChildren(e.code === "place_not_found"
        ? h("p", { class: "muted" }, L("每月一题按全市或全区排名。", "The monthly topic is ranked for the city or a whole district."))
        : errorBox(e));
    }
  };
  month.addEventListener("change", load);
  load();
  return h("section", { class: "card", "aria-labelledby": "h-topic" }, h("h2", { id: "h-topic" }, L("每月一题候选", "Monthly topic candidates (每月一题)")),
    h("div", { class: "filters" }, h("label", {}, L("月份", "Month"), month)), out);
}
