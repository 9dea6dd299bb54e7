#!/usr/bin/env node
// Tokenizer test for the facs TextMate grammar.
//
// Loads editors/vscode/syntaxes/facs.tmLanguage.json with the same engine VS Code
// uses (vscode-textmate on top of the vscode-oniguruma WebAssembly build), then:
//   1. checks that the extension manifest and the grammar agree (language id, scope
//      name, file paths);
//   2. tokenizes every sample (editors/tests/samples/*.facs, then every *.facs file
//      under examples/ at the repository root) and compares the result with the
//      committed snapshot editors/tests/snapshots/<name>.scopes, printing a diff;
//   3. checks the positions listed in positions.txt, so that a regression fails even
//      when someone regenerates the snapshots without reading them;
//   4. checks that all-constructs.facs, a valid file, has no `invalid.*` token.
//
// Usage: node tokenize.mjs            compare (exit status 1 on any failure)
//        UPDATE_SNAPSHOTS=1 node tokenize.mjs   rewrite the snapshots
//        node tokenize.mjs --print FILE          print the tokens of one file
// The last line of output is `RESULT passed=N failed=M`, which run.sh adds up.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EDITORS = path.resolve(HERE, '..');
const REPO = path.resolve(EDITORS, '..');
const EXTENSION = path.join(EDITORS, 'vscode');
const GRAMMAR_PATH = path.join(EXTENSION, 'syntaxes', 'facs.tmLanguage.json');
const SAMPLES = path.join(HERE, 'samples');
const SNAPSHOTS = path.join(HERE, 'snapshots');
const POSITIONS = path.join(HERE, 'positions.txt');
const EXAMPLES = path.join(REPO, 'examples');
const ROOT_SCOPE = 'source.facs';
const UPDATE = process.env.UPDATE_SNAPSHOTS === '1';

let n_passed = 0;
let n_failed = 0;

function pass() {
  n_passed += 1;
}

function fail(message) {
  n_failed += 1;
  console.log(`FAIL ${message}`);
}

function check(condition, message) {
  if (condition) pass();
  else fail(message);
}

// ---------------------------------------------------------------- grammar loading

async function loadGrammar() {
  const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text) => new oniguruma.OnigString(text),
    }),
    loadGrammar: async (scopeName) => {
      if (scopeName !== ROOT_SCOPE) return null;
      return vsctm.parseRawGrammar(fs.readFileSync(GRAMMAR_PATH, 'utf8'), GRAMMAR_PATH);
    },
  });
  const grammar = await registry.loadGrammar(ROOT_SCOPE);
  if (!grammar) throw new Error(`no grammar for ${ROOT_SCOPE}`);
  return grammar;
}

/** Splits a file into lines (no terminators) and tokenizes them: [{ text, tokens }]. */
function tokenize(grammar, source) {
  const lines = source.split('\n').map((line) => line.replace(/\r$/, ''));
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  let ruleStack = vsctm.INITIAL;
  return lines.map((text) => {
    const result = grammar.tokenizeLine(text, ruleStack);
    ruleStack = result.ruleStack;
    const tokens = [];
    for (const token of result.tokens) {
      const end = Math.min(token.endIndex, text.length);
      if (end <= token.startIndex) continue;
      tokens.push({ start: token.startIndex, end, text: text.slice(token.startIndex, end), scopes: token.scopes });
    }
    return { text, tokens };
  });
}

// ---------------------------------------------------------------- snapshots

function renderSnapshot(displayPath, tokenized) {
  const out = [
    `# Scopes of ${displayPath}, tokenized with editors/vscode/syntaxes/facs.tmLanguage.json.`,
    `# Per line: the line, then one row per token that is not only blanks: its text (JSON) and`,
    `# its scopes, innermost last, without the root scope ${ROOT_SCOPE}.`,
    `# Regenerate with UPDATE_SNAPSHOTS=1 editors/tests/run.sh, then read the diff before committing.`,
  ];
  tokenized.forEach(({ text, tokens }, line_idx) => {
    out.push('');
    out.push(`${line_idx + 1}: ${JSON.stringify(text)}`);
    for (const token of tokens) {
      if (token.text.trim() === '') continue;
      const scopes = token.scopes.filter((scope) => scope !== ROOT_SCOPE).join(' ') || '-';
      out.push(`  ${JSON.stringify(token.text).padEnd(28)} ${scopes}`);
    }
  });
  return out.join('\n') + '\n';
}

