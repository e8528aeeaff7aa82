// deploy_files — the Dockerfile and the manifests in contrib/ checked
// against the tree, the binary and each other, offline (issue 17):
//   node check_files.mjs SOURCE_DIR CW_BIN
// Every failed check is one line on stderr; exit 1 if any failed.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [top, bin] = process.argv.slice(2);
const require = createRequire(join(top, 'contrib/npm/package.json'));
const YAML = require('yaml');

let failed = 0, passed = 0;
function check(ok, what) {
  if (ok) { passed++; return; }
  failed++;
  console.error(`deploy_files: FAILED: ${what}`);
}
const read = (p) => readFileSync(join(top, p), 'utf8');

// ---- Dockerfile --------------------------------------------------------------
// Instructions with their continuation lines joined, comments dropped.
const instructions = read('contrib/docker/Dockerfile')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => { const m = l.match(/^(\w+)\s+(.*)$/); return { op: m[1].toUpperCase(), arg: m[2] }; });
const ops = (op) => instructions.filter((i) => i.op === op);
const froms = ops('FROM');
check(froms.length === 2 && froms.every((f) => f.arg.startsWith('debian:bookworm-slim')),
  'two stages, both FROM debian:bookworm-slim');
const runtimeAt = instructions.indexOf(froms[froms.length - 1]);
const runtime = instructions.slice(runtimeAt);
for (const c of ops('COPY')) {
  if (c.arg.startsWith('--from=')) continue;
  const parts = c.arg.split(/\s+/);
  for (const src of parts.slice(0, -1))
    check(existsSync(join(top, src)), `COPY source ${src} exists in the tree`);
}
for (const r of ops('RUN')) {
  for (const m of r.arg.matchAll(/(?:\/src\/|\/tmp\/)?(contrib\/[\w./-]+\.sh)|\/tmp\/([\w-]+\.sh)/g)) {
    const script = m[1] ?? `contrib/${m[2]}`;
    let ok = true;
    try { accessSync(join(top, script), constants.X_OK); } catch { ok = false; }
    check(ok, `RUN uses ${script}: in the tree and executable`);
  }
}
check(runtime.some((i) => i.op === 'RUN' && /install-deps\.sh --runtime/.test(i.arg)),
  'the runtime stage installs the runtime packages with install-deps.sh --runtime');
check(instructions.some((i) => i.op === 'RUN' && /install-deps\.sh --build/.test(i.arg)),
  'the build stage installs with install-deps.sh --build');
const entry = runtime.find((i) => i.op === 'ENTRYPOINT');
check(entry && JSON.stringify(JSON.parse(entry.arg)) === '["cw-serve"]', 'ENTRYPOINT ["cw-serve"]');
const user = runtime.find((i) => i.op === 'USER');
check(user && /^[1-9]\d*(:\d+)?$/.test(user.arg), `USER is a numeric non-root uid (${user?.arg})`);
check(!ops('HEALTHCHECK').length, 'no HEALTHCHECK (Kubernetes probes do that)');
const env = {};
for (const e of runtime.filter((i) => i.op === 'ENV'))
  for (const m of e.arg.matchAll(/(\w+)=(\S+)/g)) env[m[1]] = m[2];
const modelRun = instructions.find((i) => i.op === 'RUN' && /install-model\.sh/.test(i.arg));
const modelDest = modelRun?.arg.match(/install-model\.sh\s+\/out(\S+)/)?.[1];
check(modelDest && env.CW_MODEL_DIR === modelDest,
  `CW_MODEL_DIR (${env.CW_MODEL_DIR}) is where the build stage installed the model (${modelDest})`);
const volume = runtime.find((i) => i.op === 'VOLUME')?.arg;
check(volume && env.CW_JOURNAL?.startsWith(volume + '/'), `CW_JOURNAL (${env.CW_JOURNAL}) is in the VOLUME (${volume})`);
const exposed = runtime.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.arg.split(/\s+/)).map(Number);
const cmd = JSON.parse(runtime.find((i) => i.op === 'CMD')?.arg ?? '[]');
check(cmd.join(' ') === `--admin-port ${exposed[1]}`, `CMD's --admin-port is the second EXPOSEd port (${exposed})`);

