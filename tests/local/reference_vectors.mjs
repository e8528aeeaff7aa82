// Reference vectors from an independent implementation of all-MiniLM-L6-v2:
// @lat.md/embed 0.2.0 (candle compiled to WASM, Hugging Face tokenizers),
// installed by contrib/install-node-deps.sh. Reads the texts of
// reference_texts.json, embeds them one by one with the model files of
// MODEL_DIR, and writes {"texts": [...], "vectors": [[...384 floats]...]}.
//
//   node reference_vectors.mjs NODE_MODULES_DIR MODEL_DIR TEXTS_JSON OUT_JSON
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [nodeModules, modelDir, textsPath, outPath] = process.argv.slice(2);
if (!outPath) {
  console.error('usage: reference_vectors.mjs NODE_MODULES_DIR MODEL_DIR TEXTS_JSON OUT_JSON');
  process.exit(2);
}
const entry = join(nodeModules, '@lat.md', 'embed', 'dist', 'index.js');
if (!existsSync(entry)) {
  console.error(`reference_vectors: ${entry} missing; run contrib/install-node-deps.sh`);
  process.exit(1);
}
const weights = ['model.fp16.safetensors', 'model.safetensors']
  .map((f) => join(modelDir, f)).find((p) => existsSync(p));
if (!weights) {
  console.error(`reference_vectors: no weights in ${modelDir}; run contrib/install-model.sh`);
  process.exit(1);
}
const { createEmbedder } = await import(pathToFileURL(entry).href);
const embedder = await createEmbedder({
  model: {
    id: 'minilm-l6-v2',
    dimensions: 384,
    maxTokens: 256,
    pooling: 'mean',
    normalize: true,
    weightsPath: weights,
    tokenizerPath: join(modelDir, 'tokenizer.json'),
    configPath: join(modelDir, 'config.json'),
  },
});
const { texts } = JSON.parse(readFileSync(textsPath, 'utf8'));
// One call per text: the engine then runs one forward pass per text, inline.
const vectors = [];
for (const t of texts) {
  vectors.push((await embedder.embed([t]))[0]);
}
writeFileSync(outPath, JSON.stringify({ texts, vectors }));