/** A line diff (longest common subsequence) with two lines of context, at most `limit` lines. */
function diffLines(expected, actual, limit = 120) {
  const a = expected.split('\n');
  const b = actual.split('\n');
  const lcs = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const ops = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push([' ', a[i]]);
      i += 1;
      j += 1;
    } else if (i < a.length && (j === b.length || lcs[i + 1][j] >= lcs[i][j + 1])) {
      ops.push(['-', a[i]]);
      i += 1;
    } else {
      ops.push(['+', b[j]]);
      j += 1;
    }
  }
  const shown = new Set();
  ops.forEach(([kind], idx) => {
    if (kind !== ' ') for (let k = idx - 2; k <= idx + 2; k += 1) shown.add(k);
  });
  const out = [];
  let last = -1;
  for (let idx = 0; idx < ops.length && out.length < limit; idx += 1) {
    if (!shown.has(idx)) continue;
    if (last !== -1 && idx !== last + 1) out.push('   ...');
    out.push(`  ${ops[idx][0]} ${ops[idx][1]}`);
    last = idx;
  }
  if (out.length >= limit) out.push('   ... (diff truncated)');
  return out.join('\n');
}

function findFacsFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findFacsFiles(full));
    else if (entry.isFile() && entry.name.endsWith('.facs')) found.push(full);
  }
  return found.sort();
}

/** Every sample: { file, display, snapshot }. Sample snapshots are named after their path under samples/. */
function collectSamples() {
  const samples = [];
  for (const file of findFacsFiles(SAMPLES)) {
    const rel = path.relative(SAMPLES, file).split(path.sep).join('/');
    samples.push({ file, display: `editors/tests/samples/${rel}`, name: rel.replace(/\.facs$/, '').replaceAll('/', '__') });
  }
  for (const file of findFacsFiles(EXAMPLES)) {
    const rel = path.relative(REPO, file).split(path.sep).join('/');
    samples.push({ file, display: rel, name: rel.replace(/\.facs$/, '').replaceAll('/', '__') });
  }
  return samples;
}

function checkSnapshots(grammar, samples, tokenizedByName) {
  fs.mkdirSync(SNAPSHOTS, { recursive: true });
  for (const sample of samples) {
    const tokenized = tokenize(grammar, fs.readFileSync(sample.file, 'utf8'));
    tokenizedByName.set(sample.name, tokenized);
    const actual = renderSnapshot(sample.display, tokenized);
    const snapshotPath = path.join(SNAPSHOTS, `${sample.name}.scopes`);
    const expected = fs.existsSync(snapshotPath) ? fs.readFileSync(snapshotPath, 'utf8') : null;
    if (expected === actual) {
      pass();
    } else if (UPDATE) {
      fs.writeFileSync(snapshotPath, actual);
      console.log(`updated snapshots/${sample.name}.scopes`);
      pass();
    } else if (expected === null) {
      fail(`snapshot snapshots/${sample.name}.scopes is missing for ${sample.display} (run with UPDATE_SNAPSHOTS=1, then read it)`);
    } else {
      fail(`snapshot snapshots/${sample.name}.scopes differs for ${sample.display} (- snapshot, + now):\n${diffLines(expected, actual)}`);
    }
  }
  // A snapshot without a sample is stale (a renamed or deleted example).
  const names = new Set(samples.map((sample) => `${sample.name}.scopes`));
  for (const entry of fs.readdirSync(SNAPSHOTS).sort()) {
    if (!entry.endsWith('.scopes') || names.has(entry)) continue;
    if (UPDATE) {
      fs.rmSync(path.join(SNAPSHOTS, entry));
      console.log(`removed stale snapshots/${entry}`);
    } else {
      fail(`snapshots/${entry} has no sample any more (run with UPDATE_SNAPSHOTS=1 to remove it)`);
    }
  }
}

// ---------------------------------------------------------------- explicit checks

/** Rows of positions.txt: { sample, line, col, text, scope, vimGroup }. */
function readPositions() {
  const rows = [];
  fs.readFileSync(POSITIONS, 'utf8').split('\n').forEach((raw, idx) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    if (fields.length !== 6) throw new Error(`positions.txt:${idx + 1}: expected 6 fields, got ${fields.length}`);
    const [sample, lineNo, col, text, scope, vimGroup] = fields;
    rows.push({ where: `positions.txt:${idx + 1}`, sample, line: Number(lineNo), col: Number(col), text, scope: scope.replaceAll('>', ' '), vimGroup });
  });
  return rows;
}

