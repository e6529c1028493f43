// pi-seed init: writes a commented starter cluster.yaml and keeps the secrets out of git.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EXIT_INVALID, EXIT_OK, type Io } from '../cli-io.js';
import { writeFileAtomic } from '../emit/atomic.js';
import { templateText } from '../render/templates.js';
import { SECRETS_FILE_NAME } from '../secrets/cluster-secrets.js';

export interface InitOptions {
  config: string;
  force: boolean;
}

export function runInit(options: InitOptions, io: Io): number {
  if (existsSync(options.config) && !options.force) {
    io.err(`error[file-exists]: ${options.config} already exists\n  = hint: pass --force to overwrite it, or --config to write elsewhere\n`);
    return EXIT_INVALID;
  }
  writeFileAtomic(options.config, templateText('starter-cluster.yaml'));
  io.err(`wrote ${options.config}: edit it, then run \`pi-seed validate\` and \`pi-seed build\`\n`);
  const gitignore = join(dirname(options.config), '.gitignore');
  const current = existsSync(gitignore) ? readFileSync(gitignore, 'utf8') : '';
  if (!current.split(/\r?\n/).includes(SECRETS_FILE_NAME)) {
    appendFileSync(gitignore, `${current === '' || current.endsWith('\n') ? '' : '\n'}# pi-seed: cluster secrets, never committed\n${SECRETS_FILE_NAME}\n`);
    io.err(`added ${SECRETS_FILE_NAME} to ${gitignore}\n`);
  }
  return EXIT_OK;
}
