// The hot spot layer of the leaders' map: the clusters of the latest finished scan the reader may see, drawn over the
// choropleth in ArcGIS's hot spot colours (hot reds, cold blues; emerging categories in the popup), listed beside the
// map, and — for those allowed to task (leaders, dispatchers; the server decides) — chosen and turned into proactive
// cases (未诉先办) with POST /api/v1/scans/{id}/tasks, the result or refusal shown in words.
import * as maplibregl from "/web/vendor/maplibre-gl/maplibre-gl.mjs";
import { h, api, state, errorBox, loading, L } from "/web/app.js";

/** ArcGIS's Gi* bin colours: 99/95/90 % hot, not significant, 90/95/99 % cold. */
export const BIN_COLOURS = { 3: "#b2182b", 2: "#ef8a62", 1: "#fddbc7", 0: "#f7f7f7", "-1": "#d1e5f0", "-2": "#67a9cf", "-3": "#2166ac" };
const CATEGORY = {
  new_hot_spot: ["新热点", "New hot spot"], consecutive_hot_spot: ["连续热点", "Consecutive hot spot"],
  intensifying_hot_spot: ["加剧热点", "Intensifying hot spot"], persistent_hot_spot: ["持续热点", "Persistent hot spot"],
  diminishing_hot_spot: ["减弱热点", "Diminishing hot spot"], sporadic_hot_spot: ["零星热点", "Sporadic hot spot"],
  oscillating_hot_spot: ["振荡热点", "Oscillating hot spot"], historical_hot_spot: ["历史热点", "Historical hot spot"],
  new_cold_spot: ["新冷点", "New cold spot"], consecutive_cold_spot: ["连续冷点", "Consecutive cold spot"],
  intensifying_cold_spot: ["加剧冷点", "Intensifying cold spot"], persistent_cold_spot: ["持续冷点", "Persistent cold spot"],
  diminishing_cold_spot: ["减弱冷点", "Diminishing cold spot"], sporadic_cold_spot: ["零星冷点", "Sporadic cold spot"],
  oscillating_cold_spot: ["振荡冷点", "Oscillating cold spot"], historical_cold_spot: ["历史冷点", "Historical cold spot"],
};
const ERRORS = {
  scan_not_found: ["扫描不存在或不在您的辖区内。", "No such scan in your places."],
  cluster_not_found: ["所选热点不在您的辖区内。", "A chosen cluster is not in your places."],
  scan_not_finished: ["扫描尚未完成。", "The scan has not finished."],
  no_clusters: ["请先选择热点。", "Choose clusters first."], too_many_clusters: ["一次最多 50 个热点。", "At most 50 clusters at once."],
  topic_required: ["该热点没有单一类别，请指定类别。", "The cluster has no single topic: name one."],
  not_a_hot_spot: ["冷点不能转为任务。", "A cold spot is not tasked."], forbidden: ["您的角色不能下达主动治理任务。", "Your role may not task."],
};
/** Whether the reader's role may task (mirrors the server's permission; the server refuses anyone else with 403). */
export const mayTask = (user) => ["leader", "dispatcher", "admin"].includes(user.role);

/** The colour of a feature: its Gi* bin (clusters) or the sign of its emerging category (units). */
export function colourOf(p) {
  if (p.bin != null) return BIN_COLOURS[p.bin] || BIN_COLOURS[0];
  if (p.category) return p.category.includes("hot") ? BIN_COLOURS[p.category.startsWith("new") || p.category.startsWith("intens") ? 3 : 2] : BIN_COLOURS[-2];
  return BIN_COLOURS[0];
}
const pick = (pair, k) => (pair ? L(pair[0], pair[1]) : k);
/** A refusal of the task route in words (the server's message after), or the generic error box. */
export const refusal = (e) => (e?.code && ERRORS[e.code] ? h("p", { class: "error", role: "alert" }, `${pick(ERRORS[e.code])}（${e.message}）`) : errorBox(e));

