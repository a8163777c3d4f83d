// The official openai npm client (6.30.1) against a troupe OpenAI API.
//   node tests/api/openai_client_test.mjs http://127.0.0.1:PORT/v1 [model]
// Exits non-zero on any failure. Used against `troupe serve` (tests/unit/api) and real clusters.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../../.cache/npm/node_modules/"));
const OpenAI = require("openai").default ?? require("openai");

const baseURL = process.argv[2];
if (!baseURL) {
  console.error("usage: node openai_client_test.mjs BASE_URL [MODEL]");
  process.exit(2);
}
const client = new OpenAI({ baseURL, apiKey: process.env.TROUPE_API_KEY ?? "none", maxRetries: 0, timeout: 60000 });

let failures = 0;
function check(condition, message) {
  if (!condition) {
    failures += 1;
    console.error(`FAIL: ${message}`);
  }
}
async function step(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failures += 1;
    console.error(`FAIL ${name}: ${e?.stack ?? e}`);
  }
}

const models = await client.models.list();
const model = process.argv[3] ?? models.data[0]?.id;

await step("models.list", async () => {
  check(models.data.length >= 1, "at least one model");
  check(models.data.every((m) => m.object === "model" && typeof m.id === "string"), "model objects");
});

let chatText = "";
await step("chat.completions.create", async () => {
  const r = await client.chat.completions.create({
    model, messages: [{ role: "user", content: "Say hello" }], max_tokens: 8, temperature: 0,
  });
  check(r.object === "chat.completion", "object chat.completion");
  check(r.id.startsWith("chatcmpl-"), "id chatcmpl-");
  check(r.choices.length === 1 && r.choices[0].message.role === "assistant", "one assistant choice");
  check(["stop", "length"].includes(r.choices[0].finish_reason), "finish_reason");
  check(r.usage.completion_tokens >= 1 && r.usage.total_tokens === r.usage.prompt_tokens + r.usage.completion_tokens, "usage");
  chatText = r.choices[0].message.content;
});

await step("chat.completions.create stream with include_usage", async () => {
  const stream = await client.chat.completions.create({
    model, messages: [{ role: "user", content: "Say hello" }], max_tokens: 8, temperature: 0,
    stream: true, stream_options: { include_usage: true },
  });
  let text = "";
  let role = null;
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    check(chunk.object === "chat.completion.chunk", "chunk object");
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta.role) role = c.delta.role;
      if (c.delta.content) text += c.delta.content;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  check(role === "assistant", "role in the first delta");
  check(finish !== null, "finish_reason in the last chunk");
  check(usage !== null && usage.completion_tokens >= 1, "usage chunk");
  check(text === chatText, `streamed text equals the non-streamed text (${JSON.stringify(text)} vs ${JSON.stringify(chatText)})`);
});

let completionText = "";
await step("completions.create", async () => {
  const r = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 6, temperature: 0 });
  check(r.object === "text_completion", "object text_completion");
  check(r.choices.length === 1 && typeof r.choices[0].text === "string", "one text choice");
  check(r.usage.prompt_tokens >= 1, "usage");
  completionText = r.choices[0].text;
});

await step("completions.create stream", async () => {
  const stream = await client.completions.create({
    model, prompt: "Once upon a time", max_tokens: 6, temperature: 0, stream: true,
  });
  let text = "";
  for await (const chunk of stream) for (const c of chunk.choices) text += c.text;
  check(text === completionText, "streamed completion text equals the non-streamed text");
});

await step("unknown model -> NotFoundError 404", async () => {
  try {
    await client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] });
    check(false, "no error thrown");
  } catch (e) {
    check(e instanceof OpenAI.NotFoundError, `NotFoundError, got ${e?.constructor?.name}`);
    check(e.status === 404, "status 404");
    check(/no-such-model/.test(e.message), `message names the model: ${e.message}`);
  }
});

await step("temperature -1 -> BadRequestError 400 with param", async () => {
  try {
    await client.chat.completions.create({ model, messages: [{ role: "user", content: "x" }], temperature: -1 });
    check(false, "no error thrown");
  } catch (e) {
    check(e instanceof OpenAI.BadRequestError, `BadRequestError, got ${e?.constructor?.name}`);
    check(e.status === 400, "status 400");
    check(e.param === "temperature", `param temperature, got ${e.param}`);
    check(/temperature/.test(e.message), `message names temperature: ${e.message}`);
  }
});

if (failures > 0) {
  console.error(`${failures} failure(s)`);
  process.exit(1);
}
console.log("all openai client checks passed");
