// Handlebars for scripts, units and text (never for YAML documents: those are dumped from typed
// objects by ./yaml.ts). Each template is compiled once per process, in strict mode so a missing
// value is an error rather than an empty string, and without HTML escaping. Every value
// interpolated into a shell script goes through the `sh` helper.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { shellQuote } from './shell.js';

export const TEMPLATE_DIR = fileURLToPath(new URL('../../../templates/', import.meta.url));

const handlebars = Handlebars.create();
handlebars.registerHelper('sh', (value: unknown) => {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw new Error(`sh helper: cannot quote a ${typeof value}`);
  }
  return shellQuote(value);
});

// For names in comments: a comment ends at a newline, so anything but plain name characters is
// replaced; the value itself reaches the script only through `sh`.
handlebars.registerHelper('comment', (value: unknown) => String(value).replace(/[^A-Za-z0-9._-]/g, '?'));

const compiled = new Map<string, Handlebars.TemplateDelegate>();
const raw = new Map<string, string>();

/** A template file's text as it is (for files with nothing to fill in). */
export function templateText(name: string): string {
  let text = raw.get(name);
  if (text === undefined) {
    text = readFileSync(TEMPLATE_DIR + name, 'utf8');
    raw.set(name, text);
  }
  return text;
}

export function renderTemplate(name: string, context: object): string {
  let template = compiled.get(name);
  if (!template) {
    template = handlebars.compile(templateText(name), { noEscape: true, strict: true });
    compiled.set(name, template);
  }
  return template(context);
}
