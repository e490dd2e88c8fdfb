// End-to-end checks of `deepc serve` with the official `openai` npm client.
// Run by tests/server/test_openai.py (test "node_client"), which starts the
// servers and passes:
//   DEEPC_NODE_MODULES  node_modules holding `openai` (tests/server/package.json)
//   DEEPC_BASE          http://127.0.0.1:PORT of the fixture server (no key)
//   DEEPC_KEY_BASE      a server started with --api-key DEEPC_KEY
//   DEEPC_REF           the Python client's answer to the same greedy request
// Prints "PASS: server/node_<name>" / "FAIL: server/node_<name>: why"; exits 1 on failure.
'use strict';
const path = require('path');
const OpenAI = require(path.join(process.env.DEEPC_NODE_MODULES, 'openai')).OpenAI;

const base = process.env.DEEPC_BASE;
const ref = JSON.parse(process.env.DEEPC_REF);
const client = new OpenAI({ baseURL: base + '/v1', apiKey: 'unused', maxRetries: 0, timeout: 120000 });
const request = {
  model: 'deepseek-reasoner',
  messages: [{ role: 'user', content: 'Hello' }],
  max_tokens: 24,
  temperature: 0,
  reasoning_budget: 6,
};

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function chat() {
  const r = await client.chat.completions.create(request);
  const m = r.choices[0].message;
  check(m.role === 'assistant', `role ${m.role}`);
  check(m.reasoning_content === ref.reasoning, `reasoning_content ${JSON.stringify(m.reasoning_content)} != ${JSON.stringify(ref.reasoning)}`);
  check(m.content === ref.content, `content ${JSON.stringify(m.content)} != ${JSON.stringify(ref.content)}`);
  check(r.choices[0].finish_reason === ref.finish, `finish ${r.choices[0].finish_reason}`);
  const u = r.usage;
  check(u.prompt_tokens === ref.usage[0] && u.completion_tokens === ref.usage[1], `usage ${JSON.stringify(u)}`);
  check(u.prompt_cache_hit_tokens + u.prompt_cache_miss_tokens === u.prompt_tokens, 'cache hit + miss != prompt');
  check(u.prompt_tokens_details.cached_tokens === u.prompt_cache_hit_tokens, 'cached_tokens');
  check(u.completion_tokens_details.reasoning_tokens > 0, 'reasoning_tokens');
}

async function stream() {
  const s = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
  let role = null, reasoning = '', content = '', finish = null, usage = null, n = 0;
  for await (const ch of s) {
    n++;
    if (ch.usage) usage = ch.usage;
    if (!ch.choices.length) continue;
    const d = ch.choices[0].delta;
    if (d.role) {
      check(n === 1, `role in chunk ${n}`);
      role = d.role;
    }
    if (d.reasoning_content) reasoning += d.reasoning_content;
    if (d.content) content += d.content;
    if (ch.choices[0].finish_reason) finish = ch.choices[0].finish_reason;
  }
  check(role === 'assistant', `first delta role ${role}`);
  check(reasoning === ref.reasoning, `streamed reasoning ${JSON.stringify(reasoning)}`);
  check(content === ref.content, `streamed content ${JSON.stringify(content)}`);
  check(finish === ref.finish, `finish ${finish}`);
  check(usage && usage.completion_tokens === ref.usage[1], `usage chunk ${JSON.stringify(usage)}`);
}

async function streamHelper() {
  // the SDK's accumulating helper must cope with our chunks
  const runner = client.chat.completions.stream({ ...request, model: 'deepseek-chat', max_tokens: 8 });
  const final = await runner.finalChatCompletion();
  check(final.choices[0].message.content.length > 0, 'empty final message');
  check(final.choices[0].finish_reason === 'length', `finish ${final.choices[0].finish_reason}`);
}

async function expectStatus(p, status, what) {
  try {
    await p;
  } catch (e) {
    check(e instanceof OpenAI.APIError && e.status === status, `${what}: got ${e.status} ${e.message}`);
    return e;
  }
  throw new Error(`${what}: accepted`);
}

async function errors() {
  const e = await expectStatus(client.chat.completions.create({ ...request, model: 'no-such-model' }), 400, 'unknown model');
  check(e instanceof OpenAI.BadRequestError && /Model Not Exist/.test(e.message), e.message);
  await expectStatus(client.chat.completions.create({ ...request, max_tokens: 1000000 }), 422, 'max_tokens too large');
  await expectStatus(client.chat.completions.create({ ...request, temperature: -1 }), 422, 'temperature');
  const keyed = new OpenAI({ baseURL: process.env.DEEPC_KEY_BASE + '/v1', apiKey: 'wrong', maxRetries: 0 });
  const a = await expectStatus(keyed.chat.completions.create(request), 401, 'wrong key');
  check(a instanceof OpenAI.AuthenticationError, 'not an AuthenticationError');
  const ok = new OpenAI({ baseURL: process.env.DEEPC_KEY_BASE + '/v1', apiKey: process.env.DEEPC_KEY, maxRetries: 0 });
  const r = await ok.chat.completions.create({ ...request, model: 'deepseek-chat', max_tokens: 2 });
  check(r.choices[0].finish_reason, 'right key refused');
}

async function modelsAndCompletions() {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  check(ids.includes('deepseek-chat') && ids.includes('deepseek-reasoner') && ids.length === 3, `models ${ids}`);
  const c = await client.completions.create({ model: 'deepseek-chat', prompt: 'def add(a, b):', max_tokens: 8, temperature: 0 });
  check(c.choices[0].text.length > 0 && c.usage.completion_tokens === 8, `completion ${JSON.stringify(c)}`);
  const beta = new OpenAI({ baseURL: base + '/beta', apiKey: 'unused', maxRetries: 0 });
  const f = await beta.completions.create({ model: 'deepseek-chat', prompt: 'def f(x):\n    ', suffix: '\n    return y', max_tokens: 4, temperature: 0 });
  check(f.choices[0].text.length > 0, 'FIM');
}

(async () => {
  let failed = 0;
  for (const [name, fn] of [['node_chat', chat], ['node_stream', stream], ['node_stream_helper', streamHelper],
    ['node_errors', errors], ['node_models_completions', modelsAndCompletions]]) {
    try {
      await fn();
      console.log(`PASS: server/${name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL: server/${name}: ${e.message}`);
    }
  }
  process.exit(failed ? 1 : 0);
})();
