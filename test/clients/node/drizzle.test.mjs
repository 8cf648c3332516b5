// vecann through Drizzle ORM (node-postgres driver), whose pg-core has pgvector
// support built in: vector('embedding', { dimensions }) columns, HNSW indexes declared
// in the table definition (index(...).using('hnsw', col.op('vector_l2_ops')).with({ m,
// ef_construction })), l2Distance/cosineDistance/innerProduct for orderBy. The DDL is
// what drizzle-kit generates from that schema (its programmatic API, as `drizzle-kit
// generate` does); CREATE EXTENSION is a custom migration. Text format. EXPLAIN runs
// the SQL and params of query.toSQL().
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asc, cosineDistance, innerProduct, l2Distance, lt, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { index, integer, pgTable, vector } from 'drizzle-orm/pg-core';
import { generateDrizzleJson, generateMigration } from 'drizzle-kit/api';
import pg from 'pg';
import {
  DIMS, INDEX_SETTINGS, assertExactKnn, assertUsesIndex, assertVectorEqual, bigVector, makeVectors, recreateDatabase,
} from './helpers.mjs';

const items = pgTable('items', {
  id: integer('id').primaryKey(),
  embedding: vector('embedding', { dimensions: DIMS }),
}, (t) => [
  index('items_embedding_idx').using('hnsw', t.embedding.op('vector_l2_ops')).with({ m: 16, ef_construction: 64 }),
  index('items_embedding_cos_idx').using('hnsw', t.embedding.op('vector_cosine_ops')),
  index('items_embedding_ip_idx').using('hnsw', t.embedding.op('vector_ip_ops')),
]);

const things = pgTable('things', {
  id: integer('id').primaryKey(),
  v: vector('v', { dimensions: 3 }),
  vs: vector('vs', { dimensions: 3 }).array(),
  big: vector('big', { dimensions: 2000 }),
});

describe('drizzle-orm (+ drizzle-kit for the DDL)', () => {
  let pool;
  let db;
  const data = makeVectors(undefined, undefined, 601);

  before(async () => {
    const config = await recreateDatabase('vecann_node_drizzle', { extension: false });
    pool = new pg.Pool({ ...config, max: 1 });  // one connection: SET applies to every query
    db = drizzle(pool);
    await db.execute(sql`CREATE EXTENSION IF NOT EXISTS vecann`);
    const statements = await generateMigration(generateDrizzleJson({}), generateDrizzleJson({ items, things }));
    for (const statement of statements) await db.execute(sql.raw(statement));
    for (let start = 0; start < data.length; start += 500) {
      await db.insert(items).values(data.slice(start, start + 500).map((v, i) => ({ id: start + i + 1, embedding: v })));
    }
    await db.execute(sql`ANALYZE items`);
  });

  after(async () => {
    await pool?.end();
  });

  test('drizzle-kit made the hnsw indexes with their options', async () => {
    const { rows } = await pool.query("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'items'");
    const defs = Object.fromEntries(rows.map((r) => [r.indexname, r.indexdef]));
    assert.match(defs.items_embedding_idx, /USING hnsw \(embedding\) WITH \(m='16', ef_construction='64'\)/);
    assert.match(defs.items_embedding_cos_idx, /USING hnsw \(embedding vector_cosine_ops\)/);
    assert.match(defs.items_embedding_ip_idx, /USING hnsw \(embedding vector_ip_ops\)/);
  });

  test('round trip, NULL, vector[], 2,000 dimensions', async () => {
    const big = bigVector();
    await db.insert(things).values([
      { id: 1, v: [1.5, -2.25, 3e-7], vs: [[1, 2, 3], [4.5, -6, 0]], big },
      { id: 2, v: null, vs: null, big: null },
    ]);
    const rows = await db.select().from(things).orderBy(asc(things.id));
    assertVectorEqual(rows[0].v, [1.5, -2.25, 3e-7]);
    assert.equal(rows[0].vs.length, 2);
    assertVectorEqual(rows[0].vs[0], [1, 2, 3]);
    assertVectorEqual(rows[0].vs[1], [4.5, -6, 0]);
    assertVectorEqual(rows[0].big, big);
    assert.deepEqual([rows[1].v, rows[1].vs, rows[1].big], [null, null, null]);
  });

  test('values read back exactly', async () => {
    const rows = await db.select({ embedding: items.embedding }).from(items).orderBy(asc(items.id));
    rows.forEach((row, i) => assertVectorEqual(row.embedding, data[i]));
  });

  for (const [metric, fn, index] of [
    ['l2', l2Distance, 'items_embedding_idx'],
    ['cosine', cosineDistance, 'items_embedding_cos_idx'],
    ['ip', innerProduct, 'items_embedding_ip_idx'],
  ]) {
    test(`nearest neighbours by ${metric} through the query builder`, async () => {
      const queries = makeVectors(4, DIMS, 602);
      const knn = (q) => db.select({ id: items.id }).from(items).orderBy(fn(items.embedding, q)).limit(10);
      const explain = async (q) => {
        const { sql: text, params } = knn(q).toSQL();
        return (await pool.query(`EXPLAIN ${text}`, params)).rows;
      };
      assertUsesIndex(await explain(queries[0]), index);
      for (const [name, value] of INDEX_SETTINGS) await pool.query(`SET ${name} = ${value}`);
      try {
        assertUsesIndex(await explain(queries[0]), index);
        for (const q of queries) {
          assertExactKnn((await knn(q)).map((r) => r.id), data, q, 10, metric);
        }
      } finally {
        await pool.query('RESET ALL');
      }
    });
  }

  test('distance in the select list, where on distance', async () => {
    const q = data[76];
    const rows = await db.select({ id: items.id, distance: l2Distance(items.embedding, q) })
      .from(items).where(lt(l2Distance(items.embedding, q), 1e-6));
    assert.deepEqual(rows.map((r) => r.id), [77]);
    assert.equal(Number(rows[0].distance), 0);
  });
});
