// Property tests for the address arithmetic every network rule relies on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { asRange, cidrToText, contains, formatIPv4, isHostAddress, overlaps, parseAddressPool, parseCidr, parseIPv4 } from '../src/plan/ipv4.js';

const address = fc.integer({ min: 0, max: 2 ** 32 - 1 });

test('format and parse are inverse', () => {
  fc.assert(fc.property(address, (a) => parseIPv4(formatIPv4(a)) === a));
});

test('malformed addresses are refused', () => {
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-4', ' 1.2.3.4', '1.2.3.4/24', 'a.b.c.d']) {
    assert.is(parseIPv4(bad), null, bad);
  }
});

test('a CIDR contains exactly its block; network and broadcast are not host addresses', () => {
  fc.assert(
    fc.property(address, fc.integer({ min: 0, max: 30 }), address, (a, prefix, probe) => {
      const cidr = parseCidr(`${formatIPv4(a)}/${prefix}`, false)!;
      const size = 2 ** (32 - prefix);
      const inside = probe >= cidr.network && probe < cidr.network + size;
      return contains(cidr, probe) === inside && isHostAddress(cidr, probe) === (inside && probe !== cidr.network && probe !== cidr.last) && parseCidr(cidrToText(cidr)) !== null;
    }),
  );
});

test('strict CIDR parsing refuses host bits', () => {
  assert.is(parseCidr('10.244.0.1/16'), null);
  assert.ok(parseCidr('10.244.0.0/16'));
  assert.is(parseCidr('10.0.0.0/33'), null);
});

test('overlap is symmetric and agrees with a shared address', () => {
  fc.assert(
    fc.property(address, address, address, address, (a, b, c, d) => {
      const r1 = { first: Math.min(a, b), last: Math.max(a, b) };
      const r2 = { first: Math.min(c, d), last: Math.max(c, d) };
      const shared = Math.max(r1.first, r2.first) <= Math.min(r1.last, r2.last);
      return overlaps(r1, r2) === overlaps(r2, r1) && overlaps(r1, r2) === shared;
    }),
  );
});

test('pools: ranges and CIDRs', () => {
  assert.equal(parseAddressPool('192.168.1.210-192.168.1.215'), { first: parseIPv4('192.168.1.210'), last: parseIPv4('192.168.1.215') });
  assert.equal(parseAddressPool('192.168.1.208/29'), asRange(parseCidr('192.168.1.208/29')!));
  assert.is(parseAddressPool('192.168.1.215-192.168.1.210'), null);
  assert.is(parseAddressPool('192.168.1.1-192.168.1.2-192.168.1.3'), null);
});

test.run();