/** Loads the latest finished scan into `map` and fills `box` (the side card) with its clusters and the task button. */
export async function hotspotCard(map, box) {
  box.replaceChildren(loading());
  const allowed = mayTask(state.user);
  let scan = null, fc = null;
  try {
    const list = await api("GET", "/api/v1/scans?per_page=20");
    scan = list.scans.find((s) => s.status === "finished");
    if (scan) fc = await api("GET", `/api/v1/scans/${encodeURIComponent(scan.id)}?format=geojson`);
  } catch (e) {
    box.replaceChildren(errorBox(e));
    box.dataset.ready = "true";
    return;
  }
  const features = (fc?.features || []).map((f, i) => ({ ...f, id: i, properties: { ...f.properties, n: i + 1, colour: colourOf(f.properties) } }));
  map.addSource("hotspots", { type: "geojson", data: { type: "FeatureCollection", features } });
  map.addLayer({ id: "hotspots-fill", type: "fill", source: "hotspots", paint: { "fill-color": ["get", "colour"], "fill-opacity": 0.85 } });
  map.addLayer({ id: "hotspots-line", type: "line", source: "hotspots",
    paint: { "line-color": ["case", ["boolean", ["feature-state", "chosen"], false], "#111", "#5b1a12"], "line-width": ["case", ["boolean", ["feature-state", "chosen"], false], 3, 1] } });
  const chosen = new Set();
  const number = (p) => (fc.kind === "gistar" ? p.rank : p.n);
  const label = (p) => fc.kind === "gistar"
    ? `#${p.rank} ${p.topic} · z ${p.strongest_z.toFixed(2)} · ${L("来电", "calls")} ${p.observed} · ${L("计入", "counted")} ${p.counted} / ${L("预期", "expected")} ${p.expected.toFixed(1)}`
    : `${p.code} · ${pick(CATEGORY[p.category], p.category)}`;
  const popup = new maplibregl.Popup({ closeButton: true, maxWidth: "280px" });
  const toggle = (f, on) => {
    const n = number(f.properties);
    if (on ?? !chosen.has(n)) chosen.add(n); else chosen.delete(n);
    map.setFeatureState({ source: "hotspots", id: f.id }, { chosen: chosen.has(n) });
    const cb = box.querySelector(`input[data-cluster="${n}"]`);
    if (cb) cb.checked = chosen.has(n);
    if (button) button.disabled = !chosen.size;
  };
  map.on("click", "hotspots-fill", (e) => {
    const f = features[e.features[0].id];
    const p = f.properties;
    popup.setLngLat(e.lngLat).setDOMContent(h("div", { class: "hotspot-pop" },
      h("strong", {}, label(p)),
      p.category ? h("div", {}, `${L("趋势类别", "Trend class")}: ${pick(CATEGORY[p.category], p.category)}`) : null,
      p.trend_z != null ? h("div", { class: "muted" }, `Mann-Kendall z ${p.trend_z.toFixed(2)}, p ${p.trend_p.toFixed(3)}`) : null,
      p.units ? h("div", { class: "muted" }, `${L("网格", "Units")} ${p.units.length}`) : null)).addTo(map);
    if (allowed && (p.bin == null || p.bin > 0) && (!p.category || p.category.includes("hot"))) toggle(f);
  });
  const result = h("div", { class: "task-result", "aria-live": "polite" });
  const items = features.filter((f) => !f.properties.category || f.properties.category.includes("hot"));
  const button = allowed ? h("button", { type: "button", id: "task-clusters", disabled: true, onclick: task }, L("转为主动治理任务", "Make proactive tasks")) : null;
  async function task() {
    button.disabled = true;
    result.replaceChildren(loading());
    try {
      const r = await api("POST", `/api/v1/scans/${encodeURIComponent(scan.id)}/tasks`, { clusters: [...chosen].sort((a, b) => a - b) });
      const made = r.tasks.filter((x) => x.created), before = r.tasks.filter((x) => !x.created);
      result.replaceChildren(h("p", { class: "ok" },
        made.length ? L(`已生成 ${made.length} 件主动治理案件，已派至责任街乡。`, `${made.length} proactive case(s) made and sent to the street.`) : "",
        before.length ? L(` ${before.length} 个热点此前已生成任务。`, ` ${before.length} cluster(s) were tasked before.`) : ""),
      h("ul", {}, r.tasks.map((x) => h("li", {}, `#${x.cluster} → `, h("a", { href: `#/case/${encodeURIComponent(x.case_id)}`, class: "case-link" }, x.case_id), ` (${x.status})`))));
    } catch (e) {
      result.replaceChildren(refusal(e));
    }
    button.disabled = !chosen.size;
  }
  // replaceChildren writes a null as the text "null": the parts left out are dropped first.
  box.replaceChildren(...[
    scan ? h("p", { class: "muted" }, `${L("最近扫描", "Latest scan")} ${scan.parameters.from} ~ ${scan.parameters.to} · ${fc.kind}`,
      scan.trimmed_to ? ` · ${L("仅显示辖区内部分", "only the part inside your places")}` : null)
      : h("p", { class: "empty" }, L("辖区内尚无完成的热点扫描。", "No finished scan of your places yet.")),
    h("ul", { class: "legend-bins" }, [[3, "99%"], [2, "95%"], [1, "90%"], [-1, "90%"], [-2, "95%"], [-3, "99%"]].map(([b, c]) =>
      h("li", {}, h("span", { class: "swatch", style: `background:${BIN_COLOURS[b]}` }), `${b > 0 ? L("热点", "Hot") : L("冷点", "Cold")} ${c}`))),
    items.length ? h("ul", { class: "clusters" }, items.map((f) => h("li", {},
      allowed ? h("label", {}, h("input", { type: "checkbox", "data-cluster": number(f.properties), onchange: (e) => toggle(f, e.target.checked) }), " ", label(f.properties))
        : label(f.properties)))) : scan ? h("p", { class: "empty" }, L("本次扫描没有热点。", "The scan found no hot spot.")) : null,
    button, result].filter((c) => c != null));
  box.dataset.ready = "true";
}
