// pi-seed status for an HA cluster: every control plane's own API server and etcd, and the
// virtual IP's holder, believed only when it names a control plane of cluster.yaml.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clusterStatus, formatStatusTable } from '../src/kube/status-report.js';
import { planCluster } from '../src/plan/plan.js';
import { validateText } from '../src/validate/index.js';
import { REPO } from './helpers.js';

const plan = planCluster(validateText('cluster.yaml', readFileSync(join(REPO, 'examples', 'ha', 'cluster.yaml'), 'utf8')).spec!);
const health = new Map([
  ['mas01', { apiServer: 'ok', etcd: 'ok' }],
  ['mas02', { apiServer: 'ok', etcd: 'HTTP 500: [-]etcd failed: reason withheld' }],
  ['mas03', { apiServer: 'connection refused', etcd: null }],
]);
const endpoint = (holder: string) => ({ metadata: { name: 'control-plane-endpoint' }, data: { address: '192.168.1.100', holder, since: '2031-01-01T00:00:00Z' } });

test('each control plane with its API server, its etcd and whether it holds the virtual IP', () => {
  const status = clusterStatus(plan, 'https://192.168.1.100:6443', [], [], { endpoint: endpoint('mas02'), health });
  assert.equal(status.controlPlaneEndpoint, { address: '192.168.1.100', holder: 'mas02', since: '2031-01-01T00:00:00Z' });
  assert.equal(status.controlPlanes!.map((c) => [c.name, c.address, c.apiServer, c.etcd, c.holdsVirtualIP]), [
    ['mas01', '192.168.1.101', 'ok', 'ok', false],
    ['mas02', '192.168.1.102', 'ok', 'HTTP 500: [-]etcd failed: reason withheld', true],
    ['mas03', '192.168.1.103', 'connection refused', null, false],
  ]);
  const table = formatStatusTable(status);
  assert.match(table, /^CONTROL PLANE\s+ADDRESS\s+API SERVER\s+ETCD\s+VIRTUAL IP$/m);
  assert.match(table, /^mas02\s+192\.168\.1\.102\s+ok\s+HTTP 500: \[-\]etcd failed: reason withheld\s+holds 192\.168\.1\.100 since 2031-01-01T00:00:00Z$/m);
  assert.match(table, /^mas03\s+192\.168\.1\.103\s+connection refused\s+-$/m);
});

test('a holder that is not a control plane of cluster.yaml is not believed, and the table says nobody has claimed it', () => {
  for (const said of ['work01', 'mallory\u001b[31m', '']) {
    const status = clusterStatus(plan, 'https://192.168.1.100:6443', [], [], { endpoint: endpoint(said), health });
    assert.is(status.controlPlaneEndpoint!.holder, null, said);
    assert.ok(status.controlPlanes!.every((c) => !c.holdsVirtualIP));
    assert.match(formatStatusTable(status), /virtual IP 192\.168\.1\.100: no control plane has said it holds it yet/);
  }
});

test('a cluster without a virtual IP keeps the node table alone', () => {
  const single = planCluster(validateText('cluster.yaml', readFileSync(join(REPO, 'examples', 'seed', 'cluster.yaml'), 'utf8')).spec!);
  const status = clusterStatus(single, 'https://192.168.1.101:6443', [], [], { endpoint: null, health: new Map() });
  assert.is(status.controlPlanes, undefined);
  assert.not.match(formatStatusTable(status), /CONTROL PLANE/);
});

test('a report published with its role only (the node has not written a phase yet) is pending; no report at all is unknown', () => {
  const published = { metadata: { name: 'report-work01', labels: { 'pi-seed.io/report': '', 'pi-seed.io/node': 'work01' } }, data: { role: 'worker' } };
  const status = clusterStatus(plan, 'https://192.168.1.100:6443', [], [published]);
  assert.equal(Object.fromEntries(status.nodes.map((n) => [n.name, n.phase])), { mas01: 'unknown', mas02: 'unknown', mas03: 'unknown', work01: 'pending', work02: 'unknown' });
});

test.run();
