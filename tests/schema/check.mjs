// Keeps docs/scenario.schema.json in sync with the scenario parser (src/scenario/*.cpp):
//   1. the schema compiles (Ajv, draft 2020-12, strict mode), and as draft-07 too (what editors
//      such as VS Code's YAML extension validate with), judging everything below alike;
//   2. every scenario of the suite (scenarios/**/*.yaml) validates against it;
//   3. the schema object for each key list of the parser has exactly the list's keys, no
//      fewer (a valid file would be flagged) and no more (an editor would offer a key the
//      parser refuses): kTopLevelKeys -> the top level, kActionKeys + kStepModifierKeys -> a
//      step, each members(...) and reject_unknown_keys(...) list and a request's keys -> the
//      object the parser names in it (table `places`); the same for src/shop/config.cpp's
//      lists under config:; and the schema's enums (services, edges, breakers, states,
//      transitions, fault types, methods, matcher operators, JSON types) are the values of the
//      parser's vocabularies (vocabulary.hpp, matcher.hpp);
//   4. broken scenarios are refused by the schema, and (with --shopctl BINARY) by the parser too,
//      and a few valid ones are accepted by both: the two agree on them.
// Prints "ok - ..." / "not ok - ..." lines and ends with "schema: N passed, M failed".
// Usage: node check.mjs [--shopctl BINARY]        (tests/schema/run.sh)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import AjvDraft7 from 'ajv';
import YAML from 'yaml';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const args = process.argv.slice(2);
let shopctl = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--shopctl' && i + 1 < args.length) shopctl = path.resolve(args[++i]);
  else { console.error(`check.mjs: unknown argument ${args[i]}`); process.exit(2); }
}

let passed = 0, failed = 0;
let tmp = null;  // a folder for the cases given to shopctl validate
function report(ok, what, detail) {
  if (ok) { passed++; console.log(`ok - ${what}`); }
  else { failed++; console.log(`not ok - ${what}`); if (detail) console.log(detail.replace(/^/gm, '    ')); }
}

