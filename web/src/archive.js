// Archive: which shard cells hold each band and date, and a box query to PNG or netCDF.
import GeoJSON from "ol/format/GeoJSON.js";
import Draw, { createBox } from "ol/interaction/Draw.js";
import VectorLayer from "ol/layer/Vector.js";
import VectorSource from "ol/source/Vector.js";
import { transformExtent } from "ol/proj.js";
import { Fill, Stroke, Style } from "ol/style.js";
import { call, imageUrl } from "./api.js";
import { createMap } from "./basemap.js";
import { h } from "./dom.js";

const HELD = new Style({ fill: new Fill({ color: "rgba(33,145,140,0.55)" }), stroke: new Stroke({ color: "#1f4e79", width: 1 }) });
const EMPTY = new Style({ fill: new Fill({ color: "rgba(0,0,0,0)" }), stroke: new Stroke({ color: "#999", width: 1, lineDash: [3, 3] }) });

export async function archivePage(app) {
  const archives = await call("/archive/coverage");
  if (!archives.length) {
    app.replaceChildren(h("h1", {}, "Archive"), h("p#no-archive", {}, "No archive-backed collection is configured (see the README's Archive section)."));
    return;
  }
  const pick = h("select#archive-id", { onchange: () => show() }, archives.map((a) => h("option", { value: a.id }, a.id)));
  const band = h("select#archive-band", { onchange: () => paint() });
  const date = h("select#archive-date", { onchange: () => paint() });
  const count = h("span#archive-count");
  const out = h("div#archive-query");
  const mapBox = h("div.map#archive-map");
  app.replaceChildren(h("h1", {}, "Archive"), h("p", {}, pick, " band ", band, " date ", date, " ", count),
    h("div.split", {}, mapBox, h("div.side", {}, h("button#archive-draw", { onclick: () => startDraw() }, "Draw a box to query"), out)));
  const map = await createMap(mapBox);
  window.eostationMap = map;
  const source = new VectorSource();
  const layer = new VectorLayer({ source, properties: { name: "coverage" } });
  map.addLayer(layer);
  const drawn = new VectorSource();
  map.addLayer(new VectorLayer({ source: drawn }));
  let current = archives[0];

  function paint() {
    const held = new Set(current.coverage[band.value]?.[date.value] || []);
    count.textContent = `${held.size} of ${source.getFeatures().length} cells hold data`;
    layer.setStyle((f) => (held.has(f.get("shard")) ? HELD : EMPTY));
  }

  function show() {
    current = archives.find((a) => a.id === pick.value);
    band.replaceChildren(...current.bands.map((b) => h("option", { value: b }, b)));
    date.replaceChildren(...current.dates.map((d) => h("option", { value: d }, d)));
    source.clear();
    source.addFeatures(new GeoJSON().readFeatures(current.shards, { featureProjection: "EPSG:3857" }));
    if (source.getFeatures().length) map.getView().fit(source.getExtent(), { padding: [20, 20, 20, 20] });
    paint();
  }

  function startDraw() {
    drawn.clear();
    const draw = new Draw({ source: drawn, type: "Circle", geometryFunction: createBox() });
    draw.on("drawend", async (e) => {
      map.removeInteraction(draw);
      const [w, s, east, n] = transformExtent(e.feature.getGeometry().getExtent(), "EPSG:3857", "EPSG:4326");
      const day = date.value.slice(0, 10);
      out.replaceChildren("querying…");
      try {
        const png = await imageUrl(`/quicklooks/${current.id}.png?bbox=${[w, s, east, n].map((v) => v.toFixed(5)).join(",")}&date=${day}&bands=${band.value}`);
        const graph = {
          load: { process_id: "load_collection", arguments: { id: current.id, spatial_extent: { west: w, south: s, east, north: n }, temporal_extent: [day, date.value.slice(0, 10) + "T23:59:59Z"], bands: [band.value] } },
          save: { process_id: "save_result", arguments: { data: { from_node: "load" }, format: "netCDF" }, result: true },
        };
        const r = await call("/result", { method: "POST", body: { process: { process_graph: graph } }, raw: true });
        const nc = URL.createObjectURL(await r.blob());
        out.replaceChildren(h("img#archive-png", { src: png, alt: "query" }), h("p", {},
          h("a#archive-png-link", { href: png, download: `${current.id}.png` }, "PNG"), " · ",
          h("a#archive-nc-link", { href: nc, download: `${current.id}.nc` }, "netCDF")));
      } catch (err) {
        out.replaceChildren(h("p.error", {}, err.message));
      }
    });
    map.addInteraction(draw);
  }
  show();
}
