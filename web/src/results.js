// Results on the map: raster tiles with a date slider, aggregate_spatial polygons with charts.
import GeoJSON from "ol/format/GeoJSON.js";
import TileLayer from "ol/layer/Tile.js";
import VectorLayer from "ol/layer/Vector.js";
import VectorSource from "ol/source/Vector.js";
import XYZ from "ol/source/XYZ.js";
import { Fill, Stroke, Style } from "ol/style.js";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { call } from "./api.js";
import { createMap, fitLonLat } from "./basemap.js";
import { h, table } from "./dom.js";

// viridis at 0, ¼, ½, ¾ and 1, interpolated linearly in between.
const RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

export async function resultsList(app) {
  const { jobs } = await call("/jobs?limit=100");
  const done = jobs.filter((j) => j.status === "finished");
  app.replaceChildren(h("h1", {}, "Results"), done.length ? table(["job", "updated"], done.map((j) => h("tr", {}, h("td", {}, h("a", { href: `#/results/${j.id}` }, j.title || j.id)), h("td", {}, j.updated)))) : h("p", {}, "No finished jobs yet."));
}

// Tiles need the token, so they are fetched by script and handed to the map as blobs.
function authedTiles(tile, src) {
  call(src, { raw: true })
    .then((r) => r.blob())
    .then((blob) => {
      const img = tile.getImage();
      const url = URL.createObjectURL(blob);
      img.onload = () => URL.revokeObjectURL(url);
      img.src = url;
    })
    .catch(() => tile.setState(3));
}

function aggregateNode(graph) {
  return Object.values(graph).find((n) => n.process_id === "aggregate_spatial");
}

function features(geometries) {
  if (!geometries) return [];
  if (geometries.type === "FeatureCollection") return geometries.features;
  if (geometries.type === "Feature") return [geometries];
  return [{ type: "Feature", properties: {}, geometry: geometries }];
}

function colour(v, lo, hi) {
  if (v === null || v === undefined || Number.isNaN(v)) return "rgba(0,0,0,0)";
  const t = Math.min(1, Math.max(0, hi > lo ? (v - lo) / (hi - lo) : 0)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(t));
  const rgb = RAMP[i].map((c, k) => Math.round(c + (RAMP[i + 1][k] - c) * (t - i)));
  return `rgba(${rgb.join(",")},0.85)`;
}

function chart(box, name, dates, values) {
  box.replaceChildren(h("h3", {}, `Polygon ${name}`));
  const xs = dates.map((d) => Date.parse(d) / 1000);
  const opts = { width: 520, height: 220, scales: { x: { time: true } }, series: [{}, { label: "mean", stroke: "#21918c", width: 2, points: { show: true, size: 6 } }] };
  const plot = new uPlot(opts, [xs, values], box);
  box.append(table(["date", "value"], dates.map((d, i) => h("tr", { "data-date": d }, h("td", {}, d), h("td.value", {}, values[i] ?? "null")))));
  return plot;
}

