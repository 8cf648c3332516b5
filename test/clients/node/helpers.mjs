// Shared helpers for the Node.js client tests of vecann (run by test/clients/run.sh):
// where the scratch server is (libpq environment: PGHOST, PGPORT, PGUSER), a fresh
// database per test file, reproducible float32 vectors, exact nearest neighbours to
// check index answers against, pgvector's binary wire format, and a Knex pool whose
// connections parse vector and vector[] (Knex and Objection).
import assert from 'node:assert/strict';
import pg from 'pg';
import pgvector from 'pgvector';
import pgvectorPg from 'pgvector/pg';

export const DIMS = 16;
export const ROWS = 3000;
// Answers are checked against exact ones with these settings: a candidate list this
// long makes the HNSW scan exact on ROWS rows of DIMS dimensions, and with it the
// planner would rightly prefer a sequential scan on so small a table, so sequential
// scans are disabled to make the index answer. Plans are checked under the default
// settings too, where the planner picks the index by itself.
export const INDEX_SETTINGS = [['vecann.ef_search', '400'], ['enable_seqscan', 'off']];

export function serverConfig() {
  if (!process.env.PGHOST || !process.env.PGPORT) {
    throw new Error('set PGHOST and PGPORT (test/clients/run.sh starts a scratch server)');
  }
  return { host: process.env.PGHOST, port: Number(process.env.PGPORT), user: process.env.PGUSER || 'postgres' };
}

// Drops and creates database `name` (with CREATE EXTENSION vecann unless told not to);
// returns connection settings for it.
export async function recreateDatabase(name, { extension = true } = {}) {
  const admin = new pg.Client({ ...serverConfig(), database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const config = { ...serverConfig(), database: name };
  if (extension) {
    const client = new pg.Client(config);
    await client.connect();
    try {
      await client.query('CREATE EXTENSION vecann');
    } finally {
      await client.end();
    }
  }
  return config;
}

// Reproducible vectors whose components are float32 values (so they survive a round
// trip exactly), uniform in [-1, 1).
export function makeVectors(rows = ROWS, dims = DIMS, seed = 7) {
  let state = seed >>> 0;
  const next = () => {  // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: rows }, () => Array.from({ length: dims }, () => Math.fround(next() * 2 - 1)));
}

// Distances as the operators define them: l2 <->, ip <#>, cosine <=>.
export function distance(a, b, metric) {
  let dot = 0, na = 0, nb = 0, sq = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
    sq += (a[i] - b[i]) ** 2;
  }
  if (metric === 'l2') return Math.sqrt(sq);
  if (metric === 'ip') return -dot;
  if (metric === 'cosine') return 1 - dot / Math.sqrt(na * nb);
  throw new Error(metric);
}

// ids must be the k rows of `data` nearest to `query`, closest first. Row i of data
// has id i + 1 unless rowOf says otherwise. Distances are compared, not ids, so rows
// at the same distance may come in either order.
export function assertExactKnn(ids, data, query, k, metric, rowOf = (id) => id - 1) {
  assert.equal(ids.length, k, `expected ${k} rows, got ${ids.length}`);
  const got = ids.map((id) => distance(data[rowOf(Number(id))], query, metric));
  const want = data.map((v) => distance(v, query, metric)).sort((x, y) => x - y).slice(0, k);
  for (let i = 0; i < k; i++) {
    if (i > 0) assert.ok(got[i] >= got[i - 1] - 1e-6, `rows not in distance order: ${got}`);
    assert.ok(Math.abs(got[i] - want[i]) <= 1e-6 + 1e-5 * Math.abs(want[i]),
      `row ${i}: distance ${got[i]}, the exact ${i + 1}th nearest is at ${want[i]}`);
  }
}

// EXPLAIN output (text, or rows of { 'QUERY PLAN': ... }) shows an index scan on indexName.
export function assertUsesIndex(plan, indexName) {
  const text = typeof plan === 'string' ? plan
    : plan.map((row) => (typeof row === 'string' ? row : Object.values(row)[0])).join('\n');
  assert.ok(text.includes(`Index Scan using ${indexName}`), text);
}

// A vector read back equals the float32 values written.
export function assertVectorEqual(got, want) {
  assert.ok(got !== null && got !== undefined, 'vector is null');
  assert.deepEqual(Array.from(got, Math.fround), Array.from(want, Math.fround));
}

// pgvector's binary format: int16 dims, int16 0, float4 x dims, big-endian.
export function vectorToBinary(values) {
  const buf = Buffer.alloc(4 + 4 * values.length);
  buf.writeInt16BE(values.length, 0);
  buf.writeInt16BE(0, 2);
  values.forEach((x, i) => buf.writeFloatBE(x, 4 + 4 * i));
  return buf;
}

export function vectorFromBinary(buf) {
  const dims = buf.readInt16BE(0);
  assert.equal(buf.readInt16BE(2), 0);
  return Array.from({ length: dims }, (_, i) => buf.readFloatBE(4 + 4 * i));
}

// A one-dimensional array in PostgreSQL's binary array format (array_send/array_recv).
export function vectorArrayToBinary(vectors, elementOid) {
  const parts = [];
  const header = Buffer.alloc(20);
  header.writeInt32BE(1, 0);  // dimensions
  header.writeInt32BE(vectors.some((v) => v === null) ? 1 : 0, 4);
  header.writeUInt32BE(elementOid, 8);
  header.writeInt32BE(vectors.length, 12);
  header.writeInt32BE(1, 16);  // lower bound
  parts.push(header);
  for (const v of vectors) {
    const len = Buffer.alloc(4);
    if (v === null) {
      len.writeInt32BE(-1, 0);
      parts.push(len);
    } else {
      const body = vectorToBinary(v);
      len.writeInt32BE(body.length, 0);
      parts.push(len, body);
    }
  }
  return Buffer.concat(parts);
}

export function vectorArrayFromBinary(buf) {
  const ndim = buf.readInt32BE(0);
  if (ndim === 0) return [];
  assert.equal(ndim, 1);
  const count = buf.readInt32BE(12);
  const out = [];
  let pos = 20;
  for (let i = 0; i < count; i++) {
    const len = buf.readInt32BE(pos);
    pos += 4;
    if (len < 0) {
      out.push(null);
    } else {
      out.push(vectorFromBinary(buf.subarray(pos, pos + len)));
      pos += len;
    }
  }
  return out;
}

// The oids of vector and vector[] in a database.
export async function vectorOids(client) {
  const { rows } = await client.query("SELECT 'vector'::regtype::oid AS oid, 'vector[]'::regtype::oid AS array_oid");
  return { oid: Number(rows[0].oid), arrayOid: Number(rows[0].array_oid) };
}

export function bigVector(seed = 99) {
  return makeVectors(1, 2000, seed)[0];
}

// Knex pool settings (one connection) that register pgvector's parsers for vector,
// halfvec and sparsevec and a vector[] parser on each new connection, once the
// extension exists in the database (before that, connections get none).
const parseTextArray = pg.types.getTypeParser(1009, 'text');
export function vectorKnexPool() {
  return {
    min: 1,
    max: 1,
    afterCreate: (conn, done) => {
      conn.query("SELECT to_regtype('vector[]')::oid AS array_oid", (err, result) => {
        if (err || result.rows[0].array_oid === null) return done(err, conn);
        conn.setTypeParser(Number(result.rows[0].array_oid), 'text',
          (text) => parseTextArray(text).map((v) => pgvector.fromSql(v)));
        pgvectorPg.registerTypes(conn).then(() => done(null, conn), (e) => done(e, conn));
      });
    },
  };
}
