// Collections: the list, extents on the map, band tables, and a quicklook of a drawn box.
import Feature from "ol/Feature.js";
import { fromExtent } from "ol/geom/Polygon.js";
import Draw, { createBox } from "ol/interaction/Draw.js";
import ImageLayer from "ol/layer/Image.js";
import VectorLayer from "ol/layer/Vector.js";
import ImageStatic from "ol/source/ImageStatic.js";
import VectorSource from "ol/source/Vector.js";
import { transformExtent } from "ol/proj.js";
import { Stroke, Style } from "ol/style.js";
import { call, imageUrl } from "./api.js";
import { createMap, fitLonLat } from "./basemap.js";
import { h, table } from "./dom.js";

function bands(c) {
  const eo = c.summaries?.["eo:bands"];
  if (eo) return eo.map((b) => [b.name, b.common_name ?? "", b.center_wavelength ?? "", b.description ?? ""]);
  const dim = Object.values(c["cube:dimensions"] || {}).find((d) => d.type === "bands");
  return (dim?.values || []).map((n) => [n, "", "", ""]);
}

export async function collectionsPage(app) {
  const { collections } = await call("/collections");
  const mapBox = h("div.map#collections-map");
  const info = h("div.side");
  const list = h("ul.collections", {}, collections.map((c) => h("li", {}, h("a", { href: "#", "data-collection": c.id, onclick: (e) => { e.preventDefault(); pick(c.id); } }, c.id), " ", c.title || "")));
  app.replaceChildren(h("h1", {}, "Collections"), h("div.split", {}, h("div", {}, list, mapBox), info));
  const map = await createMap(mapBox);
  window.eostationMap = map;
  const extents = new VectorSource();
  map.addLayer(new VectorLayer({ source: extents, style: new Style({ stroke: new Stroke({ color: "#c0392b", width: 2 }) }) }));
  const drawn = new VectorSource();
  map.addLayer(new VectorLayer({ source: drawn, style: new Style({ stroke: new Stroke({ color: "#1f4e79", width: 2, lineDash: [6, 4] }) }) }));
  const quick = new ImageLayer({ properties: { name: "quicklook" } });
  map.addLayer(quick);
  let current = null;
  let draw = null;

  async function pick(id) {
    const c = await call(`/collections/${id}`);
    current = c;
    extents.clear();
    const bbox = c.extent?.spatial?.bbox?.[0];
    if (bbox) {
      const clipped = [bbox[0], Math.max(bbox[1], -85), bbox[2], Math.min(bbox[3], 85)];
      extents.addFeature(new Feature(fromExtent(transformExtent(clipped, "EPSG:4326", "EPSG:3857"))));
    }
    const interval = c.extent?.temporal?.interval?.[0] || [];
    const names = bands(c).map((b) => b[0]);
    const date = h("input#ql-date", { type: "date", value: "2022-06-01" });
    const band = h("select#ql-band", {}, names.map((n) => h("option", { value: n }, n)));
    const drawBtn = h("button#draw-bbox", { onclick: () => startDraw(date, band) }, "Draw a box for a quicklook");
    info.replaceChildren(h("h2", {}, c.id), h("p", {}, c.description?.slice(0, 300) || ""),
      h("p", {}, `Time: ${interval[0] ?? "…"} – ${interval[1] ?? "open"}`),
      h("h3", {}, "Quicklook"), h("p", {}, "Date ", date, " band ", band, " ", drawBtn), h("div#quicklook"),
      h("h3", {}, "Bands"),
      table(["band", "common name", "wavelength (µm)", "description"], bands(c).map((r) => h("tr", {}, r.map((x) => h("td", {}, x))))));
    if (names.includes("B04")) band.value = "B04";
  }

  function startDraw(date, band) {
    if (draw) map.removeInteraction(draw);
    drawn.clear();
    draw = new Draw({ source: drawn, type: "Circle", geometryFunction: createBox() });
    draw.on("drawend", async (e) => {
      map.removeInteraction(draw);
      draw = null;
      const ext = transformExtent(e.feature.getGeometry().getExtent(), "EPSG:3857", "EPSG:4326");
      const bbox = ext.map((v) => v.toFixed(5)).join(",");
      const box = document.getElementById("quicklook");
      box.replaceChildren("rendering…");
      try {
        const url = await imageUrl(`/quicklooks/${current.id}.png?bbox=${bbox}&date=${date.value}&bands=${band.value}`);
        box.replaceChildren(h("img#quicklook-img", { src: url, alt: "quicklook" }));
        quick.setSource(new ImageStatic({ url, imageExtent: e.feature.getGeometry().getExtent() }));
      } catch (err) {
        box.replaceChildren(h("p.error", {}, err.message));
      }
    });
    map.addInteraction(draw);
  }
  if (collections.length) await pick(collections[0].id);
  window.eostationFit = (b) => fitLonLat(map, b);
}
