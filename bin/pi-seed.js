#!/usr/bin/env node
// Entry point: runs the bundled CLI (dist/bundle/, built by `npm ci` through the prepare script).
import { main } from '../dist/bundle/pi-seed.js';

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
