// The map under the leaders' and the secretary's views: MapLibre GL JS (vendored, served by gridline) over
// gridline's own vector tiles only — the place layers the reader may draw, each in its zoom band, sent with the
// bearer token — with Chinese labels from the browser's local fonts (no glyph server, no tile or style from
// anywhere else). Numbers are joined to the tiles' features by place code through feature-state (`promoteId`).
import * as maplibregl from "/web/vendor/maplibre-gl/maplibre-gl.mjs";

const FONTS = "'WenQuanYi Micro Hei', 'Microsoft YaHei', 'PingFang SC', 'Noto Sans CJK SC', sans-serif";
const CITY = "110000";

/** The place levels, coarsest first: their tile layer, the zooms it is served at, and the zooms it is shown at. */
export const LEVELS = [
  { level: "district", layer: "districts", digits: 6, min: 5, max: 10, from: 0, to: 10 },
  { level: "street", layer: "streets", digits: 9, min: 8, max: 12, from: 10, to: 12 },
  { level: "community", layer: "communities", digits: 12, min: 10, max: 14, from: 12, to: 14 },
  { level: "cell", layer: "cells", digits: 15, min: 12, max: 15, from: 14, to: 24 },
];

/** The reader's jurisdiction: place codes, the levels they may draw (their own level and below), city-wide or not. */
export function jurisdiction(user) {
  const cityWide = ["admin", "hotline_operator"].includes(user.role) || !(user.places || []).length;
  const codes = cityWide ? [] : user.places.slice(0, 50);
  const top = cityWide ? 6 : Math.min(...codes.map((c) => c.length));
  const levels = LEVELS.filter((l) => l.digits >= top).map((l) => ({ ...l }));
  if (levels.length) levels[0].from = 0; // the coarsest level the reader may draw is shown down to the smallest zoom
  return { cityWide, codes, levels };
}

/** The level shown at zoom `z` among `levels`. */
export const levelAt = (levels, z) => levels.find((l) => z >= l.from && z < l.to) || levels[levels.length - 1];

/** The outline of the jurisdiction (GeoJSON features) and its bounding box, from the places route. */
async function outline(api, j) {
  const features = [];
  if (j.cityWide) {
    const r = await api("GET", `/api/v1/places/${CITY}/children?simplify=100`);
    for (const f of r.features) features.push({ type: "Feature", geometry: f.geometry, properties: { code: f.id } });
  } else {
    for (const code of j.codes) {
      const f = await api("GET", `/api/v1/places/${encodeURIComponent(code)}?simplify=20`);
      features.push({ type: "Feature", geometry: f.geometry, properties: { code } });
    }
  }
  let b = [180, 90, -180, -90];
  const walk = (c) => {
    if (typeof c[0] === "number") b = [Math.min(b[0], c[0]), Math.min(b[1], c[1]), Math.max(b[2], c[0]), Math.max(b[3], c[1])];
    else c.forEach(walk);
  };
  features.forEach((f) => f.geometry && walk(f.geometry.coordinates));
  return { features, bbox: b };
}

/** The fill colour of a place from its feature-state: grey without numbers, else the class of `value` by `breaks`. */
export function stepColour(breaks, colours) {
  const step = ["step", ["to-number", ["coalesce", ["feature-state", "value"], -1]], "#d9dde3", 0, colours[0]];
  breaks.forEach((b, i) => step.push(b, colours[i + 1]));
  return step;
}

/**
 * Draws the map into `box` and resolves once it is loaded. `token()` gives the bearer token for tile requests;
 * `fill` is the initial fill colour expression. Each level the reader may draw is a vector source (its tile layer,
 * `promoteId: code`) with a fill, an outline and a label layer shown in the level's zoom band.
 */
export async function createMap(box, { api, user, token, fill, onLevel }) {
  if (!document.querySelector("link[data-maplibre]")) {
    const link = Object.assign(document.createElement("link"), { rel: "stylesheet", href: "/web/vendor/maplibre-gl/maplibre-gl.css" });
    link.dataset.maplibre = "";
    document.head.append(link);
  }
  const j = jurisdiction(user);
  if (!j.levels.length) throw new Error("没有可绘制的区域层级");
  const { features, bbox } = await outline(api, j);
  const origin = location.origin;
  const requested = []; // every URL MapLibre asked for (the first 2,000), for the page's own checks
  const sources = { jurisdiction: { type: "geojson", data: { type: "FeatureCollection", features } } };
  const layers = [{ id: "background", type: "background", paint: { "background-color": "#eef1f4" } }];
  for (const l of j.levels) {
    sources[l.level] = { type: "vector", tiles: [`${origin}/tiles/${l.layer}/{z}/{x}/{y}.mvt`], minzoom: l.min, maxzoom: l.max, promoteId: "code" };
    const band = { minzoom: Math.max(l.from, l.min), maxzoom: l.to };
    layers.push(
      { id: `${l.level}-fill`, type: "fill", source: l.level, "source-layer": l.layer, ...band, paint: { "fill-color": fill, "fill-opacity": 0.78 } },
      { id: `${l.level}-line`, type: "line", source: l.level, "source-layer": l.layer, ...band,
        paint: { "line-color": ["case", ["boolean", ["feature-state", "selected"], false], "#111", "#ffffff"],
          "line-width": ["case", ["boolean", ["feature-state", "selected"], false], 3, 0.8] } },
      { id: `${l.level}-label`, type: "symbol", source: l.level, "source-layer": `${l.layer}_labels`, ...band,
        layout: { "text-field": ["get", "name"], "text-size": 12, "text-max-width": 6 },
        paint: { "text-color": "#1d2733", "text-halo-color": "#ffffff", "text-halo-width": 1.2 } },
    );
  }
  layers.push({ id: "jurisdiction-line", type: "line", source: "jurisdiction", paint: { "line-color": "#8f1d16", "line-width": 2.5 } });
  const map = new maplibregl.Map({
    container: box,
    localIdeographFontFamily: FONTS,
    attributionControl: { compact: true, customAttribution: "gridline" },
    bounds: [[bbox[0], bbox[1]], [bbox[2], bbox[3]]],
    fitBoundsOptions: { padding: 16 },
    minZoom: j.levels[0].min,
    maxZoom: 18,
    transformRequest: (url) => {
      if (requested.length < 2000) requested.push(url);
      // Tiles differ by reader under one URL: "no-cache" has the browser ask again (304 by ETag when unchanged) rather
      // than hand one reader's cached tile to the next who signs in on the same browser.
      return url.startsWith(`${origin}/tiles/`) ? { url, headers: { authorization: "Bearer " + token() }, cache: "no-cache" } : { url };
    },
    style: { version: 8, sources, layers },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  map.levels = j.levels;
  map.requested = requested;
  map.jurisdiction = j;
  box.dataset.places = j.codes.join(",");
  let shown = null;
  const changed = () => {
    const l = levelAt(j.levels, map.getZoom());
    if (l.level !== shown) {
      shown = l.level;
      box.dataset.level = l.level;
      onLevel?.(l, map);
    }
  };
  await new Promise((resolve, reject) => {
    map.once("load", resolve);
    map.once("error", (e) => reject(e.error || new Error("地图加载失败")));
  });
  map.on("zoomend", changed);
  changed();
  box.dataset.ready = "true";
  return map;
}

/** The codes of the features of `level` drawn on screen now (distinct). */
export function drawnCodes(map, level) {
  if (!map.getLayer(`${level}-fill`)) return [];
  return [...new Set(map.queryRenderedFeatures({ layers: [`${level}-fill`] }).map((f) => String(f.properties.code)))];
}
