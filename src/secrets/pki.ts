// The cluster's certificate authorities, made on the desktop with @peculiar/x509 on Node's
// WebCrypto: what kubeadm would otherwise generate in /etc/kubernetes/pki ("custom certificates"),
// with the same subjects, so the control plane's kubeadm init finds and keeps them.
// Loaded only when certificates are made (first build, `pi-seed kubeconfig`, `pi-seed status`).
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { type EcKeyPair, type RandomBytes, ecKeyPairFromRandom, serialFromRandom, webCryptoPair } from './ec-keys.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };

/** A Pi has no battery clock: it boots with an old time until NTP answers. */
export const CA_BACKDATE_MS = 24 * 60 * 60 * 1000;
/** kubeadm's own CAs last 10 years. */
export const CA_VALIDITY_YEARS = 10;

export const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface CaPem {
  certificate: string;
  privateKey: string;
}

/** Ends PEM text with exactly one newline (files on the card, and @peculiar/x509 writes none). */
export const pemText = (pem: string): string => `${pem.replace(/\r\n/g, '\n').trimEnd()}\n`;

/**
 * A self-signed CA. The key and serial come from `random`; the ECDSA signature uses WebCrypto's
 * own randomness (WebCrypto takes no nonce), so the certificate bytes differ between two runs
 * with the same source: harmless, as the certificate is made once and stored in the secrets file,
 * and every output is rendered from what is stored.
 */
export async function createCa(commonName: string, random: RandomBytes, now: Date): Promise<CaPem> {
  const pair: EcKeyPair = ecKeyPairFromRandom(random);
  const keys = await webCryptoPair(pair);
  const notAfter = new Date(now.getTime());
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CA_VALIDITY_YEARS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialFromRandom(random),
    name: [{ CN: [commonName] }],
    notBefore: new Date(now.getTime() - CA_BACKDATE_MS),
    notAfter,
    signingAlgorithm: SIGNING_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificate: pemText(cert.toString('pem')), privateKey: pair.privateKeyPem };
}
