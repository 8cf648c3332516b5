// vecann through node-postgres (pg) with the pgvector package's pg helper
// (registerTypes, toSql), in text and binary formats: binary parameters are Buffers in
// pgvector's wire format, binary results come through setTypeParser(oid, 'binary').
// Checks round trips, NULLs, vector[] (text and binary), 2,000 dimensions, HNSW
// indexes made with DDL, exact nearest neighbours, EXPLAIN using the index.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { fromSql } from 'pgvector';
import pgvector from 'pgvector/pg';
import {
  DIMS, INDEX_SETTINGS, assertExactKnn, assertUsesIndex, assertVectorEqual, bigVector, makeVectors,
  recreateDatabase, vectorArrayFromBinary, vectorArrayToBinary, vectorFromBinary, vectorOids, vectorToBinary,
} from './helpers.mjs';

const parseTextArray = pg.types.getTypeParser(1009, 'text');  // text[]: splits and unquotes elements

describe('pg + pgvector/pg', () => {
  let client;
  let oids;
  const data = makeVectors(undefined, undefined, 101);

  before(async () => {
    client = new pg.Client(await recreateDatabase('vecann_node_pg'));
    await client.connect();
    await pgvector.registerTypes(client);  // vector -> number[] (text results)
    oids = await vectorOids(client);
    client.setTypeParser(oids.oid, 'binary', vectorFromBinary);
    client.setTypeParser(oids.arrayOid, 'text',
      (text) => parseTextArray(text).map((v) => fromSql(v)));
    client.setTypeParser(oids.arrayOid, 'binary', vectorArrayFromBinary);

    await client.query(`CREATE TABLE items (id int PRIMARY KEY, embedding vector(${DIMS}))`);
    for (let start = 0; start < data.length; start += 500) {
      const chunk = data.slice(start, start + 500);
      await client.query('INSERT INTO items SELECT * FROM unnest($1::int[], $2::vector[])',
        [chunk.map((_, i) => start + i + 1), chunk.map((v) => pgvector.toSql(v))]);
    }
    await client.query('CREATE INDEX items_embedding_idx ON items USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)');
    await client.query('CREATE INDEX items_embedding_cos_idx ON items USING hnsw (embedding vector_cosine_ops)');
    await client.query('ANALYZE items');
    await client.query('CREATE TABLE things (id int PRIMARY KEY, v vector, vs vector[], big vector(2000))');
  });

  after(async () => {
    await client?.end();
  });

  test('text round trip, NULL', async () => {
    await client.query('INSERT INTO things (id, v) VALUES ($1, $2), ($3, $4)',
      [1, pgvector.toSql([1.5, -2.25, 3e-7]), 2, null]);
    const { rows } = await client.query('SELECT v FROM things WHERE id IN (1, 2) ORDER BY id');
    assertVectorEqual(rows[0].v, [1.5, -2.25, 3e-7]);
    assert.equal(rows[1].v, null);
  });

  test('binary parameters and binary results', async () => {
    await client.query('INSERT INTO things (id, v) VALUES ($1, $2)', [3, vectorToBinary([0.25, -8, 1e-7])]);
    const { rows } = await client.query({ text: 'SELECT id, v FROM things WHERE id = 3', binary: true });
    assert.equal(rows[0].id, 3);
    assertVectorEqual(rows[0].v, [0.25, -8, 1e-7]);
    const text = await client.query('SELECT v::text AS t FROM things WHERE id = 3');
    assert.equal(text.rows[0].t, '[0.25,-8,1e-07]');
  });

  test('vector[] in text and binary', async () => {
    const value = [[1, 2, 3], null, [4.5, -6]];
    await client.query('INSERT INTO things (id, vs) VALUES ($1, $2)', [4, value.map((v) => pgvector.toSql(v))]);
    await client.query('INSERT INTO things (id, vs) VALUES ($1, $2)', [5, vectorArrayToBinary(value, oids.oid)]);
    for (const binary of [false, true]) {
      const { rows } = await client.query({ text: 'SELECT vs FROM things WHERE id IN (4, 5) ORDER BY id', binary });
      for (const row of rows) {
        assert.equal(row.vs.length, 3);
        assertVectorEqual(row.vs[0], [1, 2, 3]);
        assert.equal(row.vs[1], null);
        assertVectorEqual(row.vs[2], [4.5, -6]);
      }
    }
  });

  test('2,000 dimensions in text and binary', async () => {
    const big = bigVector();
    await client.query('INSERT INTO things (id, big) VALUES ($1, $2), ($3, $4)',
      [6, pgvector.toSql(big), 7, vectorToBinary(big)]);
    for (const binary of [false, true]) {
      const { rows } = await client.query({ text: 'SELECT big FROM things WHERE id IN (6, 7) ORDER BY id', binary });
      rows.forEach((row) => assertVectorEqual(row.big, big));
    }
  });

  test('dimension errors reach the client', async () => {
    await assert.rejects(client.query('SELECT $1::vector(3)', [pgvector.toSql([1, 2])]), /expected 3 dimensions, not 2/);
  });

  for (const [metric, op, index] of [['l2', '<->', 'items_embedding_idx'], ['cosine', '<=>', 'items_embedding_cos_idx']]) {
    test(`nearest neighbours by ${metric}, text and binary query vectors`, async () => {
      const sql = `SELECT id FROM items ORDER BY embedding ${op} $1 LIMIT 10`;
      const queries = makeVectors(4, DIMS, 102);
      assertUsesIndex((await client.query(`EXPLAIN ${sql}`, [pgvector.toSql(queries[0])])).rows, index);
      for (const [name, value] of INDEX_SETTINGS) await client.query(`SET ${name} = ${value}`);
      try {
        assertUsesIndex((await client.query(`EXPLAIN ${sql}`, [vectorToBinary(queries[0])])).rows, index);
        for (const q of queries) {
          const text = await client.query(sql, [pgvector.toSql(q)]);
          assertExactKnn(text.rows.map((r) => r.id), data, q, 10, metric);
          const binary = await client.query({ name: `knn_${metric}`, text: sql, values: [vectorToBinary(q)] });
          assert.deepEqual(binary.rows, text.rows);
        }
      } finally {
        await client.query('RESET ALL');
      }
    });
  }

  test('values read back exactly', async () => {
    const { rows } = await client.query({ text: 'SELECT embedding FROM items ORDER BY id', binary: true });
    rows.forEach((row, i) => assertVectorEqual(row.embedding, data[i]));
  });
});
