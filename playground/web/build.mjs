// Copies the browser bundles the playground needs from node_modules into
// ../assets/vendor/, minifies the ones npm ships unminified, and writes the
// licence texts of everything that ends up in those files.
//
// Run through ./build.sh (or `npm run build` after `npm ci`).

import { transform } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const nm = path.join(here, 'node_modules');
const out = path.resolve(here, '..', 'assets', 'vendor');

const pkgJSON = (name) =>
  JSON.parse(fs.readFileSync(path.join(nm, name, 'package.json'), 'utf8'));
const version = (name) => pkgJSON(name).version;
const read = (rel) => fs.readFileSync(path.join(nm, rel), 'utf8');

// The directory is wiped so that files dropped by a version bump do not
// linger in the Go embed.
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });

const written = [];
function write(name, text) {
  fs.writeFileSync(path.join(out, name), text);
  written.push(name);
}

// React's UMD builds are already minified production builds.
write('react.production.min.js', read('react/umd/react.production.min.js'));
write(
  'react-dom.production.min.js',
  read('react-dom/umd/react-dom.production.min.js'),
);
write('graphql-ws.min.js', read('graphql-ws/umd/graphql-ws.min.js'));

// graphiql 3.8.x publishes graphiql.min.js as an unminified webpack
// development build (~3.5 MB); minifying it more than halves the embed.
// Legal comments are dropped because every bundled package's licence goes
// into THIRD_PARTY_LICENSES.txt below.
const graphiqlSrc = read('graphiql/graphiql.min.js');

// GraphiQL's dialogs lock page scrolling by inserting a <style> element
// (react-style-singleton), which a CSP without 'unsafe-inline' blocks unless
// the element carries the page's nonce. That library takes its nonce from
// webpack's __webpack_require__.nc, which the bundle sets to undefined; the
// patch makes it read the nonce of the <script> element that loads the
// bundle, so the server can keep style-src to 'self' plus a per-request
// nonce.
const NONCE_FROM = '__webpack_require__.nc = undefined;';
const NONCE_TO =
  '__webpack_require__.nc = (document.currentScript && document.currentScript.nonce) || undefined;';
if (graphiqlSrc.split(NONCE_FROM).length !== 2) {
  throw new Error(
    `graphiql.min.js no longer contains exactly one "${NONCE_FROM}"; ` +
      'revisit the nonce patch in build.mjs',
  );
}
const graphiqlPatched = graphiqlSrc.replace(NONCE_FROM, NONCE_TO);
const banner = (what) =>
  `/*! ${what} ${version('graphiql')}, minified by playground/web/build.mjs; ` +
  `licences: THIRD_PARTY_LICENSES.txt */`;
const js = await transform(graphiqlPatched, {
  loader: 'js',
  minify: true,
  legalComments: 'none',
  banner: banner('graphiql'),
  target: 'es2020',
});
write('graphiql.min.js', js.code);
const css = await transform(read('graphiql/graphiql.min.css'), {
  loader: 'css',
  minify: true,
  legalComments: 'none',
  banner: banner('graphiql css'),
});
write('graphiql.min.css', css.code);

// Which packages are inside the graphiql bundle: its development build
// still names every module's source path, so the licence list follows the
// bundle instead of a hand-kept list that would rot on upgrade.
const monorepo = {
  'graphiql-react': '@graphiql/react',
  'graphiql-toolkit': '@graphiql/toolkit',
  'graphql-language-service': 'graphql-language-service',
  'codemirror-graphql': 'codemirror-graphql',
};
const bundled = new Set(['graphiql']);
for (const m of graphiqlSrc.matchAll(/^\/\*\*\*\/ "([^"]+)":/gm)) {
  const id = m[1];
  const inNM = id.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (inNM) {
    bundled.add(inNM[1]);
    continue;
  }
  const first = id.replace(/^(\.\.?\/)+/, '').split('/')[0];
  if (monorepo[first]) bundled.add(monorepo[first]);
}
if (bundled.size < 10) {
  throw new Error(
    'could not read the module list from graphiql.min.js (is it minified ' +
      'in this version?); update the licence collection in build.mjs',
  );
}

