// ECDSA P-256 keys from injected random bytes, so a seeded source gives the same keys every time
// (tests) and production passes a CSPRNG. node:crypto derives the public point; the result is
// offered both as PEM (for the secrets file and the cards) and as WebCrypto keys (for signing).
import { createECDH, createPrivateKey, createPublicKey, webcrypto, type KeyObject } from 'node:crypto';

export type RandomBytes = (n: number) => Buffer;

/** The order n of P-256: a private scalar must lie in [1, n-1]. */
const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const EC_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export interface EcKeyPair {
  /** PKCS#8 `PRIVATE KEY` PEM. */
  privateKeyPem: string;
  /** SPKI `PUBLIC KEY` PEM. */
  publicKeyPem: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** A private scalar drawn from `random` by rejection (no bias, no out-of-range key). */
function privateScalar(random: RandomBytes): Buffer {
  for (;;) {
    const d = random(32);
    if (d.length !== 32) throw new Error(`the random source returned ${d.length} bytes, not 32`);
    const value = BigInt(`0x${d.toString('hex')}`);
    if (value > 0n && value < P256_ORDER) return d;
  }
}

export function ecKeyPairFromRandom(random: RandomBytes): EcKeyPair {
  const d = privateScalar(random);
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const point = ecdh.getPublicKey(); // 0x04 || x || y
  const jwk = { kty: 'EC', crv: 'P-256', d: d.toString('base64url'), x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33, 65).toString('base64url') };
  const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
  const publicKey = createPublicKey(privateKey);
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    privateKey,
    publicKey,
  };
}

/** The pair as WebCrypto keys, which @peculiar/x509 signs and embeds with. */
export async function webCryptoPair(pair: Pick<EcKeyPair, 'privateKey' | 'publicKey'>): Promise<CryptoKeyPair> {
  const der = (key: KeyObject, type: 'pkcs8' | 'spki') => key.export({ type, format: 'der' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der(pair.privateKey, 'pkcs8'), EC_ALGORITHM, false, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', der(pair.publicKey, 'spki'), EC_ALGORITHM, true, ['verify']);
  return { privateKey, publicKey } as CryptoKeyPair;
}

/** A positive, non-zero certificate serial number (RFC 5280: at most 20 bytes) from `random`, as hex. */
export function serialFromRandom(random: RandomBytes): string {
  for (;;) {
    const bytes = Buffer.from(random(16));
    bytes[0] = bytes[0]! & 0x7f; // DER INTEGER: a set top bit would make it negative
    if (bytes.some((b) => b !== 0)) return bytes.toString('hex');
  }
}