// --- The schema ---------------------------------------------------------------------------
const schemaFile = path.join(root, 'docs/scenario.schema.json');
const schema = JSON.parse(fs.readFileSync(schemaFile, 'utf8'));
// Strict: unknown keywords, ignored keywords, keywords without the type they need are errors.
// Two relaxations: union types are how the schema says "a YAML scalar" (the parser reads 42 as
// text where it wants text), and strictRequired would refuse "exactly one of these keys"
// written as oneOf: [{required: [a]}, {required: [b]}] (the keys are defined one level up).
const ajv = new Ajv2020({ strict: true, strictRequired: false, allowUnionTypes: true, allErrors: true });
let validate;
try {
  validate = ajv.compile(schema);
  report(true, `docs/scenario.schema.json compiles in strict mode (draft 2020-12)`);
} catch (e) {
  report(false, `docs/scenario.schema.json compiles in strict mode`, String(e.message));
  finish();
}
// Editors: VS Code's YAML extension (yaml-language-server) validates with draft 7 only. The
// schema is written with keywords draft 7 has too; the same schema, declared draft-07, must
// compile strictly with Ajv's draft-07 build (an unknown keyword there is an error) and judge
// every file and case exactly as the 2020-12 one does.
const ajv7 = new AjvDraft7({ strict: true, strictRequired: false, allowUnionTypes: true, allErrors: true });
let validate7 = null;
try {
  validate7 = ajv7.compile({ ...schema, $schema: 'http://json-schema.org/draft-07/schema#', $id: `${schema.$id}:draft-07` });
  report(true, `the same schema compiles as draft-07, strictly (only keywords that draft 7 has too)`);
} catch (e) {
  report(false, `the same schema compiles as draft-07, strictly (only keywords that draft 7 has too)`, String(e.message));
}
// Both verdicts; a document the two drafts judge differently counts as refused.
function judge(doc) {
  const ok = validate(doc);
  const errors = validate.errors;
  if (!validate7) return { ok, errors };
  const ok7 = validate7(doc);
  if (ok7 === ok) return { ok, errors };
  return { ok: false, errors: [{ instancePath: '', message: `draft 2020-12 says ${ok ? 'valid' : 'invalid'}, draft-07 says ${ok7 ? 'valid' : 'invalid'}`, params: ok ? validate7.errors : errors }] };
}
const errorsText = (errors) =>
  (errors || []).slice(0, 8).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`).join('\n');

// --- Reading YAML as shopctl does -----------------------------------------------------------
// shopctl protects well-formed ${name} references before parsing (so `{order: ${order_id}}` is
// valid inside a flow mapping) and restores them after: the same here, with private-use
// characters in place of its \x01 and \x02.
const OPEN = '\uE000', CLOSE = '\uE001';
const protect = (text) => text.replace(/\$\{([A-Za-z0-9_.]+)\}/g, `$${OPEN}$1${CLOSE}`);
const restore = (value) => {
  if (typeof value === 'string') return value.replaceAll(OPEN, '{').replaceAll(CLOSE, '}');
  if (Array.isArray(value)) return value.map(restore);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [restore(k), restore(v)]));
  }
  return value;
};
function load(text) {
  // YAML 1.2 core schema, as the parser; duplicate keys are errors there too.
  const doc = YAML.parse(protect(text), { schema: 'core', uniqueKeys: true, maxAliasCount: -1, merge: false });
  return restore(doc);
}

// --- 2. The suite -------------------------------------------------------------------------
function yamlFiles(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...yamlFiles(full));
    else if (/\.ya?ml$/.test(entry.name)) out.push(full);
  }
  return out.sort();
}
const suite = yamlFiles(path.join(root, 'scenarios'));
report(suite.length > 0, `the suite has scenarios (${suite.length})`);
for (const file of suite) {
  const rel = path.relative(root, file);
  let doc;
  try { doc = load(fs.readFileSync(file, 'utf8')); } catch (e) { report(false, `${rel} is YAML`, e.message); continue; }
  const { ok, errors } = judge(doc);
  report(ok, `${rel} validates against the schema`, ok ? '' : errorsText(errors));
}

// --- 3. Every key the parser knows --------------------------------------------------------
// Each key list of the parser is compared with the schema object it describes, both ways: a
// key the parser knows and the schema lacks (editors would flag a valid file), and a property
// the schema offers and the parser refuses (editors would complete a key that fails).
const pointer = (p) => p.replace(/^#/, '').split('/').filter(Boolean)
  .reduce((n, k) => n?.[k.replaceAll('~1', '/').replaceAll('~0', '~')], schema);
const resolve = (node) => {
  while (node && node.$ref) node = pointer(node.$ref);
  return node;
};
const names = (node) => new Set(Object.keys(resolve(node)?.properties || {}));
// Where each list of the parser lives in the schema, by the name the parser gives it in its
// messages (the `what` of members(...), the `where` of reject_unknown_keys(...)). A list the
// parser gains fails the check until it is placed here.
const places = {
  "the scenario": ['#'],
  "a step": ['#/$defs/step', '#/$defs/inner_step'],
  "a request": ['#/$defs/request'],
  "'register'": ['#/$defs/register'],
  "'login'": ['#/$defs/login'],
  "'pay'": ['#/$defs/pay'],
  "'set_price'": ['#/$defs/set_price'],
  "'set_available'": ['#/$defs/set_available'],
  "'eventually'": ['#/$defs/eventually'],
  "a capture": ['#/$defs/capture/anyOf/1'],
  "'expect'": ['#/$defs/expect'],
  "a 'calls' item": ['#/$defs/call'],
  "a 'responses' item": ['#/$defs/response_count'],
  "a fault": ['#/$defs/fault'],
  "a fault's 'match'": ['#/$defs/fault/properties/match'],
  "'select'": ['#/$defs/select'],
};
function compare(what, where, keys, required = []) {
  const place = places[where];
  if (!place) {
    report(false, `${what}: the schema object for ${where} is known to check.mjs`,
      `add ${JSON.stringify(where)} to 'places' in tests/schema/check.mjs (keys: ${keys.join(', ')})`);
    return;
  }
  const objects = place.map((p) => resolve(pointer(p)));
  const have = new Set(objects.flatMap((o) => Object.keys(o?.properties || {})));
  const want = new Set(keys);
  const missing = keys.filter((k) => !have.has(k));
  const extra = [...have].filter((k) => !want.has(k));
  const notRequired = required.filter((k) => !objects.some((o) => (o?.required || []).includes(k)));
  const problems = [
    missing.length && `the parser knows, the schema lacks: ${missing.join(', ')}`,
    extra.length && `the schema has, the parser refuses: ${extra.join(', ')}`,
    notRequired.length && `required by the parser, not by the schema: ${notRequired.join(', ')}`,
    !keys.length && 'no keys read',
  ].filter(Boolean);
  report(problems.length === 0, `${what}: ${where} has exactly these ${keys.length} keys in the schema (${place.join(' + ')})${required.length ? `, requiring ${required.join(', ')}` : ''}`,
    problems.join('\n'));
}

const strings = (text) => [...text.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]);
// The text from `start` to its matching close bracket (the C++ has no brackets in its strings here).
function balanced(text, start, open = '{', close = '}') {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    if (text[i] === open) depth++;
    else if (text[i] === close && --depth === 0) return text.slice(start, i + 1);
  }
  return null;
}
function braceLists(text, after) {
  // The {...} lists that follow `after` (a regex matching up to the list's opening brace), and
  // the string literal after each list (the parser's name for the object).
  const out = [];
  for (const m of text.matchAll(after)) {
    const begin = m.index + m[0].length - 1;
    const list = balanced(text, begin);
    if (!list) continue;
    const where = /^\s*,\s*"([^"]*)"/.exec(text.slice(begin + list.length))?.[1];
    out.push({ at: m.index, keys: strings(list), where });
  }
  return out;
}
const lineOf = (text, index) => text.slice(0, index).split('\n').length;

const sources = fs.readdirSync(path.join(root, 'src/scenario')).filter((f) => f.endsWith('.cpp')).sort();
const vocabulary = fs.readFileSync(path.join(root, 'src/scenario/vocabulary.hpp'), 'utf8');
const methods = strings(vocabulary.match(/kHttpMethods\s*=\s*\{[^}]*\}/)[0]);
const found = { named: 0, members: 0, reject: 0, allowed: 0 };
for (const name of sources) {
  const file = `src/scenario/${name}`;
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  // The named lists: the top level, and a step (its actions and modifiers together).
  const named = (list) => braceLists(text, new RegExp(`\\b${list}\\s*=\\s*\\{`, 'g'));
  for (const { at, keys } of named('kTopLevelKeys')) {
    found.named++;
    compare(`${file}:${lineOf(text, at)}: kTopLevelKeys`, 'the scenario', keys, ['version', 'steps']);
  }
  const actions = named('kActionKeys'), modifiers = named('kStepModifierKeys');
  if (actions.length || modifiers.length) {
    found.named += actions.length + modifiers.length;
    const keys = [...actions, ...modifiers].flatMap((l) => l.keys);
    compare(`${file}: kActionKeys + kStepModifierKeys`, 'a step', keys);
  }
  // members(field, {required...}, {optional...}, "'what'", ...).
  for (const m of text.matchAll(/\bmembers\(\s*[a-z_]+\s*,\s*\{/g)) {
    const required = balanced(text, m.index + m[0].length - 1);
    const rest = text.slice(m.index + m[0].length - 1 + required.length);
    const optional = balanced(rest, rest.indexOf('{'));
    const what = /"([^"]*)"/.exec(rest.slice(rest.indexOf('{') + optional.length))?.[1] ?? '?';
    found.members++;
    compare(`${file}:${lineOf(text, m.index)}: members(...)`, what, [...strings(required), ...strings(optional)], strings(required));
  }
  // reject_unknown_keys(entries, {"..."}, "where").
  for (const { at, keys, where } of braceLists(text, /\breject_unknown_keys\(\s*[a-z_]+\s*,\s*\{/g)) {
    found.reject++;
    compare(`${file}:${lineOf(text, at)}: reject_unknown_keys`, where ?? '?', keys);
  }
  // parse_request's `allowed = {...}`, to which it adds the HTTP methods (the shorthand keys).
  for (const { at, keys } of braceLists(text, /std::vector<std::string>\s+allowed\s*=\s*\{/g)) {
    found.allowed++;
    compare(`${file}:${lineOf(text, at)}: a request's allowed keys and the methods`, 'a request', [...keys, ...methods]);
  }
}
// The scan itself must keep finding what it looks for: a refactor that hides the lists from
// it fails here instead of passing on nothing.
report(found.named >= 3 && found.members >= 6 && found.reject >= 7 && found.allowed >= 1,
  `the scan found the parser's key lists (${found.named} named, ${found.members} members(...), ${found.reject} reject_unknown_keys, ${found.allowed} allowed)`);

