// The day-2 planner (src/day2/changes.ts): cluster.yaml against what the API server lists, as
// table tests on both sides; and what is read from the server (src/day2/cluster-state.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { planChanges } from '../src/day2/changes.js';
import { clusterState, type ClusterState, type ObservedNode } from '../src/day2/cluster-state.js';
import { formatPlan, planJson } from '../src/day2/format.js';
import { planCluster } from '../src/plan/plan.js';
import { validateText } from '../src/validate/index.js';
import { REPO } from './helpers.js';

const seedText = readFileSync(join(REPO, 'examples', 'seed', 'cluster.yaml'), 'utf8');
const planOf = (text: string) => planCluster(validateText('cluster.yaml', text).spec!);
const seed = planOf(seedText);
/** The seed example with its nodes changed (YAML through js-yaml, not text surgery). */
const edited = (change: (nodes: Array<Record<string, unknown>>) => Array<Record<string, unknown>>) => {
  const doc = yaml.load(seedText) as { nodes: Array<Record<string, unknown>> };
  return planOf(yaml.dump({ ...doc, nodes: change(doc.nodes) }));
};
const withWork03 = edited((nodes) => [...nodes, { name: 'work03', role: 'worker', address: '192.168.1.104', board: 'pi4', memory: '4GB' }]);
const withoutWork02 = edited((nodes) => nodes.filter((n) => n.name !== 'work02'));
const TOKEN_IDS = new Map([['work01', 'aaaaaa'], ['work02', 'bbbbbb'], ['work03', 'cccccc']]);

const node = (name: string, extra: Partial<ObservedNode> = {}): ObservedNode => ({
  name, controlPlane: name.startsWith('mas'), workerLabel: !name.startsWith('mas'), ready: true, kubeletVersion: `v${seed.kubernetes.minor}.2`, unschedulable: false, address: null, ...extra,
});
const script = (n: string) => ({ node: n, kubernetesVersion: `v${seed.kubernetes.minor}.2`, packageVersion: `${seed.kubernetes.minor}.2-1.1` });

/** The seed cluster formed: every node joined and labelled, the used tokens deleted. */
const formed = (): ClusterState => ({
  nodes: [node('mas01'), node('work01'), node('work02')],
  joinScripts: [script('work01'), script('work02')],
  reports: ['mas01', 'work01', 'work02'],
  tokens: new Map(),
});

test('cluster.yaml and a cluster that match: nothing to do', () => {
  assert.equal(planChanges({ plan: seed, tokenIds: TOKEN_IDS }, formed()), { changes: [], waiting: [], problems: [] });
  assert.match(formatPlan('home', 'https://192.168.1.101:6443', planChanges({ plan: seed, tokenIds: TOKEN_IDS }, formed())), /nothing to do: the cluster matches cluster\.yaml/);
});

const CASES: Array<{ name: string; plan?: typeof seed; state: (s: ClusterState) => ClusterState; changes?: unknown[]; waiting?: string[]; problems?: string[] }> = [
  { name: 'a worker added to cluster.yaml is registered', plan: withWork03, state: (s) => s, changes: [{ action: 'register', node: 'work03', tokenId: 'cccccc' }] },
  { name: 'a registered worker whose card has not joined yet is waited for', plan: withWork03, state: (s) => ({ ...s, joinScripts: [...s.joinScripts, script('work03')], reports: [...s.reports, 'work03'], tokens: new Map([['work03', 'cccccc']]) }), waiting: ['work03'] },
  { name: 'a half-registered worker (token missing) is registered again', plan: withWork03, state: (s) => ({ ...s, joinScripts: [...s.joinScripts, script('work03')], reports: [...s.reports, 'work03'] }), changes: [{ action: 'register', node: 'work03', tokenId: 'cccccc' }] },
  { name: 'a token of another id (an old card\'s) does not count as registered', plan: withWork03, state: (s) => ({ ...s, joinScripts: [...s.joinScripts, script('work03')], reports: [...s.reports, 'work03'], tokens: new Map([['work03', 'zzzzzz']]) }), changes: [{ action: 'register', node: 'work03', tokenId: 'cccccc' }] },
  { name: 'a worker dropped from cluster.yaml is removed with its Node', plan: withoutWork02, state: (s) => s, changes: [{ action: 'remove', node: 'work02', hasNode: true }] },
  { name: 'what is left of a dropped worker without a Node is cleaned up', plan: withoutWork02, state: (s) => ({ ...s, nodes: s.nodes.filter((n) => n.name !== 'work02') }), changes: [{ action: 'remove', node: 'work02', hasNode: false }] },
  { name: 'a joined worker without its role label gets it', state: (s) => ({ ...s, nodes: s.nodes.map((n) => (n.name === 'work01' ? { ...n, workerLabel: false } : n)) }), changes: [{ action: 'label', node: 'work01' }] },
  { name: 'a Node that is a control plane but a worker in cluster.yaml is refused', state: (s) => ({ ...s, nodes: s.nodes.map((n) => (n.name === 'work01' ? { ...n, controlPlane: true } : n)) }), problems: ['day2-role-change'] },
  { name: 'a control plane missing from cluster.yaml is refused, not removed', plan: withoutWork02, state: (s) => ({ ...s, nodes: [...s.nodes, node('mas09')] }), changes: [{ action: 'remove', node: 'work02', hasNode: true }], problems: ['day2-remove-control-plane'] },
  { name: 'a new minor in cluster.yaml is refused (no upgrade yet)', state: (s) => ({ ...s, nodes: s.nodes.map((n) => ({ ...n, kubeletVersion: 'v1.30.4' })) }), problems: ['day2-version-change'] },
  { name: 'control planes on different minors are refused', state: (s) => ({ ...s, nodes: [...s.nodes, node('mas02', { kubeletVersion: 'v1.30.4' })] }), changes: [{ action: 'remove', node: 'mas02', hasNode: true }].slice(0, 0), problems: ['day2-mixed-versions', 'day2-remove-control-plane'] },
  { name: 'a cluster without the init node\'s Node is not this cluster, or not formed', state: (s) => ({ ...s, nodes: s.nodes.filter((n) => n.name !== 'mas01') }), problems: ['day2-no-init-node'] },
  { name: 'a node of cluster.yaml without a token in the secrets needs a build first', plan: withWork03, state: (s) => s, problems: ['day2-no-token'] },
];