// Every shared library the binary needs comes from a runtime package.
const runtimePkgs = read('contrib/install-deps.sh').match(/RUNTIME_PACKAGES=\(([^)]*)\)/)[1]
  .split('\n').map((l) => l.replace(/#.*/, '')).join(' ').split(/\s+/).filter(Boolean);
const needed = execFileSync('readelf', ['-d', bin], { encoding: 'utf8' })
  .split('\n').map((l) => l.match(/NEEDED.*\[(.*)\]/)?.[1]).filter(Boolean);
for (const lib of needed) {
  // A sanitizer build's runtimes (contrib/test.sh's asan stage) are no
  // part of an image, which is a Release build.
  if (/^lib(a|ub|l|t)san\.so/.test(lib)) continue;
  const path = execFileSync('sh', ['-c', `ldd "$1" | awk -v l="$2" '$1 == l { print $3 }'`, 'sh', bin, lib],
    { encoding: 'utf8' }).trim();
  const real = execFileSync('readlink', ['-f', path], { encoding: 'utf8' }).trim();
  let pkg = '';
  for (const p of [path, real]) {
    try { pkg = execFileSync('dpkg', ['-S', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(':')[0]; break; } catch { }
  }
  check(pkg === 'libc6' || runtimePkgs.includes(pkg),
    `${lib} (${real}, package ${pkg || '?'}) is in install-deps.sh RUNTIME_PACKAGES (${runtimePkgs.join(' ')})`);
}

// ---- manifests ---------------------------------------------------------------
const docs = (dir) => {
  const out = execFileSync('kubectl', ['kustomize', join(top, 'contrib/kubernetes', dir)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return YAML.parseAllDocuments(out).map((d) => d.toJS());
};
const help = execFileSync(bin, ['serve', '--help'], { encoding: 'utf8' });
for (const dir of ['base', 'secured']) {
  const all = docs(dir);
  const kind = (k) => all.filter((d) => d.kind === k);
  const [sts] = kind('StatefulSet'), [cm] = kind('ConfigMap'), [svc] = kind('Service'), [pdb] = kind('PodDisruptionBudget');
  check(sts && cm && svc && pdb, `${dir}: StatefulSet, ConfigMap, Service, PodDisruptionBudget rendered`);
  if (!sts || !cm || !svc || !pdb) continue;
  const pod = sts.spec.template.spec, c = pod.containers[0];
  check(sts.spec.replicas === 1, `${dir}: one replica (per-controller order)`);
  const port = (name) => c.ports.find((p) => p.name === name)?.containerPort;
  const args = c.args.map((a) => a.replace(/\$\((\w+)\)/g, (_, v) => {
    check(v in cm.data, `${dir}: $(${v}) in the args is in the ConfigMap`);
    return cm.data[v];
  }));
  const flag = (name) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  for (const a of args)
    check(help.includes(`--${a.replace(/^--/, '').split('=')[0]} `), `${dir}: ${a.split('=')[0]} is a serve flag (cw-serve --help)`);
  check(Number(flag('admin-port')) === port('admin') && exposed.includes(port('admin')) && exposed.includes(port('http')),
    `${dir}: --admin-port ${flag('admin-port')} = container port admin ${port('admin')}, both ports EXPOSEd`);
  check(port('http') === 3000, `${dir}: the sync port is serve's default 3000`);
  const rp = c.readinessProbe?.httpGet, lp = c.livenessProbe?.httpGet;
  check(rp?.path === '/readyz' && rp?.port === 'admin', `${dir}: readiness GET /readyz on the admin port`);
  check(lp?.path === '/healthz' && lp?.port === 'admin', `${dir}: liveness GET /healthz on the admin port`);
  const drainS = Number(flag('drain-ms')) / 1000;
  check(pod.terminationGracePeriodSeconds >= drainS + 5 && pod.terminationGracePeriodSeconds <= drainS + 15,
    `${dir}: terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} = --drain-ms ${drainS} s + 5..15 s`);
  check(!c.lifecycle?.preStop, `${dir}: no preStop hook (SIGTERM drains)`);
  const sc = c.securityContext ?? {};
  check(sc.readOnlyRootFilesystem === true && sc.allowPrivilegeEscalation === false &&
        JSON.stringify(sc.capabilities?.drop) === '["ALL"]', `${dir}: read-only root, no escalation, capabilities dropped`);
  check(pod.securityContext?.runAsNonRoot === true && pod.securityContext?.runAsUser === Number(user.arg.split(':')[0]),
    `${dir}: runs as non-root, the image's uid`);
  check(c.resources?.requests?.cpu && c.resources?.requests?.memory && c.resources?.limits?.memory,
    `${dir}: cpu and memory requests, a memory limit`);
  const journal = c.env.find((e) => e.name === 'CW_JOURNAL')?.value;
  const vct = sts.spec.volumeClaimTemplates?.[0]?.metadata?.name;
  const mount = c.volumeMounts.find((m) => m.name === vct);
  check(journal && mount && journal.startsWith(mount.mountPath + '/') && mount.mountPath === volume,
    `${dir}: the journal (${journal}) is on the claimed volume mounted at the image's VOLUME`);
  const podLabels = sts.spec.template.metadata.labels;
  const matches = (sel) => Object.entries(sel).every(([k, v]) => podLabels[k] === v);
  check(matches(svc.spec.selector) && matches(pdb.spec.selector.matchLabels) && matches(sts.spec.selector.matchLabels),
    `${dir}: Service, PDB and StatefulSet select the pod's labels`);
  check(svc.spec.ports.every((p) => c.ports.some((cp) => cp.name === p.targetPort)), `${dir}: Service targets named container ports`);
  check(pdb.spec.maxUnavailable === 1, `${dir}: PDB lets a drain take the one pod`);
  if (dir === 'secured') {
    const tokens = pod.volumes.find((v) => v.secret);
    const tmount = c.volumeMounts.find((m) => m.name === tokens?.name)?.mountPath;
    for (const f of ['chroma-token-file', 'auth-token-file'])
      check(tmount && flag(f)?.startsWith(tmount + '/'), `secured: --${f} is in the mounted Secret (${tmount})`);
    check(tokens && (tokens.secret.defaultMode & 0o040) && pod.securityContext.fsGroup,
      'secured: Secret files group-readable for the pod\'s fsGroup');
    check(kind('NetworkPolicy').length === 1, 'secured: a NetworkPolicy');
  }
}
const values = YAML.parse(read('contrib/kubernetes/controller-values.yaml'));
const endpoint = values.env.find((e) => e.name === 'INSTANCES_ENDPOINT')?.value ?? '';
check(/^http:\/\/cluster-whisperer\.[\w-]+\.svc:3000\/api\/v1\/instances\/sync$/.test(endpoint),
  `controller-values.yaml: INSTANCES_ENDPOINT (${endpoint}) is the Service's sync URL`);

console.log(`deploy_files: ${passed} checks passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
