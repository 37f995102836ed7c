// Offline checks of the Kubernetes manifests and the Containerfile (docs/deploy.md, "How the
// manifests are checked"). No cluster and no container engine: what is checked is the text.
//
//   node validate.mjs --shopctl BIN [--manifests DIR] [--containerfile FILE] [--no-negative]
//
// Every check prints one line ("ok - ..." or "FAIL - ...: why"); the last line is
// "k8s: N passed, M failed". Exit 0 when nothing failed, 1 when a check failed, 2 on a bad
// command line. Unless --no-negative, the script also runs itself on broken copies of the
// manifests in a temporary folder and checks that each one is refused: a check that cannot
// fail proves nothing.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");

// --- command line ---
const options = { manifests: path.join(repo, "deploy/kubernetes"), containerfile: path.join(repo, "Containerfile"), negative: true, optional: true, shopctl: null };
{
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--shopctl") options.shopctl = args[++i];
    else if (a === "--manifests") options.manifests = args[++i];
    else if (a === "--containerfile") options.containerfile = args[++i];
    else if (a === "--no-negative") options.negative = false;
    else if (a === "--no-optional") options.optional = false; // the binary's config check and kubectl (the negative runs)
    else { console.error(`validate.mjs: unknown argument ${a}`); process.exit(2); }
  }
  if (!options.shopctl) { console.error("usage: node validate.mjs --shopctl BIN [--manifests DIR] [--containerfile FILE] [--no-negative]"); process.exit(2); }
  options.shopctl = path.resolve(options.shopctl);
  options.manifests = path.resolve(options.manifests);
  options.containerfile = path.resolve(options.containerfile);
}

// --- the check runner ---
let passed = 0, failed = 0;
// check(NAME, FN): FN throws, or returns a list of problems (empty: passed).
async function check(name, fn) {
  let problems;
  try { problems = (await fn()) ?? []; } catch (e) { problems = [e.message.split("\n")[0]]; }
  if (problems.length === 0) { passed++; console.log(`ok - ${name}`); }
  else { failed++; console.log(`FAIL - ${name}: ${problems.join("; ")}`); }
}
const skip = (name, why) => console.log(`skip - ${name}: ${why}`);
const sameSet = (what, actual, expected) => {
  const a = [...new Set(actual)].sort(), e = [...new Set(expected)].sort();
  const extra = a.filter((x) => !e.includes(x)), missing = e.filter((x) => !a.includes(x));
  const out = [];
  if (extra.length) out.push(`${what}: not allowed by the architecture: ${extra.join(", ")}`);
  if (missing.length) out.push(`${what}: missing: ${missing.join(", ")}`);
  return out;
};

// Kubernetes reads YAML 1.1 (sigs.k8s.io/yaml): 0440 is octal there, "on" a boolean. Parse the
// same way, or the checks would see other values than the cluster does.
const parseYaml = (text, file) => {
  const docs = YAML.parseAllDocuments(text, { version: "1.1" });
  for (const d of docs) if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
  return docs.map((d) => d.toJS()).filter((o) => o !== null && o !== undefined);
};
const readYamlFile = (file) => parseYaml(fs.readFileSync(file, "utf8"), path.basename(file));

// --- load the kustomization: resources, generated ConfigMaps and Secrets ---
const kustomizationFile = path.join(options.manifests, "kustomization.yaml");
let kustomization = {};
const objects = []; // {obj, source}
const generated = { ConfigMap: new Map(), Secret: new Map() }; // name -> {file -> text}
let secretsNote = null;

await check("kustomization.yaml parses and lists only files that exist", () => {
  [kustomization] = readYamlFile(kustomizationFile);
  const problems = [];
  for (const r of kustomization.resources ?? []) {
    const file = path.join(options.manifests, r);
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) { problems.push(`resource ${r} is not a file here`); continue; }
    for (const obj of readYamlFile(file)) objects.push({ obj, source: r });
  }
  for (const [kind, key] of [["ConfigMap", "configMapGenerator"], ["Secret", "secretGenerator"]]) {
    for (const g of kustomization[key] ?? []) {
      const files = {};
      for (const entry of g.files ?? []) {
        // kustomize's `KEY=PATH` names the key; a bare path is keyed by its file name.
        const [name, f] = entry.includes("=") ? entry.split(/=(.*)/s, 2) : [path.basename(entry), entry];
        let file = path.join(options.manifests, f);
        // The secrets are not in git (make-secrets.sh writes them): check the example's shape instead.
        if (kind === "Secret" && !fs.existsSync(file)) {
          const example = file.replace(/\.yaml$/, ".example.yaml");
          if (fs.existsSync(example)) { secretsNote = `the secrets files are absent (not in git): checked the examples (${path.relative(options.manifests, example)}, ...) in their place`; file = example; }
        }
        if (!fs.existsSync(file)) { problems.push(`${key} ${g.name}: ${f} does not exist`); continue; }
        files[name] = fs.readFileSync(file, "utf8");
      }
      generated[kind].set(g.name, files);
      const obj = { apiVersion: "v1", kind, metadata: { name: g.name } };
      if (kind === "ConfigMap") obj.data = files;
      else obj.data = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
      objects.push({ obj, source: `${key} ${g.name}` });
    }
  }
  if (objects.length === 0) problems.push("no objects");
  return problems;
});
if (secretsNote) console.log(`note - ${secretsNote}`);

