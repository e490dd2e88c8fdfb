// A stand-in for `deepc serve` that speaks the same HTTP as the real one for
// the chat page: the static files of web/dist, the /api/conversations JSON
// endpoints (in memory) and /v1/chat/completions as Server-Sent Events with
// reasoning_content then content deltas.  For developing and screenshotting
// the page without a model:  node tests/web/mock_server.mjs [port] [--key KEY]
// The answer depends on the last user message: "long" streams for ~20 s,
// "xss" answers with markup that must stay inert, anything else gives a short
// Markdown answer with a code block.
import { createServer } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'dist');
const args = process.argv.slice(2);
const port = Number(args.find((a) => /^\d+$/.test(a)) || 8090);
const key = args.includes('--key') ? args[args.indexOf('--key') + 1] : null;
const convs = new Map(); // id -> {id, title, created, updated, messages: []}
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.txt': 'text/plain; charset=utf-8' };
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const json = (res, status, obj) => { res.writeHead(status, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(obj)); };
const error = (res, status, message) => json(res, status, { error: { message, type: 'invalid_request_error', param: null, code: null } });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pub = (c) => ({ id: c.id, title: c.title, created: c.created, updated: c.updated });

async function body(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const s = Buffer.concat(chunks).toString('utf8');
  return s ? JSON.parse(s) : {};
}

async function chat(req, res) {
  const b = await body(req);
  const last = [...b.messages].reverse().find((m) => m.role === 'user')?.content || '';
  const think = b.model === 'deepseek-reasoner';
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  let closed = false;
  req.on('close', () => { closed = true; });
  const base = { id: 'chatcmpl-mock', object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: 'mock' };
  const send = (delta, finish = null) => res.write('data: ' + JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] }) + '\n\n');
  send({ role: 'assistant', content: null, reasoning_content: think ? '' : null });
  res.write(': keep-alive\n\n');
  if (think) {
    const words = 'Let me think about this step by step. The user asks a question, so I should consider what they want and give a clear answer.'.split(' ');
    for (const w of words) { if (closed) return; send({ content: null, reasoning_content: w + ' ' }); await sleep(60); }
  }
  let answer;
  if (/xss/i.test(last)) answer = 'Here: <img src=x onerror="window.__xss=1"> and <script>window.__xss=2</script> and [link](javascript:window.__xss=3)';
  else if (/long/i.test(last)) answer = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
  else answer = 'Sure! Here is an **example**:\n\n```python\ndef hello():\n    print("hello")\n```\n\n- one\n- two\n\nDone.';
  const pieces = answer.match(/\S+\s*|\s+/g);
  for (const p of pieces) { if (closed) return; send({ content: p, reasoning_content: null }); await sleep(/long/i.test(last) ? 50 : 15); }
  send({}, 'stop');
  res.write('data: ' + JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 10, completion_tokens: pieces.length, total_tokens: 10 + pieces.length } }) + '\n\n');
  res.end('data: [DONE]\n\n');
}

createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x').pathname;
  try {
    if (url.startsWith('/api/') || url.startsWith('/v1/')) {
      if (url === '/api/info') return json(res, 200, { auth: !!key, persistent: false, conversations: true });
      if (key && req.headers.authorization !== 'Bearer ' + key) return error(res, 401, 'bad key');
      if (url === '/v1/models') return json(res, 200, { object: 'list', data: [{ id: 'mock-model', object: 'model' }] });
      if (url === '/v1/chat/completions') return await chat(req, res);
      if (url === '/api/conversations' || url === '/api/conversations/') {
        if (req.method === 'GET') return json(res, 200, { object: 'list', data: [...convs.values()].sort((a, b) => b.updated - a.updated).map(pub) });
        const b = await body(req);
        const now = Date.now();
        const c = { id: randomBytes(16).toString('hex'), title: b.title || '', created: now, updated: now, messages: [] };
        convs.set(c.id, c);
        return json(res, 201, pub(c));
      }
      const m = /^\/api\/conversations\/([0-9a-f]{32})(\/messages)?$/.exec(url);
      const c = m && convs.get(m[1]);
      if (!c) return error(res, 404, 'no such conversation');
      if (m[2] && req.method === 'POST') {
        const b = await body(req);
        if (b.truncate_from != null) c.messages = c.messages.filter((x) => x.seq < b.truncate_from);
        const seq = c.messages.length ? c.messages[c.messages.length - 1].seq + 1 : 0;
        const msg = { seq, role: b.role, content: b.content, reasoning: b.reasoning ?? null, reasoning_ms: b.reasoning_ms ?? null, created: Date.now() };
        c.messages.push(msg);
        c.updated = msg.created;
        return json(res, 201, { seq, role: msg.role, created: msg.created });
      }
      if (req.method === 'GET') return json(res, 200, { ...pub(c), messages: c.messages });
      if (req.method === 'PATCH') { c.title = (await body(req)).title; c.updated = Date.now(); return json(res, 200, pub(c)); }
      if (req.method === 'DELETE') { convs.delete(c.id); return json(res, 200, { id: c.id, deleted: true }); }
      return error(res, 405, 'method not allowed');
    }
    const file = normalize(join(root, url === '/' ? 'index.html' : url));
    if (!file.startsWith(root) || !existsSync(file)) { res.writeHead(404); return res.end('not found'); }
    const ext = file.slice(file.lastIndexOf('.'));
    res.writeHead(200, { 'Content-Type': types[ext] || 'application/octet-stream', 'Content-Security-Policy': csp, 'Cache-Control': 'no-cache' });
    res.end(readFileSync(file));
  } catch (e) {
    if (!res.headersSent) error(res, 500, String(e));
  }
}).listen(port, '127.0.0.1', () => console.log(`mock server on http://127.0.0.1:${port}/`));
