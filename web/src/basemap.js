// The map every page shares: the shipped offline world layer, online tiles only when configured.
import Map from "ol/Map.js";
import View from "ol/View.js";
import GeoJSON from "ol/format/GeoJSON.js";
import TileLayer from "ol/layer/Tile.js";
import VectorLayer from "ol/layer/Vector.js";
import VectorSource from "ol/source/Vector.js";
import XYZ from "ol/source/XYZ.js";
import { Fill, Stroke, Style } from "ol/style.js";
import { defaults as defaultControls } from "ol/control/defaults.js";
import { transformExtent } from "ol/proj.js";

let settings = null;

async function dashboardSettings() {
  if (settings === null) {
    settings = await fetch("/dashboard/settings.json").then((r) => r.json()).catch(() => ({}));
  }
  return settings;
}

export async function createMap(target) {
  const layers = [
    new VectorLayer({
      source: new VectorSource({ url: "/dashboard/world.geojson", format: new GeoJSON() }),
      style: new Style({ fill: new Fill({ color: "#e4e1d6" }), stroke: new Stroke({ color: "#b9b4a5", width: 0.5 }) }),
      properties: { name: "world" },
    }),
  ];
  const conf = await dashboardSettings();
  if (conf.base_map_url) {
    layers.unshift(new TileLayer({ source: new XYZ({ url: conf.base_map_url, attributions: conf.base_map_attribution }) }));
  }
  const map = new Map({
    target,
    layers,
    controls: defaultControls({ attribution: Boolean(conf.base_map_url) }),
    view: new View({ center: [0, 2e6], zoom: 2 }),
  });
  target.style.background = "#cfe0ea";
  return map;
}

export function fitLonLat(map, bbox, maxZoom = 14) {
  const extent = transformExtent(bbox, "EPSG:4326", "EPSG:3857");
  map.getView().fit(extent, { padding: [20, 20, 20, 20], maxZoom });
}
