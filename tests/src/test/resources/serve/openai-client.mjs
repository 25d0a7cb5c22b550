// Drives `tokc serve` with the official openai npm package: completions and chat completions, streamed and not,
// plus one refusal. Usage: node openai-client.mjs BASE_URL MODEL API_KEY
// Prints one JSON line per call for the Java test to compare; exits 1 on the first check that fails.
import OpenAI from 'openai';

const [baseURL, model, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL: baseURL + '/v1', apiKey, maxRetries: 0, timeout: 60_000 });

function check(ok, what) {
  if (!ok) {
    console.error('FAIL: ' + what);
    process.exit(1);
  }
}

const c = await client.completions.create({ model, prompt: 'ROMEO:', max_tokens: 16, temperature: 0 });
check(c.object === 'text_completion' && c.choices.length === 1, 'completion shape: ' + JSON.stringify(c));
check(c.usage.total_tokens === c.usage.prompt_tokens + c.usage.completion_tokens, 'completion usage');
console.log(JSON.stringify({ call: 'completion', text: c.choices[0].text, finish: c.choices[0].finish_reason }));

let streamed = '';
let finish = null;
const cs = await client.completions.create({ model, prompt: 'ROMEO:', max_tokens: 16, temperature: 0, stream: true });
for await (const chunk of cs) {
  streamed += chunk.choices[0]?.text ?? '';
  finish = chunk.choices[0]?.finish_reason ?? finish;
}
console.log(JSON.stringify({ call: 'completion-stream', text: streamed, finish }));

const messages = [{ role: 'system', content: 'You are a player.' }, { role: 'user', content: 'Speak, friend.' }];
const chat = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0 });
check(chat.object === 'chat.completion' && chat.choices[0].message.role === 'assistant', 'chat shape: ' + JSON.stringify(chat));
console.log(JSON.stringify({ call: 'chat', text: chat.choices[0].message.content, finish: chat.choices[0].finish_reason }));

let chatStreamed = '';
let role = null;
let usage = null;
const chs = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0, stream: true,
  stream_options: { include_usage: true } });
for await (const chunk of chs) {
  role = chunk.choices[0]?.delta?.role ?? role;
  chatStreamed += chunk.choices[0]?.delta?.content ?? '';
  usage = chunk.usage ?? usage;
}
check(role === 'assistant', 'chat stream role');
check(usage !== null && usage.completion_tokens >= 1, 'chat stream usage');
console.log(JSON.stringify({ call: 'chat-stream', text: chatStreamed }));

try {
  await client.completions.create({ model: 'no-such-model', prompt: 'x', max_tokens: 1 });
  check(false, 'an unknown model was accepted');
} catch (e) {
  check(e instanceof OpenAI.NotFoundError && e.status === 404, 'unknown model: ' + e);
  console.log(JSON.stringify({ call: 'error', status: e.status, code: e.code }));
}

const models = await client.models.list();
check(models.data.some((m) => m.id === model), 'models list');
console.log(JSON.stringify({ call: 'models', ids: models.data.map((m) => m.id) }));