await check("every YAML file in the folder is a resource or a generator's input", () => {
  const inputs = (g) => (g.files ?? []).map((e) => e.includes("=") ? e.split(/=(.*)/s, 2)[1] : e);
  const used = new Set([...(kustomization.resources ?? []), ...(kustomization.configMapGenerator ?? []).flatMap(inputs),
    ...(kustomization.secretGenerator ?? []).flatMap((g) => inputs(g).flatMap((f) => [f, f.replace(/\.yaml$/, ".example.yaml")]))]);
  return fs.readdirSync(options.manifests, { recursive: true }).filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml" && !used.has(f))
    .map((f) => `${f} is neither`);
});

// --- every object against the Kubernetes API schemas (kubernetes-models) ---
async function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[A-Za-z0-9.]+(\/v[0-9a-z]+)?$/.test(apiVersion) || !/^[A-Z][A-Za-z]+$/.test(kind)) return null;
  try {
    const module = await import(`kubernetes-models/${apiVersion}/${kind}`);
    return module[kind] ?? null;
  } catch { return null; }
}
// The schemas accept fields they do not declare, as the API server does unless asked to be
// strict: a misspelt field (`readinesProbe`) would pass and be dropped by the cluster. The
// package's type declarations list each type's fields; walk the object along them and refuse
// a field that no declaration has.
const nodeModules = path.join(here, "node_modules");
const declarations = new Map(); // .d.ts file -> {fields: Map(name -> type) | null, imports: Map(type -> .d.ts file)}
function declarationOf(file) {
  if (declarations.has(file)) return declarations.get(file);
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  const imports = new Map();
  for (const [, names, from] of text.matchAll(/^import \{ ([^}]+) \} from "([^"]+)";$/gm)) {
    const target = from.startsWith(".") ? path.resolve(path.dirname(file), `${from}.d.ts`) : path.join(nodeModules, `${from}.d.ts`);
    for (const name of names.split(",").map((n) => n.trim())) imports.set(name, target);
  }
  const body = text.match(/^export interface I\w+(?: extends [\w, ]+)? \{\n([\s\S]*?)\n\}/m)?.[1];
  const fields = body ? new Map([...body.matchAll(/^ {4}"([^"]+)"\??: (.*?);?$/gm)].map(([, name, type]) => [name, type.trim()])) : null;
  const declaration = { fields, imports };
  declarations.set(file, declaration);
  return declaration;
}
function undeclaredFields(value, file, where, problems) {
  const { fields, imports } = declarationOf(file);
  if (!fields || typeof value !== "object" || value === null || Array.isArray(value)) return problems;
  for (const [key, child] of Object.entries(value)) {
    if (!fields.has(key)) { problems.push(`${where}.${key}: no such field`); continue; }
    const type = fields.get(key), element = type.match(/^Array<(\w+)>$/)?.[1];
    if (element && imports.has(element) && Array.isArray(child)) child.forEach((x, i) => undeclaredFields(x, imports.get(element), `${where}.${key}[${i}]`, problems));
    else if (imports.has(type)) undeclaredFields(child, imports.get(type), `${where}.${key}`, problems);
  }
  return problems;
}
for (const { obj, source } of objects) {
  await check(`${obj?.kind ?? "?"} ${obj?.metadata?.name ?? "?"} (${source}) is valid against the API schema`, async () => {
    const Model = await modelFor(obj.apiVersion, obj.kind);
    if (!Model) return [`unknown kind ${obj.apiVersion}/${obj.kind}`];
    const problems = [];
    try { new Model(obj).validate(); } catch (e) { problems.push(e.message.split("\n")[0]); }
    if (!obj.metadata?.name) problems.push("no metadata.name");
    const file = path.join(nodeModules, "kubernetes-models", obj.apiVersion, `${obj.kind}.d.ts`);
    if (!declarationOf(file).fields) return [...problems, `no type declaration for ${obj.kind} to check its fields against`];
    return undeclaredFields(obj, file, obj.kind, problems);
  });
}

// Copies for kubectl and the negative runs never carry real secrets: the examples stand in.
const notSecrets = (file) => path.basename(file) !== "secrets.yaml" &&
  !(path.basename(path.dirname(file)) === "secrets" && /\.yaml$/.test(file) && !/\.example\.yaml$/.test(file));
// The secrets each service's process uses (shopctl's shop::secrets_used_by; docs/deploy.md,
// "Secrets: each host holds its own"): its Secret holds these and no other.
const secretsOf = {
  gateway: ["admin_token", "jwt_secret", "service_key"], auth: ["admin_token", "jwt_secret", "service_key"],
  catalog: ["admin_token", "service_key"], order: ["admin_token", "service_key"],
  payment: ["admin_token", "service_key", "webhook_secret", "provider_api_key"],
  provider: ["admin_token", "webhook_secret", "provider_api_key"],
};
const ofKind = (kind) => objects.map((o) => o.obj).filter((o) => o?.kind === kind);
const deployments = ofKind("Deployment"), services = ofKind("Service"), policies = ofKind("NetworkPolicy");
const byName = (kind, name) => ofKind(kind).find((o) => o.metadata?.name === name);
const component = (labels) => labels?.["app.kubernetes.io/component"];
const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
const containerOf = (d) => d.spec?.template?.spec?.containers?.[0] ?? {};
const argAfter = (args, flag) => { const i = (args ?? []).indexOf(flag); return i >= 0 ? args[i + 1] : undefined; };
const argsAfter = (args, flag) => (args ?? []).flatMap((a, i) => (a === flag ? [args[i + 1]] : []));

// shop.yaml, as the ConfigMap carries it
let shop = {};
await check("shop.yaml (ConfigMap shopctl-config) parses with ports and peers", () => {
  const files = generated.ConfigMap.get("shopctl-config");
  if (!files?.["shop.yaml"]) return ["no configMapGenerator shopctl-config with shop.yaml"];
  [shop] = parseYaml(files["shop.yaml"], "shop.yaml");
  return ["ports", "peers"].filter((k) => typeof shop?.[k] !== "object").map((k) => `no ${k}:`);
});