function checkPositions(grammar) {
  const cache = new Map();
  for (const row of readPositions()) {
    if (row.scope === '-') continue;
    const file = path.join(SAMPLES, row.sample);
    if (!cache.has(file)) cache.set(file, tokenize(grammar, fs.readFileSync(file, 'utf8')));
    const lineInfo = cache.get(file)[row.line - 1];
    const label = `${row.where}: ${row.sample}:${row.line}:${row.col} ${JSON.stringify(row.text)}`;
    if (!lineInfo || lineInfo.text.slice(row.col - 1, row.col - 1 + row.text.length) !== row.text) {
      fail(`${label}: the sample no longer has this text here (line is ${JSON.stringify(lineInfo?.text)})`);
      continue;
    }
    const token = lineInfo.tokens.find((t) => t.start <= row.col - 1 && row.col - 1 < t.end);
    const scopes = token ? token.scopes.join(' ') : '';
    check(scopes.includes(row.scope), `${label}: expected a scope containing "${row.scope}", got "${scopes}"`);
  }
}

function checkNoInvalid(tokenized, name) {
  const problems = [];
  tokenized.forEach(({ tokens }, line_idx) => {
    for (const token of tokens) {
      if (token.scopes.some((scope) => scope.startsWith('invalid'))) {
        problems.push(`  ${name}:${line_idx + 1}:${token.start + 1} ${JSON.stringify(token.text)} ${token.scopes.join(' ')}`);
      }
    }
  });
  check(problems.length === 0, `${name} is valid .facs but has invalid tokens:\n${problems.join('\n')}`);
}

function checkManifest() {
  const manifest = JSON.parse(fs.readFileSync(path.join(EXTENSION, 'package.json'), 'utf8'));
  const grammarJson = JSON.parse(fs.readFileSync(GRAMMAR_PATH, 'utf8'));
  const language = manifest.contributes?.languages?.find((l) => l.id === 'facs');
  const grammar = manifest.contributes?.grammars?.find((g) => g.language === 'facs');
  check(language?.extensions?.includes('.facs'), 'package.json: language facs with extension .facs');
  check(grammar?.scopeName === ROOT_SCOPE && grammarJson.scopeName === ROOT_SCOPE, `package.json and grammar: scopeName ${ROOT_SCOPE}`);
  check(grammar && path.resolve(EXTENSION, grammar.path) === GRAMMAR_PATH, 'package.json: grammar path points at syntaxes/facs.tmLanguage.json');
  const configPath = language && path.resolve(EXTENSION, language.configuration ?? '');
  let config = null;
  try {
    config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  } catch (error) {
    config = null;
  }
  check(config?.comments?.lineComment === '//' && config?.comments?.blockComment?.join(' ') === '/* */',
    'language-configuration.json: parses, with // and /* */ comments');
  check(manifest.activationEvents?.includes('onLanguage:facs'), 'package.json: activationEvents has onLanguage:facs');
  check(fs.existsSync(path.resolve(EXTENSION, manifest.main ?? '')), 'package.json: main exists');
  check(Boolean(manifest.dependencies?.['vscode-languageclient']), 'package.json: depends on vscode-languageclient');
}

// ---------------------------------------------------------------- main

async function main() {
  const grammar = await loadGrammar();
  const printIdx = process.argv.indexOf('--print');
  if (printIdx !== -1) {
    const file = process.argv[printIdx + 1];
    process.stdout.write(renderSnapshot(file, tokenize(grammar, fs.readFileSync(file, 'utf8'))));
    return 0;
  }
  checkManifest();
  const samples = collectSamples();
  const tokenizedByName = new Map();
  checkSnapshots(grammar, samples, tokenizedByName);
  checkPositions(grammar);
  checkNoInvalid(tokenizedByName.get('all-constructs'), 'all-constructs.facs');
  const n_examples = samples.filter((sample) => !sample.display.startsWith('editors/')).length;
  console.log(`tokenizer: ${samples.length} samples (${n_examples} from examples/), ${n_passed} passed, ${n_failed} failed`);
  console.log(`RESULT passed=${n_passed} failed=${n_failed}`);
  return n_failed === 0 ? 0 : 1;
}

main().then(
  (status) => process.exit(status),
  (error) => {
    console.log(`FAIL tokenizer crashed: ${error.stack ?? error}`);
    console.log(`RESULT passed=${n_passed} failed=${n_failed + 1}`);
    process.exit(1);
  },
);
