// bench/servers/fixed.mjs
// The HTTP ceiling: bare Express answering POST /token with a fixed JSON body (no parsing, no
// authentication, no crypto). What Express and the loopback socket cost on this machine.
import { createServer } from 'node:http';
import express from 'express';
import { announceReady, exitWithParent, listen, randomToken, withBenchControl } from '../common.mjs';

const FIXED = { access_token: 'fixed', token_type: 'Bearer', expires_in: 3600, scope: 'api:read' };
const app = express();
app.disable('x-powered-by');
app.post('/token', (_req, res) => {
  res.set('Cache-Control', 'no-store').json(FIXED);
});

const server = await listen(createServer(withBenchControl(app, { seed: async (_scenario, count, background) => (background ? [] : Array.from({ length: count }, randomToken)) })));
exitWithParent();
announceReady(server, '/token');
