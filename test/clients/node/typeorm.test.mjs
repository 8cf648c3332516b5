// vecann through TypeORM (postgres driver = node-postgres), which knows the `vector`
// column type: entities declared with TypeORM's decorators applied as functions (plain
// JavaScript has no decorator syntax) and created by synchronize; CREATE EXTENSION in a
// TypeORM migration. TypeORM's index API rejects `hnsw` ("Unsupported index type": it
// allows only btree, hash, gist, spgist, gin, brin), so the HNSW indexes are raw DDL
// in a second migration, declared on the entity with @Index(..., { synchronize: false })
// so that synchronize leaves them alone. Nearest-neighbour queries are written as the
// pgvector package documents: createQueryBuilder().orderBy('embedding <-> :q')
// .setParameters(...) with pgvector.toSql. TypeORM's own CREATE EXTENSION "vector" is
// turned off (installExtensions: false): the extension is vecann. EXPLAIN runs the query
// builder's getQueryAndParameters().
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Column, DataSource, Entity, Index, PrimaryColumn } from 'typeorm';
import pgvector from 'pgvector';
import {
  DIMS, INDEX_SETTINGS, assertExactKnn, assertUsesIndex, assertVectorEqual, bigVector, makeVectors, recreateDatabase,
} from './helpers.mjs';

class Item {}
Entity('items')(Item);
PrimaryColumn({ type: 'int' })(Item.prototype, 'id');
Column({ type: 'vector', length: DIMS, nullable: true })(Item.prototype, 'embedding');
Index('items_embedding_idx', { synchronize: false })(Item);
Index('items_embedding_cos_idx', { synchronize: false })(Item);

class EnableVecann1700000000001 {
  async up(runner) { await runner.query('CREATE EXTENSION IF NOT EXISTS vecann'); }
  async down(runner) { await runner.query('DROP EXTENSION vecann'); }
}

class HnswIndexes1700000000002 {
  async up(runner) {
    await runner.query('CREATE INDEX items_embedding_idx ON items USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)');
    await runner.query('CREATE INDEX items_embedding_cos_idx ON items USING hnsw (embedding vector_cosine_ops)');
  }
  async down(runner) { await runner.query('DROP INDEX items_embedding_idx, items_embedding_cos_idx'); }
}

class Thing {}
Entity('things')(Thing);
PrimaryColumn({ type: 'int' })(Thing.prototype, 'id');
Column({ type: 'vector', nullable: true })(Thing.prototype, 'v');
Column({ type: 'vector', length: 2000, nullable: true })(Thing.prototype, 'big');

describe('typeorm', () => {
  let ds;
  const data = makeVectors(undefined, undefined, 701);

  before(async () => {
    const config = await recreateDatabase('vecann_node_typeorm', { extension: false });
    ds = new DataSource({
      type: 'postgres',
      host: config.host,
      port: config.port,
      username: config.user,
      database: config.database,
      entities: [Item, Thing],
      migrations: [EnableVecann1700000000001],
      synchronize: false,
      installExtensions: false,
      logging: false,
    });
    await ds.initialize();
    await ds.runMigrations();
    await ds.destroy();  // connections that know the new type
    await ds.initialize();
    await ds.synchronize();
    ds.setOptions({ migrations: [EnableVecann1700000000001, HnswIndexes1700000000002] });
    await ds.destroy();
    await ds.initialize();
    await ds.runMigrations();
    const repo = ds.getRepository(Item);
    for (let start = 0; start < data.length; start += 500) {
      await repo.insert(data.slice(start, start + 500).map((v, i) => ({ id: start + i + 1, embedding: v })));
    }
    await ds.query('ANALYZE items');
  });

  after(async () => {
    await ds?.destroy();
  });

  test('synchronize made the vector columns and keeps the hnsw indexes', async () => {
    await ds.synchronize();
    const cols = await ds.query(`SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid = 'items'::regclass AND attnum > 0 ORDER BY attnum`);
    assert.deepEqual(cols.map((r) => `${r.attname} ${r.type}`), ['id integer', `embedding vector(${DIMS})`]);
    const idx = await ds.query("SELECT indexdef FROM pg_indexes WHERE tablename = 'items' AND indexdef LIKE '%hnsw%' ORDER BY 1");
    assert.equal(idx.length, 2);
    assert.match(idx[0].indexdef, /items_embedding_cos_idx ON public.items USING hnsw \(embedding vector_cosine_ops\)/);
    assert.match(idx[1].indexdef, /items_embedding_idx ON public.items USING hnsw \(embedding\) WITH \(m='16', ef_construction='64'\)/);
  });

  test('round trip, NULL, 2,000 dimensions', async () => {
    const big = bigVector();
    const repo = ds.getRepository(Thing);
    await repo.save([{ id: 1, v: [1.5, -2.25, 3e-7], big }, { id: 2, v: null, big: null }]);
    const [first, second] = await repo.find({ order: { id: 'ASC' } });
    assertVectorEqual(first.v, [1.5, -2.25, 3e-7]);
    assertVectorEqual(first.big, big);
    assert.equal(second.v, null);
    assert.equal(second.big, null);
  });

  test('vector[] through a raw query', async () => {
    // TypeORM cannot write vector[]: a { type: 'vector', array: true } column sends
    // [[1,2,3],[4,5,6]] as '[1,2,3,4,5,6]' ("malformed array literal"). SQL it is.
    await ds.query('CREATE TABLE IF NOT EXISTS arrays (id int, vs vector[])');
    await ds.query('INSERT INTO arrays VALUES ($1, $2::vector[]), (2, NULL)', [1, [[1, 2, 3], [4.5, -6]].map(pgvector.toSql)]);
    const text = await ds.query('SELECT vs::text AS vs FROM arrays ORDER BY id');
    assert.equal(text[0].vs, '{"[1,2,3]","[4.5,-6]"}');
    assert.equal(text[1].vs, null);
  });

  test('values read back exactly', async () => {
    const all = await ds.getRepository(Item).find({ order: { id: 'ASC' } });
    all.forEach((item, i) => assertVectorEqual(item.embedding, data[i]));
  });

  for (const [metric, op, index] of [['l2', '<->', 'items_embedding_idx'], ['cosine', '<=>', 'items_embedding_cos_idx']]) {
    test(`nearest neighbours by ${metric} through the query builder`, async () => {
      const queries = makeVectors(4, DIMS, 702);
      const runner = ds.createQueryRunner();
      await runner.connect();
      try {
        const knn = (q) => runner.manager.getRepository(Item).createQueryBuilder('item')
          .orderBy(`embedding ${op} :embedding`)
          .setParameters({ embedding: pgvector.toSql(q) })
          .limit(10);
        const explain = async (q) => {
          const [text, params] = knn(q).getQueryAndParameters();
          return runner.query(`EXPLAIN ${text}`, params);
        };
        assertUsesIndex(await explain(queries[0]), index);
        for (const [name, value] of INDEX_SETTINGS) await runner.query(`SET ${name} = ${value}`);
        assertUsesIndex(await explain(queries[0]), index);
        for (const q of queries) {
          assertExactKnn((await knn(q).getMany()).map((item) => item.id), data, q, 10, metric);
        }
        await runner.query('RESET ALL');
      } finally {
        await runner.release();
      }
    });
  }
});
