// vecann through Objection.js (on Knex and node-postgres) with the pgvector
// package's objection helper: a Model whose table has a vector column made by
// Knex's schema builder (pgvector/knex), inserts and reads through the model,
// and Model.query().orderBy(l2Distance(...)) / cosineDistance / maxInnerProduct
// for nearest neighbours, with a where filter and inside a transaction that
// sets pgvector's setting name (SET LOCAL hnsw.ef_search). EXPLAIN runs the SQL
// Objection generated.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Knex from 'knex';
import { Model } from 'objection';
import 'pgvector/knex';
import { cosineDistance, l2Distance, maxInnerProduct, toSql } from 'pgvector/objection';
import {
  DIMS, assertExactKnn, assertUsesIndex, assertVectorEqual, bigVector, makeVectors, recreateDatabase, vectorKnexPool,
} from './helpers.mjs';

class Item extends Model {
  static get tableName() { return 'items'; }
}

describe('objection + pgvector/objection', () => {
  let knex;
  const data = makeVectors(undefined, undefined, 401);

  before(async () => {
    const config = await recreateDatabase('vecann_node_objection');
    knex = Knex({ client: 'pg', connection: config, pool: vectorKnexPool() });
    Model.knex(knex);
    await knex.schema.createTable('items', (table) => {
      table.integer('id').primary();
      table.vector('embedding', DIMS);
      table.integer('category');
      table.index(knex.raw('embedding vector_l2_ops'), 'items_embedding_idx', 'hnsw');
      table.index(knex.raw('embedding vector_cosine_ops'), 'items_embedding_cos_idx', 'hnsw');
      table.index(knex.raw('embedding vector_ip_ops'), 'items_embedding_ip_idx', 'hnsw');
    });
    await knex.schema.createTable('things', (table) => {
      table.integer('id').primary();
      table.vector('v');
    });
    for (let start = 0; start < data.length; start += 500) {
      await Item.query().insert(data.slice(start, start + 500).map((v, i) => (
        { id: start + i + 1, embedding: toSql(v), category: (start + i + 1) % 4 })));
    }
    await knex.raw('ANALYZE items');
  });

  after(async () => {
    await knex?.destroy();
  });

  test('round trip through the model, NULL, 2,000 dimensions', async () => {
    class Thing extends Model { static get tableName() { return 'things'; } }
    const big = bigVector();
    await Thing.query().insert([{ id: 1, v: toSql([1.5, -2.25, 3e-7]) }, { id: 2, v: null }, { id: 3, v: toSql(big) }]);
    const rows = await Thing.query().orderBy('id');
    assertVectorEqual(rows[0].v, [1.5, -2.25, 3e-7]);
    assert.equal(rows[1].v, null);
    assertVectorEqual(rows[2].v, big);
    assertVectorEqual((await Item.query().findById(7)).embedding, data[6]);
  });

  for (const [metric, fn, index] of [['l2', l2Distance, 'items_embedding_idx'],
    ['cosine', cosineDistance, 'items_embedding_cos_idx'], ['ip', maxInnerProduct, 'items_embedding_ip_idx']]) {
    test(`nearest neighbours by ${metric} through Model.query()`, async () => {
      const queries = makeVectors(4, DIMS, 402);
      const knn = (trx, q) => Item.query(trx).select('id').orderBy(fn('embedding', q)).limit(10);
      const { sql, bindings } = knn(undefined, queries[0]).toKnexQuery().toSQL();
      assertUsesIndex((await knex.raw(`EXPLAIN ${sql}`, bindings)).rows, index);
      await Item.transaction(async (trx) => {
        await trx.raw('SET LOCAL hnsw.ef_search = 400');
        await trx.raw('SET LOCAL enable_seqscan = off');
        for (const q of queries) assertExactKnn((await knn(trx, q)).map((r) => r.id), data, q, 10, metric);
      });
      assert.equal((await knex.raw('SHOW vecann.ef_search')).rows[0]['vecann.ef_search'], '40');
    });
  }

  test('a where filter with the distance ordering', async () => {
    const q = makeVectors(1, DIMS, 403)[0];
    await Item.transaction(async (trx) => {
      await trx.raw('SET LOCAL hnsw.ef_search = 400');
      await trx.raw('SET LOCAL enable_seqscan = off');
      const rows = await Item.query(trx).select('id').where('category', 2).orderBy(l2Distance('embedding', q)).limit(10);
      assert.ok(rows.every((r) => r.id % 4 === 2));
      assertExactKnn(rows.map((r) => r.id), data.filter((_, i) => (i + 1) % 4 === 2), q, 10, 'l2', (id) => (id - 2) / 4);
    });
  });

  test('errors reach the application in pgvector\'s words', async () => {
    await assert.rejects(Item.query().insert({ id: 999999, embedding: toSql([1, 2]) }), /expected 16 dimensions, not 2/);
    await assert.rejects(Item.query().insert({ id: 999999, embedding: 'bad' }), /invalid input syntax for type vector: "bad"/);
  });
});
