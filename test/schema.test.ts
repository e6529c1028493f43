// The checked-in JSON Schema and the code agree: defaults, enums and supported versions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { clusterSchemaPath } from '../src/validate/schema.js';
import { DEFAULTS } from '../src/spec/v1/defaults.js';
import { BOARD_MEMORY, KUBERNETES_DEFAULT, UBUNTU } from '../src/spec/v1/support.js';

const schema = JSON.parse(readFileSync(clusterSchemaPath(), 'utf8'));
const props = (path: string[]) => path.reduce((node, key) => node.properties[key], schema);

test('schema defaults are the defaults the code applies', () => {
  assert.is(props(['kubernetes', 'version']).default, DEFAULTS.kubernetes.version);
  assert.is(props(['kubernetes', 'version']).default, KUBERNETES_DEFAULT);
  assert.is(props(['kubernetes', 'podCIDR']).default, DEFAULTS.kubernetes.podCIDR);
  assert.is(props(['kubernetes', 'serviceCIDR']).default, DEFAULTS.kubernetes.serviceCIDR);
  assert.is(props(['kubernetes', 'cni']).default, DEFAULTS.kubernetes.cni);
  assert.is(props(['network', 'interface']).default, DEFAULTS.network.interface);
  assert.is(props(['network', 'ipv6']).default, DEFAULTS.network.ipv6);
  assert.is(props(['os', 'ubuntu']).default, DEFAULTS.os.ubuntu);
  assert.is(props(['os', 'timezone']).default, DEFAULTS.os.timezone);
  assert.is(props(['os', 'locale']).default, DEFAULTS.os.locale);
  assert.is(props(['os', 'keyboard', 'layout']).default, DEFAULTS.os.keyboard.layout);
  assert.is(props(['os', 'keyboard', 'model']).default, DEFAULTS.os.keyboard.model);
  assert.is(props(['os', 'keyboard', 'variant']).default, DEFAULTS.os.keyboard.variant);
  assert.is(props(['admin', 'name']).default, DEFAULTS.admin.name);
  assert.is(props(['admin', 'sshPasswordLogin']).default, DEFAULTS.admin.sshPasswordLogin);
  // No default: join.port is only accepted (with a warning), and an unset tokenTTL means no expiry.
  assert.is(props(['join', 'port']).default, undefined);
  assert.is(props(['join', 'tokenTTL']).default, undefined);
  assert.is(props(['addons', 'demo']).default, DEFAULTS.addons.demo);
  assert.is(schema.properties.nodes.items.properties.storage.default, DEFAULTS.node.storage);
  // No default: without an endpoint the control plane's own address is the API server's.
  assert.is(props(['kubernetes', 'controlPlaneEndpoint']).default, undefined);
});

test('schema enums match the supported releases and boards', () => {
  assert.equal(props(['os', 'ubuntu']).enum, Object.keys(UBUNTU));
  assert.equal(schema.properties.nodes.items.properties.board.enum, Object.keys(BOARD_MEMORY));
  const memories = [...new Set(Object.values(BOARD_MEMORY).flat())].sort((a, b) => parseInt(a) - parseInt(b));
  assert.equal(schema.properties.nodes.items.properties.memory.enum, memories);
});

test('every example names the schema for editor completion', () => {
  const text = readFileSync(new URL('../../examples/seed/cluster.yaml', import.meta.url), 'utf8');
  assert.match(text, /^# yaml-language-server: \$schema=\.\.\/\.\.\/schemas\/cluster\.schema\.json$/m);
});

test('the precompiled validator is current with the schema', () => {
  const result = spawnSync(process.execPath, ['scripts/build-validators.mjs', '--check'], { encoding: 'utf8' });
  assert.is(result.status, 0, result.stderr);
});

test.run();