// --- the architecture, from the binary itself ---
let edges = [];
await check(`\`shopctl graph\` answers and names its allowed edges`, () => {
  const text = execFileSync(options.shopctl, ["graph"], { encoding: "utf8", timeout: 20000 });
  for (const line of text.split("\n")) {
    const m = line.match(/^\s*([A-Za-z0-9_]+)\s*-->(?:\|[^|]*\|)?\s*([A-Za-z0-9_]+)\s*$/);
    if (m) edges.push({ caller: m[1], callee: m[2] });
  }
  return edges.length ? [] : ["no edges found in its Mermaid output"];
});
const serviceNames = [...new Set(edges.flatMap((e) => [e.caller, e.callee]))].filter((s) => s !== "client").sort();
const callersOf = (s) => edges.filter((e) => e.callee === s).map((e) => e.caller);
const calleesOf = (s) => edges.filter((e) => e.caller === s).map((e) => e.callee);

await check("one Deployment per service of the architecture, and no other", () =>
  sameSet("Deployments", deployments.map((d) => component(d.spec?.template?.metadata?.labels) ?? `(${d.metadata.name}: no component label)`), serviceNames));

// --- cross references ---
const servicePort = {}; // service -> its port (the container port named http)
for (const d of deployments) {
  const name = d.metadata.name, spec = d.spec ?? {}, pod = spec.template?.spec ?? {}, c = containerOf(d);
  const labels = spec.template?.metadata?.labels ?? {};
  const svc = component(labels);
  const ports = c.ports ?? [];
  const http = ports.find((p) => p.name === "http");
  if (svc && http) servicePort[svc] = http.containerPort;
  const portOk = (p) => ports.some((q) => q.name === p || q.containerPort === p);

  await check(`Deployment ${name}: selector matches its pod labels, one replica, Recreate`, () => {
    const problems = [];
    if (!spec.selector?.matchLabels || !matches(spec.selector.matchLabels, labels)) problems.push("selector does not match the template's labels");
    if (spec.replicas !== 1) problems.push(`replicas ${spec.replicas}: the service owns a SQLite file, one process writes it`);
    if (spec.strategy?.type !== "Recreate") problems.push("strategy is not Recreate: a rolling update runs two pods on one database");
    if ((pod.containers ?? []).length !== 1) problems.push("not exactly one container");
    return problems;
  });

  await check(`Deployment ${name}: runs \`serve --only ${svc}\` on 0.0.0.0 with the config, the secrets and the admin port`, () => {
    const args = c.args ?? [], problems = [];
    if (args[0] !== "serve") problems.push("first argument is not serve");
    if (argAfter(args, "--only") !== svc) problems.push(`--only ${argAfter(args, "--only")}, its label says ${svc}`);
    if (argAfter(args, "--bind") !== "0.0.0.0") problems.push("--bind is not 0.0.0.0");
    if (argAfter(args, "--log-format") !== "json") problems.push("--log-format is not json");
    const admin = ports.find((p) => p.name === "admin");
    if (!admin || String(admin.containerPort) !== argAfter(args, "--admin-port")) problems.push("--admin-port is not the container port named admin");
    if (!http) problems.push("no container port named http");
    else if (shop.ports?.[svc] !== http.containerPort) problems.push(`container port ${http.containerPort}, shop.yaml ports.${svc} is ${shop.ports?.[svc]}`);
    return problems;
  });

  await check(`Deployment ${name}: probes on /health/ready and /health/live at declared ports`, () => {
    const problems = [];
    for (const [probe, pathWanted] of [["readinessProbe", "/health/ready"], ["livenessProbe", "/health/live"], ["startupProbe", null]]) {
      const get = c[probe]?.httpGet;
      if (!get) { if (probe !== "startupProbe") problems.push(`no ${probe}.httpGet`); continue; }
      if (pathWanted && get.path !== pathWanted) problems.push(`${probe} path ${get.path}, wanted ${pathWanted}`);
      if (!portOk(get.port)) problems.push(`${probe} port ${get.port} is not a container port`);
    }
    return problems;
  });

  await check(`Deployment ${name}: mounts its own service's Secret, shopctl-${svc}-secrets, and no other`, () => {
    const secrets = (pod.volumes ?? []).filter((v) => v.secret).map((v) => v.secret.secretName);
    return sameSet("Secrets mounted", secrets, [`shopctl-${svc}-secrets`]);
  });

  await check(`Deployment ${name}: volumes, config and secrets it refers to exist`, () => {
    const problems = [], volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
    for (const v of volumes.values()) {
      if (v.configMap && !byName("ConfigMap", v.configMap.name)) problems.push(`ConfigMap ${v.configMap.name} does not exist`);
      if (v.secret && !byName("Secret", v.secret.secretName)) problems.push(`Secret ${v.secret.secretName} does not exist`);
      if (v.persistentVolumeClaim && !byName("PersistentVolumeClaim", v.persistentVolumeClaim.claimName)) problems.push(`PersistentVolumeClaim ${v.persistentVolumeClaim.claimName} does not exist`);
    }
    const mounts = c.volumeMounts ?? [];
    for (const m of mounts) if (!volumes.has(m.name)) problems.push(`mount ${m.mountPath}: no volume ${m.name}`);
    const mountOf = (file) => mounts.filter((m) => file === m.mountPath || file.startsWith(m.mountPath + "/")).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
    const configs = argsAfter(c.args, "--config");
    if (configs.length === 0) problems.push("no --config");
    for (const file of configs) {
      const m = mountOf(file);
      const v = m && volumes.get(m.name);
      const source = v?.configMap ? generated.ConfigMap.get(v.configMap.name) : v?.secret ? generated.Secret.get(v.secret.secretName) : null;
      if (!source) problems.push(`--config ${file} is not on a ConfigMap or Secret volume`);
      else if (!(path.relative(m.mountPath, file) in source)) problems.push(`--config ${file}: the volume has no key ${path.relative(m.mountPath, file)}`);
    }
    for (const [flag, dir] of [["--data-dir", argAfter(c.args, "--data-dir")], ["/tmp", "/tmp"]]) {
      const m = dir && mountOf(dir);
      if (!m || m.readOnly) problems.push(`${flag} ${dir} is not on a writable volume (the root file system is read-only)`);
    }
    return problems;
  });

  await check(`Deployment ${name}: non-root, read-only root, no privilege, requests and limits`, () => {
    const problems = [], ps = pod.securityContext ?? {}, cs = c.securityContext ?? {};
    if (ps.runAsNonRoot !== true) problems.push("runAsNonRoot is not true");
    if (!(ps.runAsUser > 0)) problems.push("no numeric non-root runAsUser");
    if (ps.seccompProfile?.type !== "RuntimeDefault") problems.push("seccompProfile is not RuntimeDefault");
    if (cs.readOnlyRootFilesystem !== true) problems.push("readOnlyRootFilesystem is not true");
    if (cs.allowPrivilegeEscalation !== false) problems.push("allowPrivilegeEscalation is not false");
    if (!(cs.capabilities?.drop ?? []).includes("ALL")) problems.push("capabilities are not dropped");
    for (const kind of ["requests", "limits"]) for (const r of ["cpu", "memory"]) if (!c.resources?.[kind]?.[r]) problems.push(`no resources.${kind}.${r}`);
    if (!(kustomization.images ?? []).some((i) => i.name === c.image)) problems.push(`image ${c.image} has no entry in the kustomization's images`);
    if (pod.automountServiceAccountToken !== false) problems.push("the pod gets an API token it does not need");
    return problems;
  });

  await check(`Deployment ${name}: its data is on a PersistentVolumeClaim exactly when shop.yaml syncs its database fully`, () => {
    const dataMount = (c.volumeMounts ?? []).find((m) => m.mountPath === argAfter(c.args, "--data-dir"));
    const volume = (pod.volumes ?? []).find((v) => v.name === dataMount?.name);
    const synchronous = shop.storage?.synchronous;
    const full = (typeof synchronous === "string" ? synchronous : synchronous?.[svc]) === "full";
    const persistent = Boolean(volume?.persistentVolumeClaim);
    if (full && !persistent) return [`storage.synchronous.${svc} is full (commits survive a power loss) but the data folder is not a PersistentVolumeClaim`];
    if (!full && persistent) return [`a PersistentVolumeClaim for a database shop.yaml does not sync fully (storage.synchronous.${svc})`];
    return [];
  });
}

