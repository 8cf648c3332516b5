// vecann through Kysely (PostgresDialect over a pg Pool) with the pgvector package's
// kysely helper: columns declared with sql`vector(16)`, the HNSW index with
// db.schema.createIndex(...).using('hnsw').expression(sql`embedding vector_l2_ops`)
// (Kysely has no syntax for WITH (...) options: that index is raw sql), queries with
// .orderBy(l2Distance('embedding', q)).limit(k), and EXPLAIN through Kysely's own
// .explain(). Results are parsed by type parsers given to the pg Pool (text format).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import pgvector, { cosineDistance, l2Distance, maxInnerProduct } from 'pgvector/kysely';
import {
  DIMS, INDEX_SETTINGS, assertExactKnn, assertUsesIndex, assertVectorEqual, bigVector, makeVectors, recreateDatabase,
  vectorOids,
} from './helpers.mjs';

const parseTextArray = pg.types.getTypeParser(1009, 'text');

describe('kysely + pgvector/kysely', () => {
  let db;
  const data = makeVectors(undefined, undefined, 501);

  before(async () => {
    const config = await recreateDatabase('vecann_node_kysely');
    // The pool's connections parse vector and vector[] (oids looked up once).
    const probe = new pg.Client(config);
    await probe.connect();
    const oids = await vectorOids(probe);
    await probe.end();
    const types = {
      getTypeParser(oid, format) {
        if (oid === oids.oid) return pgvector.fromSql;
        if (oid === oids.arrayOid) return (text) => parseTextArray(text).map((v) => pgvector.fromSql(v));
        return pg.types.getTypeParser(oid, format);
      },
    };
    const pool = new pg.Pool({ ...config, max: 2, types });
    db = new Kysely({ dialect: new PostgresDialect({ pool }) });
    await db.schema.createTable('items')
      .addColumn('id', 'integer', (col) => col.primaryKey())
      .addColumn('embedding', sql`vector(${sql.raw(String(DIMS))})`)
      .execute();
    await db.schema.createTable('things')
      .addColumn('id', 'integer', (col) => col.primaryKey())
      .addColumn('v', sql`vector`)
      .addColumn('vs', sql`vector(3)[]`)
      .addColumn('big', sql`vector(2000)`)
      .execute();
    for (let start = 0; start < data.length; start += 500) {
      await db.insertInto('items')
        .values(data.slice(start, start + 500).map((v, i) => ({ id: start + i + 1, embedding: pgvector.toSql(v) })))
        .execute();
    }
    await db.schema.createIndex('items_embedding_idx').on('items').using('hnsw')
      .expression(sql`embedding vector_l2_ops`).execute();
    await db.schema.createIndex('items_embedding_ip_idx').on('items').using('hnsw')
      .expression(sql`embedding vector_ip_ops`).execute();
    await sql`ANALYZE items`.execute(db);
  });

  after(async () => {
    await db?.destroy();
  });

  test('round trip, NULL, vector[], 2,000 dimensions', async () => {
    const big = bigVector();
    await db.insertInto('things').values([
      { id: 1, v: pgvector.toSql([1.5, -2.25, 3e-7]), vs: [[1, 2, 3], [4.5, -6, 0]].map(pgvector.toSql), big: pgvector.toSql(big) },
      { id: 2, v: null, vs: null, big: null },
    ]).execute();
    const rows = await db.selectFrom('things').select(['v', 'vs', 'big']).orderBy('id').execute();
    assertVectorEqual(rows[0].v, [1.5, -2.25, 3e-7]);
    assert.equal(rows[0].vs.length, 2);
    assertVectorEqual(rows[0].vs[0], [1, 2, 3]);
    assertVectorEqual(rows[0].big, big);
    assert.deepEqual([rows[1].v, rows[1].vs, rows[1].big], [null, null, null]);
  });

  test('values read back exactly', async () => {
    const rows = await db.selectFrom('items').select('embedding').orderBy('id').execute();
    rows.forEach((row, i) => assertVectorEqual(row.embedding, data[i]));
  });

  for (const [metric, fn, index] of [['l2', l2Distance, 'items_embedding_idx'], ['ip', maxInnerProduct, 'items_embedding_ip_idx']]) {
    test(`nearest neighbours by ${metric} through the query builder`, async () => {
      const queries = makeVectors(4, DIMS, 502);
      const knn = (trx, q) => trx.selectFrom('items').select('id').orderBy(fn('embedding', q)).limit(10);
      assertUsesIndex(await knn(db, queries[0]).explain(), index);
      await db.transaction().execute(async (trx) => {
        for (const [name, value] of INDEX_SETTINGS) await sql.raw(`SET LOCAL ${name} = ${value}`).execute(trx);
        assertUsesIndex(await knn(trx, queries[0]).explain(), index);
        for (const q of queries) {
          assertExactKnn((await knn(trx, q).execute()).map((r) => r.id), data, q, 10, metric);
        }
      });
    });
  }

  test('distance in the select list, where on distance', async () => {
    const q = data[41];
    const rows = await db.selectFrom('items')
      .select(['id', cosineDistance('embedding', q).as('distance')])
      .where(cosineDistance('embedding', q), '<', 1e-6)
      .execute();
    assert.deepEqual(rows.map((r) => r.id), [42]);
    assert.ok(Math.abs(rows[0].distance) < 1e-6);
  });
});
