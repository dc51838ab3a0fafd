// The Node grpc-js client of bench/clients.sh: times each workload against
// one server and prints `workload median_ms [extra] cpu=ms` lines, like
// bench/clients_python.py. Uses examples/node's packages (npm ci there) and
// loads the messages from proto/ at run time.
//
//   [FLOW_WINDOW=bytes] node bench/clients_node.js HOST:PORT RUNS
'use strict';

const path = require('path');
const modules = path.resolve(__dirname, '..', 'examples', 'node', 'node_modules');
const grpc = require(path.join(modules, '@grpc/grpc-js'));
const protoLoader = require(path.join(modules, '@grpc/proto-loader'));

const definition = protoLoader.loadSync('tensorwire/v1/tensorwire.proto', {
  includeDirs: [path.resolve(__dirname, '..', 'proto')],
  keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true,
});
const { TensorService } = grpc.loadPackageDefinition(definition).tensorwire.v1;
const [address, runsText] = process.argv.slice(2);
const runs = Number(runsText || 5);
const options = {
  'grpc.max_receive_message_length': 1 << 30,
  'grpc.max_send_message_length': 1 << 30,
};
// FLOW_WINDOW=bytes sets grpc-js's HTTP/2 receive window (its default is
// 64 KiB): bench/clients.sh's FLOOR mode shows what the stock window costs.
if (process.env.FLOW_WINDOW) options['grpc-node.flow_control_window'] = Number(process.env.FLOW_WINDOW);
const client = new TensorService(address, grpc.credentials.createInsecure(), options);
const PIECE = 1 << 20;
const deadline = () => ({ deadline: Date.now() + 600_000 });

function randomBytes(n, seed) {
  const buf = Buffer.alloc(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i += 4) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    buf.writeUInt32LE(s, i);
  }
  return buf;
}
// int32 values 0..255 and float32 values in [0, 1), as the Python client uses.
function seedImage() {
  const buf = Buffer.alloc(1024 * 768 * 3 * 4);
  const r = randomBytes(1024 * 768 * 3 * 4, 7);
  for (let i = 0; i < buf.length; i += 4) buf.writeInt32LE(r[i], i);
  return buf;
}
function floats(n, seed) {
  const buf = Buffer.alloc(n * 4);
  const r = randomBytes(n * 4, seed);
  for (let i = 0; i < n; i += 1) buf.writeFloatLE(r.readUInt32LE(i * 4) / 2 ** 32, i * 4);
  return buf;
}

function unary(dtype, shape, data, sigma) {
  return new Promise((resolve, reject) => {
    client.GaussianFilter({ tensor: { dtype, shape, data }, params: { sigma: [sigma] } }, deadline(),
      (err, answer) => (err ? reject(err) : resolve(answer)));
  }).then((answer) => { if (answer.data.length !== data.length) throw new Error('wrong answer size'); });
}

function download(data, shape) {
  return new Promise((resolve, reject) => {
    const call = client.GaussianFilterStream(deadline());
    let received = 0; let first = 0; let messages = 0;
    call.on('data', (m) => {
      messages += 1;
      if (m.part !== 'data') return;
      if (first === 0) first = process.hrtime.bigint();
      else received += m.data.length;
    });
    call.on('error', reject);
    call.on('end', () => {
      const seconds = Number(process.hrtime.bigint() - first) / 1e9;
      resolve(received / seconds / 2 ** 30);
    });
    call.write({ start: { header: { dtype: 'DTYPE_FLOAT32', shape }, params: { sigma: [0] } } });
    for (let i = 0; i < data.length; i += PIECE) call.write({ data: data.subarray(i, i + PIECE) });
    call.end();
  });
}

function upload(data) {
  return new Promise((resolve, reject) => {
    const call = client.DescribeStream(deadline(), (err, info) => {
      if (err) reject(err); else if (info.nbytes !== data.length) reject(new Error('wrong size')); else resolve();
    });
    call.write({ header: { dtype: 'DTYPE_UINT8', shape: [data.length] } });
    // Respect back-pressure: write the next piece when the stream drains.
    let i = 0;
    const pump = () => {
      while (i < data.length) {
        const ok = call.write({ data: data.subarray(i, i + PIECE) });
        i += PIECE;
        if (!ok) { call.once('drain', pump); return; }
      }
      call.end();
    };
    pump();
  });
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

async function main() {
  const seed = seedImage();
  const big = floats(2048 * 2048, 11);
  const down = floats(8192 * 8192, 13);
  const up = randomBytes(1 << 30, 17);
  const workloads = [
    ['seed', () => unary('DTYPE_INT32', [1024, 768, 3], seed, 0.5), runs],
    ['big', () => unary('DTYPE_FLOAT32', [2048, 2048], big, 8.0), runs],
    ['download', () => download(down, [8192, 8192]), Math.max(3, Math.floor(runs / 2))],
    ['upload', () => upload(up), 3],
  ];
  for (const [name, call, n] of workloads) {
    await call();
    const times = []; const extras = [];
    const cpu = process.cpuUsage();
    for (let k = 0; k < n; k += 1) {
      const t = process.hrtime.bigint();
      const extra = await call();
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (extra !== undefined) extras.push(extra);
    }
    const used = process.cpuUsage(cpu);
    let line = `${name} ${median(times).toFixed(1)}`;
    if (extras.length) line += ` ${median(extras).toFixed(2)}`;
    // This process's CPU (all threads) per call: what the client itself costs.
    line += ` cpu=${((used.user + used.system) / 1e3 / n).toFixed(1)}`;
    console.log(line);
  }
  client.close();
}

main().catch((err) => { console.error(err); process.exit(1); });
