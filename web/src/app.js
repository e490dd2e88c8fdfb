/*
 * deepc chat page.  Plain browser JavaScript; the only libraries are marked
 * (Markdown) and DOMPurify (sanitizer), bundled in front of this file by
 * web/build.mjs.  Talks to the server it was loaded from:
 *   POST /v1/chat/completions (stream: true)  the model, as Server-Sent Events
 *   /api/conversations...                      conversations kept in SQLite
 * Model output reaches the page only as text (textContent) or as Markdown
 * rendered by marked with raw HTML escaped and then sanitized by DOMPurify;
 * the server's Content-Security-Policy forbids inline script besides.
 */
(function () {
  'use strict';

  const $ = (sel, root) => (root || document).querySelector(sel);
  const LS = {
    get(k, d) { try { const v = localStorage.getItem('deepc.' + k); return v === null ? d : v; } catch (e) { return d; } },
    set(k, v) { try { if (v === null || v === undefined || v === '') localStorage.removeItem('deepc.' + k); else localStorage.setItem('deepc.' + k, v); } catch (e) { /* private mode */ } },
  };

  /* ------------------------------------------------------------------ */
  /* strings                                                             */

  const STR = {
    en: {
      conversations: 'Conversations', newChat: 'New chat', settings: 'Settings', apiKey: 'API key',
      openSidebar: 'Open sidebar', closeSidebar: 'Close sidebar',
      welcome: "Hi, I'm deepc.", welcomeSub: 'How can I help you today?',
      placeholder: 'Message deepc (Enter to send, Shift+Enter for a new line)',
      deepThink: 'DeepThink', send: 'Send', stop: 'Stop',
      disclaimer: 'Answers come from a local model and may be wrong; check important facts.',
      today: 'Today', yesterday: 'Yesterday', week: 'Previous 7 days', month: 'Previous 30 days', older: 'Older',
      noConvs: 'No conversations yet.', untitled: 'New chat',
      rename: 'Rename', del: 'Delete', copy: 'Copy', copied: 'Copied', edit: 'Edit', regenerate: 'Regenerate',
      cancel: 'Cancel', save: 'Save', sendEdit: 'Send',
      thinking: 'Thinking… ({n} s)', thought: 'Thought for {n} s', thoughtNoTime: 'Thought',
      showThinking: 'Show thinking', hideThinking: 'Hide thinking',
      stopped: 'Stopped.', error: 'Error: {n}', retry: 'Retry',
      deleteTitle: 'Delete conversation?', deleteBody: '"{n}" will be deleted. This cannot be undone.',
      keyTitle: 'API key', keyBody: 'This server needs an API key. It is kept in this browser only.',
      keyWrong: 'The server rejected this key.', keyLabel: 'Key',
      settingsTitle: 'Settings', system: 'System prompt', temperature: 'Temperature',
      maxTokens: 'Max tokens', budget: 'Reasoning budget (tokens, DeepThink)', language: 'Language',
      defaultHint: 'empty: server default',
      memoryNote: 'Conversations are kept in memory only; start the server with --data-dir to keep them.',
      loadFailed: 'Could not load the conversation: {n}', notFound: 'That conversation does not exist any more.',
      code: 'code', langName: 'English', otherLang: '中文',
    },
    zh: {
      conversations: '对话', newChat: '开启新对话', settings: '设置', apiKey: 'API 密钥',
      openSidebar: '打开侧边栏', closeSidebar: '关闭侧边栏',
      welcome: '我是 deepc，很高兴见到你！', welcomeSub: '我可以帮你写代码、读文件、写作各种创意内容，请把你的任务交给我吧~',
      placeholder: '给 deepc 发送消息（Enter 发送，Shift+Enter 换行）',
      deepThink: '深度思考', send: '发送', stop: '停止',
      disclaimer: '内容由本地模型生成，可能有误，请核实重要信息。',
      today: '今天', yesterday: '昨天', week: '7 天内', month: '30 天内', older: '更早',
      noConvs: '还没有对话。', untitled: '新对话',
      rename: '重命名', del: '删除', copy: '复制', copied: '已复制', edit: '编辑', regenerate: '重新生成',
      cancel: '取消', save: '保存', sendEdit: '发送',
      thinking: '思考中…（用时 {n} 秒）', thought: '已深度思考（用时 {n} 秒）', thoughtNoTime: '已深度思考',
      showThinking: '展开思考过程', hideThinking: '收起思考过程',
      stopped: '已停止。', error: '出错了：{n}', retry: '重试',
      deleteTitle: '永久删除对话', deleteBody: '删除后，该对话“{n}”将不可恢复。确认删除吗？',
      keyTitle: 'API 密钥', keyBody: '此服务器需要 API 密钥。密钥只保存在本浏览器中。',
      keyWrong: '服务器拒绝了这个密钥。', keyLabel: '密钥',
      settingsTitle: '设置', system: '系统提示词', temperature: '温度',
      maxTokens: '最大 token 数', budget: '思考预算（token，深度思考）', language: '语言',
      defaultHint: '留空：使用服务器默认值',
      memoryNote: '对话只保存在内存中；用 --data-dir 启动服务器即可持久保存。',
      loadFailed: '无法加载对话：{n}', notFound: '该对话已不存在。',
      code: '代码', langName: '中文', otherLang: 'English',
    },
  };

  function pickLang() {
    const saved = LS.get('lang', '');
    if (saved === 'en' || saved === 'zh') return saved;
    const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
    return /^zh\b/i.test(langs[0] || '') ? 'zh' : 'en';
  }
  let lang = pickLang();
  function t(key, n) {
    const s = (STR[lang] && STR[lang][key]) || STR.en[key] || key;
    return n === undefined ? s : s.replace('{n}', String(n));
  }

  /* ------------------------------------------------------------------ */
  /* icons (inline SVG built with DOM calls, so no markup strings)        */

  const ICONS = {
    logo: ['0 0 32 32', [['circle', { cx: 16, cy: 16, r: 15, fill: '#4d6bfe' }],
      ['path', { d: 'M9 17c2-6 9-8 14-4-2 0-3 1-3 2 3 0 4 2 4 4-3-2-6-1-8 1-3 3-7 1-7-3z', fill: '#fff' }],
      ['circle', { cx: 19, cy: 14, r: 1.2, fill: '#4d6bfe' }]]],
    plus: ['0 0 24 24', [['path', { d: 'M12 5v14M5 12h14' }]]],
    close: ['0 0 24 24', [['path', { d: 'M6 6l12 12M18 6L6 18' }]]],
    menu: ['0 0 24 24', [['path', { d: 'M4 7h16M4 12h16M4 17h16' }]]],
    gear: ['0 0 24 24', [['circle', { cx: 12, cy: 12, r: 3 }],
      ['path', { d: 'M19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z' }]]],
    key: ['0 0 24 24', [['circle', { cx: 7.5, cy: 15.5, r: 4.5 }], ['path', { d: 'M10.7 12.3L21 2M16 7l3 3M18 5l2 2' }]]],
    globe: ['0 0 24 24', [['circle', { cx: 12, cy: 12, r: 9 }], ['path', { d: 'M3 12h18M12 3c2.5 2.5 3.8 5.5 3.8 9s-1.3 6.5-3.8 9c-2.5-2.5-3.8-5.5-3.8-9S9.5 5.5 12 3z' }]]],
    atom: ['0 0 24 24', [['circle', { cx: 12, cy: 12, r: 1.5 }], ['ellipse', { cx: 12, cy: 12, rx: 10, ry: 4 }],
      ['ellipse', { cx: 12, cy: 12, rx: 10, ry: 4, transform: 'rotate(60 12 12)' }],
      ['ellipse', { cx: 12, cy: 12, rx: 10, ry: 4, transform: 'rotate(120 12 12)' }]]],
    send: ['0 0 24 24', [['path', { d: 'M12 19V5M6 11l6-6 6 6', 'stroke-width': 2.2 }]]],
    stop: ['0 0 24 24', [['rect', { x: 7, y: 7, width: 10, height: 10, rx: 2, fill: 'currentColor' }]]],
    pencil: ['0 0 24 24', [['path', { d: 'M4 20h4L19 9l-4-4L4 16v4zM13.5 6.5l4 4' }]]],
    trash: ['0 0 24 24', [['path', { d: 'M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3' }]]],
    copy: ['0 0 24 24', [['rect', { x: 9, y: 9, width: 11, height: 11, rx: 2 }], ['path', { d: 'M5 15V6a2 2 0 0 1 2-2h8' }]]],
    check: ['0 0 24 24', [['path', { d: 'M5 12l5 5 9-10' }]]],
    refresh: ['0 0 24 24', [['path', { d: 'M20 11a8 8 0 1 0-2.3 5.7M20 4v7h-7' }]]],
    chev: ['0 0 24 24', [['path', { d: 'M6 9l6 6 6-6' }]]],
  };
  const SVGNS = 'http://www.w3.org/2000/svg';
  function icon(name, cls) {
    const def = ICONS[name];
    const svg = document.createElementNS(SVGNS, 'svg');
    svg.setAttribute('viewBox', def[0]);
    svg.setAttribute('class', 'icon' + (cls ? ' ' + cls : ''));
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('fill', 'none');
    svg.setAttribute('stroke', name === 'logo' ? 'none' : 'currentColor');
    svg.setAttribute('stroke-width', '1.8');
    svg.setAttribute('stroke-linecap', 'round');
    svg.setAttribute('stroke-linejoin', 'round');
    for (const [tag, attrs] of def[1]) {
      const el = document.createElementNS(SVGNS, tag);
      for (const k in attrs) el.setAttribute(k, attrs[k]);
      svg.appendChild(el);
    }
    return svg;
  }

  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    if (props) {
      for (const k in props) {
        const v = props[k];
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = v;
        else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : v);
      }
    }
    for (const kid of kids) if (kid !== null && kid !== undefined && kid !== false) el.append(kid);
    return el;
  }
  function iconButton(name, label, onclick, cls) {
    return h('button', { type: 'button', class: cls, title: label, 'aria-label': label, onclick }, icon(name));
  }

  /* ------------------------------------------------------------------ */
  /* Markdown: marked with raw HTML shown as text, then DOMPurify          */

  const md = new marked.Marked({ gfm: true, breaks: false });
  const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  md.use({
    renderer: {
      // A model that writes <script> or <img onerror=...> gets that text shown,
      // not interpreted (block and inline HTML tokens both land here).
      html(token) { return escapeHtml(token.text || token.raw || ''); },
    },
  });
  const PURIFY = {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object', 'embed', 'svg', 'math'],
    FORBID_ATTR: ['style', 'id', 'name'],
    ADD_ATTR: ['target'],
  };
  DOMPurify.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName === 'A' && node.hasAttribute('href')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer nofollow');
    }
  });

  // The single path by which model text becomes markup.
  function renderMarkdown(el, text) {
    const html = md.parse(text || '');
    const frag = DOMPurify.sanitize(html, Object.assign({ RETURN_DOM_FRAGMENT: true }, PURIFY));
    enhanceCode(frag);
    el.replaceChildren(frag);
  }

  // <pre><code class="language-x"> -> a block with a language label and a copy button.
  function enhanceCode(root) {
    for (const pre of Array.from(root.querySelectorAll('pre'))) {
      const code = pre.querySelector('code');
      const m = code && /(?:^|\s)language-([\w+#.-]+)/.exec(code.className || '');
      const label = m ? m[1] : t('code');
      const btn = h('button', { type: 'button', class: 'code-copy', 'aria-label': t('copy') }, icon('copy'), h('span', { text: t('copy') }));
      btn.addEventListener('click', () => copyText((code || pre).textContent, btn));
      const wrap = h('div', { class: 'code-block' }, h('div', { class: 'code-head' }, h('span', { text: label }), btn));
      pre.replaceWith(wrap);
      wrap.append(pre);
    }
  }

  async function copyText(text, btn) {
    let ok = false;
    try { await navigator.clipboard.writeText(text); ok = true; } catch (e) {
      const ta = h('textarea', { style: null });
      ta.value = text;
      ta.setAttribute('readonly', '');
      ta.className = 'offscreen';
      document.body.append(ta);
      ta.select();
      try { ok = document.execCommand('copy'); } catch (e2) { ok = false; }
      ta.remove();
    }
    if (ok && btn) {
      const span = btn.querySelector('span');
      const old = span ? span.textContent : null;
      btn.classList.add('done');
      btn.replaceChild(icon('check'), btn.querySelector('svg'));
      if (span) span.textContent = t('copied');
      setTimeout(() => {
        btn.classList.remove('done');
        btn.replaceChild(icon('copy'), btn.querySelector('svg'));
        if (span) span.textContent = old;
      }, 1500);
    }
    if (!ok) toast(t('error', 'clipboard'));
    btn && btn.setAttribute('data-copied', ok ? '1' : '0');
  }

  /* ------------------------------------------------------------------ */
  /* state                                                                */

  const state = {
    info: { auth: false, persistent: true, conversations: true },
    key: LS.get('apiKey', ''),
    convs: [],          // sidebar: [{id, title, created, updated}] newest first
    convId: null,       // the open conversation, or null for a new chat
    messages: [],       // the open conversation: [{seq, role, content, reasoning, reasoning_ms}]
    think: LS.get('think', '0') === '1',
    busy: null,         // {ctrl: AbortController} while a reply streams
    model: '',
  };
  function settings() {
    try { return Object.assign({ system: '', temperature: '', max_tokens: '', reasoning_budget: '' }, JSON.parse(LS.get('settings', '{}'))); } catch (e) { return { system: '', temperature: '', max_tokens: '', reasoning_budget: '' }; }
  }

  const el = {};
  for (const id of ['app', 'sidebar', 'conv-list', 'new-chat', 'new-chat-top', 'side-open', 'side-close', 'backdrop',
    'btn-settings', 'btn-key', 'btn-lang', 'lang-label', 'memory-note', 'conv-title', 'model-name', 'scroller',
    'welcome', 'messages', 'composer', 'input', 'think', 'send', 'stop', 'dialog', 'toast']) el[id] = document.getElementById(id);

  /* ------------------------------------------------------------------ */
  /* server calls                                                          */

  function authHeaders(extra) {
    const hd = Object.assign({}, extra || {});
    if (state.key) hd.Authorization = 'Bearer ' + state.key;
    return hd;
  }

  async function errorOf(res) {
    let msg = res.status + ' ' + (res.statusText || '');
    try { const j = await res.json(); if (j && j.error && j.error.message) msg = j.error.message; } catch (e) { /* not JSON */ }
    const err = new Error(msg);
    err.status = res.status;
    return err;
  }

  // JSON call to /api; asks for the key again on 401 and retries once it is given.
  async function api(method, path, body) {
    for (;;) {
      const res = await fetch(path, {
        method,
        headers: authHeaders(body !== undefined ? { 'Content-Type': 'application/json' } : null),
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      if (res.status === 401) { await askKey(!!state.key); continue; }
      if (!res.ok) throw await errorOf(res);
      return res.json();
    }
  }

  /* Streams one chat completion.  on.reasoning(text) / on.content(text) get
   * each delta; resolves with {finish, usage}; rejects with AbortError when
   * stopped. */
  async function streamChat(messages, signal, on) {
    const s = settings();
    const body = {
      model: state.think ? 'deepseek-reasoner' : 'deepseek-chat',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    };
    const num = (v) => (v === '' || v === null || v === undefined || isNaN(Number(v)) ? undefined : Number(v));
    if (num(s.temperature) !== undefined) body.temperature = num(s.temperature);
    if (num(s.max_tokens) !== undefined) body.max_tokens = num(s.max_tokens);
    if (state.think && num(s.reasoning_budget) !== undefined) body.reasoning_budget = num(s.reasoning_budget);
    let res;
    for (;;) {
      res = await fetch('/v1/chat/completions', {
        method: 'POST',
        headers: authHeaders({ 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
        body: JSON.stringify(body),
        signal,
      });
      if (res.status === 401) { await askKey(!!state.key); continue; }
      break;
    }
    if (!res.ok) throw await errorOf(res);
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '', finish = null, usage = null, done = false;
    const handle = (block) => {
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5));
        // ':' comment lines (keep-alive) and other fields are ignored
      }
      if (!data.length) return;
      const payload = data.join('\n');
      if (payload === '[DONE]') { done = true; return; }
      const chunk = JSON.parse(payload);
      if (chunk.error) throw new Error(chunk.error.message || 'stream error');
      if (chunk.usage) usage = chunk.usage;
      const c = chunk.choices && chunk.choices[0];
      if (!c) return;
      const d = c.delta || {};
      // null and "" mean the same (API.md 1.5)
      if (d.reasoning_content) on.reasoning(d.reasoning_content);
      if (d.content) on.content(d.content);
      if (c.finish_reason) finish = c.finish_reason;
    };
    while (!done) {
      const { value, done: end } = await reader.read();
      if (end) break;
      buf += dec.decode(value, { stream: true });
      let m;
      while (!done && (m = /\r?\n\r?\n/.exec(buf))) {
        const block = buf.slice(0, m.index);
        buf = buf.slice(m.index + m[0].length);
        handle(block);
      }
    }
    buf += dec.decode();
    if (!done && buf.trim()) handle(buf);
    if (done) reader.cancel().catch(() => {});
    return { finish, usage };
  }

  /* ------------------------------------------------------------------ */
  /* dialogs and toast                                                     */

  let toastTimer = 0;
  function toast(msg) {
    el.toast.textContent = msg;
    el.toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.toast.hidden = true; }, 3500);
  }

  // Shows a modal built from nodes; resolves with the value given to close(), or null on Esc.
  function modal(build) {
    return new Promise((resolve) => {
      const d = el.dialog;
      let result = null;
      const close = (v) => { result = v; d.close(); };
      d.replaceChildren(build(close));
      d.onclose = () => { d.onclose = null; resolve(result); };
      d.showModal();
      const f = d.querySelector('[autofocus]') || d.querySelector('input, textarea, button');
      if (f) f.focus();
    });
  }

  let keyPromise = null;
  function askKey(wrong) {
    if (keyPromise) return keyPromise;
    keyPromise = modal((close) => {
      const input = h('input', { type: 'password', id: 'key-input', autocomplete: 'off', spellcheck: 'false', autofocus: true });
      input.value = state.key;
      const form = h('form', { method: 'dialog' },
        h('h2', { text: t('keyTitle') }), h('p', { text: t('keyBody') }),
        h('label', { for: 'key-input', text: t('keyLabel') }), input,
        wrong ? h('p', { class: 'err', text: t('keyWrong') }) : null,
        h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn primary', text: t('save') })));
      form.addEventListener('submit', (e) => { e.preventDefault(); if (input.value.trim()) close(input.value.trim()); });
      return form;
    }).then((v) => {
      keyPromise = null;
      if (v) { state.key = v; LS.set('apiKey', v); }
      else return new Promise((r) => setTimeout(r, 300)).then(() => askKey(wrong)); // the key is required
    });
    return keyPromise;
  }

  function confirmDelete(title) {
    return modal((close) => h('div', null,
      h('h2', { text: t('deleteTitle') }), h('p', { text: t('deleteBody', title || t('untitled')) }),
      h('div', { class: 'row' },
        h('button', { type: 'button', class: 'btn', text: t('cancel'), onclick: () => close(false) }),
        h('button', { type: 'button', class: 'btn danger', id: 'confirm-delete', text: t('del'), autofocus: true, onclick: () => close(true) }))));
  }

  function openSettings() {
    const s = settings();
    modal((close) => {
      const field = (key, label, type, hint) => {
        const input = type === 'textarea' ? h('textarea', { id: 'set-' + key }) : h('input', { id: 'set-' + key, type, placeholder: hint, step: 'any', min: '0' });
        input.value = s[key];
        return [h('label', { for: 'set-' + key, text: label }), input];
      };
      const form = h('form', { method: 'dialog' }, h('h2', { text: t('settingsTitle') }),
        ...field('system', t('system'), 'textarea'),
        ...field('temperature', t('temperature'), 'number', t('defaultHint')),
        ...field('max_tokens', t('maxTokens'), 'number', t('defaultHint')),
        ...field('reasoning_budget', t('budget'), 'number', t('defaultHint')),
        h('div', { class: 'row' },
          h('button', { type: 'button', class: 'btn', text: t('cancel'), onclick: () => close(null) }),
          h('button', { type: 'submit', class: 'btn primary', text: t('save') })));
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        const out = {};
        for (const k of ['system', 'temperature', 'max_tokens', 'reasoning_budget']) out[k] = form.querySelector('#set-' + k).value.trim();
        close(out);
      });
      return form;
    }).then((v) => { if (v) LS.set('settings', JSON.stringify(v)); });
  }

  /* ------------------------------------------------------------------ */
  /* sidebar                                                               */

  function groupOf(ms) {
    const d = new Date();
    const today = new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
    const day = 86400000;
    if (ms >= today) return 'today';
    if (ms >= today - day) return 'yesterday';
    if (ms >= today - 7 * day) return 'week';
    if (ms >= today - 30 * day) return 'month';
    return 'older';
  }

  function renderSidebar() {
    const list = el['conv-list'];
    list.replaceChildren();
    if (!state.convs.length) { list.append(h('p', { class: 'conv-empty', text: t('noConvs') })); return; }
    const groups = new Map();
    for (const c of state.convs) {
      const g = groupOf(c.updated);
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(c);
    }
    for (const g of ['today', 'yesterday', 'week', 'month', 'older']) {
      if (!groups.has(g)) continue;
      const ul = h('div', { class: 'conv-group', 'data-group': g, role: 'group', 'aria-label': t(g) }, h('h3', { text: t(g) }));
      for (const c of groups.get(g)) ul.append(convItem(c));
      list.append(ul);
    }
  }

  function convItem(c) {
    const item = h('div', { class: 'conv-item' + (c.id === state.convId ? ' active' : ''), 'data-id': c.id });
    const link = h('a', { class: 'conv-link', href: '#c/' + c.id, text: c.title || t('untitled'), title: c.title || t('untitled') });
    if (c.id === state.convId) link.setAttribute('aria-current', 'page');
    link.addEventListener('click', () => closeSidebar());
    item.append(link, h('span', { class: 'conv-actions' },
      iconButton('pencil', t('rename'), () => startRename(c, item), 'conv-rename'),
      iconButton('trash', t('del'), () => deleteConv(c), 'conv-delete')));
    return item;
  }

  function startRename(c, item) {
    const input = h('input', { class: 'conv-rename-input', 'aria-label': t('rename'), maxlength: '200' });
    input.value = c.title;
    item.replaceChildren(input);
    input.focus();
    input.select();
    let done = false;
    const finish = async (commit) => {
      if (done) return;
      done = true;
      const title = input.value.trim();
      if (commit && title && title !== c.title) {
        try {
          const r = await api('PATCH', '/api/conversations/' + c.id, { title });
          Object.assign(c, r);
        } catch (e) { toast(t('error', e.message)); }
      }
      renderSidebar();
      renderTitle();
      const link = el['conv-list'].querySelector('[data-id="' + c.id + '"] .conv-link');
      if (link) link.focus();
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.isComposing) { e.preventDefault(); finish(true); }
      else if (e.key === 'Escape') { e.preventDefault(); finish(false); }
    });
    input.addEventListener('blur', () => finish(true));
  }

  async function deleteConv(c) {
    if (!(await confirmDelete(c.title))) return;
    try {
      await api('DELETE', '/api/conversations/' + c.id);
    } catch (e) {
      if (e.status !== 404) { toast(t('error', e.message)); return; }
    }
    state.convs = state.convs.filter((x) => x.id !== c.id);
    if (state.convId === c.id) newChat();
    else renderSidebar();
  }

  async function loadConversations() {
    try {
      const r = await api('GET', '/api/conversations');
      state.convs = r.data || [];
    } catch (e) {
      toast(t('error', e.message));
    }
    renderSidebar();
  }

  function touchConv(id, title) {
    let c = state.convs.find((x) => x.id === id);
    if (!c) { c = { id, title: title || '', created: Date.now(), updated: Date.now() }; state.convs.unshift(c); }
    c.updated = Date.now();
    state.convs.sort((a, b) => b.updated - a.updated);
    renderSidebar();
  }

  function openSidebar() { el.app.classList.add('side-open'); el.backdrop.hidden = false; }
  function closeSidebar() { el.app.classList.remove('side-open'); el.backdrop.hidden = true; }

  /* ------------------------------------------------------------------ */
  /* messages                                                              */

  function renderTitle() {
    const c = state.convId && state.convs.find((x) => x.id === state.convId);
    el['conv-title'].textContent = c ? c.title || t('untitled') : '';
    document.title = c && c.title ? c.title + ' - deepc' : 'deepc';
  }

  function renderMessages() {
    el.messages.replaceChildren();
    for (const m of state.messages) el.messages.append(m.role === 'user' ? userView(m) : assistantView(m).root);
    el.welcome.hidden = state.messages.length > 0;
    markLast();
  }

  function markLast() {
    const views = el.messages.querySelectorAll('.msg');
    views.forEach((v, i) => v.classList.toggle('last', i === views.length - 1));
    // regenerate only on the last answer, and not while one streams
    el.messages.querySelectorAll('.msg.assistant .act-regen').forEach((b) => {
      b.hidden = !!state.busy || b.closest('.msg') !== views[views.length - 1];
    });
    el.messages.querySelectorAll('.msg.user .act-edit').forEach((b) => { b.hidden = !!state.busy; });
  }

  function userView(m) {
    const root = h('div', { class: 'msg user', 'data-seq': m.seq });
    const bubble = h('div', { class: 'bubble', text: m.content });
    const actions = h('div', { class: 'actions' },
      iconButton('copy', t('copy'), (e) => copyText(m.content, e.currentTarget), 'act-copy'),
      iconButton('pencil', t('edit'), () => startEdit(m, root), 'act-edit'));
    root.append(bubble, actions);
    return root;
  }

  function startEdit(m, root) {
    if (state.busy) return;
    const ta = h('textarea', { 'aria-label': t('edit') });
    ta.value = m.content;
    const box = h('div', { class: 'edit-box' }, ta, h('div', { class: 'edit-row' },
      h('button', { type: 'button', class: 'btn', text: t('cancel'), onclick: () => root.replaceWith(userView(m)) }),
      h('button', { type: 'button', class: 'btn primary edit-send', text: t('sendEdit'), onclick: () => submitEdit() })));
    const submitEdit = () => {
      const text = ta.value.trim();
      if (!text || state.busy) return;
      sendMessage(text, m.seq);
    };
    ta.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submitEdit(); }
      else if (e.key === 'Escape') { e.preventDefault(); root.replaceWith(userView(m)); }
    });
    root.replaceChildren(box);
    ta.focus();
    ta.setSelectionRange(ta.value.length, ta.value.length);
  }

  const secs = (ms) => Math.max(1, Math.round(ms / 1000));

  /* The view of one answer: the thinking block (hidden until there is
   * reasoning), the Markdown answer, a note (stopped / error) and actions. */
  function assistantView(m) {
    const root = h('div', { class: 'msg assistant', 'data-seq': m.seq === undefined ? '' : m.seq });
    const label = h('span', { class: 'think-label' });
    const head = h('button', { type: 'button', class: 'think-head', 'aria-expanded': 'false' }, icon('atom'), label, icon('chev', 'chev'));
    const body = h('div', { class: 'think-body' });
    const think = h('div', { class: 'think', 'data-open': 'false', hidden: true }, head, body);
    const answer = h('div', { class: 'answer' });
    const note = h('div', { class: 'note', hidden: true });
    const content = h('div', { class: 'content' }, think, answer, note);
    const actions = h('div', { class: 'actions' },
      iconButton('copy', t('copy'), (e) => copyText(v.content, e.currentTarget), 'act-copy'),
      iconButton('refresh', t('regenerate'), () => regenerate(v), 'act-regen'));
    content.append(actions);
    root.append(h('div', { class: 'avatar' }, icon('logo')), content);

    const v = {
      root, msg: m, content: m.content || '', reasoning: m.reasoning || '',
      setOpen(open) {
        think.dataset.open = open ? 'true' : 'false';
        head.setAttribute('aria-expanded', open ? 'true' : 'false');
        head.title = open ? t('hideThinking') : t('showThinking');
      },
      setLabel(text) { label.textContent = text; },
      setReasoning(text) {
        v.reasoning = text;
        think.hidden = !text;
        body.textContent = text; // reasoning is shown as plain text
      },
      setContent(text, streaming) {
        v.content = text;
        answer.classList.toggle('streaming', !!streaming);
        scheduleRender();
      },
      setNote(text, isError) {
        note.hidden = !text;
        note.textContent = text || '';
        note.classList.toggle('error', !!isError);
      },
      live(on) { think.classList.toggle('live', on); },
      flush() { if (pending) { cancelAnimationFrame(pending); pending = 0; } renderMarkdown(answer, v.content); },
    };
    let pending = 0;
    const scheduleRender = () => {
      if (pending) return;
      pending = requestAnimationFrame(() => { pending = 0; renderMarkdown(answer, v.content); stickToBottom(); });
    };
    head.addEventListener('click', () => v.setOpen(think.dataset.open !== 'true'));

    if (v.reasoning) {
      v.setReasoning(v.reasoning);
      v.setLabel(m.reasoning_ms > 0 ? t('thought', secs(m.reasoning_ms)) : t('thoughtNoTime'));
      v.setOpen(false);
    }
    renderMarkdown(answer, v.content);
    if (m.stopped) v.setNote(t('stopped'));
    return v;
  }

  // Keep the newest text in view while streaming, unless the reader scrolled up.
  let follow = true;
  el.scroller.addEventListener('scroll', () => {
    const s = el.scroller;
    follow = s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  });
  function stickToBottom(force) {
    if (force || follow) el.scroller.scrollTop = el.scroller.scrollHeight;
  }

  function setBusy(b) {
    state.busy = b;
    el.send.hidden = !!b;
    el.stop.hidden = !b;
    updateSend();
    markLast();
  }
  function updateSend() { el.send.disabled = !!state.busy || !el.input.value.trim(); }

  function historyForModel() {
    const out = [];
    const sys = settings().system.trim();
    if (sys) out.push({ role: 'system', content: sys });
    for (const m of state.messages) {
      if (m.role === 'user' || m.role === 'assistant' || m.role === 'system') out.push({ role: m.role, content: m.content });
    }
    return out;
  }

  /* Streams an answer to the current messages, then stores it.  truncateFrom
   * replaces the stored messages from that seq on (regenerate). */
  async function generate(truncateFrom) {
    const convId = state.convId;
    const msgs = state.messages;
    const m = { role: 'assistant', content: '', reasoning: '' };
    const v = assistantView(m);
    el.messages.append(v.root);
    el.welcome.hidden = true;
    follow = true;
    stickToBottom(true);
    const ctrl = new AbortController();
    setBusy({ ctrl });
    v.setContent('', true);

    const t0 = performance.now();
    let thinkMs = null, timer = 0, stopped = false, error = null;
    const tick = () => v.setLabel(t('thinking', secs(performance.now() - t0)));
    const endThinking = () => {
      if (thinkMs !== null || !v.reasoning) return;
      thinkMs = performance.now() - t0;
      clearInterval(timer);
      v.live(false);
      v.setLabel(t('thought', secs(thinkMs)));
      v.setOpen(false); // fold when the answer begins
    };
    try {
      await streamChat(historyForModel(), ctrl.signal, {
        reasoning(d) {
          if (!v.reasoning) { v.setOpen(true); v.live(true); tick(); timer = setInterval(tick, 250); }
          v.setReasoning(v.reasoning + d);
          stickToBottom();
        },
        content(d) {
          endThinking();
          v.setContent(v.content + d, true);
        },
      });
    } catch (e) {
      if (e && e.name === 'AbortError') stopped = true;
      else error = e;
    }
    clearInterval(timer);
    endThinking();
    v.live(false);
    v.setContent(v.content, false);
    v.flush();
    if (stopped) v.setNote(t('stopped'));
    if (error) v.setNote(t('error', error.message || String(error)), true);
    m.content = v.content;
    m.reasoning = v.reasoning;
    m.reasoning_ms = thinkMs === null ? null : Math.round(thinkMs);
    m.stopped = stopped;

    if (m.content || m.reasoning) {
      const body = { role: 'assistant', content: m.content, reasoning: m.reasoning || null, reasoning_ms: m.reasoning_ms };
      if (truncateFrom !== undefined) body.truncate_from = truncateFrom;
      try {
        const r = await api('POST', '/api/conversations/' + convId + '/messages', body);
        m.seq = r.seq;
        v.root.dataset.seq = r.seq;
        if (msgs === state.messages) msgs.push(m);
        touchConv(convId);
      } catch (e) {
        toast(t('error', e.message));
      }
    } else if (!stopped) {
      v.root.remove(); // nothing to keep: show the error where the input is
      if (error && state.messages === msgs) {
        const again = h('div', { class: 'msg assistant failed' }, h('div', { class: 'avatar' }, icon('logo')),
          h('div', { class: 'content' }, h('div', { class: 'note error', text: t('error', error.message || String(error)) }),
            h('div', { class: 'actions' }, h('button', { type: 'button', class: 'btn', text: t('retry'), onclick: () => { again.remove(); generate(truncateFrom); } }))));
        el.messages.append(again);
      }
    }
    setBusy(null);
    if (document.activeElement === document.body) el.input.focus();
  }

  function regenerate(v) {
    if (state.busy || !state.convId) return;
    const seq = v.msg.seq;
    if (seq === undefined) return;
    state.messages = state.messages.filter((x) => x.seq < seq);
    v.root.remove();
    generate(seq);
  }

  function makeTitle(text) {
    const line = text.replace(/\s+/g, ' ').trim();
    return line.length > 40 ? line.slice(0, 40) + '…' : line;
  }

  /* Sends a user message (a new one, or an edit replacing the stored
   * messages from seq `replaceFrom` on) and streams the answer. */
  async function sendMessage(text, replaceFrom) {
    if (state.busy) return;
    text = text.trim();
    if (!text) return;
    try {
      if (!state.convId) {
        const c = await api('POST', '/api/conversations', { title: makeTitle(text) });
        state.convs.unshift(c);
        state.convId = c.id;
        state.messages = [];
        history.pushState(null, '', '#c/' + c.id);
        renderTitle();
      }
      const body = { role: 'user', content: text };
      if (replaceFrom !== undefined) body.truncate_from = replaceFrom;
      const r = await api('POST', '/api/conversations/' + state.convId + '/messages', body);
      if (replaceFrom !== undefined) state.messages = state.messages.filter((x) => x.seq < replaceFrom);
      state.messages.push({ seq: r.seq, role: 'user', content: text });
      touchConv(state.convId);
      renderMessages();
      stickToBottom(true);
    } catch (e) {
      toast(t('error', e.message));
      return;
    }
    await generate();
  }

  function stop() {
    if (state.busy) state.busy.ctrl.abort();
  }

  /* ------------------------------------------------------------------ */
  /* navigation                                                            */

  function newChat() {
    if (state.busy) stop();
    state.convId = null;
    state.messages = [];
    if (location.hash) history.pushState(null, '', location.pathname);
    renderMessages();
    renderSidebar();
    renderTitle();
    closeSidebar();
    el.input.focus();
  }

  async function route() {
    const m = /^#c\/([0-9a-f]{32})$/.exec(location.hash);
    if (!m) { if (state.convId) newChat(); return; }
    const id = m[1];
    if (id === state.convId && state.messages.length) return;
    if (state.busy) stop();
    state.convId = id;
    state.messages = [];
    renderSidebar();
    try {
      const c = await api('GET', '/api/conversations/' + id);
      if (state.convId !== id) return;
      state.messages = c.messages || [];
      if (!state.convs.find((x) => x.id === id)) state.convs.unshift({ id: c.id, title: c.title, created: c.created, updated: c.updated });
      renderMessages();
      renderTitle();
      renderSidebar();
      follow = true;
      stickToBottom(true);
    } catch (e) {
      toast(e.status === 404 ? t('notFound') : t('loadFailed', e.message));
      state.convId = null;
      history.replaceState(null, '', location.pathname);
      renderMessages();
      renderSidebar();
      renderTitle();
    }
  }

  /* ------------------------------------------------------------------ */
  /* static texts, language                                                */

  function applyLang() {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    for (const n of document.querySelectorAll('[data-i18n]')) n.textContent = t(n.dataset.i18n);
    for (const n of document.querySelectorAll('[data-i18n-title]')) { n.title = t(n.dataset.i18nTitle); n.setAttribute('aria-label', t(n.dataset.i18nTitle)); }
    for (const n of document.querySelectorAll('[data-i18n-placeholder]')) n.placeholder = t(n.dataset.i18nPlaceholder);
    for (const n of document.querySelectorAll('[data-i18n-aria]')) n.setAttribute('aria-label', t(n.dataset.i18nAria));
    el['lang-label'].textContent = t('otherLang');
    el['btn-lang'].setAttribute('aria-label', t('language') + ': ' + t('otherLang'));
    renderSidebar();
    renderTitle();
    if (!state.busy) renderMessages();
  }

  /* ------------------------------------------------------------------ */
  /* wiring                                                                */

  for (const n of document.querySelectorAll('[data-icon]')) n.prepend(icon(n.dataset.icon));

  function autosize() {
    el.input.style.height = 'auto';
    el.input.style.height = Math.min(el.input.scrollHeight, window.innerHeight * 0.4) + 'px';
  }
  el.input.addEventListener('input', () => { autosize(); updateSend(); });
  el.input.addEventListener('keydown', (e) => {
    // Enter sends, Shift+Enter is a new line; an IME composing Chinese text keeps Enter
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit();
    } else if (e.key === 'Escape' && state.busy) {
      e.preventDefault();
      stop();
    }
  });
  function submit() {
    if (state.busy) return;
    const text = el.input.value;
    if (!text.trim()) return;
    el.input.value = '';
    autosize();
    updateSend();
    sendMessage(text);
  }
  el.composer.addEventListener('submit', (e) => { e.preventDefault(); submit(); });
  el.stop.addEventListener('click', stop);
  el.think.addEventListener('click', () => {
    state.think = !state.think;
    LS.set('think', state.think ? '1' : '0');
    el.think.setAttribute('aria-pressed', state.think ? 'true' : 'false');
  });
  el.think.setAttribute('aria-pressed', state.think ? 'true' : 'false');
  el['new-chat'].addEventListener('click', newChat);
  el['new-chat-top'].addEventListener('click', newChat);
  el['side-open'].addEventListener('click', openSidebar);
  el['side-close'].addEventListener('click', closeSidebar);
  el.backdrop.addEventListener('click', closeSidebar);
  el['btn-settings'].addEventListener('click', () => { closeSidebar(); openSettings(); });
  el['btn-key'].addEventListener('click', () => { closeSidebar(); askKey(false).then(loadConversations); });
  el['btn-lang'].addEventListener('click', () => {
    lang = lang === 'zh' ? 'en' : 'zh';
    LS.set('lang', lang);
    applyLang();
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && el.app.classList.contains('side-open')) closeSidebar();
  });
  // fires for links, typed URLs and back/forward between our pushState entries
  window.addEventListener('hashchange', route);

  async function start() {
    applyLang();
    try {
      const r = await fetch('/api/info');
      if (r.ok) state.info = await r.json();
    } catch (e) { /* keep the defaults */ }
    el['memory-note'].hidden = state.info.persistent !== false;
    el['btn-key'].hidden = !state.info.auth;
    if (state.info.auth && !state.key) await askKey(false);
    fetch('/v1/models', { headers: authHeaders() }).then((r) => (r.ok ? r.json() : null)).then((j) => {
      const id = j && j.data && j.data[0] && j.data[0].id;
      if (id) { state.model = id; el['model-name'].textContent = id; }
    }).catch(() => {});
    await loadConversations();
    await route();
    el.input.focus();
    document.body.dataset.ready = '1';
  }
  start();
})();
