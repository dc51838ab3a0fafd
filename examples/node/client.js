#!/usr/bin/env node
// A tensorwire client in Node.js: @grpc/grpc-js, with the messages loaded from
// proto/ at run time by @grpc/proto-loader (no generated or hand-written
// message code).
//
//   cd examples/node && npm ci
//   node client.js [HOST:PORT]        # or TENSORWIRE_GRPC=HOST:PORT
//
// Calls Describe, GaussianFilterStream (header then data pieces, answer
// reassembled) and ImageSize, checks each answer, and exits non-zero when one
// is wrong.
'use strict';

const path = require('path');
const zlib = require('zlib');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_ROOT = path.resolve(__dirname, '..', '..', 'proto');
const definition = protoLoader.loadSync('tensorwire/v1/tensorwire.proto', {
  includeDirs: [PROTO_ROOT],
  keepCase: true, // field names as in the .proto (dtype_name, not dtypeName)
  longs: Number, // uint64 shape/nbytes as JS numbers (exact below 2^53)
  enums: String, // 'DTYPE_FLOAT64', 'MODE_CONSTANT'
  defaults: true,
  oneofs: true, // message.part names the field of the oneof that is set
});
const { TensorService } = grpc.loadPackageDefinition(definition).tensorwire.v1;

const address = process.argv[2] || process.env.TENSORWIRE_GRPC || '127.0.0.1:50051';
const client = new TensorService(address, grpc.credentials.createInsecure(), {
  'grpc.max_receive_message_length': 64 << 20,
  'grpc.max_send_message_length': 64 << 20,
});
// With API keys on, pass metadata on each call:
//   const md = new grpc.Metadata(); md.set('authorization', 'Bearer KEY');
const deadline = () => ({ deadline: Date.now() + 30_000 });

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures += 1;
}
const close = (a, b, tol) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

// Unary calls as promises.
function unary(method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, deadline(), (err, answer) => (err ? reject(err) : resolve(answer)));
  });
}

// Little-endian float64 bytes <-> Float64Array.
function f64Bytes(values) {
  const buf = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => buf.writeDoubleLE(v, i * 8));
  return buf;
}
function f64Values(buf) {
  const out = new Float64Array(buf.length / 8);
  for (let i = 0; i < out.length; i += 1) out[i] = buf.readDoubleLE(i * 8);
  return out;
}

// GaussianFilterStream: start (header + parameters) first, then data pieces of
// any size; the answer is a header then data pieces, concatenated here.
function gaussianFilterStream(header, params, data, pieceBytes) {
  return new Promise((resolve, reject) => {
    const call = client.GaussianFilterStream(deadline());
    let answerHeader = null;
    const pieces = [];
    let messages = 0;
    call.on('data', (m) => {
      messages += 1;
      if (m.part === 'header') answerHeader = m.header;
      else if (answerHeader === null) reject(new Error('answer data before its header'));
      else pieces.push(m.data);
    });
    call.on('error', reject);
    call.on('end', () => resolve({ header: answerHeader, data: Buffer.concat(pieces), messages }));
    call.write({ start: { header, params } });
    for (let i = 0; i < data.length; i += pieceBytes) {
      call.write({ data: data.subarray(i, i + pieceBytes) });
    }
    call.end();
  });
}

