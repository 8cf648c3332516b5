// vecann through Knex.js with the pgvector package's knex helper: table.vector() in
// the schema builder, table.index(knex.raw('embedding vector_l2_ops'), name, 'hnsw')
// for the index (Knex has no syntax for WITH (...) options: that index is raw DDL),
// and knex('items').orderBy(knex.l2Distance(...)).limit(k). Results are parsed by the
// pg driver's type parsers, registered on each pooled connection. Knex goes through
// node-postgres in text format. EXPLAIN runs the SQL and bindings Knex generated.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Knex from 'knex';
import pgvector from 'pgvector/knex';
import {
  DIMS, INDEX_SETTINGS, assertExactKnn, assertUsesIndex, assertVectorEqual, bigVector, makeVectors, recreateDatabase,
  vectorKnexPool,
} from './helpers.mjs';

describe('knex + pgvector/knex', () => {
  let knex;
  const data = makeVectors(undefined, undefined, 301);

  before(async () => {
    const config = await recreateDatabase('vecann_node_knex', { extension: false });
    knex = Knex({ client: 'pg', connection: config, pool: vectorKnexPool() });
    await knex.schema.createExtensionIfNotExists('vecann');
    await knex.destroy();  // new connections find the type
    knex.initialize();
    await knex.schema.createTable('items', (table) => {
      table.integer('id').primary();
      table.vector('embedding', DIMS);
      table.index(knex.raw('embedding vector_cosine_ops'), 'items_embedding_cos_idx', 'hnsw');
    });
    await knex.schema.createTable('things', (table) => {
      table.integer('id').primary();
      table.vector('v');
      table.specificType('vs', 'vector(3)[]');
      table.vector('big', 2000);
    });
    await knex.batchInsert('items', data.map((v, i) => ({ id: i + 1, embedding: pgvector.toSql(v) })), 500);
    await knex.raw('CREATE INDEX items_embedding_idx ON items USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)');
    await knex.raw('ANALYZE items');
  });

  after(async () => {
    await knex?.destroy();
  });

  test('schema builder made the vector columns and the hnsw index', async () => {
    const { rows } = await knex.raw(`SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid = 'things'::regclass AND attnum > 0 ORDER BY attnum`);
    assert.deepEqual(rows.map((r) => `${r.attname} ${r.type}`), ['id integer', 'v vector', 'vs vector(3)[]', 'big vector(2000)']);
    const idx = await knex.raw("SELECT indexdef FROM pg_indexes WHERE indexname = 'items_embedding_cos_idx'");
    assert.match(idx.rows[0].indexdef, /USING hnsw \(embedding vector_cosine_ops\)/);
  });

  test('round trip, NULL, vector[], 2,000 dimensions', async () => {
    const big = bigVector();
    await knex('things').insert([
      { id: 1, v: pgvector.toSql([1.5, -2.25, 3e-7]), vs: [[1, 2, 3], [4.5, -6, 0]].map(pgvector.toSql), big: pgvector.toSql(big) },
      { id: 2, v: null, vs: null, big: null },
    ]);
    const rows = await knex('things').select('v', 'vs', 'big').whereIn('id', [1, 2]).orderBy('id');
    assertVectorEqual(rows[0].v, [1.5, -2.25, 3e-7]);
    assert.equal(rows[0].vs.length, 2);
    assertVectorEqual(rows[0].vs[1], [4.5, -6, 0]);
    assertVectorEqual(rows[0].big, big);
    assert.deepEqual([rows[1].v, rows[1].vs, rows[1].big], [null, null, null]);
  });

  test('values read back exactly', async () => {
    const rows = await knex('items').select('embedding').orderBy('id');
    rows.forEach((row, i) => assertVectorEqual(row.embedding, data[i]));
  });

  for (const [metric, fn, index] of [['l2', 'l2Distance', 'items_embedding_idx'], ['cosine', 'cosineDistance', 'items_embedding_cos_idx']]) {
    test(`nearest neighbours by ${metric} through the query builder`, async () => {
      const queries = makeVectors(4, DIMS, 302);
      const knn = (db, q) => db('items').select('id').orderBy(db[fn]('embedding', q)).limit(10);
      const explain = (db, query) => {
        const { sql, bindings } = query.toSQL();
        return db.raw(`EXPLAIN ${sql}`, bindings);
      };
      assertUsesIndex((await explain(knex, knn(knex, queries[0]))).rows, index);
      await knex.transaction(async (trx) => {
        for (const [name, value] of INDEX_SETTINGS) await trx.raw(`SET LOCAL ${name} = ${value}`);
        assertUsesIndex((await explain(trx, knn(trx, queries[0]))).rows, index);
        for (const q of queries) {
          assertExactKnn((await knn(trx, q)).map((r) => r.id), data, q, 10, metric);
        }
      });
    });
  }

  test('distance in the select list and a where filter', async () => {
    const q = makeVectors(1, DIMS, 303)[0];
    await knex.transaction(async (trx) => {
      for (const [name, value] of INDEX_SETTINGS) await trx.raw(`SET LOCAL ${name} = ${value}`);
      const rows = await trx('items')
        .select('id', trx.raw('embedding <-> ? AS distance', [pgvector.toSql(q)]))
        .whereRaw('id % 2 = 0')
        .orderBy(trx.l2Distance('embedding', q))
        .limit(10);
      assert.ok(rows.every((r) => r.id % 2 === 0));
      assertExactKnn(rows.map((r) => r.id), data.filter((_, i) => (i + 1) % 2 === 0), q, 10, 'l2', (id) => id / 2 - 1);
    });
  });
});
