// vecann through Postgres.js (the `postgres` package) with the pgvector package's
// toSql/fromSql: the `vector` type registered as a custom type (types option, its
// oid looked up first), so sql.typed.vector(...) sends it and results come back as
// arrays; vector[] through the automatic array type support. Postgres.js speaks text
// only. Checks round trips, NULLs, vector[], 2,000 dimensions, HNSW indexes made with
// DDL, exact nearest neighbours and EXPLAIN of the same query using the index.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import pgvector from 'pgvector';
import {
  DIMS, INDEX_SETTINGS, assertExactKnn, assertUsesIndex, assertVectorEqual, bigVector, makeVectors, recreateDatabase,
} from './helpers.mjs';

describe('postgres (Postgres.js) + pgvector', () => {
  let sql;
  const data = makeVectors(undefined, undefined, 201);

  before(async () => {
    const config = await recreateDatabase('vecann_node_postgres');
    const probe = postgres({ ...config, username: config.user, onnotice: () => {} });
    const [{ oid }] = await probe`SELECT 'vector'::regtype::oid AS oid`;
    await probe.end();
    sql = postgres({
      ...config,
      username: config.user,
      onnotice: () => {},
      types: {
        vector: { to: Number(oid), from: [Number(oid)], serialize: pgvector.toSql, parse: pgvector.fromSql },
      },
    });
    await sql`CREATE TABLE items (id int PRIMARY KEY, embedding ${sql.unsafe(`vector(${DIMS})`)})`;
    const rows = data.map((v, i) => ({ id: i + 1, embedding: v }));  // serialized by the vector type
    for (let start = 0; start < rows.length; start += 500) {
      await sql`INSERT INTO items ${sql(rows.slice(start, start + 500), 'id', 'embedding')}`;
    }
    await sql`CREATE INDEX items_embedding_idx ON items USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)`;
    await sql`CREATE INDEX items_embedding_ip_idx ON items USING hnsw (embedding vector_ip_ops)`;
    await sql`ANALYZE items`;
    await sql`CREATE TABLE things (id int PRIMARY KEY, v vector, vs vector[], big vector(2000))`;
  });

  after(async () => {
    await sql?.end();
  });

  test('round trip, NULL, 2,000 dimensions', async () => {
    const big = bigVector();
    await sql`INSERT INTO things (id, v, big) VALUES
      (1, ${sql.typed.vector([1.5, -2.25, 3e-7])}, ${sql.typed.vector(big)}), (2, ${null}, ${null})`;
    const rows = await sql`SELECT v, big, vector_dims(big) AS dims FROM things WHERE id IN (1, 2) ORDER BY id`;
    assertVectorEqual(rows[0].v, [1.5, -2.25, 3e-7]);
    assertVectorEqual(rows[0].big, big);
    assert.equal(rows[0].dims, 2000);
    assert.equal(rows[1].v, null);
    assert.equal(rows[1].big, null);
  });

  test('vector[] columns', async () => {
    await sql`INSERT INTO things (id, vs) VALUES (3, ${sql.array([[1, 2, 3], [4.5, -6]].map(pgvector.toSql))}::vector[])`;
    await sql`INSERT INTO things (id, vs) VALUES (4, ${sql.array([])}::vector[]), (5, NULL)`;
    const rows = await sql`SELECT vs FROM things WHERE id IN (3, 4, 5) ORDER BY id`;
    assert.equal(rows[0].vs.length, 2);
    assertVectorEqual(rows[0].vs[0], [1, 2, 3]);
    assertVectorEqual(rows[0].vs[1], [4.5, -6]);
    assert.deepEqual(rows[1].vs, []);
    assert.equal(rows[2].vs, null);
  });

  test('values read back exactly', async () => {
    const rows = await sql`SELECT embedding FROM items ORDER BY id`;
    rows.forEach((row, i) => assertVectorEqual(row.embedding, data[i]));
  });

  test('dimension errors reach the client', async () => {
    await assert.rejects(sql`SELECT ${sql.typed.vector([1, 2])}::vector(3)`, /expected 3 dimensions, not 2/);
  });

  for (const [metric, op, index] of [['l2', '<->', 'items_embedding_idx'], ['ip', '<#>', 'items_embedding_ip_idx']]) {
    test(`nearest neighbours by ${metric}`, async () => {
      const queries = makeVectors(4, DIMS, 202);
      const knn = (tx, q) => tx`SELECT id FROM items ORDER BY embedding ${tx.unsafe(op)} ${tx.typed.vector(q)} LIMIT 10`;
      const explain = (tx, q) =>
        tx`EXPLAIN SELECT id FROM items ORDER BY embedding ${tx.unsafe(op)} ${tx.typed.vector(q)} LIMIT 10`;
      assertUsesIndex(await explain(sql, queries[0]), index);
      await sql.begin(async (tx) => {
        for (const [name, value] of INDEX_SETTINGS) await tx.unsafe(`SET LOCAL ${name} = ${value}`);
        assertUsesIndex(await explain(tx, queries[0]), index);
        for (const q of queries) {
          assertExactKnn((await knn(tx, q)).map((r) => r.id), data, q, 10, metric);
        }
      });
    });
  }
});