// A grey 8-bit PNG of the given size, built by hand.
function png(width, height) {
  const table = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (buf) => {
    let c = 0xffffffff;
    for (const byte of buf) c = table[(c ^ byte) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, body) => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    const typed = Buffer.concat([Buffer.from(type, 'ascii'), body]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typed));
    return Buffer.concat([head, typed, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // bit depth 8, grey, deflate, no filter, no interlace
  const rows = Buffer.alloc((width + 1) * height); // filter byte 0 + zero pixels per row
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

async function main() {
  console.log(`tensorwire at ${address}`);

  // Describe: float32 [1.0, 2.0].
  const f32 = Buffer.alloc(8);
  f32.writeFloatLE(1.0, 0);
  f32.writeFloatLE(2.0, 4);
  const info = await unary('Describe', { dtype: 'DTYPE_FLOAT32', shape: [2], data: f32 });
  check(info.dtype === 'DTYPE_FLOAT32' && info.dtype_name === 'float32', `Describe dtype ${info.dtype_name}`);
  check(info.nbytes === 8 && info.size === 2 && info.shape.join() === '2', `Describe shape [${info.shape}] nbytes ${info.nbytes}`);
  check(info.min === 1 && info.max === 2 && info.mean === 1.5, `Describe min ${info.min} max ${info.max} mean ${info.mean}`);

  // GaussianFilterStream of a constant: the answer is that constant (any mode
  // that extends the edge with the data: reflect, nearest, mirror, wrap).
  const n = 512; // 512 x 512 float64 = 2 MiB: several pieces each way
  const constant = f64Bytes(new Array(n * n).fill(2.5));
  const flat = await gaussianFilterStream(
    { dtype: 'DTYPE_FLOAT64', shape: [n, n] },
    { sigma: [3.0], mode: ['MODE_NEAREST'] },
    constant,
    100_003,
  );
  check(flat.header && flat.header.dtype === 'DTYPE_FLOAT64' && flat.header.shape.join() === `${n},${n}`,
    `GaussianFilterStream header ${flat.header && flat.header.dtype} [${flat.header && flat.header.shape}], ${flat.messages} messages`);
  check(flat.data.length === n * n * 8, `GaussianFilterStream answer has ${flat.data.length} bytes`);
  const flatValues = f64Values(flat.data);
  check(flatValues.every((v) => close(v, 2.5, 1e-14)), 'filter of a constant is the constant');

  // A delta impulse with mode constant: the answer is the 2-D kernel, the
  // outer product of scipy's 1-D kernel k[x] = exp(-x²/2σ²) / Σ exp(-x²/2σ²),
  // radius int(4σ + 0.5); it sums to 1 and is symmetric.
  const m = 33;
  const c = 16;
  const sigma = 2.0;
  const delta = new Array(m * m).fill(0);
  delta[c * m + c] = 1;
  const impulse = await gaussianFilterStream(
    { dtype: 'DTYPE_FLOAT64', shape: [m, m] },
    { sigma: [sigma], mode: ['MODE_CONSTANT'], cval: 0 },
    f64Bytes(delta),
    1000,
  );
  const k = f64Values(impulse.data);
  const radius = Math.floor(4 * sigma + 0.5);
  const weights = [];
  for (let x = -radius; x <= radius; x += 1) weights.push(Math.exp((-0.5 / (sigma * sigma)) * x * x));
  const total = weights.reduce((a, b) => a + b, 0);
  const k1 = weights.map((w) => w / total);
  let sum = 0;
  let worst = 0;
  for (let y = 0; y < m; y += 1) {
    for (let x = 0; x < m; x += 1) {
      const dy = y - c;
      const dx = x - c;
      const want = Math.abs(dy) <= radius && Math.abs(dx) <= radius ? k1[dy + radius] * k1[dx + radius] : 0;
      worst = Math.max(worst, Math.abs(k[y * m + x] - want));
      sum += k[y * m + x];
    }
  }
  check(worst < 1e-15, `filter of a delta is the Gaussian kernel (largest difference ${worst.toExponential(2)})`);
  check(close(sum, 1, 1e-12), `the kernel sums to 1 (${sum})`);
  check(k[c * m + c] === Math.max(...k), `the centre is the peak (${k[c * m + c]})`);

  // ImageSize of a 13 x 7 PNG.
  const size = await unary('ImageSize', { data: png(13, 7), filename: 'grey.png' });
  check(size.format === 'png' && size.width === 13 && size.height === 7,
    `ImageSize ${size.format} ${size.width}x${size.height} ${size.color_type}`);

  // Errors are gRPC statuses with a message.
  try {
    await unary('ImageSize', { data: Buffer.from('not an image') });
    check(false, 'ImageSize of garbage is refused');
  } catch (err) {
    check(err.code === grpc.status.INVALID_ARGUMENT, `ImageSize of garbage: INVALID_ARGUMENT: ${err.details}`);
  }
}

main()
  .catch((err) => {
    console.error(`FAIL ${err.code !== undefined ? `gRPC status ${err.code}: ${err.details}` : err.stack}`);
    failures += 1;
  })
  .finally(() => {
    client.close();
    console.log(failures === 0 ? 'node client: all checks passed' : `node client: ${failures} check(s) failed`);
    process.exitCode = failures === 0 ? 0 : 1;
  });
