// Process graphs the "New job" form offers as a start.
const AOI = { west: 11.0, south: 46.0, east: 11.02, north: 46.02 };
const load = {
  process_id: "load_collection",
  arguments: { id: "SENTINEL2_L2A", spatial_extent: AOI, temporal_extent: ["2022-06-01", "2022-06-11"], bands: ["B04"] },
};
const mean = { process_graph: { m: { process_id: "mean", arguments: { data: { from_parameter: "data" } }, result: true } } };

export const EXAMPLES = {
  "Mean red (GTiff)": {
    load: load,
    reduce: { process_id: "reduce_dimension", arguments: { data: { from_node: "load" }, dimension: "t", reducer: mean } },
    save: { process_id: "save_result", arguments: { data: { from_node: "reduce" }, format: "GTiff" }, result: true },
  },
  "Time series of two fields (JSON)": {
    load: load,
    agg: {
      process_id: "aggregate_spatial",
      arguments: {
        data: { from_node: "load" },
        geometries: {
          type: "FeatureCollection",
          features: [
            { type: "Feature", properties: { name: "north" }, geometry: { type: "Polygon", coordinates: [[[11.0, 46.01], [11.02, 46.01], [11.02, 46.02], [11.0, 46.02], [11.0, 46.01]]] } },
            { type: "Feature", properties: { name: "south" }, geometry: { type: "Polygon", coordinates: [[[11.0, 46.0], [11.02, 46.0], [11.02, 46.01], [11.0, 46.01], [11.0, 46.0]]] } },
          ],
        },
        reducer: mean,
      },
    },
    save: { process_id: "save_result", arguments: { data: { from_node: "agg" }, format: "JSON" }, result: true },
  },
};
