// kubeadm bootstrap tokens ("abcdef.0123456789abcdef"): a public id and a secret, both from
// [a-z0-9]. Drawn from injected random bytes by rejection sampling, so every character is
// equally likely (a plain `byte % 36` would favour the first 4 characters).
import { type RandomBytes } from './ec-keys.js';

export const TOKEN_PATTERN = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** The largest multiple of 36 that fits a byte: bytes at or above it are thrown away. */
const LIMIT = 256 - (256 % ALPHABET.length);

export function isBootstrapToken(value: unknown): value is string {
  return typeof value === 'string' && TOKEN_PATTERN.test(value);
}

/** The token's public half, the `<id>` of `system:bootstrap:<id>` and of `bootstrap-token-<id>`. */
export function tokenId(token: string): string {
  if (!isBootstrapToken(token)) throw new Error('not a bootstrap token (want [a-z0-9]{6}.[a-z0-9]{16})');
  return token.slice(0, 6);
}

function randomText(random: RandomBytes, length: number): string {
  let text = '';
  while (text.length < length) {
    for (const byte of random(length)) if (byte < LIMIT && text.length < length) text += ALPHABET[byte % ALPHABET.length];
  }
  return text;
}

/** A new token whose id none of `taken` (other tokens) has: ids name RBAC users and Secrets. */
export function newBootstrapToken(random: RandomBytes, taken: Iterable<string>): string {
  const ids = new Set([...taken].map((t) => t.slice(0, 6)));
  for (;;) {
    const token = `${randomText(random, 6)}.${randomText(random, 16)}`;
    if (!ids.has(token.slice(0, 6))) return token;
  }
}
