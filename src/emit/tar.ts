// `pi-seed build --tar`: the nodes' card files as one tar archive, byte-identical across runs,
// machines, umasks and time zones: nothing of the machine goes in. Entries are sorted, every
// mtime is 0 (1970-01-01T00:00:00Z), owner 0:0 with empty names, modes fixed (folders 0755,
// files 0644, node keys 0600). Contents come from the rendered tree, never from the disk.
import { pack } from 'tar-stream';
import { fullTree } from '../pipeline.js';
import { type ClusterPlan } from '../plan/plan.js';
import { type ClusterSecrets } from '../secrets/cluster-secrets.js';

export interface TarFile {
  /** Relative, "/"-separated: `<node>/<file>`. */
  path: string;
  content: Buffer;
  mode: number;
}

/** Every file of the chosen nodes' folders, as `build` writes them; ssh_config and .gitignore are not for a card. */
export function nodeTarFiles(plan: ClusterPlan, secrets: ClusterSecrets, nodes: readonly string[]): TarFile[] {
  return [...fullTree(plan, secrets, nodes)].filter(([path]) => path.includes('/')).map(([path, file]) => ({ path, content: Buffer.from(file.content), mode: file.mode }));
}

const FIXED = { mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '' };
const FOLDER_MODE = 0o755;

const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

export async function deterministicTar(files: readonly TarFile[]): Promise<Buffer> {
  const archive = pack();
  const folders = [...new Set(files.flatMap((f) => f.path.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))))];
  const entries = [
    ...folders.map((path) => ({ path: `${path}/`, content: null, mode: FOLDER_MODE })),
    ...files.map((f) => ({ path: f.path, content: f.content as Buffer | null, mode: f.mode })),
  ].sort((a, b) => byBytes(a.path, b.path));
  for (const entry of entries) {
    if (entry.content === null) archive.entry({ ...FIXED, name: entry.path, type: 'directory', mode: entry.mode });
    else archive.entry({ ...FIXED, name: entry.path, type: 'file', mode: entry.mode, size: entry.content.length }, entry.content);
  }
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