for (const s of services) {
  await check(`Service ${s.metadata.name}: selects one Deployment's pods, on its named ports, and its addresses are shop.yaml's peer (url and admin)`, () => {
    const problems = [], selected = deployments.filter((d) => s.spec?.selector && matches(s.spec.selector, d.spec?.template?.metadata?.labels));
    if (selected.length !== 1) return [`selects ${selected.length} Deployments`];
    const c = containerOf(selected[0]), svc = component(selected[0].spec.template.metadata.labels);
    for (const p of s.spec.ports ?? []) {
      const target = p.targetPort ?? p.port;
      const cp = (c.ports ?? []).find((q) => q.name === target || q.containerPort === target);
      // peers.SERVICE: a URL, or {url, admin}; the tools find each process's admin plane there.
      const peer = typeof shop.peers?.[svc] === "string" ? { url: shop.peers[svc] } : shop.peers?.[svc] ?? {};
      const field = { http: "url", admin: "admin" }[cp?.name];
      if (!cp) problems.push(`targetPort ${target} is not a container port`);
      else if (field && peer[field] !== `http://${s.metadata.name}:${p.port}`) problems.push(`shop.yaml peers.${svc}.${field} is ${peer[field]}, the Service is http://${s.metadata.name}:${p.port}`);
    }
    return problems;
  });
}
await check("shop.yaml names a peer for every service, and a port", () => [
  ...sameSet("peers", Object.keys(shop.peers ?? {}), serviceNames), ...sameSet("ports", Object.keys(shop.ports ?? {}), serviceNames)]);

// --- the NetworkPolicies against the architecture ---
const adminPort = 9000;
const operatorLabel = "shopctl.io/operator";
const appliesTo = (policy, svc) => {
  const d = deployments.find((x) => component(x.spec?.template?.metadata?.labels) === svc);
  return d && matches(policy.spec?.podSelector?.matchLabels, d.spec.template.metadata.labels) && !(policy.spec?.podSelector?.matchExpressions?.length);
};
// A peer of a rule: "client" (anyone), a service (by its pods' component label), "operator", or
// something this check does not understand (which fails it: a policy must say what it means).
function peersOf(list) {
  if (list === undefined || list.length === 0) return ["client"];
  return list.map((peer) => {
    if (peer.ipBlock) return peer.ipBlock.cidr === "0.0.0.0/0" && !(peer.ipBlock.except?.length) ? "client" : `ipBlock ${peer.ipBlock.cidr}`;
    if (peer.namespaceSelector) return `namespaceSelector ${JSON.stringify(peer.namespaceSelector)}`;
    const labels = peer.podSelector?.matchLabels ?? {};
    if (peer.podSelector?.matchExpressions?.length) return "podSelector with matchExpressions";
    if (labels[operatorLabel] === "true" && Object.keys(labels).length === 1) return "operator";
    const owner = deployments.filter((d) => matches(labels, d.spec.template.metadata.labels));
    return owner.length === 1 ? component(owner[0].spec.template.metadata.labels) : `podSelector ${JSON.stringify(labels)} (${owner.length} Deployments)`;
  });
}
const portsOf = (rule) => (rule.ports ?? []).map((p) => (p.protocol ?? "TCP") === "TCP" ? p.port : `${p.protocol}/${p.port}`);

