// vecann through pg-promise with the pgvector package's pg-promise helper
// (registerTypes on every new connection, toSql for parameters). pg-promise
// formats parameters into the SQL text itself, so every vector goes to the
// server as a literal. Checks round trips, NULLs, 2,000 dimensions, a bulk
// insert made with pgp.helpers.insert and a ColumnSet, exact nearest
// neighbours for each operator inside db.tx() with pgvector's setting name
// (SET LOCAL hnsw.ef_search), EXPLAIN of the formatted query, and errors in
// pgvector's words with their SQLSTATE.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pgPromise from 'pg-promise';
import pgvector from 'pgvector/pg-promise';
import {
  DIMS, assertExactKnn, assertUsesIndex, assertVectorEqual, bigVector, makeVectors, recreateDatabase,
} from './helpers.mjs';

describe('pg-promise + pgvector/pg-promise', () => {
  const pgp = pgPromise({ async connect(e) { await pgvector.registerTypes(e.client); } });
  let db;
  const data = makeVectors(undefined, undefined, 501);

  before(async () => {
    db = pgp(await recreateDatabase('vecann_node_pg_promise'));
    await db.none(`CREATE TABLE items (id int PRIMARY KEY, embedding vector(${DIMS}))`);
    const columns = new pgp.helpers.ColumnSet(['id', 'embedding'], { table: 'items' });
    await db.none(pgp.helpers.insert(data.map((v, i) => ({ id: i + 1, embedding: pgvector.toSql(v) })), columns));
    await db.none('CREATE INDEX items_embedding_idx ON items USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)');
    await db.none('CREATE INDEX items_embedding_cos_idx ON items USING hnsw (embedding vector_cosine_ops)');
    await db.none('CREATE INDEX items_embedding_ip_idx ON items USING hnsw (embedding vector_ip_ops)');
    await db.none('ANALYZE items');
  });

  after(() => pgp.end());

  test('round trip, NULL, 2,000 dimensions', async () => {
    const big = bigVector();
    const rows = await db.any('SELECT $1::vector AS a, $2::vector AS b, $3::vector AS c',
      [pgvector.toSql([1.5, -2.25, 3e-7]), null, pgvector.toSql(big)]);
    assertVectorEqual(rows[0].a, [1.5, -2.25, 3e-7]);
    assert.equal(rows[0].b, null);
    assertVectorEqual(rows[0].c, big);
  });

  test('values read back exactly', async () => {
    const rows = await db.any('SELECT embedding FROM items ORDER BY id');
    rows.forEach((row, i) => assertVectorEqual(row.embedding, data[i]));
  });

  for (const [metric, op, index] of [['l2', '<->', 'items_embedding_idx'], ['cosine', '<=>', 'items_embedding_cos_idx'],
    ['ip', '<#>', 'items_embedding_ip_idx']]) {
    test(`nearest neighbours by ${metric}`, async () => {
      const queries = makeVectors(4, DIMS, 502);
      const sql = `SELECT id FROM items ORDER BY embedding ${op} $1 LIMIT 10`;
      assertUsesIndex(await db.any(`EXPLAIN ${sql}`, [pgvector.toSql(queries[0])]), index);
      await db.tx(async (t) => {
        await t.none('SET LOCAL hnsw.ef_search = 400');
        await t.none('SET LOCAL enable_seqscan = off');
        for (const q of queries) {
          assertExactKnn((await t.any(sql, [pgvector.toSql(q)])).map((r) => r.id), data, q, 10, metric);
        }
      });
      assert.equal((await db.one('SHOW vecann.ef_search'))['vecann.ef_search'], '40');
    });
  }

  test('errors reach the application in pgvector\'s words', async () => {
    await assert.rejects(db.one('SELECT $1::vector', ['bad']),
      (e) => e.code === '22P02' && e.message === 'invalid input syntax for type vector: "bad"');
    await assert.rejects(db.one('SELECT $1::vector(3)', [pgvector.toSql([1, 2])]),
      (e) => e.code === '22000' && e.message === 'expected 3 dimensions, not 2');
  });
});
