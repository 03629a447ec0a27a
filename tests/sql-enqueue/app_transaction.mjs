// An app's transaction through Node's pg client: an order row and its
// confirmation job commit together (or, with mode "rollback", neither does).
// Run by tests/integration/test_sql_enqueue.py:
//   node app_transaction.mjs '<pg client config JSON>' SCHEMA QUEUE ORDER_ID commit|rollback|bad
// Prints one JSON line: {"id": "<job id>"} or {"code", "column", "message"}.
import pg from 'pg';

const [configJson, schema, queue, orderId, mode] = process.argv.slice(2);
const client = new pg.Client(JSON.parse(configJson));
await client.connect();
try {
  await client.query('BEGIN');
  await client.query(`INSERT INTO ${schema}.orders(id, email) VALUES ($1, $2)`,
                     [orderId, 'buyer@example.com']);
  const options = mode === 'bad' ? { priority: 'high' } : { type: 'order.confirm', tags: ['node'] };
  const { rows } = await client.query(`SELECT ${schema}.enqueue($1, $2, $3) AS id`,
                                      [queue, { order: Number(orderId) }, options]);
  await client.query(mode === 'rollback' ? 'ROLLBACK' : 'COMMIT');
  console.log(JSON.stringify({ id: rows[0].id }));
} catch (e) {
  await client.query('ROLLBACK');
  console.log(JSON.stringify({ code: e.code, column: e.column, message: e.message }));
} finally {
  await client.end();
}