await check("NetworkPolicy default-deny selects every pod, ingress and egress", () => {
  const p = policies.find((x) => Object.keys(x.spec?.podSelector ?? {}).length === 0 && !x.spec?.ingress && !x.spec?.egress);
  if (!p) return ["no policy with an empty podSelector and no rules"];
  return sameSet("policyTypes", p.spec.policyTypes ?? [], ["Ingress", "Egress"]);
});

for (const svc of serviceNames) {
  await check(`NetworkPolicy for ${svc}: ingress on port ${servicePort[svc]} from exactly its callers (${callersOf(svc).join(", ")}), port ${adminPort} from operators only`, () => {
    const mine = policies.filter((p) => appliesTo(p, svc) && (p.spec.policyTypes ?? []).includes("Ingress"));
    if (mine.length === 0) return [`no policy selects ${svc}'s pods for ingress`];
    const sources = [], problems = [];
    for (const p of mine) for (const rule of p.spec.ingress ?? []) {
      const ports = portsOf(rule);
      if (ports.length === 0) problems.push(`${p.metadata.name}: a rule without ports opens every port`);
      for (const port of ports) {
        const from = peersOf(rule.from);
        if (port === servicePort[svc] || port === "http") sources.push(...from);
        else if (port === adminPort || port === "admin") { if (from.some((f) => f !== "operator")) problems.push(`${p.metadata.name}: admin port ${adminPort} open to ${from.filter((f) => f !== "operator").join(", ")}`); }
        else problems.push(`${p.metadata.name}: port ${port} is neither the service port nor the admin port`);
      }
    }
    return [...problems, ...sameSet("callers", sources, callersOf(svc))];
  });
  await check(`NetworkPolicy for ${svc}: egress to exactly its callees (${calleesOf(svc).join(", ") || "none"}), each on its port`, () => {
    const mine = policies.filter((p) => appliesTo(p, svc) && (p.spec.policyTypes ?? []).includes("Egress"));
    const problems = [], targets = [];
    for (const p of mine) for (const rule of p.spec.egress ?? []) {
      const to = peersOf(rule.to);
      // DNS (the peers are Service names) is allowed to every pod by a policy of its own.
      if (to.every((t) => t.startsWith("namespaceSelector")) && portsOf(rule).every((x) => x === 53 || x === "UDP/53")) continue;
      for (const t of to) {
        if (!serviceNames.includes(t)) { problems.push(`${p.metadata.name}: egress to ${t}`); continue; }
        const ports = portsOf(rule);
        if (ports.length !== 1 || ports[0] !== servicePort[t]) problems.push(`${p.metadata.name}: egress to ${t} on ${ports.join(",") || "every port"}, its port is ${servicePort[t]}`);
        targets.push(t);
      }
    }
    return [...problems, ...sameSet("callees", targets, calleesOf(svc))];
  });
}
await check("NetworkPolicy for operators: the admin port of every service, and the services a client may call", () => {
  const mine = policies.filter((p) => p.spec?.podSelector?.matchLabels?.[operatorLabel] === "true");
  const problems = [], clientTargets = [];
  let admin = false;
  for (const p of mine) for (const rule of p.spec.egress ?? []) {
    const to = rule.to ?? [];
    const ports = portsOf(rule);
    if (to.length === 1 && matches(to[0].podSelector?.matchLabels, { "app.kubernetes.io/name": "shopctl" }) && Object.keys(to[0].podSelector.matchLabels).length === 1 && ports.length === 1 && ports[0] === adminPort) { admin = true; continue; }
    for (const t of peersOf(rule.to)) {
      if (!serviceNames.includes(t) || ports.length !== 1 || ports[0] !== servicePort[t]) problems.push(`${p.metadata.name}: egress to ${t} on ${ports.join(",")}`);
      else clientTargets.push(t);
    }
  }
  if (!admin) problems.push(`no egress to every shop pod on ${adminPort}`);
  return [...problems, ...sameSet("operator (as a client) reaches", clientTargets, calleesOf("client"))];
});

// --- the Secrets' content ---
await check("each service's Secret holds exactly the secrets it uses" + (secretsNote ? " (the examples' placeholders too short for shopctl to start with)" : ", each of the form shopctl accepts, the same value wherever two hold one"), () => {
  const problems = [], seen = {};
  const prefixes = { webhook_secret: "whsec_", admin_token: "adm_", provider_api_key: "sk_test_" };
  problems.push(...sameSet("Secrets", [...generated.Secret.keys()], Object.keys(secretsOf).map((s) => `shopctl-${s}-secrets`)));
  for (const [svc, names] of Object.entries(secretsOf)) {
    const files = generated.Secret.get(`shopctl-${svc}-secrets`);
    if (!files?.["secrets.yaml"]) { problems.push(`no secretGenerator shopctl-${svc}-secrets with the key secrets.yaml`); continue; }
    const [doc] = parseYaml(files["secrets.yaml"], `${svc}'s secrets.yaml`);
    const s = doc?.secrets ?? {};
    problems.push(...sameSet(`${svc}: keys`, Object.keys(doc ?? {}), ["secrets"]), ...sameSet(`${svc}: secrets`, Object.keys(s), names));
    for (const n of names) {
      const v = String(s[n] ?? "");
      if (n in seen && seen[n] !== v) problems.push(`${svc}: ${n} differs from another service's`);
      seen[n] = v;
      if (secretsNote) { if (v.length >= 32) problems.push(`${svc}: the example's ${n} is 32+ characters: a shop deployed with the example would start`); continue; }
      if (v.length < 32) problems.push(`${svc}: ${n} is under 32 characters`);
      if (prefixes[n] && !v.startsWith(prefixes[n])) problems.push(`${svc}: ${n} does not start with ${prefixes[n]}`);
      if (n === "provider_api_key" && !/^[\x21-\x7e]{32,200}$/.test(v)) problems.push(`${svc}: ${n} is not 32-200 visible characters`);
      if (/REPLACE/i.test(v)) problems.push(`${svc}: ${n} is a placeholder`);
    }
  }
  return problems;
});

