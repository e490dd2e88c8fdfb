// Builds the chat page into web/dist from web/src and the npm libraries:
//   dist/index.html, dist/favicon.svg
//   dist/assets/app.js    DOMPurify + marked (their dist files, unchanged) + src/app.js
//   dist/assets/app.css   src/style.css
//   dist/assets/licenses.txt  the libraries' licence texts
// No bundler, no minifier: the output is deterministic, so a rebuild with the
// locked versions gives identical bytes.  Run: npm ci && npm run build (in web/).
import { readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const nm = join(here, 'node_modules');
const read = (p) => readFileSync(p, 'utf8');
const pkg = (name) => JSON.parse(read(join(nm, name, 'package.json')));

const libs = [
  { name: 'dompurify', file: 'dist/purify.min.js', license: 'LICENSE' },
  { name: 'marked', file: 'lib/marked.umd.js', license: 'LICENSE' },
];

const out = join(here, 'dist');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

let js = '/* deepc chat page. Bundled libraries (see /assets/licenses.txt): ' +
  libs.map((l) => `${l.name} ${pkg(l.name).version}`).join(', ') + ' */\n';
for (const l of libs) {
  let src = read(join(nm, l.name, l.file));
  src = src.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'); // the maps are not shipped
  js += `\n/* ---- ${l.name} ${pkg(l.name).version} (${l.file}) ---- */\n` + src.trimEnd() + '\n';
}
js += '\n/* ---- deepc ---- */\n' + read(join(here, 'src/app.js'));
writeFileSync(join(out, 'assets/app.js'), js);
writeFileSync(join(out, 'assets/app.css'), read(join(here, 'src/style.css')));
writeFileSync(join(out, 'index.html'), read(join(here, 'src/index.html')));
writeFileSync(join(out, 'favicon.svg'), read(join(here, 'src/favicon.svg')));

let lic = 'Third-party code bundled into /assets/app.js\n';
for (const l of libs) {
  const p = pkg(l.name);
  lic += `\n==== ${l.name} ${p.version} (${p.license}) ====\n\n` + read(join(nm, l.name, l.license)).trim() + '\n';
}
writeFileSync(join(out, 'assets/licenses.txt'), lic);
console.log('web/dist built:', libs.map((l) => `${l.name}@${pkg(l.name).version}`).join(' '));
