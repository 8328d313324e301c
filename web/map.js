// The map page's skeleton: MapLibre GL JS (vendored, served by gridline) drawing the reader's jurisdiction from
// gridline's own places route, with Chinese labels from the browser's local fonts (no glyph server, no tiles or
// styles from anywhere else). gridline's vector tiles and heat map layers join this style once the server serves them.
import * as maplibregl from "/web/vendor/maplibre-gl/maplibre-gl.mjs";

const FONTS = "'WenQuanYi Micro Hei', 'Microsoft YaHei', 'PingFang SC', 'Noto Sans CJK SC', sans-serif";
const CITY = "110000";

/** Draws the map into `box`: the outlines of the reader's places (the whole city for city-wide roles). */
export async function showMap(box, { api, user }) {
  if (!document.querySelector("link[data-maplibre]")) {
    document.head.append(Object.assign(document.createElement("link"), { rel: "stylesheet", href: "/web/vendor/maplibre-gl/maplibre-gl.css" }));
    document.head.lastChild.dataset.maplibre = "";
  }
  const cityWide = ["admin", "hotline_operator"].includes(user.role) || !(user.places || []).length;
  const codes = cityWide ? [CITY] : user.places.slice(0, 20);
  const features = [];
  if (cityWide) {
    const r = await api("GET", `/api/v1/places/${CITY}/children?simplify=50`);
    for (const f of r.features) features.push({ type: "Feature", geometry: f.geometry, properties: { code: f.id, name: f.properties.name } });
  } else {
    for (const code of codes) {
      const f = await api("GET", `/api/v1/places/${encodeURIComponent(code)}?simplify=20`);
      features.push({ type: "Feature", geometry: f.geometry, properties: { code, name: f.properties.name } });
    }
  }
  const bbox = features.reduce((b, f) => {
    const walk = (c) => (typeof c[0] === "number" ? [Math.min(b[0], c[0]), Math.min(b[1], c[1]), Math.max(b[2], c[0]), Math.max(b[3], c[1])] : c.reduce((x, y) => ((b = walk(y)), b), b));
    return walk(f.geometry.coordinates);
  }, [180, 90, -180, -90]);
  const map = new maplibregl.Map({
    container: box,
    localIdeographFontFamily: FONTS,
    attributionControl: { compact: true, customAttribution: "gridline" },
    bounds: [[bbox[0], bbox[1]], [bbox[2], bbox[3]]],
    fitBoundsOptions: { padding: 24 },
    style: {
      version: 8,
      sources: { jurisdiction: { type: "geojson", data: { type: "FeatureCollection", features } } },
      layers: [
        { id: "background", type: "background", paint: { "background-color": "#eef1f4" } },
        { id: "jurisdiction-fill", type: "fill", source: "jurisdiction", paint: { "fill-color": "#c8d7ea", "fill-opacity": 0.6 } },
        { id: "jurisdiction-line", type: "line", source: "jurisdiction", paint: { "line-color": "#1f5fae", "line-width": 2 } },
      ],
    },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  box.dataset.places = codes.join(",");
  await new Promise((resolve, reject) => {
    map.once("load", resolve);
    map.once("error", (e) => reject(e.error || new Error("地图加载失败")));
  });
  box.dataset.ready = "true";
  return map;
}