// --- the Containerfile ---
const containerfile = fs.existsSync(options.containerfile) ? fs.readFileSync(options.containerfile, "utf8") : null;
// Instructions with their continuation lines joined, comments dropped; split into stages.
const stages = [];
if (containerfile) {
  const lines = containerfile.split("\n").filter((l) => !/^\s*#/.test(l));
  let current = "";
  for (const l of lines) {
    current += l.replace(/\\\s*$/, " ");
    if (/\\\s*$/.test(l)) continue;
    const text = current.trim(); current = "";
    if (!text) continue;
    const [, instruction, rest] = text.match(/^(\S+)\s*(.*)$/);
    if (instruction.toUpperCase() === "FROM") stages.push({ from: rest, instructions: [] });
    else stages.at(-1)?.instructions.push({ instruction: instruction.toUpperCase(), rest });
  }
}
const runtime = stages.at(-1);
const runtimePackages = (runtime?.instructions ?? []).filter((i) => i.instruction === "RUN")
  .flatMap((i) => i.rest.split(/&&|;/)).filter((cmd) => /\bapt-get\b.*\binstall\b/.test(cmd))
  .flatMap((cmd) => cmd.replace(/^.*\binstall\b/, "").trim().split(/\s+/)).filter((t) => t && !t.startsWith("-"));

await check("Containerfile: two or more stages, each on debian:12-slim", () => {
  if (!containerfile) return [`${options.containerfile} does not exist`];
  const problems = stages.length < 2 ? ["not multi-stage"] : [];
  for (const s of stages) if (!/^(docker\.io\/(library\/)?)?debian:12-slim(@sha256:[0-9a-f]{64})?(\s+AS\s+\S+)?$/i.test(s.from)) problems.push(`FROM ${s.from}`);
  return problems;
});
await check("Containerfile: every shared library `ldd shopctl` lists comes from a package the runtime stage installs, and it installs no other", () => {
  const ldd = execFileSync("ldd", [options.shopctl], { encoding: "utf8" });
  const libraries = ldd.split("\n").map((l) => l.match(/=>\s*(\/\S+)/)?.[1] ?? l.match(/^\s*(\/\S+)\s+\(/)?.[1]).filter(Boolean);
  const problems = [], needed = new Set();
  if (ldd.includes("not found")) problems.push("ldd: a library is not found on this machine");
  // usrmerge: dpkg knows a file by the path its package installed, /usr/lib or /lib. One dpkg
  // call for every candidate path (it reads its whole database on each call).
  const candidatesOf = (lib) => { const real = fs.realpathSync(lib); return [...new Set([lib, real, real.replace(/^\/usr\//, "/"), real.replace(/^\/(lib|lib64)\//, "/usr/$1/"), lib.replace(/^\/(lib|lib64)\//, "/usr/$1/")])]; };
  const dpkg = spawnSync("dpkg", ["-S", ...libraries.flatMap(candidatesOf)], { encoding: "utf8" });
  if (dpkg.error) return [`dpkg: ${dpkg.error.message}`];
  const owners = new Map(); // path -> package ("libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6")
  for (const line of dpkg.stdout.split("\n")) { const m = line.match(/^([^:,\s]+)(?::[a-z0-9]+)?: (\/\S+)$/); if (m) owners.set(m[2], m[1]); }
  for (const lib of libraries) {
    const owner = candidatesOf(lib).map((c) => owners.get(c)).find(Boolean);
    if (!owner) { problems.push(`no Debian package owns ${lib}`); continue; }
    needed.add(owner);
  }
  return [...problems, ...sameSet("runtime packages", runtimePackages, [...needed])];
});
await check("Containerfile: the runtime stage runs shopctl as a numeric non-root user, the one the pods run as, and exposes the shop's ports", () => {
  const problems = [], of = (name) => (runtime?.instructions ?? []).filter((i) => i.instruction === name);
  const user = of("USER").at(-1)?.rest ?? "";
  const uid = Number(user.split(":")[0]);
  if (!/^\d+(:\d+)?$/.test(user) || uid === 0) problems.push(`USER ${user || "(none)"} is not a numeric non-root user`);
  for (const d of deployments) if (d.spec?.template?.spec?.securityContext?.runAsUser !== uid) problems.push(`Deployment ${d.metadata.name} runs as ${d.spec?.template?.spec?.securityContext?.runAsUser}`);
  let entrypoint = null;
  try { entrypoint = JSON.parse(of("ENTRYPOINT").at(-1)?.rest ?? "null"); } catch { /* below */ }
  if (!Array.isArray(entrypoint) || !/(^|\/)shopctl$/.test(entrypoint[0] ?? "")) problems.push("ENTRYPOINT is not [\"shopctl\"] in exec form");
  const exposed = of("EXPOSE").flatMap((i) => i.rest.split(/\s+/)).map((p) => Number(p.split("/")[0]));
  problems.push(...sameSet("EXPOSE", exposed, [...Object.values(shop.ports ?? {}), adminPort]));
  if (!of("COPY").some((i) => /--from=\S+/.test(i.rest) && /shopctl/.test(i.rest))) problems.push("the binary is not copied from the build stage");
  return problems;
});

// --- the real binary reads each Deployment's command line (once it has `serve --only`) ---
const serveHelp = spawnSync(options.shopctl, ["serve", "--help"], { encoding: "utf8" }).stdout ?? "";
if (!options.optional) {
  /* a negative run: the checks it is about are above */
} else if (!serveHelp.includes("--only")) {
  skip("each Deployment's command line is accepted by `shopctl serve --print-config`", "this shopctl has no `serve --only` yet (issue 14's C++ part); the check runs once it has");
} else {
  for (const d of deployments) {
    await check(`Deployment ${d.metadata.name}: \`shopctl serve ... --print-config\` accepts its arguments, shop.yaml and a secrets.yaml`, () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shopctl-k8s-config-"));
      try {
        const hex = (n) => [...crypto.getRandomValues(new Uint8Array(n))].map((b) => b.toString(16).padStart(2, "0")).join("");
        fs.writeFileSync(path.join(dir, "shop.yaml"), generated.ConfigMap.get("shopctl-config")["shop.yaml"]);
        const value = { jwt_secret: hex(32), service_key: hex(32), webhook_secret: `whsec_${hex(24)}`, admin_token: `adm_${hex(16)}`, provider_api_key: `sk_test_${hex(24)}` };
        const own = secretsOf[component(d.spec?.template?.metadata?.labels)] ?? Object.keys(value);
        fs.writeFileSync(path.join(dir, "secrets.yaml"), `secrets:\n${own.map((n) => `  ${n}: "${value[n]}"\n`).join("")}`);
        fs.mkdirSync(path.join(dir, "data"));
        const args = containerOf(d).args.map((a) => a === "/etc/shopctl/config/shop.yaml" ? path.join(dir, "shop.yaml")
          : a === "/etc/shopctl/secrets/secrets.yaml" ? path.join(dir, "secrets.yaml") : a === "/var/lib/shopctl" ? path.join(dir, "data") : a);
        const r = spawnSync(options.shopctl, [...args, "--print-config"], { encoding: "utf8", timeout: 20000 });
        return r.status === 0 ? [] : [`exit ${r.status}: ${(r.stderr || r.stdout).trim().split("\n")[0]}`];
      } finally { fs.rmSync(dir, { recursive: true, force: true }); }
    });
  }
}

// --- kustomize itself, when kubectl is on this machine ---
const kubectl = options.optional ? spawnSync("kubectl", ["version", "--client"], { encoding: "utf8", timeout: 20000 }) : null;
if (!options.optional) {
  /* a negative run */
} else if (kubectl.status !== 0) {
  skip("`kubectl kustomize` renders the same objects", "kubectl is not installed here");
} else {
  await check("`kubectl kustomize` renders the same objects, in the namespace, with generated names", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shopctl-k8s-kustomize-"));
    try {
      fs.cpSync(options.manifests, dir, { recursive: true, filter: notSecrets });
      for (const g of kustomization.secretGenerator ?? []) for (const e of g.files ?? []) {
        const f = e.includes("=") ? e.split(/=(.*)/s, 2)[1] : e;
        const file = path.join(dir, f), example = file.replace(/\.yaml$/, ".example.yaml");
        if (!fs.existsSync(file) && fs.existsSync(example)) fs.copyFileSync(example, file);
      }
      const r = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8", timeout: 60000 });
      if (r.status !== 0) return [`kubectl kustomize: ${r.stderr.trim().split("\n")[0]}`];
      const rendered = parseYaml(r.stdout, "kubectl kustomize");
      const generatedNames = new Set([...generated.ConfigMap.keys(), ...generated.Secret.keys()]);
      const key = (o, strip) => `${o.kind}/${strip && generatedNames.has(o.metadata.name.replace(/-[a-z0-9]{10}$/, "")) ? o.metadata.name.replace(/-[a-z0-9]{10}$/, "") : o.metadata.name}`;
      const problems = sameSet("objects", rendered.map((o) => key(o, true)), objects.map((o) => key(o.obj, false)));
      for (const o of rendered) if (o.kind !== "Namespace" && o.metadata.namespace !== kustomization.namespace) problems.push(`${key(o, false)} is in namespace ${o.metadata.namespace}`);
      return problems;
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });
}

// --- negative tests: broken copies must be refused ---
if (options.negative) {
  const mutations = [
    // The control: the copy written back through the YAML library, unchanged, passes; so each
    // refusal below comes from its change, not from the copying.
    { name: "(control) an unchanged copy", control: true },
    { name: "catalog's policy without the order -> catalog rule", file: "network-policies.yaml", expect: /NetworkPolicy for catalog: ingress/,
      change: (docs) => { const p = docs.find((d) => d.metadata?.name === "catalog"); p.spec.ingress = p.spec.ingress.filter((r) => component(r.from?.[0]?.podSelector?.matchLabels) !== "order"); } },
    { name: "catalog's policy lets catalog call order", file: "network-policies.yaml", expect: /NetworkPolicy for catalog: egress/,
      change: (docs) => { docs.find((d) => d.metadata?.name === "catalog").spec.egress = [{ to: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "shopctl", "app.kubernetes.io/component": "order" } } }], ports: [{ protocol: "TCP", port: 7003 }] }]; } },
    { name: "payment's admin port open to every pod", file: "network-policies.yaml", expect: /NetworkPolicy for payment: ingress/,
      change: (docs) => { docs.find((d) => d.metadata?.name === "payment").spec.ingress.push({ ports: [{ protocol: "TCP", port: 9000 }] }); } },
    { name: "the order Service's selector with a typo", file: "order.yaml", expect: /Service order: selects/,
      change: (docs) => { docs.find((d) => d.kind === "Service").spec.selector["app.kubernetes.io/component"] = "orders"; } },
    { name: "a container port given as a name", file: "auth.yaml", expect: /Deployment auth \(auth.yaml\) is valid against the API schema/,
      change: (docs) => { docs.find((d) => d.kind === "Deployment").spec.template.spec.containers[0].ports[0].containerPort = "http"; } },
    { name: "a misspelt field (revisionHistoryLimt) the schema alone accepts", file: "catalog.yaml", expect: /Deployment catalog \(catalog.yaml\) is valid against the API schema/,
      change: (docs) => { docs.find((d) => d.kind === "Deployment").spec.revisionHistoryLimt = 3; } },
    { name: "a misspelt field deep in a pod (readOnlyRootFileSystem)", file: "payment.yaml", expect: /Deployment payment \(payment.yaml\) is valid against the API schema/,
      change: (docs) => { docs.find((d) => d.kind === "Deployment").spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem = true; } },
    { name: "an object of a kind the API does not have", file: "namespace.yaml", expect: /Frobnicator/,
      change: (docs) => { docs.push({ apiVersion: "v1", kind: "Frobnicator", metadata: { name: "x" } }); } },
    { name: "a readiness probe on an undeclared port", file: "gateway.yaml", expect: /Deployment gateway: probes/,
      change: (docs) => { docs.find((d) => d.kind === "Deployment").spec.template.spec.containers[0].readinessProbe.httpGet.port = "web"; } },
    { name: "order's data folder on an emptyDir", file: "order.yaml", expect: /Deployment order: its data is on a PersistentVolumeClaim/,
      change: (docs) => { const v = docs.find((d) => d.kind === "Deployment").spec.template.spec.volumes.find((x) => x.name === "data"); delete v.persistentVolumeClaim; v.emptyDir = {}; } },
    { name: "a Deployment mounting a Secret that does not exist", file: "provider.yaml", expect: /Deployment provider: volumes/,
      change: (docs) => { docs.find((d) => d.kind === "Deployment").spec.template.spec.volumes.find((x) => x.secret).secret.secretName = "shop-secrets"; } },
    { name: "the catalog's pod mounting the gateway's Secret (a key that signs users' tokens)", file: "catalog.yaml", expect: /Deployment catalog: mounts its own service's Secret/,
      change: (docs) => { docs.find((d) => d.kind === "Deployment").spec.template.spec.volumes.find((x) => x.secret).secret.secretName = "shopctl-gateway-secrets"; } },
    { name: "the order's Secret with the JWT key", text: { "secrets/order.example.yaml": (t) => `${t}  jwt_secret: REPLACE_ME\n` }, expect: /each service's Secret holds exactly the secrets it uses/ },
    // Only when the binary reads split configs: shopctl's strict reader refuses an unknown key.
    ...(options.optional && serveHelp.includes("--only") ? [{ name: "shop.yaml with a key shopctl does not know", optional: true,
      text: { "shop.yaml": (t) => `${t}\nhtpp: {max_connections: 10}\n` }, expect: /--print-config/ }] : []),
    { name: "the runtime stage without libsodium23", containerfile: (text) => text.replace(/^\s*libsodium23 \\\n/m, ""), expect: /every shared library/ },
  ];
  for (const m of mutations) {
    await check(m.control ? `negative: ${m.name} passes` : `negative: ${m.name} is refused`, () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shopctl-k8s-broken-"));
      try {
        const manifests = path.join(dir, "kubernetes"), cf = path.join(dir, "Containerfile");
        fs.cpSync(options.manifests, manifests, { recursive: true, filter: notSecrets });
        fs.writeFileSync(cf, m.containerfile ? m.containerfile(containerfile) : containerfile);
        if (m.containerfile && fs.readFileSync(cf, "utf8") === containerfile) return ["the mutation changed nothing"];
        for (const [f, change] of Object.entries(m.text ?? {})) fs.writeFileSync(path.join(manifests, f), change(fs.readFileSync(path.join(manifests, f), "utf8")));
        // Every resource file is written back through the YAML library (the control shows that
        // this alone changes nothing), the named one after its change.
        for (const f of kustomization.resources ?? []) {
          const file = path.join(manifests, f), docs = readYamlFile(file);
          if (f === m.file) m.change(docs);
          fs.writeFileSync(file, docs.map((d) => YAML.stringify(d)).join("---\n"));
        }
        const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--shopctl", options.shopctl, "--manifests", manifests, "--containerfile", cf, "--no-negative", ...(m.optional ? [] : ["--no-optional"])], { encoding: "utf8", timeout: 120000 });
        const failures = r.stdout.split("\n").filter((l) => l.startsWith("FAIL - "));
        if (m.control) return r.status === 0 ? [] : [`exit ${r.status}: ${failures.join(" | ")}`];
        if (r.status !== 1) return [`exit ${r.status}, wanted 1`];
        if (!failures.some((l) => m.expect.test(l))) return [`refused, but not by the expected check: ${failures.join(" | ") || "(no FAIL line)"}`];
        return [];
      } finally { fs.rmSync(dir, { recursive: true, force: true }); }
    });
  }
}

console.log(`k8s: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