// The config keys: each check_map(node, "where", {...}) list of src/shop/config.cpp against
// the object at that dotted path under config:, and the breaker and retry settings (read by
// their own classes) against theirs; both ways, like the parser's lists.
{
  const config = fs.readFileSync(path.join(root, 'src/shop/config.cpp'), 'utf8');
  const under = (dotted) => {
    // serve's settings, all of them ($defs/config); a scenario's config: refuses a few more
    // (runner.cpp's kNotForAScenario, checked by the refused files below).
    let node = resolve(schema.$defs.config);
    for (const part of dotted === 'config' ? [] : dotted.split('.')) node = resolve(node?.properties?.[part]);
    return node;
  };
  const lists = [];
  for (const { at, keys } of braceLists(config, /check_map\([^,]+,\s*"[^"]*"\s*,\s*\{/g)) {
    const where = /check_map\([^,]+,\s*"([^"]*)"/.exec(config.slice(at))[1];
    lists.push([`src/shop/config.cpp:${lineOf(config, at)}`, where, keys, under(where)]);
  }
  for (const [file, pattern, where, def] of [
    ['src/platform/resilience/circuit_breaker.cpp', /"sliding_window_type", "sliding_window_size"/, 'a circuit breaker', '#/$defs/config_breaker'],
    ['src/platform/resilience/retry.cpp', /"max_attempts", "initial_backoff"/, 'a client\'s retry', '#/$defs/config_client/properties/retry']]) {
    const text = fs.readFileSync(path.join(root, file), 'utf8');
    const m = pattern.exec(text);
    const open = m ? text.lastIndexOf('{', m.index) : -1;
    lists.push([m ? `${file}:${lineOf(text, open)}` : file, where, m ? strings(balanced(text, open)) : [], resolve(pointer(def))]);
  }
  report(lists.length >= 15, `the scan found config.cpp's key lists (${lists.length})`);
  for (const [at, where, keys, object] of lists) {
    const have = new Set(Object.keys(object?.properties || {}));
    const missing = keys.filter((k) => !have.has(k));
    const extra = [...have].filter((k) => !keys.includes(k));
    const problems = [
      !object && `no object for ${where} under config: in the schema`,
      missing.length && `the shop knows, the schema lacks: ${missing.join(', ')}`,
      extra.length && `the schema has, the shop refuses: ${extra.join(', ')}`,
      !keys.length && 'no keys read',
    ].filter(Boolean);
    report(problems.length === 0, `${at}: ${where === 'config' ? 'config:' : `config: ${where}`} has exactly these ${keys.length} keys in the schema`, problems.join('\n'));
  }
  // The keys a scenario's config: refuses (src/scenario/runner.cpp, kNotForAScenario) are the
  // ones the schema's scenario config: makes false.
  const runner = fs.readFileSync(path.join(root, 'src/scenario/runner.cpp'), 'utf8');
  const table = /kNotForAScenario = \{([\s\S]*?)\n  \};/.exec(runner);
  const notHere = table ? [...table[1].matchAll(/\{"([a-z_]+)",/g)].map((m) => m[1]).sort() : [];
  const refusedBySchema = (schema.properties.config.allOf || [])
    .flatMap((part) => Object.entries(part.properties || {}).filter(([, v]) => v === false).map(([k]) => k)).sort();
  report(notHere.length >= 5 && JSON.stringify(notHere) === JSON.stringify(refusedBySchema),
    `a scenario's config: refuses the same ${notHere.length} keys in the schema as in runner.cpp`,
    `runner.cpp: ${notHere.join(', ')}; schema: ${refusedBySchema.join(', ')}`);
}

// The parser's vocabularies (src/scenario/vocabulary.hpp, matcher.hpp) against the schema's
// enums: a service, breaker, state, fault type, method, operator or JSON type added on one
// side only fails here.
{
  const matcher = fs.readFileSync(path.join(root, 'src/scenario/matcher.hpp'), 'utf8');
  const array = (text, name) => {
    const m = new RegExp(`\\b${name}\\s*=\\s*\\{`).exec(text);
    return m ? strings(balanced(text, m.index + m[0].length - 1)) : [];
  };
  const jsonOps = resolve(pointer('#/$defs/json_matcher/anyOf/1'));
  const services = array(vocabulary, 'kServices');
  const states = array(vocabulary, 'kCircuitStates');
  const transitions = states.flatMap((a) => states.filter((b) => b !== a).map((b) => `${a}->${b}`));
  // client->provider (the shopper's pay page) is never recorded: the parser refuses it.
  const edges = ['client', ...services].flatMap((c) => services.filter((s) => s !== c).map((s) => `${c}->${s}`))
    .filter((e) => e !== 'client->provider');
  for (const [what, want, have] of [
    ['kServices: services', services, pointer('#/$defs/service/enum')],
    ['kServices: a fault\'s from (client and the services)', ['client', ...services], pointer('#/$defs/fault/properties/from/enum')],
    ['kServices: crash (all but the gateway)', services.filter((s) => s !== 'gateway'), pointer('#/$defs/step/properties/crash/enum')],
    ['kServices: as (svc:SERVICE)', services.map((s) => `svc:${s}`), pointer('#/$defs/request/properties/as/enum')],
    ['kServices: call edges (client or a service to another service)', edges, pointer('#/$defs/call/properties/edge/enum')],
    ['kBreakers: circuit', array(vocabulary, 'kBreakers'), Object.keys(pointer('#/$defs/expect/properties/circuit/properties'))],
    ['kBreakers: circuit_transitions', array(vocabulary, 'kBreakers'), Object.keys(pointer('#/$defs/expect/properties/circuit_transitions/properties'))],
    ['kCircuitStates: states', states, pointer('#/$defs/circuit_state/enum')],
    ['kCircuitStates: transitions (FROM->TO, two different states)', transitions, pointer('#/$defs/transition/enum')],
    ['kFaultTypes: fault types', array(vocabulary, 'kFaultTypes'), pointer('#/$defs/fault/properties/type/enum')],
    ['kHttpMethods: request methods', array(vocabulary, 'kHttpMethods'), pointer('#/$defs/request/properties/method/enum')],
    ['kHttpMethods: fault match methods', array(vocabulary, 'kHttpMethods'), pointer('#/$defs/fault/properties/match/properties/method/enum')],
    ['kMatcherOperators: matcher operators (JSON)', array(matcher, 'kMatcherOperators'), Object.keys(jsonOps?.properties || {})],
    ['kJsonTypeNames: type names (and YAML null)', [...array(matcher, 'kJsonTypeNames'), null], jsonOps?.properties?.type?.enum],
  ]) {
    const a = [...(want || [])].map(String).sort(), b = [...(have || [])].map(String).sort();
    const same = a.length > 0 && a.length === b.length && a.every((x, i) => x === b[i]);
    report(same, `${what}: the schema's values are the parser's (${a.length})`,
      same ? '' : `parser: ${a.join(', ')}\nschema: ${b.join(', ')}`);
  }
}

// --- 4. Broken scenarios are refused, by the schema and by the parser ----------------------
const head = 'version: 1\nname: schema check\n';
const step = (yaml) => `${head}steps:\n${yaml}\n`;
const rejects = [
  ['an unknown top-level key', `${head}stepz: []\nsteps:\n  - wait: 1ms\n`],
  ['no version', 'steps:\n  - wait: 1ms\n'],
  ['version 2', 'version: 2\nsteps:\n  - wait: 1ms\n'],
  ['no steps', `${head}`],
  ['an empty steps list', `${head}steps: []\n`],
  ['a step with two actions', step('  - request: {GET: /api/cart}\n    wait: 1ms')],
  ['a step with no action', step('  - name: nothing to do')],
  ['an unknown step key', step('  - request: {GET: /api/cart}\n    expectt: {status: 200}')],
  ['a wrong fault type', step('  - fault: {target: catalog, type: explode}')],
  ['a fault parameter of another type', step('  - fault: {target: catalog, type: hang, delay: 2s}')],
  ['a delay fault without delay', step('  - fault: {target: catalog, type: delay}')],
  ['a fault without target', step('  - fault: {type: hang}')],
  ['an unknown service', step('  - stop: inventory')],
  ['crashing the gateway', step('  - crash: gateway')],
  ['a bare number as a duration', step('  - wait: 200')],
  ['an unknown circuit state', step('  - wait: 1ms\n    expect: {circuit: {order->catalog: AJAR}}')],
  ['an unknown breaker', step('  - wait: 1ms\n    expect: {circuit: {order->catlog: OPEN}}')],
  ['a transition to the same state', step('  - wait: 1ms\n    expect: {circuit_transitions: {order->catalog: [OPEN->OPEN]}}')],
  ['a response expectation on a control step', step('  - stop: order\n    expect: {status: 200}')],
  ['an unknown matcher operator', step('  - request: {GET: /api/cart}\n    expect: {json: {$.total: {greater: 1}}}')],
  ['an unknown JSON type', step('  - request: {GET: /api/cart}\n    expect: {json: {$.total: {type: float}}}')],
  ['a status out of range', step('  - request: {GET: /api/cart}\n    expect: {status: 42}')],
  ['exists: false with another operator', step('  - request: {GET: /api/cart}\n    expect: {json: {$.x: {exists: false, type: string}}}')],
  ['a request with both json and body', step('  - request: {POST: /api/cart/items, json: {}, body: "x"}')],
  ['a request shorthand combined with method', step('  - request: {GET: /api/cart, method: GET}')],
  ['a request without a path', step('  - request: {method: GET}')],
  ['a lower-case method', step('  - request: {method: get, path: /api/cart}')],
  ['a path without a leading slash', step('  - request: {GET: api/cart}')],
  ['an unknown request key', step('  - request: {GET: /api/cart, timeout: 1s}')],
  ['a request that sets its own Content-Length', step('  - request: {POST: /api/cart/items, headers: {content-length: "1"}, json: {}}')],
  ['pay without order or url', step('  - pay: {card: "4242424242424242"}')],
  ['pay with an unquoted card number', step('  - pay: {order: o-1, card: 4242424242424242}')],
  ['register without a password', step('  - register: {email: a@b.test}')],
  ['repeat with eventually', step('  - request: {GET: /api/cart}\n    repeat: 2\n    eventually: {within: 1s}\n    expect: {status: 200}')],
  ['eventually without expect', step('  - request: {GET: /api/cart}\n    eventually: {within: 1s}')],
  ['capture on a control step', step('  - wait: 1ms\n    capture: {x: $.id}')],
  ['a capture of a built-in name', step('  - request: {GET: /api/cart}\n    capture: {token: $.token}')],
  ['a calls item with count and min', step('  - wait: 1ms\n    expect: {calls: [{edge: order->catalog, count: 1, min: 1}]}')],
  ['a calls item without a count', step('  - wait: 1ms\n    expect: {calls: [{edge: order->catalog}]}')],
  ['a self edge', step('  - wait: 1ms\n    expect: {calls: [{edge: order->order, count: 0}]}')],
  ['a concurrently block of one step', step('  - concurrently:\n      - wait: 1ms')],
  ['nested concurrently blocks', step('  - concurrently:\n      - wait: 1ms\n      - concurrently: [{wait: 1ms}, {wait: 1ms}]')],
  ['repeat inside a concurrently block', step('  - concurrently:\n      - request: {GET: /api/cart}\n        repeat: 2\n      - wait: 1ms')],
  ['after outside a concurrently block', step('  - wait: 1ms\n    after: 1ms')],
  ['calls on a step inside a block', step('  - concurrently:\n      - wait: 1ms\n        expect: {violations: 0}\n      - wait: 1ms')],
  ['status on a block', step('  - concurrently: [{wait: 1ms}, {wait: 1ms}]\n    expect: {status: 200}')],
  ['responses on an ordinary step', step('  - request: {GET: /api/cart}\n    expect: {responses: [{count: 1}]}')],
  ['select with two kinds', step('  - fault: {target: catalog, type: hang, select: {first: 1, every: 2}}')],
  ['a probability above 1', step('  - fault: {target: catalog, type: hang, select: {probability: 1.5}}')],
  ['a tag with a space', `${head}tags: [two words]\nsteps:\n  - wait: 1ms\n`],
  ['a variable name with a dash', `${head}vars: {bad-name: 1}\nsteps:\n  - wait: 1ms\n`],
  ['an unknown config key', `${head}config: {order: {catalog_clinet: {timeout: 1s}}}\nsteps:\n  - wait: 1ms\n`],
  // serve's keys that a scenario's shop cannot take: the schema took them (an outside probe).
  ['config ports in a scenario', `${head}config: {ports: {gateway: 8080}}\nsteps:\n  - wait: 1ms\n`],
  ['config data_dir in a scenario', `${head}config: {data_dir: /tmp/x}\nsteps:\n  - wait: 1ms\n`],
  ['config only in a scenario', `${head}config: {only: [catalog]}\nsteps:\n  - wait: 1ms\n`],
  ['config peers in a scenario', `${head}config: {peers: {gateway: {url: "http://10.0.0.1:8080"}}}\nsteps:\n  - wait: 1ms\n`],
  ['config admin_port in a scenario', `${head}config: {admin_port: 9000}\nsteps:\n  - wait: 1ms\n`],
  ['a timeout of 0s', `${head}timeout: 0s\nsteps:\n  - wait: 1ms\n`],
  ['eventually within 0ms', step('  - request: {GET: /api/cart}\n    eventually: {within: 0ms}\n    expect: {status: 200}')],
  ['an abort status of 600', step('  - fault: {target: catalog, type: abort, status: 600}')],
  ['an abort status of 100 (not a final status)', step('  - fault: {target: catalog, type: abort, status: 100}')],
  ['an abort status of 304 (an answer without a body)', step('  - fault: {target: catalog, type: abort, status: 304}')],
  ['an edge from an unknown caller', step('  - wait: 1ms\n    expect: {calls: [{edge: browser->gateway, count: 0}]}')],
  ['a quoted version', 'version: "1"\nsteps:\n  - wait: 1ms\n'],
  ['an empty name', 'version: 1\nname: ""\nsteps:\n  - wait: 1ms\n'],
  ['an empty expect', step('  - request: {GET: /api/cart}\n    expect: {}')],
  ['an empty json expectation', step('  - request: {GET: /api/cart}\n    expect: {json: {}}')],
  ['an empty headers expectation', step('  - request: {GET: /api/cart}\n    expect: {headers: {}}')],
  ['an empty capture', step('  - request: {GET: /api/cart}\n    capture: {}')],
  ['a calls item with min: 0 alone', step('  - wait: 1ms\n    expect: {calls: [{edge: order->catalog, min: 0}]}')],
  ['an empty responses', step('  - concurrently: [{wait: 1ms}, {wait: 1ms}]\n    expect: {responses: []}')],
  ['a responses item with min: 0 alone', step('  - concurrently: [{wait: 1ms}, {wait: 1ms}]\n    expect: {responses: [{min: 0}]}')],
  ['eventually with an empty expect', step('  - request: {GET: /api/cart}\n    eventually: {within: 1s}\n    expect: {}')],
];
const accepts = [
  ['a fault delay of a fraction of a millisecond', step('  - fault: {target: catalog, type: delay, delay: 1.5ms, jitter: 0.25ms}')],
  ['the first scenario of docs/scenarios.md', fs.readFileSync(path.join(root, 'scenarios/flow/checkout-and-pay.yaml'), 'utf8')],
  ['unquoted ${var} in a flow mapping', `${head}vars: {o: x}\nsteps:\n  - pay: {order: \${o}, card: "4242424242424242"}\n`],
  ['a numeric name and a templated price', `version: 1\nvars: {p: 5}\nname: 42\nsteps:\n  - set_price: {product: p-001, price_cents: "\${p}"}\n`],
  ['a block with responses and after', step('  - concurrently:\n      - request: {POST: /api/orders}\n      - crash: order\n        after: 10ms\n    expect:\n      responses: [{status: {gte: 500}, max: 0}]\n      violations: 0')],
  ['shop expectations on a control step', step('  - advance_clock: 1.5s\n    expect:\n      circuit: {order->catalog: CLOSED}\n      circuit_transitions: {order->catalog: []}\n      calls: [{edge: client->gateway, min: 0, max: 3, refused: false}]')],
  ['every fault type with its parameters', step([
    '  - fault: {id: a, target: catalog, from: order, match: {method: GET, path: /products/*}, type: delay, delay: 2s, jitter: 100ms, select: {probability: 0.5}}',
    '  - fault: {target: order, type: abort, status: 500, body: {error: x}, select: {first: 2}}',
    '  - fault: {target: payment, type: slow_body, bytes_per_second: 100}',
    '  - fault: {target: auth, from: gateway, type: reset, select: {after: 0}}',
    '  - clear_faults: a',
    '  - clear_faults: all'].join('\n'))],
];

function parserVerdict(text) {
  // true: shopctl validate accepts it; false: refuses it (exit 2); throws on anything else.
  tmp ??= fs.mkdtempSync(path.join(os.tmpdir(), 'shopctl-schema-'));
  const file = path.join(tmp, 'case.yaml');
  fs.writeFileSync(file, text);
  try {
    execFileSync(shopctl, ['validate', file], { stdio: 'pipe' });
    return { ok: true, output: '' };
  } catch (e) {
    if (e.status === 2) return { ok: false, output: String(e.stdout) + String(e.stderr) };
    throw new Error(`shopctl validate exited ${e.status}: ${e.stderr}`);
  }
}
const cases = [...rejects.map(([what, text]) => ({ what, text, valid: false })),
               ...accepts.map(([what, text]) => ({ what, text, valid: true }))];
for (const { what, text, valid } of cases) {
  // A case must be YAML: a refusal because it is not would prove nothing about the schema.
  let doc;
  try { doc = load(text); } catch (e) { report(false, `the case is YAML: ${what}`, e.message); continue; }
  const schemaOk = validate(doc);
  const schemaErrors = validate.errors;
  const agree = validate7 === null || validate7(doc) === schemaOk;
  report(schemaOk === valid && agree, `the schema ${valid ? 'accepts' : 'refuses'} ${what}`,
    !agree ? 'draft-07 judges it otherwise' : schemaOk === valid ? '' : schemaOk ? 'the schema accepts it' : errorsText(schemaErrors));
  if (shopctl) {
    // The parser must agree: a case it judged otherwise is a wrong case, or the two drifted.
    let verdict;
    try { verdict = parserVerdict(text); } catch (e) { report(false, `shopctl validate runs on: ${what}`, e.message); continue; }
    report(verdict.ok === valid, `shopctl validate ${valid ? 'accepts' : 'refuses'} ${what} too`,
      verdict.ok === valid ? '' : verdict.output || 'shopctl validate accepts it');
  }
}
if (!shopctl) console.log('# no --shopctl BINARY: the cases were not checked against the parser');
finish();

function finish() {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`schema: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}