// Fonts are inlined as data: URLs in graphiql's CSS without licence files;
// the @fontsource packages carry the same fonts' licences (Roboto under
// Apache-2.0 at the time graphiql inlined it, Fira Code under OFL-1.1).
const groups = [
  ['react.production.min.js', ['react']],
  // react-dom's UMD build inlines the scheduler.
  ['react-dom.production.min.js', ['react-dom', 'scheduler']],
  ['graphql-ws.min.js', ['graphql-ws']],
  ['graphiql.min.js, graphiql.min.css', [...bundled].sort()],
  [
    'fonts inlined in graphiql.min.css',
    ['@fontsource/roboto', '@fontsource/fira-code'],
  ],
];

// Nested installs (node_modules/a/node_modules/b) are searched too, because
// npm does not hoist every transitive dependency.
function findPackage(name) {
  const direct = path.join(nm, name);
  if (fs.existsSync(path.join(direct, 'package.json'))) return direct;
  const stack = [nm];
  while (stack.length) {
    const dir = stack.pop();
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      if (e.name === 'node_modules') {
        const cand = path.join(p, name);
        if (fs.existsSync(path.join(cand, 'package.json'))) return cand;
      }
      if (!e.name.startsWith('.')) stack.push(p);
    }
  }
  return null;
}

// Bundled into graphiql.min.js but either absent from this install
// (graphiql was built against other versions) or published without a
// licence file or author, so their MIT copyright holders are kept here.
const knownHolders = {
  '@babel/runtime': 'Sebastian McKenzie and other contributors',
  '@radix-ui/react-use-escape-keydown': 'WorkOS',
  isarray: 'Julian Gruber',
  '@headlessui/react': 'Tailwind Labs, Inc.',
  'react-compiler-runtime': 'Meta Platforms, Inc. and affiliates.',
};

const MIT = (holder) => `MIT License

Copyright (c) ${holder}

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`;

const authorName = (a) =>
  typeof a === 'string' ? a.replace(/\s*[<(].*$/, '') : a?.name;

let lic =
  'Third-party software embedded in the GraphQL playground.\n' +
  'Generated by playground/web/build.mjs; do not edit.\n' +
  'Versions are those pinned in playground/web/package-lock.json; the\n' +
  'graphiql bundle may carry other versions of the same packages.\n';
const unresolved = [];
for (const [files, names] of groups) {
  lic += `\n\n######## ${files}\n`;
  for (const name of names) {
    const dir = findPackage(name);
    if (!dir) {
      if (!knownHolders[name]) {
        unresolved.push(name);
        continue;
      }
      lic += `\n======== ${name} (MIT; version bundled by graphiql)\n\n`;
      lic += MIT(knownHolders[name]);
      continue;
    }
    const pj = JSON.parse(fs.readFileSync(path.join(dir, 'package.json')));
    const licFile = fs
      .readdirSync(dir)
      .find((f) => /^(licen[sc]e|copying)([-._]|$)/i.test(f));
    lic += `\n======== ${name}@${pj.version} (${pj.license ?? 'see text'})\n\n`;
    if (licFile) {
      lic += fs.readFileSync(path.join(dir, licFile), 'utf8').trim() + '\n';
    } else if (pj.license === 'MIT' && (knownHolders[name] || authorName(pj.author))) {
      // The package ships no licence file; MIT's notice is rebuilt so the
      // permission text travels with the code.
      lic += MIT(knownHolders[name] || authorName(pj.author));
    } else {
      unresolved.push(name);
    }
  }
}
if (unresolved.length) {
  throw new Error(
    `no licence text for: ${unresolved.join(', ')}; add them to knownHolders`,
  );
}
write('THIRD_PARTY_LICENSES.txt', lic);

let total = 0;
for (const f of written) {
  const n = fs.statSync(path.join(out, f)).size;
  total += n;
  console.log(`${String(n).padStart(9)}  assets/vendor/${f}`);
}
console.log(`${String(total).padStart(9)}  total`);
