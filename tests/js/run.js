// Drives a live eostation server with the official openEO JS client, as the Web Editor does:
// every request carries a foreign Origin (as a browser would send it), so the server must
// refuse to compute before the login and accept after authenticateBasic('local', <secret>).
// Usage: node run.js <server url> <secret>. Prints a JSON summary; exits 1 on any failure.
'use strict';

const axios = require('axios');
const { OpenEO } = require('@openeo/js-client');

const [url, secret] = process.argv.slice(2);
axios.defaults.headers.common['Origin'] = 'https://editor.openeo.org';
axios.defaults.headers.common['Sec-Fetch-Site'] = 'cross-site';

const ADD = (x, y) => ({ process_graph: { a: { process_id: 'add', arguments: { x, y }, result: true } } });
const MEAN_TIFF = {
  process_graph: {
    load: {
      process_id: 'load_collection',
      arguments: {
        id: 'SENTINEL2_L2A',
        spatial_extent: { west: 5.0, south: 51.2, east: 5.01, north: 51.21 },
        temporal_extent: ['2022-06-01', '2022-06-20'],
        bands: ['B04'],
      },
    },
    mean: {
      process_id: 'reduce_dimension',
      arguments: {
        data: { from_node: 'load' },
        dimension: 't',
        reducer: {
          process_graph: {
            m: { process_id: 'mean', arguments: { data: { from_parameter: 'data' } }, result: true },
          },
        },
      },
    },
    save: {
      process_id: 'save_result',
      arguments: { data: { from_node: 'mean' }, format: 'GTiff' },
      result: true,
    },
  },
};

async function readAll(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function main() {
  const out = {};
  const con = await OpenEO.connect(url);
  out.api_version = con.capabilities().apiVersion();
  out.collections = (await con.listCollections()).collections.map((c) => c.id);
  out.s2_bands = (await con.describeCollection('SENTINEL2_L2A'))['cube:dimensions'].bands.values;
  out.processes = (await con.listProcesses()).processes.length;

  try {
    await con.computeResult(ADD(1, 2));
    out.before_login = 'accepted';
  } catch (error) {
    out.before_login = error.code;
  }

  await con.authenticateBasic('local', secret);
  out.user_id = (await con.describeAccount()).user_id;

  const sync = await con.computeResult(ADD(40, 2));
  out.sync_value = JSON.parse((await readAll(sync.data)).toString());
  const tiff = await con.computeResult(MEAN_TIFF);
  out.sync_tiff_magic = (await readAll(tiff.data)).subarray(0, 4).toString('hex');
  out.sync_type = tiff.type;

  const job = await con.createJob(ADD(20, 22), 'js client job');
  await job.startJob();
  for (let i = 0; i < 300; i++) {
    await job.describeJob();
    if (['finished', 'error', 'canceled'].includes(job.status)) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  out.job_status = job.status;
  const assets = await job.listResults();
  out.job_assets = assets.length;
  const download = await axios.get(assets[0].href, { responseType: 'json' });
  out.job_value = download.data;
  out.job_logs = (await job.debugJob().nextLogs()).map((entry) => entry.level);

  await con.setUserProcess('js_add', {
    parameters: [{ name: 'x', schema: { type: 'number' } }],
    process_graph: {
      a: { process_id: 'add', arguments: { x: { from_parameter: 'x' }, y: 1 }, result: true },
    },
  });
  out.udps = (await con.listUserProcesses()).map((p) => p.id);
  const udp = await con.computeResult({
    process_graph: { u: { process_id: 'js_add', namespace: 'user', arguments: { x: 9 }, result: true } },
  });
  out.udp_value = JSON.parse((await readAll(udp.data)).toString());
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((error) => {
  process.stderr.write(`FAILED: ${error.code || ''} ${error.message}\n${error.stack}\n`);
  process.exit(1);
});