for (const c of CASES) {
  test(`planChanges: ${c.name}`, () => {
    const tokenIds = c.name.includes('without a token') ? new Map([...TOKEN_IDS].filter(([n]) => n !== 'work03')) : TOKEN_IDS;
    const result = planChanges({ plan: c.plan ?? seed, tokenIds }, c.state(formed()));
    assert.equal(result.changes, c.changes ?? []);
    assert.equal(result.waiting, c.waiting ?? []);
    assert.equal(result.problems.map((p) => p.code), c.problems ?? []);
    for (const p of result.problems) assert.ok(p.hint, `${p.code} has a hint`);
  });
}

test('the plan prints one line per change in order, and JSON for scripts', () => {
  const result = planChanges({ plan: withWork03, tokenIds: TOKEN_IDS }, { ...formed(), nodes: [...formed().nodes, node('old01')] });
  const text = formatPlan('home', 'https://192.168.1.101:6443', result);
  assert.match(text, /^  \+ register work03 \(worker\)/m);
  assert.match(text, /^  - remove old01: cordon, drain/m);
  assert.ok(text.indexOf('register work03') < text.indexOf('remove old01'), 'additions first');
  const json = JSON.parse(planJson('home', 'https://192.168.1.101:6443', result));
  assert.equal(json.changes.map((c: { action: string; node: string }) => [c.action, c.node]), [['register', 'work03'], ['remove', 'old01']]);
});

test('clusterState: what the server listed, with untrusted names and versions dropped', () => {
  const state = clusterState(
    [
      { metadata: { name: 'mas01', labels: { 'node-role.kubernetes.io/control-plane': '' } }, status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.37.1' }, addresses: [{ type: 'Hostname', address: 'mas01' }, { type: 'InternalIP', address: '192.168.1.101' }] } },
      { metadata: { name: 'work01', labels: { 'node-role.kubernetes.io/worker': '' } }, spec: { unschedulable: true }, status: { conditions: [{ type: 'Ready', status: 'Unknown' }], nodeInfo: { kubeletVersion: 'v1.37.1\u001b[31m' } } },
      { metadata: { name: 'Bad_Name' } },
    ],
    [
      { metadata: { name: 'join-work01', labels: { 'pi-seed.io/join-script': '', 'pi-seed.io/node': 'work01' } }, binaryData: { 'kubernetes-version': Buffer.from('v1.37.1').toString('base64'), 'package-version': Buffer.from('1.37.1-1.1').toString('base64') } },
      { metadata: { name: 'join-work02', labels: { 'pi-seed.io/join-script': '', 'pi-seed.io/node': 'work02' } }, binaryData: { 'kubernetes-version': Buffer.from('1.37; rm -rf /').toString('base64') } },
      { metadata: { name: 'join-other', labels: { 'pi-seed.io/join-script': '', 'pi-seed.io/node': 'work03' } } },
      { metadata: { name: 'report-work01', labels: { 'pi-seed.io/report': '', 'pi-seed.io/node': 'work01' } } },
    ],
    [
      { metadata: { name: 'bootstrap-token-abcdef', labels: { 'pi-seed.io/node': 'work02' } } },
      { metadata: { name: 'not-a-token', labels: { 'pi-seed.io/node': 'work03' } } },
    ],
  );
  assert.equal(state.nodes, [
    { name: 'mas01', controlPlane: true, workerLabel: false, ready: true, kubeletVersion: 'v1.37.1', unschedulable: false, address: '192.168.1.101' },
    { name: 'work01', controlPlane: false, workerLabel: true, ready: false, kubeletVersion: null, unschedulable: true, address: null },
  ]);
  assert.equal(state.joinScripts, [
    { node: 'work01', kubernetesVersion: 'v1.37.1', packageVersion: '1.37.1-1.1' },
    { node: 'work02', kubernetesVersion: null, packageVersion: null },
  ]);
  assert.equal(state.reports, ['work01']);
  assert.equal([...state.tokens], [['work02', 'abcdef']]);
});

test.run();