export async function resultPage(app, _timers, id) {
  const job = await call(`/jobs/${id}`);
  const doc = await call(`/jobs/${id}/results`);
  const assets = Object.entries(doc.assets || {}).map(([name, a]) => ({ name, ...a }));
  const rasters = assets.filter((a) => (a.type || "").startsWith("image/tiff")).sort((a, b) => (a.datetime || "").localeCompare(b.datetime || ""));
  const jsons = assets.filter((a) => a.type === "application/json");
  const mapBox = h("div.map#result-map");
  const side = h("div.side");
  const downloads = h("ul", {}, assets.map((a) => h("li", {}, h("a", { href: a.href, download: a.name }, a.name), ` (${a.type || "?"})`)));
  app.replaceChildren(h("h1", {}, "Result of ", h("a", { href: `#/jobs/${id}` }, job.title || id)), h("div.split", {}, mapBox, side), h("h2", {}, "Downloads"), downloads);
  const map = await createMap(mapBox);
  window.eostationMap = map;
  if (doc.extent?.spatial?.bbox?.[0]) fitLonLat(map, doc.extent.spatial.bbox[0]);
  if (rasters.length) {
    const layer = new TileLayer({ properties: { name: "result" } });
    map.addLayer(layer);
    const label = h("span#date-label");
    const stats = h("div.stats");
    const show = (i) => {
      const a = rasters[i];
      label.textContent = a.datetime || a.name;
      layer.setSource(new XYZ({ url: `/tiles/${id}/${encodeURIComponent(a.name)}/{z}/{x}/{y}.png`, tileLoadFunction: authedTiles, transition: 0, interpolate: false }));
      const s = a["raster:bands"]?.[0]?.statistics;
      stats.replaceChildren(s ? `stretch ${s.minimum.toFixed(3)} … ${s.maximum.toFixed(3)} (viridis)` : "");
    };
    const slider = h("input#date-slider", { type: "range", min: 0, max: rasters.length - 1, value: 0, oninput: () => show(Number(slider.value)) });
    side.append(h("h2", {}, "Raster"), h("p", {}, "Date: ", label), rasters.length > 1 ? slider : "", stats);
    show(0);
  }
  if (jsons.length) {
    const node = aggregateNode(job.process.process_graph);
    const series = await fetch(jsons[0].href).then((r) => r.json());
    const dates = Array.isArray(series) ? [] : Object.keys(series).sort();
    const perGeometry = (g) => (Array.isArray(series) ? [series[g]?.[0]] : dates.map((d) => series[d]?.[g]?.[0] ?? null));
    const feats = features(node?.arguments?.geometries).map((f, i) => ({ ...f, id: i, properties: { ...(f.properties || {}), index: i } }));
    const all = feats.flatMap((_, i) => perGeometry(i)).filter((v) => v !== null && v !== undefined);
    const lo = Math.min(...all), hi = Math.max(...all);
    const source = new VectorSource({ features: new GeoJSON().readFeatures({ type: "FeatureCollection", features: feats }, { featureProjection: "EPSG:3857" }) });
    const chartBox = h("div#chart");
    let day = 0; // polygons are coloured by their value on this date
    const vector = new VectorLayer({
      source,
      properties: { name: "polygons" },
      style: (f) => {
        const value = perGeometry(f.get("index"))[day];
        return new Style({ fill: new Fill({ color: colour(value, lo, hi) }), stroke: new Stroke({ color: "#222", width: 1.5 }) });
      },
    });
    const dayLabel = h("span#polygon-date", {}, dates[0] ?? "");
    const daySlider = h("input#polygon-slider", { type: "range", min: 0, max: Math.max(0, dates.length - 1), value: 0, oninput: () => {
      day = Number(daySlider.value);
      dayLabel.textContent = dates[day];
      vector.changed();
    } });
    map.addLayer(vector);
    const select = (i) => chart(chartBox, feats[i].properties.name ?? i, dates, perGeometry(i));
    map.on("singleclick", (e) => map.forEachFeatureAtPixel(e.pixel, (f) => { select(f.get("index")); return true; }, { layerFilter: (l) => l === vector }));
    side.append(h("h2", {}, "Polygons"), dates.length > 1 ? h("p", {}, "Colour by the value on ", dayLabel, h("br"), daySlider) : "",
      h("p.legend", {}, `${lo.toFixed(1)} `, h("span.ramp"), ` ${hi.toFixed(1)}`), h("ul", {}, feats.map((f, i) => h("li", {}, h("a", { href: "#", "data-polygon": i, onclick: (e) => { e.preventDefault(); select(i); } }, `polygon ${f.properties.name ?? i}`)))), chartBox);
    if (source.getFeatures().length) map.getView().fit(source.getExtent(), { padding: [20, 20, 20, 20] });
    if (feats.length) select(0);
  }
}
