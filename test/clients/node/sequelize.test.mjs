// vecann through Sequelize with the pgvector package's sequelize helper:
// registerTypes(Sequelize) adds DataTypes.VECTOR, the model declares its HNSW index
// ({ using: 'hnsw', operator: 'vector_l2_ops' }) and sync() creates it (Sequelize has
// no syntax for WITH (...) options), and Item.findAll({ order: l2Distance(...), limit })
// runs the nearest-neighbour query. Text format (node-postgres underneath). EXPLAIN
// runs the SQL Sequelize logged for the query.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DataTypes, Sequelize } from 'sequelize';
import pgvector from 'pgvector/sequelize';
import {
  DIMS, INDEX_SETTINGS, assertExactKnn, assertUsesIndex, assertVectorEqual, bigVector, makeVectors, recreateDatabase,
} from './helpers.mjs';

pgvector.registerTypes(Sequelize);

describe('sequelize + pgvector/sequelize', () => {
  let sequelize;
  let Item;
  let Thing;
  const data = makeVectors(undefined, undefined, 401);

  before(async () => {
    const config = await recreateDatabase('vecann_node_sequelize', { extension: false });
    const connect = () => new Sequelize(config.database, config.user, null, {
      host: config.host, port: config.port, dialect: 'postgres', logging: false,
    });
    // Sequelize looks up the oids of custom types when it opens a connection: create
    // the extension first (as a migration would), then connect the application.
    const migrator = connect();
    await migrator.query('CREATE EXTENSION IF NOT EXISTS vecann');
    await migrator.close();
    sequelize = connect();
    Item = sequelize.define('Item', {
      id: { type: DataTypes.INTEGER, primaryKey: true },
      embedding: { type: DataTypes.VECTOR(DIMS) },
    }, {
      tableName: 'items',
      timestamps: false,
      indexes: [
        { name: 'items_embedding_idx', fields: ['embedding'], using: 'hnsw', operator: 'vector_l2_ops' },
        { name: 'items_embedding_cos_idx', fields: ['embedding'], using: 'hnsw', operator: 'vector_cosine_ops' },
      ],
    });
    Thing = sequelize.define('Thing', {
      id: { type: DataTypes.INTEGER, primaryKey: true },
      v: { type: DataTypes.VECTOR },
      vs: { type: DataTypes.ARRAY(DataTypes.VECTOR(3)) },
      big: { type: DataTypes.VECTOR(2000) },
    }, { tableName: 'things', timestamps: false });
    await sequelize.sync();
    for (let start = 0; start < data.length; start += 500) {
      await Item.bulkCreate(data.slice(start, start + 500).map((v, i) => ({ id: start + i + 1, embedding: v })));
    }
    await sequelize.query('ANALYZE items');
  });

  after(async () => {
    await sequelize?.close();
  });

  test('sync() made the hnsw indexes', async () => {
    const [rows] = await sequelize.query("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'items' ORDER BY 1");
    const defs = Object.fromEntries(rows.map((r) => [r.indexname, r.indexdef]));
    assert.match(defs.items_embedding_idx, /USING hnsw \(embedding\)/);  // vector_l2_ops is the default
    assert.match(defs.items_embedding_cos_idx, /USING hnsw \(embedding vector_cosine_ops\)/);
  });

  test('round trip, NULL, vector[], 2,000 dimensions', async () => {
    const big = bigVector();
    await Thing.bulkCreate([
      { id: 1, v: [1.5, -2.25, 3e-7], vs: [[1, 2, 3], [4.5, -6, 0]], big },
      { id: 2, v: null, vs: null, big: null },
    ]);
    const [first, second] = await Thing.findAll({ order: [['id', 'ASC']] });
    assertVectorEqual(first.v, [1.5, -2.25, 3e-7]);
    assert.equal(first.vs.length, 2);
    assertVectorEqual(first.vs[0], [1, 2, 3]);
    assertVectorEqual(first.vs[1], [4.5, -6, 0]);
    assertVectorEqual(first.big, big);
    assert.deepEqual([second.v, second.vs, second.big], [null, null, null]);
  });

  test('values read back exactly', async () => {
    const items = await Item.findAll({ order: [['id', 'ASC']] });
    items.forEach((item, i) => assertVectorEqual(item.embedding, data[i]));
  });

  test('dimension errors reach the client', async () => {
    await assert.rejects(Item.create({ id: 999999, embedding: [1, 2] }), /expected 16 dimensions, not 2/);
  });

  test('an invalid literal fails in pgvector\'s words', async () => {
    await assert.rejects(sequelize.query("SELECT 'bad'::vector"), /invalid input syntax for type vector: "bad"/);
  });

  for (const [metric, fn, index] of [['l2', 'l2Distance', 'items_embedding_idx'], ['cosine', 'cosineDistance', 'items_embedding_cos_idx']]) {
    test(`nearest neighbours by ${metric} through findAll`, async () => {
      const queries = makeVectors(4, DIMS, 402);
      const knn = (q, options = {}) => Item.findAll({ order: pgvector[fn]('embedding', q, sequelize), limit: 10, ...options });
      let logged;
      await knn(queries[0], { logging: (sql) => { logged = sql.replace(/^Executing \([^)]*\): /, ''); } });
      assert.match(logged, /ORDER BY "?embedding"? <[-=]> '\[/);
      const [plan] = await sequelize.query(`EXPLAIN ${logged}`);
      assertUsesIndex(plan, index);
      await sequelize.transaction(async (transaction) => {
        for (const [name, value] of INDEX_SETTINGS) await sequelize.query(`SET LOCAL ${name} = ${value}`, { transaction });
        const [forced] = await sequelize.query(`EXPLAIN ${logged}`, { transaction });
        assertUsesIndex(forced, index);
        for (const q of queries) {
          assertExactKnn((await knn(q, { transaction })).map((item) => item.id), data, q, 10, metric);
        }
      });
    });
  }
});
